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
        for task in tasks:
            self.snapshots[task] = (lesson, dict(namespace))
        return {"ok": True}

    def run_scenario(self, *, task, name, kwargs):
        if task not in self.snapshots:
            return {"ok": False, "missing": f"the cell for Task {task} did not run"}
        lesson, snapshot = self.snapshots[task]
        namespace = self.modules[lesson].__dict__
        namespace.clear()
        namespace.update(snapshot)  # travel back to just after the task's cell
        try:
            return {"ok": True, "value": scenarios.SCENARIOS[name](namespace, **kwargs)}
        except scenarios.MissingName as exc:
            return {"ok": False, "missing": f"`{exc}` is not defined after the cell of Task {task}"}

    def handle(self, request: dict) -> dict:
        op = request.pop("op")
        if op == "exec":
            return self.exec_cell(**request)
        if op == "scenario":
            return self.run_scenario(**request)
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
