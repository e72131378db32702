"""The child: the only process that runs student code.

Started by ``runner.Child`` as ``python -m autograder.child REQUEST_FD REPLY_FD``. It
runs a submission's cells in order, one namespace per lesson, snapshots the namespace
after each task's cell, and answers scenario requests on a task's snapshot. Every
reply is plain data (``wire``); the grader decides what it means.
"""
from __future__ import annotations

import os
import sys
import types

import torch

from autograder import cells as cell_rules
from autograder import scenarios, wire
from autograder.tasks import LESSONS


class Child:
    def __init__(self):
        self.modules: dict[str, types.ModuleType] = {}
        self.snapshots: dict[str, tuple[str, dict]] = {}
        self.spans: list[tuple[str, int, int, tuple[str, ...]]] = []  # file, first, last line, tasks
        self.staged: list = []

    def module(self, stem: str) -> types.ModuleType:
        if stem not in self.modules:
            module = types.ModuleType(stem)
            module.__file__ = LESSONS[stem].filename
            self.modules[stem] = module
            sys.modules[stem] = module
            # the course's own notebooks import earlier lessons as exp.nb_01
            package = sys.modules.setdefault("exp", types.ModuleType("exp"))
            package.__path__ = []
            alias = f"nb_{LESSONS[stem].number}"
            setattr(package, alias, module)
            sys.modules[f"exp.{alias}"] = module
        return self.modules[stem]

    def exec_cell(self, *, lesson, source, filename, tasks=()):
        scenarios._SUBMISSION_FILES.add(filename)
        namespace = self.module(lesson).__dict__
        try:
            tree = cell_rules.parse(source, filename)
            exec(compile(cell_rules.runnable(tree), filename, "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001 - a failing cell is an answer, not a crash
            return {"ok": False, "raised": scenarios.describe_exception(exc)}
        lines = [n.lineno for n in tree.body] + [n.end_lineno for n in tree.body]
        if lines:
            self.spans.append((filename, min(lines), max(lines), tuple(tasks)))
        for task in tasks:
            self.snapshots[task] = (lesson, dict(namespace))
        return {"ok": True}

    def restore(self, task: str) -> dict:
        """Travel back to just after the task's cell; the lesson's namespace, as it stood."""
        lesson, snapshot = self.snapshots[task]
        namespace = self.modules[lesson].__dict__
        namespace.clear()
        namespace.update(snapshot)
        return namespace

    def other_tasks_code(self, task: str):
        """``ignore`` for the tracer: code in cells of other tasks (their allowed helpers)."""
        def ignore(filename: str, line: int) -> bool:
            return any(f == filename and first <= line <= last and tasks and task not in tasks
                       for f, first, last, tasks in self.spans)
        return ignore

    def run_scenario(self, *, task, name, kwargs, trace=False):
        if task not in self.snapshots:
            return {"ok": False, "missing": f"the cell for Task {task} did not run"}
        namespace = self.restore(task)
        try:
            if not trace:
                return {"ok": True, "value": scenarios.SCENARIOS[name](namespace, **kwargs)}
            from autograder.tracing import CallRecorder

            with CallRecorder(set(scenarios._SUBMISSION_FILES), ignore=self.other_tasks_code(task)) as recorder:
                value = scenarios.SCENARIOS[name](namespace, **kwargs)
            return {"ok": True, "value": value, "trace": recorder.summary()}
        except scenarios.MissingName as exc:
            return {"ok": False, "missing": f"`{exc}` is not defined after the cell of Task {task}"}

    def stage(self, *, task, kind, name, shapes, calls, seed):
        """Draw a timed round's inputs (untimed); nothing of the student's runs here."""
        if task not in self.snapshots:
            return {"ok": False, "missing": f"the cell for Task {task} did not run"}
        self.staged = [task, kind, name, scenarios.draw_inputs(shapes, calls, seed)]
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
        if op == "scenario":
            return self.run_scenario(**request)
        if op == "stage":
            return self.stage(**request)
        if op == "time":
            return self.time()
        if op == "ping":
            return {"ok": True, "pid": os.getpid()}
        return {"ok": False, "missing": f"unknown request {op!r}"}


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
        except Exception as exc:  # noqa: BLE001 - e.g. an object torch.save refuses
            wire.write_message(reply_fd, {"ok": False, "crashed": f"unsendable reply: {exc}"[:500]})


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
