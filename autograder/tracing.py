"""Which torch calls a task's code makes: the dynamic half of the rules, and the work count.

Used inside the child while a scenario runs. A ``TorchFunctionMode`` sees every torch
function and tensor method, however it was reached (``a @ b``, an alias, ``getattr(torch,
'mat' + 'mul')``, a helper function). Python-level helpers such as
``torch.nn.init.kaiming_normal_`` never reach it, so a profile hook records calls of those
by code object (see ../shared/notes/tracing.md).

Each call belongs to whoever made it: the innermost frame, walking outward past torch's
own frames, that is the submission's (its files) or the grader's (this package). Only
the submission's calls are recorded; scenario code and stand-ins are the grader's.

NOTE: student code can switch the mode off (``torch._C.DisableTorchFunction``) or
replace the profile hook. That is acceptable: the static check and the instructor's
flags (``rules.suspicious_constructs``) both see those constructs in the source.
"""
from __future__ import annotations

import os
import sys
from types import CodeType
from typing import Callable

import torch
import torch.autograd.functional
import torch.func
import torch.nn.init
import torch.optim
import torch.utils.data
from torch.overrides import TorchFunctionMode

_HERE = (lambda: None).__code__.co_filename
_GRADER_DIR = os.path.dirname(_HERE) + os.sep
_BINARY = {"matmul", "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor",
           "lshift", "rshift"}
_RENAMES = {"_threshold": "threshold"}  # F.threshold reaches the mode under its private name
_looking = False  # a recorder is inspecting a result: those calls are nobody's
_NAMES: dict = {}  # func -> call_name(func), computed once


def _watched() -> dict[CodeType, str]:
    """Python-level torch functions the mode does not see, by code object."""
    watched = {}
    for module in (torch.nn.init, torch.autograd.functional, torch.func):
        for name, value in vars(module).items():
            code = getattr(value, "__code__", None)
            if not name.startswith("_") and code is not None and code.co_name == name:
                watched[code] = f"{module.__name__}.{name}"  # "torch.nn.init.kaiming_normal_"
    for module in (torch.optim, torch.utils.data):  # building one of their classes: its own __init__
        for name, value in vars(module).items():
            code = getattr(vars(value).get("__init__"), "__code__", None) if isinstance(value, type) else None
            if not name.startswith("_") and code is not None:
                watched.setdefault(code, f"{module.__name__}.{name}")  # "torch.optim.SGD"
    return watched


WATCHED = _watched()


def call_name(func) -> str:
    """``matmul`` for ``a @ b``, ``b.__rmatmul__(a)`` and ``torch.matmul``; ``.grad`` for
    reading or writing ``x.grad``; ``linalg.norm`` for ``torch.linalg.norm``."""
    name = getattr(func, "__name__", None) or type(func).__name__
    if name in ("__get__", "__set__", "__delete__"):  # a tensor attribute such as x.grad
        return "." + getattr(getattr(func, "__self__", None), "__name__", "?")
    if name.startswith("__") and name.endswith("__"):
        op = name[2:-2]
        if op in _BINARY or op[1:] in _BINARY:
            return op if op in _BINARY else op[1:] + ("_" if op[0] == "i" else "")
    if name.startswith(("linalg_", "special_", "fft_")):
        return name.replace("_", ".", 1)
    return _RENAMES.get(name, name)


def _numel(result) -> int:
    """Elements a call allocated: views (``a[i]``, ``expand``) allocate none."""
    if isinstance(result, torch.Tensor):
        return 0 if result._is_view() else result.numel()
    if type(result) in (tuple, list):  # not torch.Size, a tuple of ints
        return max((_numel(r) for r in result[:16]), default=0)
    return 0


