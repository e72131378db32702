"""The vocabulary of checks: draw inputs, run a scenario in the child, compare.

A task's check function reads as one line per case; helpers here carry the work and
stop at the first failure with a message for the student (``CheckFailed``). Whatever
keeps the task from being graded at all (a missing name, a crash, a hang) is a
``TaskError``.
"""
from __future__ import annotations

import re

import torch

from autograder import grader_only, messages
from autograder.reading.locate import kit_params
from autograder.results import PASSED
from autograder.runner import ChildFailure, Session
from autograder.tasks import TASKS, Task


class CheckFailed(Exception):
    def __init__(self, check: str, message: str, hint: str = ""):
        super().__init__(message)
        self.check, self.message, self.hint = check, message, hint


class TaskError(Exception):
    """The task could not be graded: its code is missing, did not run, or killed the child."""


def _shape(shape) -> str:
    return str(tuple(shape))


class TaskContext:
    def __init__(self, task: Task, session: Session, seed: int):
        self.task = task
        self.session = session
        self.scratch = session.scratch
        self.generator = torch.Generator().manual_seed(seed)
        self.passed: list[str] = []  # names of the checks that passed, in order
        self.notes: list[str] = []  # said even when the task passes
        self.trace_all = False  # record the torch calls of every scenario (for the rules)
        self.traces: list[dict] = []
        self.measures: dict[str, float] = {}  # numbers for the instructor (the speed ratio)
        self.earlier: dict = {}  # task id -> TaskResult of the tasks graded before this one
        self.instructor = False  # instructor grading: answers a task builds on are sent as stand-ins

    # -- inputs -----------------------------------------------------------------
    def randn(self, *shape, scale: float = 1.0) -> torch.Tensor:
        return torch.randn(*shape, generator=self.generator) * scale

    def randint(self, low: int, high: int, shape=()) -> torch.Tensor:
        return torch.randint(low, high, shape, generator=self.generator)

    # -- running ----------------------------------------------------------------
    def scenario(self, name: str, function: str, /, trace: bool = False, answers: tuple[str, ...] = (),
                 **kwargs) -> dict:
        """``answers``: the instructor's answers this task builds on, sent (as source, for this
        request only) in instructor grading; elsewhere the student's own stand in."""
        trace = trace or self.trace_all
        given = grader_only.standin_source(tuple(answers)) if answers and self.instructor else ""
        try:
            reply = self.session.scenario(self.task.id, name, trace=trace, given=given, **kwargs)
        except ChildFailure as exc:
            raise TaskError(messages.CRASHED.format(reason=exc, function=function)) from None
        if reply.get("ok") is not True or not isinstance(reply.get("value"), dict):
            problem = reply.get("missing") or reply.get("crashed") or "the child's reply was malformed"
            raise TaskError(messages.MISSING.format(problem=problem))
        value = reply["value"]
        self._own_standins_note(value.get("own_standins"))
        if trace:
            summary = reply.get("trace")
            if not isinstance(summary, dict):
                raise TaskError("the child's reply had no trace of the torch calls")
            self.traces.append(summary)
            value["trace"] = summary
        return value

    def _standins(self, names) -> list:
        """Stand-ins under the kit's names and under the names the submission uses for them
        (the fill-in notebook's ``class relu`` for ``Relu``)."""
        renamed: dict[str, set] = {}
        for found in self.session.submission.found.values():
            for kit_name, name in found.renames.items():
                renamed.setdefault(kit_name, set()).add(name)
        return [*names, *[[alias, name] for name in names for alias in sorted(renamed.get(name, ()))]]

    def _own_standins_note(self, names) -> None:
        """Where the answers are absent (a student release), a task built on an earlier one runs
        with the student's own version of it: say so when that task fails or was not graded."""
        for name in names if isinstance(names, list) else []:
            upstream = _defined_by(name, self.task) if isinstance(name, str) else None
            if upstream is None:
                continue
            result = self.earlier.get(upstream.id)
            if result is None or result.status != PASSED:
                state = messages.OWN_STANDIN_UNGRADED if result is None else messages.OWN_STANDIN_FAILS
                self.notes.append(messages.OWN_STANDIN.format(name=name, task=upstream.id, state=state))

    def _globals_note(self, function: str, reply: dict) -> None:
        names = reply.get("globals_set") or []
        if names and all(isinstance(n, str) for n in names):
            self.notes.append(messages.GLOBALS_SET.format(function=function, names=", ".join(names)))

    def call(self, name: str, *args, expect_raise: bool = False, standins=(), **options) -> dict:
        """Call the student's ``name(*args)``; a raise fails the task unless expected."""
        reply = self.scenario("call", name, name=name, args=list(args),
                              standins=self._standins(standins), **options)
        self._globals_note(name, reply)
        if reply["raised"] and not expect_raise:
            raise self.raised(name, reply["raised"])
        return reply

    def layer(self, cls: str, init_args=(), call_args=(), out_g=None, standins=(), param_names=()) -> dict:
        reply = self.scenario("layer", cls, cls=cls, init_args=list(init_args),
                              call_args=list(call_args), out_g=out_g, standins=self._standins(standins),
                              param_names=list(param_names))
        self._globals_note(cls, reply)
        if reply["raised"]:
            method = {"construct": "__init__", "call": "__call__", "backward": "backward"}
            raise self.raised(f"{cls}.{method.get(reply['stage'], reply['stage'])}", reply["raised"])
        return reply

    def raised(self, function: str, raised: dict) -> CheckFailed:
        if not isinstance(raised, dict):
            return CheckFailed("runs", f"{function} failed")
        if raised.get("type") == "NotImplementedError":
            return CheckFailed("implemented", messages.NOT_IMPLEMENTED.format(function=function))
        where = f" ({raised['where']})" if raised.get("where") else ""
        return CheckFailed("runs", messages.RAISED.format(
            function=function, type=raised.get("type"), message=raised.get("message"), where=where),
            self._signature_hint(function, raised))

    def _signature_hint(self, function: str, raised: dict) -> str:
        """A call that failed on the kit's signature: the student's parameters beside the kit's."""
        if raised.get("type") != "TypeError" or "argument" not in str(raised.get("message", "")):
            return ""
        name = re.split(r"[ .(]", function, maxsplit=1)[0]
        found = self.session.submission.found.get(self.task.id)
        theirs = found.signatures.get(name) if found else None
        kit = kit_params(self.task, name)
        if theirs is None or kit is None or tuple(theirs) == tuple(kit):
            return ""
        shown = found.renames.get(name, name)
        return messages.SIGNATURE_DIFFERS.format(name=shown, theirs=", ".join(theirs), kit_name=name,
                                                 kit=", ".join(kit))

    # -- comparing --------------------------------------------------------------
    def expect(self, condition: bool, check: str, message: str, hint: str = "") -> None:
        if not condition:
            raise CheckFailed(check, message, hint)
        self.passed.append(check)

    def expect_tensor(self, got, expected: torch.Tensor, what: str, *, rtol: float = 1e-4,
                      atol: float = 1e-5, hints=(), values: bool = True) -> torch.Tensor:
        """shape -> dtype -> values; ``hints`` are ``(hint_key, predicate(got))`` pairs."""
        if not isinstance(got, torch.Tensor):
            kind = got.get("__type__") if isinstance(got, dict) else type(got).__name__
            hint = messages.HINTS["numpy_returned"] if "numpy" in str(kind) else \
                messages.HINTS["returned_none"] if got is None else ""
            raise CheckFailed("type", messages.WRONG_TYPE.format(
                what=what, expected="torch.Tensor", got=kind), hint)
        self.expect(got.shape == expected.shape, "shape", messages.SHAPE.format(
            what=what, got=_shape(got.shape), expected=_shape(expected.shape)), self._hint(got, hints))
        self.expect(got.dtype == expected.dtype, "dtype", messages.DTYPE.format(
            what=what, got=got.dtype, expected=expected.dtype))
        if not values:
            return got
        if not torch.isfinite(got).all() and torch.isfinite(expected).all():
            raise CheckFailed("finite", messages.NOT_FINITE.format(what=what), self._hint(got, hints))
        if not torch.allclose(got.double(), expected.double(), rtol=rtol, atol=atol):
            raise CheckFailed("values", _values_message(got, expected, what), self._hint(got, hints))
        self.passed.append("values")
        return got

    @staticmethod
    def _hint(got, hints) -> str:
        for key, predicate in hints:
            try:
                if predicate(got):
                    return messages.HINTS[key]
            except (RuntimeError, TypeError, ValueError):
                continue
        return ""


def _values_message(got: torch.Tensor, expected: torch.Tensor, what: str) -> str:
    difference = (got.double() - expected.double()).abs()
    flat = int(difference.argmax()) if difference.numel() else 0
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), expected.shape)) \
        if expected.dim() else ()
    return messages.VALUES.format(what=what, difference=float(difference.max()), index=index,
                                  expected=float(expected[index]), got=float(got[index]))


def close(a, b, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """For hint predicates: same shape and close values."""
    return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(
        a.double(), b.double(), rtol=rtol, atol=atol)


def _defined_by(name: str, task: Task) -> Task | None:
    """The last task before ``task`` whose code defines ``name`` (``TrainEvalCallback``: 4.5)."""
    earlier = [t for t in TASKS.values() if name in t.names and t.sort_key < task.sort_key]
    return max(earlier, key=lambda t: t.sort_key, default=None)
