"""The grader's side of the trust boundary: a child process and the submission in it.

``Child`` runs ``autograder.child`` with two pipes of its own (stdout and stderr go
nowhere, so nothing printed can reach the grader), sends requests and reads replies with
a wall-clock deadline kept by the grader. A child that dies, hangs or sends garbage is
killed and replaced; ``Session`` then replays the cells that ran.

Children are forked from a ``Warm`` server, one per submission, that imported torch once
(``sandbox.forkserver``): a start or a restart takes about 50 ms instead of 2-3 s. The
``pool`` keeps a spare server ready for the next submission once a process grades more
than one. Where forks cannot get namespaces of their own (neither bubblewrap nor
``unshare(2)``), children start cold, each in a box of its own.
"""
from __future__ import annotations

import os
import select
import subprocess
import sys
import tempfile
import time

from autograder import messages, sandbox, wire
from autograder import warm as warm_start  # the module; ``Child.warm`` is a server
from autograder.sandbox import forkserver
from autograder.reading.submission import Submission
from autograder.warm import START_ERRORS, START_TIMEOUT, Warm, child_env

CELL_TIMEOUT = 30.0  # a cell only imports and defines; imports (pyplot, IPython) are slow on a busy machine
SCENARIO_TIMEOUT = 10.0
LEAST_TIMEOUT = 0.5  # what a request gets when its submission's time limit is (nearly) used up
waited = {"seconds": 0.0}  # time this process spent waiting on children's replies (phase timing)


class ChildFailure(Exception):
    """The child died, hung or replied with something that is not plain data."""