class _Mode(TorchFunctionMode):
    def __init__(self, recorder: CallRecorder):
        super().__init__()
        self.recorder = recorder

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        profile = sys.getprofile()
        ours = getattr(profile, "__func__", None) is CallRecorder._profile
        if ours:
            sys.setprofile(None)  # the hook would fire on every step below, for nothing
        try:
            where = None if _looking else self.recorder._owner(sys._getframe(1))
            if where is None:
                return func(*args, **kwargs)
            self._record(func, where, kwargs)
            result = func(*args, **kwargs)
            self._measure(result)
            return result
        finally:
            if ours:
                sys.setprofile(profile)

    def _record(self, func, where, kwargs) -> None:
        recorder = self.recorder
        try:
            name = _NAMES[func]
        except KeyError:
            name = _NAMES[func] = call_name(func)
        except TypeError:  # unhashable
            name = call_name(func)
        recorder._add(name, where)
        recorder.count += 1
        if kwargs.get("requires_grad") is True:  # torch.tensor(..., requires_grad=True)
            recorder._add(".requires_grad", where)

    def _measure(self, result) -> None:
        global _looking
        _looking = True  # an outer recorder must not take our look at the result for a call
        try:
            self.recorder.max_numel = max(self.recorder.max_numel, _numel(result))
        finally:
            _looking = False


class CallRecorder:
    """Record the submission's torch calls while a block runs.

    ``submission_files``: the filenames its code was compiled with. ``ignore(filename,
    line)``: calls to leave out, e.g. those made by earlier tasks' cells (their allowed
    helpers). After the block: ``calls`` (distinct ``(name, filename, line)``, first seen
    first), ``times`` (how often each), ``count`` (torch calls made), ``max_numel`` (the
    largest tensor a call allocated), and ``summary()``, the plain data for the grader.
    """

    def __init__(self, submission_files, ignore: Callable[[str, int], bool] | None = None,
                 watch_python: bool = True):
        self.submission_files = frozenset(submission_files)
        self.ignore = ignore
        self.watch_python = watch_python  # the profile hook, for WATCHED; False: half the cost
        self.times: dict[tuple[str, str, int], int] = {}
        self.count = 0
        self.max_numel = 0
        self._kinds: dict[str, str | None] = {}
        self._ignored: dict[tuple[str, int], bool] = {}
        self._mode = _Mode(self)
        self._previous_profile = None
        self._hooked = False

    @property
    def calls(self) -> list[tuple[str, str, int]]:
        return list(self.times)

    def __enter__(self) -> CallRecorder:
        self._mode.__enter__()
        self._previous_profile = sys.getprofile()
        # NOTE: a C-level profiler (cProfile) cannot be chained to or put back from Python:
        # under one, Python-level functions go unwatched.
        self._hooked = self.watch_python and (self._previous_profile is None
                                              or callable(self._previous_profile))
        if self._hooked:
            sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc_info) -> None:
        if self._hooked:
            sys.setprofile(self._previous_profile)
        self._mode.__exit__(*exc_info)

    def summary(self) -> dict:
        by_name: dict[str, int] = {}
        for (name, _, _), times in self.times.items():
            by_name[name] = by_name.get(name, 0) + times
        return {"calls": [list(key) for key in self.times], "count": self.count,
                "by_name": by_name, "max_numel": self.max_numel}

    def _profile(self, frame, event, arg):
        # Called on every Python and C call and return while recording: keep it cheap.
        if event == "call" and frame.f_code in WATCHED:
            where = self._owner(frame.f_back)
            if where is not None:
                self._add(WATCHED[frame.f_code], where)
        if self._previous_profile is not None:
            self._previous_profile(frame, event, arg)

    def _add(self, name: str, where: tuple[str, int]) -> None:
        key = (name, *where)
        self.times[key] = self.times.get(key, 0) + 1

    def _kind(self, filename: str) -> str | None:
        if filename in self.submission_files:
            return "submission"
        if filename.startswith(_GRADER_DIR) and filename != _HERE:
            return "grader"
        return None  # torch, the standard library, this module: look further out

    def _owner(self, frame) -> tuple[str, int] | None:
        """``(filename, line)`` of the submission's frame that made the call, if it did."""
        kinds = self._kinds
        while frame is not None:
            filename = frame.f_code.co_filename
            try:
                kind = kinds[filename]
            except KeyError:
                kind = kinds[filename] = self._kind(filename)
            if kind == "submission":
                where = (filename, frame.f_lineno)
                if self.ignore is None:
                    return where
                if where not in self._ignored:
                    self._ignored[where] = bool(self.ignore(*where))
                return None if self._ignored[where] else where
            if kind == "grader":
                return None
            frame = frame.f_back
        return None
