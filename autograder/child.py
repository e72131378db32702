"""The child: the only process that runs student code.

Started by ``runner.Child`` as ``python -m autograder.child REQUEST_FD REPLY_FD``. It
runs a submission's cells in order, one namespace per lesson, snapshots the namespace
after each task's cell, and answers scenario requests on a task's snapshot. Every
reply is plain data (``wire``); the grader decides what it means.
"""
from __future__ import annotations

import functools
import inspect
import os
import sys
import types

import torch

from autograder import scenarios, wire
from autograder.reading import cells as cell_rules
from autograder.reading import importer


class Child:
    def __init__(self):
        self.notebook = types.ModuleType("notebook")  # the one namespace the stream runs in
        self.notebook.__file__ = "notebook"
        self.snapshots: dict[str, dict] = {}
        self.spans: list[tuple[str, int, int, tuple[str, ...]]] = []  # file, first, last line, tasks
        self.staged: list = []

    def set_modules(self, *, modules):
        """What the submission may import: its own files, ``exp.nb_XX``, stand-ins."""
        importer.install({str(name): list(map(tuple, cells)) for name, cells in modules.items()})
        return {"ok": True}

    def exec_cell(self, *, source, filename, tasks=(), renames=None):
        scenarios._SUBMISSION_FILES.add(filename)
        namespace = self.notebook.__dict__
        failures: list[dict] = []
        try:
            tree = cell_rules.runnable(cell_rules.parse(source, filename))
            failures = importer.run_statements(tree, namespace, filename)
        except BaseException as exc:  # noqa: BLE001 - a failing cell is an answer, not a crash
            return {"ok": False, "raised": scenarios.describe_exception(exc), "imports": failures}
        lines = [n.lineno for n in tree.body] + [n.end_lineno for n in tree.body]
        if lines:
            self.spans.append((filename, min(lines), max(lines), tuple(tasks)))
        for task in tasks:
            snapshot = dict(namespace)
            for kit_name, name in (renames or {}).get(task, {}).items():
                value = _resolve(snapshot, name)  # `class relu` graded as the kit's `Relu`
                if value is not None:
                    snapshot[kit_name] = value
            self.snapshots[task] = snapshot
        return {"ok": True, "imports": failures}

    def restore(self, task: str) -> dict:
        """Travel back to just after the task's cell: the namespace as it stood."""
        namespace = self.notebook.__dict__
        namespace.clear()
        namespace.update(self.snapshots[task])
        return namespace

    def other_tasks_code(self, task: str):
        """``ignore`` for the tracer: code in cells of other tasks (their allowed helpers)."""
        def ignore(filename: str, line: int) -> bool:
            return any(f == filename and first <= line <= last and tasks and task not in tasks
                       for f, first, last, tasks in self.spans)
        return ignore

    def run_scenario(self, *, task, name, kwargs, trace=False, given=""):
        """``given``: stand-ins the grader sent for this request only (``scenarios.given``)."""
        if task not in self.snapshots:
            return {"ok": False, "missing": f"the cell for Task {task} did not run"}
        namespace = self.restore(task)
        try:
            with scenarios.given(given):
                if not trace:
                    return {"ok": True, "value": scenarios.SCENARIOS[name](namespace, **kwargs)}
                from autograder.tracing import CallRecorder

                with CallRecorder(set(scenarios._SUBMISSION_FILES), ignore=self.other_tasks_code(task)) as recorder:
                    value = scenarios.SCENARIOS[name](namespace, **kwargs)
            return {"ok": True, "value": value, "trace": recorder.summary()}
        except scenarios.MissingName as exc:
            return {"ok": False, "missing": f"`{exc}` is not defined after the cell of Task {task}"}

    def stage(self, *, task, kind, name, shapes, calls, seed):
        """Draw a timed round's inputs and warm up on one more call of its own inputs (untimed:
        first-call costs stay out of the round, with no warm-up round of its own)."""
        if task not in self.snapshots:
            return {"ok": False, "missing": f"the cell for Task {task} did not run"}
        warm, *inputs = scenarios.draw_inputs(shapes, calls + 1, seed)
        scenarios.timed_round(self.restore(task), kind, name, [warm])
        self.staged = [task, kind, name, inputs]
        return {"ok": True}

    def time(self):
        """Run the staged round (``scenarios.TIMED``); the grader holds the clock."""
        task, kind, name, inputs = self.staged
        scenarios.timed_round(self.restore(task), kind, name, inputs)
        return {"ok": True, "calls": len(inputs)}

    def handle(self, request: dict) -> dict:
        op = request.pop("op")
        if op == "exec":
            return self.exec_cell(**request)
        if op == "modules":
            return self.set_modules(**request)
        if op == "scenario":
            return self.run_scenario(**request)
        if op == "stage":
            return self.stage(**request)
        if op == "time":
            return self.time()
        if op == "ping":
            return {"ok": True, "pid": os.getpid()}
        return {"ok": False, "missing": f"unknown request {op!r}"}


def _resolve(namespace: dict, name: str):
    """A name of the namespace, or a method ``Class.method``: bound to an instance made with no
    arguments where the class allows, else called with ``self`` as None (a method that does not use it)."""
    if "." not in name:
        return namespace.get(name)
    class_name, method = name.split(".", 1)
    owner = namespace.get(class_name)
    if not isinstance(owner, type):
        return None
    static = inspect.getattr_static(owner, method, None)
    if static is None:
        return None
    if isinstance(static, (staticmethod, classmethod)):
        return getattr(owner, method)
    try:
        return getattr(owner(), method)
    except Exception:  # noqa: BLE001 - a class that needs arguments
        return functools.partial(getattr(owner, method), None)


def main(request_fd: int, reply_fd: int) -> None:
    torch.set_num_threads(1)
    child = Child()
    while True:
        try:
            request = wire.read_message(request_fd)
        except wire.WireError:
            return  # the grader went away
        try:
            reply = child.handle(request)
        except BaseException as exc:  # noqa: BLE001 - report, keep serving
            reply = {"ok": False, "crashed": f"{type(exc).__name__}: {exc}"[:500]}
        try:
            wire.write_message(reply_fd, reply)
        except Exception as exc:  # noqa: BLE001 - e.g. an object the wire refuses
            wire.write_message(reply_fd, {"ok": False, "crashed": f"unsendable reply: {exc}"[:500]})


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