class Child:
    """The process that runs the submission: forked from a warm server (``Warm``) when this
    machine allows it, else started cold in a ``sandbox.Box`` of its own."""

    def __init__(self, pooled: bool = True):
        self.pooled = pooled  # a submission's child: spares are kept for the next one
        self.warm: Warm | None = None
        self.forked: int | None = None  # the running child's id at the warm server
        self.process: subprocess.Popen | None = None  # a cold child
        self.box: sandbox.Box | None = None
        self._scratch: tempfile.TemporaryDirectory | None = None
        self.start_seconds: float | None = None  # the last start, until its ping came back
        self.cold_reason = ""  # why the last start left its warm server (for a new one, or cold)

    @property
    def running(self) -> bool:
        return self.forked is not None or self.process is not None

    @property
    def scratch(self) -> str:
        """The folder the child sees (read-only) at the same path; stable for the child's life."""
        if self.warm:
            return self.warm.scratch
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="autograder-")
        return self._scratch.name

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Get the start going without waiting: a warm server is taken (or starts importing
        torch), or a cold child is started. ``wait_ready`` finishes the start."""
        self._started = time.monotonic()
        if self.running:
            return
        if warm_start.warm_start_works() and not warm_start.broken:
            try:
                self._take_warm()
                return
            except START_ERRORS as exc:
                self.cold_reason = str(exc)
        self._with_pipes(self._cold)

    def wait_ready(self) -> None:
        if not self.running:
            if self.warm is None:
                self.launch()
            for attempt in range(2):  # a server that fails is replaced once, then the start is cold
                if self.warm is None or self.running:
                    break
                try:
                    self._with_pipes(self._fork)
                except (forkserver.ForkServerError, ChildFailure) as exc:
                    self._give_up_warm(str(exc))
                    if attempt == 0 and warm_start.warm_start_works() and not warm_start.broken:
                        try:
                            self._take_warm()
                        except START_ERRORS:
                            break
            if not self.running:
                self._with_pipes(self._cold)
        try:
            self.request({"op": "ping"}, timeout=START_TIMEOUT)
        except ChildFailure as exc:
            raise ChildFailure(f"the grading process could not start ({exc})") from None
        self.start_seconds = time.monotonic() - self._started

    def _with_pipes(self, start) -> None:
        """Make the request and reply pipes and ``start(request_read, reply_write)``."""
        request_read, self.request_write = os.pipe()
        self.reply_read, reply_write = os.pipe()
        try:
            start(request_read, reply_write)
        except BaseException as exc:
            for fd in (self.request_write, self.reply_read):
                os.close(fd)
            if self.box:
                self.box.close()
                self.box = None
            if isinstance(exc, (sandbox.SandboxError, OSError, subprocess.SubprocessError)):
                raise ChildFailure(f"the grading process could not start ({exc})") from None
            raise
        finally:
            os.close(request_read)
            os.close(reply_write)
        os.set_blocking(self.request_write, False)  # see _send

    def _take_warm(self) -> None:
        if self.warm is not None and self.warm.server.alive():
            return
        fresh = self.warm is None and self._scratch is None
        self._close_warm()
        # a replacement keeps the folder the checks already use
        self.warm = warm_start.pool.take(self.pooled) if fresh else Warm(self.scratch)

    def _fork(self, request_read: int, reply_write: int) -> None:
        self._take_warm()
        self.forked = self.warm.server.fork(request_read, reply_write, START_TIMEOUT)

    def _give_up_warm(self, reason: str) -> None:
        """A fresh server that is alive and cannot fork shows that forks fail on this machine:
        this process starts children cold from now on (``cold_reason`` says why). A server
        that forked before is only replaced: a submission may have worn out its box."""
        self.cold_reason = reason
        server = self.warm.server if self.warm else None
        if server is not None and server.alive() and not server.forks:
            warm_start.broken = reason
        self._close_warm()

    def _close_warm(self) -> None:
        if self.warm:
            if self._scratch is None:  # keep its folder: the checks use it, a replacement too
                self._scratch = self.warm.detach_scratch()
            self.warm.close()
            self.warm = None

    def _cold(self, request_read: int, reply_write: int) -> None:
        self.box = sandbox.Box(self.scratch)
        self.process = self.box.popen(
            [sys.executable, "-m", "autograder.child", str(request_read), str(reply_write)],
            env=child_env(self.scratch), pass_fds=(request_read, reply_write))

    def request(self, message: dict, timeout: float) -> dict:
        if not self.running:
            self.start()
        started = time.monotonic()
        deadline = started + timeout
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
        finally:
            waited["seconds"] += time.monotonic() - started

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
        if self.forked is not None:
            try:
                code = self.warm.server.wait(self.forked, timeout=1.0)
            except forkserver.ForkServerError:
                return ""
            return "" if code is None else self.warm.server.verdict(self.forked, code)
        try:
            code = self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return ""
        return self.box.verdict(code)

    def stop(self) -> None:
        """Kill the child and everything it started (its pid namespace, its cgroup)."""
        if not self.running:
            return
        if self.forked is not None:
            try:
                self.warm.server.kill(self.forked)
            except forkserver.ForkServerError:
                self._close_warm()  # a server that cannot kill its child goes, box and all
            self.forked = None
        else:
            self.box.kill(self.process)
            self.box.close()
            self.box = None
            self.process = None
        for fd in (self.request_write, self.reply_read):
            os.close(fd)

    def close(self) -> None:
        """Stop the child and its server (or give a submission's server back to the pool for
        the next submission), and remove the scratch folder."""
        self.stop()
        if self.warm and self.pooled and self._scratch is None and warm_start.pool.give_back(self.warm):
            self.warm = None
        self._close_warm()
        if self._scratch:
            self._scratch.cleanup()
            self._scratch = None


class Session:
    """A submission loaded into a child: cells run once, replayed after a restart."""

    def __init__(self, submission: Submission, pooled: bool = True, child: Child | None = None):
        self.child = child or Child(pooled)  # ``child``: one launched ahead, that never ran code
        self.submission = submission
        self.executed: list[dict] = []
        self.problems: dict[str, str] = {}  # task id -> why its cell did not run
        self.cell_failures: list[str] = []  # failures of cells that hold no task
        self.notes: list[str] = []  # said once for the whole submission (a failing import)
        self.deadline: float | None = None  # time.monotonic() past which nothing more runs
        self.time_limit: float | None = None

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def scratch(self) -> str:
        return self.child.scratch

    def limit_time(self, seconds: float | None) -> None:
        """From now, the submission gets ``seconds`` in all: cells and scenarios wait no longer."""
        self.time_limit = seconds
        self.deadline = None if seconds is None else time.monotonic() + seconds

    @property
    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def timeout(self, seconds: float) -> float:
        """``seconds``, or less when the submission's time limit is nearer."""
        if self.deadline is None:
            return seconds
        return max(LEAST_TIMEOUT, min(seconds, self.deadline - time.monotonic()))

    def close(self) -> None:
        self.child.close()

    def load(self) -> None:
        self.problems.update(self.submission.problems)
        modules = {"op": "modules", "modules": self.submission.modules}
        try:
            reply = self.child.request(dict(modules), self.timeout(CELL_TIMEOUT))
        except ChildFailure as exc:
            reply = {"ok": False, "crashed": str(exc)}
            self.restart()
        if reply.get("ok") is True:
            self.executed.append(modules)
        renames = {task: found.renames for task, found in self.submission.found.items() if found.renames}
        for _, cell in self.submission.cells():
            self._run_cell(cell, renames)

    def _run_cell(self, cell, renames: dict) -> None:
        failure = cell.syntax_error
        if not failure and self.out_of_time:
            failure = messages.OUT_OF_TIME.format(limit=self.time_limit, during=messages.OUT_OF_TIME_IN_CELLS)
        elif not failure:
            request = {"op": "exec", "source": cell.source, "filename": cell.filename,
                       "tasks": list(cell.tasks),
                       "renames": {task: renames[task] for task in cell.tasks if task in renames}}
            try:
                reply = self.child.request(dict(request), self.timeout(CELL_TIMEOUT))
            except ChildFailure as exc:
                reply = {"ok": False, "raised": {"type": "", "message": str(exc), "where": ""}}
                self.restart()
            for failed in reply.get("imports") or []:
                if isinstance(failed, dict):
                    self.notes.append(_import_failure(cell, failed))
            if reply.get("ok") is True:
                self.executed.append(request)
                return
            failure = _cell_failure(cell, reply)
        for task in cell.tasks:
            self.problems[task] = failure
        if not cell.tasks:
            self.cell_failures.append(failure)

    def restart(self) -> None:
        self.child.stop()
        replayed = []
        for request in self.executed:
            try:
                reply = self.child.request(dict(request), self.timeout(CELL_TIMEOUT * 3))
            except ChildFailure:
                continue
            if reply.get("ok") is True:
                replayed.append(request)
        self.executed = replayed

    def scenario(self, task: str, scenario: str, /, timeout: float = SCENARIO_TIMEOUT,
                 trace: bool = False, given: str = "", **kwargs) -> dict:
        """Run a scenario on the task's snapshot; ChildFailure after a crash or hang.
        ``given``: source of stand-ins for this request only (``grader_only.standin_source``)."""
        request = {"op": "scenario", "task": task, "name": scenario, "kwargs": kwargs, "trace": trace}
        if given:
            request["given"] = given
        try:
            return self.child.request(request, self.timeout(timeout))
        except ChildFailure:
            self.restart()
            raise


def _import_failure(cell, failed: dict) -> str:
    line = failed.get("line")
    where = cell.location
    if isinstance(line, int):
        where = f"{where}, line {line}" if "cell" in cell.where else f"{cell.filename}, line {line}"
    return messages.IMPORT_FAILED.format(where=where, statement=str(failed.get("statement", ""))[:120],
                                         error=str(failed.get("error", ""))[:200])


def _cell_failure(cell, reply: dict) -> str:
    raised = reply.get("raised") or {}
    if not isinstance(raised, dict):
        raised = {"message": "the cell's reply was malformed"}
    what = f"{raised.get('type', '')}: {raised.get('message', '')}".strip(": ")
    where = raised.get("where") or f"{cell.filename}, {cell.where}"
    return f"the cell at {cell.where} of {cell.filename.split(',')[0]} failed to run ({where}): {what}"
