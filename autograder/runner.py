"""The grader's side of the trust boundary: a child process and the submission in it.

``Child`` starts ``python -m autograder.child`` with two pipes of its own (stdout and
stderr go nowhere, so nothing printed can reach the grader), sends requests and reads
replies with a wall-clock deadline kept by the grader. A child that dies, hangs or
sends garbage is killed and replaced; ``Session`` then replays the cells that ran.
"""
from __future__ import annotations

import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder import sandbox, wire
from autograder.submission import LessonFile

_PACKAGE_PARENT = str(Path(__file__).resolve().parents[1])
START_TIMEOUT = 120.0  # importing torch on a busy machine
CELL_TIMEOUT = 10.0
SCENARIO_TIMEOUT = 10.0


class ChildFailure(Exception):
    """The child died, hung or replied with something that is not plain data."""


class Child:
    """One child process, started inside the sandbox's layers (``sandbox.Box``)."""

    def __init__(self, scratch: str):
        self.scratch = scratch
        self.process: subprocess.Popen | None = None
        self.box: sandbox.Box | None = None
        self.start_seconds: float | None = None  # the last start, until its ping came back

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the process without waiting for it to be ready (it imports torch meanwhile)."""
        self._started = time.monotonic()
        request_read, self.request_write = os.pipe()
        self.reply_read, reply_write = os.pipe()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.scratch,
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONPATH": _PACKAGE_PARENT}
        for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # machine-specific BLAS fixes
            if name in os.environ:
                env[name] = os.environ[name]
        try:
            self.box = sandbox.Box(self.scratch)
            self.process = self.box.popen(
                [sys.executable, "-m", "autograder.child", str(request_read), str(reply_write)],
                env=env, pass_fds=(request_read, reply_write))
        except (sandbox.SandboxError, OSError, subprocess.SubprocessError) as exc:
            for fd in (self.request_write, self.reply_read):
                os.close(fd)
            if self.box:
                self.box.close()
                self.box = None
            raise ChildFailure(f"the grading process could not start ({exc})") from None
        finally:
            os.close(request_read)
            os.close(reply_write)
        os.set_blocking(self.request_write, False)  # see _send

    def wait_ready(self) -> None:
        try:
            self.request({"op": "ping"}, timeout=START_TIMEOUT)
        except ChildFailure as exc:
            raise ChildFailure(f"the grading process could not start ({exc})") from None
        self.start_seconds = time.monotonic() - self._started

    def request(self, message: dict, timeout: float) -> dict:
        if self.process is None:
            self.start()
        deadline = time.monotonic() + timeout
        try:
            self._send(message, deadline)
            return wire.read_message(self.reply_read, deadline=deadline)
        except TimeoutError:
            self.stop()
            raise ChildFailure(f"timed out after {timeout:g} s") from None
        except (wire.WireError, BrokenPipeError, OSError) as exc:
            reason = self._death_reason() or str(exc)
            self.stop()
            raise ChildFailure(reason) from None

    def _send(self, message: dict, deadline: float) -> None:
        """Write a request, never blocking past ``deadline``: a stopped or hostile child can
        leave the request pipe full, and a blocking write would hang the grader for good."""
        view = memoryview(wire.encode(message))
        while view:
            _, writable, _ = select.select([], [self.request_write], [], max(0.0, deadline - time.monotonic()))
            if not writable:
                raise TimeoutError
            try:
                view = view[os.write(self.request_write, view):]
            except BlockingIOError:
                continue

    def _death_reason(self) -> str:
        try:
            code = self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return ""
        return self.box.verdict(code)

    def stop(self) -> None:
        """Kill the child and everything it started (its pid namespace, its cgroup)."""
        if self.process is None:
            return
        self.box.kill(self.process)
        self.box.close()
        self.box = None
        for fd in (self.request_write, self.reply_read):
            os.close(fd)
        self.process = None


class Session:
    """A submission loaded into a child: cells run once, replayed after a restart."""

    def __init__(self, lesson_files: list[LessonFile]):
        self._scratch = tempfile.TemporaryDirectory(prefix="autograder-")
        self.scratch = self._scratch.name
        self.child = Child(self.scratch)
        self.lesson_files = lesson_files
        self.executed: list[dict] = []
        self.problems: dict[str, str] = {}  # task id -> why its cell did not run
        self.cell_failures: dict[str, list[str]] = {}  # lesson -> failures of other cells

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.child.stop()
        self._scratch.cleanup()

    def load(self) -> None:
        for lesson_file in self.lesson_files:
            self.problems.update(lesson_file.problems)
            for cell in lesson_file.cells:
                self._run_cell(lesson_file, cell)

    def _run_cell(self, lesson_file: LessonFile, cell) -> None:
        failure = cell.syntax_error
        if not failure:
            request = {"op": "exec", "lesson": lesson_file.lesson.stem, "source": cell.source,
                       "filename": cell.filename, "tasks": list(cell.tasks)}
            try:
                reply = self.child.request(dict(request), CELL_TIMEOUT)
            except ChildFailure as exc:
                reply = {"ok": False, "raised": {"type": "", "message": str(exc), "where": ""}}
                self.restart()
            if reply.get("ok") is True:
                self.executed.append(request)
                return
            failure = _cell_failure(cell, reply)
        for task in cell.tasks:
            self.problems[task] = failure
        if not cell.tasks:
            self.cell_failures.setdefault(lesson_file.lesson.stem, []).append(failure)

    def restart(self) -> None:
        self.child.stop()
        replayed = []
        for request in self.executed:
            try:
                reply = self.child.request(dict(request), CELL_TIMEOUT * 3)
            except ChildFailure:
                continue
            if reply.get("ok") is True:
                replayed.append(request)
        self.executed = replayed

    def scenario(self, task: str, scenario: str, /, timeout: float = SCENARIO_TIMEOUT,
                 trace: bool = False, **kwargs) -> dict:
        """Run a scenario on the task's snapshot; ChildFailure after a crash or hang."""
        try:
            return self.child.request({"op": "scenario", "task": task, "name": scenario,
                                       "kwargs": kwargs, "trace": trace}, timeout)
        except ChildFailure:
            self.restart()
            raise


def _cell_failure(cell, reply: dict) -> str:
    raised = reply.get("raised") or {}
    if not isinstance(raised, dict):
        raised = {"message": "the cell's reply was malformed"}
    what = f"{raised.get('type', '')}: {raised.get('message', '')}".strip(": ")
    where = raised.get("where") or f"{cell.filename}, {cell.where}"
    return f"the cell at {cell.where} of {cell.filename.split(',')[0]} failed to run ({where}): {what}"
