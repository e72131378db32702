"""The notebook's grader process: beside the kernel, grading on request, kept warm.

Started by the kernel on the first ``%check`` (``python -m autograder.notebook.server``),
it reads one JSON request a line on stdin and writes one JSON reply a line on stdout:

    {"path": "/private/folder/l01_matmul.ipynb", "words": ["1.6"], "upto": 12, "seed": null}
    {"ok": true, "result": {"score": 1, ..., "seed": 123, "flags": []}, "seconds": 0.4}

It grades with ``grading.grade``, exactly as ``autograder check`` does, so scores and
messages are the same. Between requests it keeps what makes the next one fast: torch and
the checks imported, the reference solutions loaded in their child (the speed baselines),
and one child launched ahead that has never run code. Each grade uses a fresh child.
The process ends when the kernel closes the pipe (the kernel exited or restarted).
"""
from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import time
from pathlib import Path


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever else prints goes to the log, never into the replies
    from autograder import reference, warm

    warm.prestart(1 + (reference.solutions_dir() is not None))
    ahead = Ahead()
    from autograder import grading  # noqa: F401 - torch and the checks, while the child starts

    for line in sys.stdin:
        if not line.strip():
            continue
        reply = handle(line, ahead)
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
        ahead.refill()
        if reply.get("ok"):
            reference.warm_up()  # the speed baselines' child, ready before a task needs it
    ahead.close()
    atexit._run_exitfuncs()  # children and boxes stopped; then no slow torch teardown
    os._exit(0)


class Ahead:
    """A child launched ahead of the next grade, that has never run code (the command line's
    grader process, ``autograder.daemon``, keeps one too)."""

    def __init__(self):
        self.child = _launch_child()

    def take(self):
        """The child, ready (or None: the grade starts its own); the next one comes with ``refill``."""
        child, self.child = _ready(self.child), None
        return child

    def refill(self) -> None:
        if self.child is None:
            self.child = _launch_child()

    def close(self) -> None:
        if self.child is not None:
            self.child.close()
            self.child = None


def _stop(signum, frame):
    raise SystemExit(1)  # unwinds the grade: its child and box are closed, then atexit runs


def handle(line: str, ahead: Ahead) -> dict:
    """Grade one request; every failure is a reply saying why, never the end of the loop."""
    home, started = os.getcwd(), time.monotonic()
    try:
        return _grade(line, ahead, started)
    finally:
        os.chdir(home)  # the kernel removes the notebook's copy once it has the reply


def _grade(line: str, ahead: Ahead, started: float) -> dict:
    from autograder.grading import grade
    from autograder.notebook.selection import choose
    from autograder.reading.submission import SubmissionError

    try:
        request = json.loads(line)
        path = Path(request["path"])
        if not path.exists():
            raise ValueError(f"{path} does not exist")
        # messages name the file as the student knows it, not the private folder it is in
        os.chdir(path if path.is_dir() else path.parent)
        path = Path(".") if path.is_dir() else Path(path.name)
        task_ids = choose(path, list(request.get("words") or []), request.get("upto"))
    except (SubmissionError, ValueError, KeyError, TypeError, OSError) as exc:
        return {"ok": False, "error": str(exc)}  # the child launched ahead stays for the next
    child = ahead.take()
    try:
        result = grade(path, task_ids=task_ids, seed=request.get("seed"), child=child)
    except (SubmissionError, ValueError) as exc:
        return {"ok": False, "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the grader must answer; the kernel shows why
        return {"ok": False, "error": f"the grader failed: {type(exc).__name__}: {exc}"}
    data = {**result.to_json(), "seed": result.seed, "flags": result.flags, "crashed": result.crashed,
            "notes": list(getattr(result, "notes", []))}
    return {"ok": True, "result": data, "seconds": round(time.monotonic() - started, 3)}


def _ready(child):
    """Wait for the child launched ahead to answer (its start has the start's time limit, not a
    cell's); one that cannot start is dropped, and the grade starts its own."""
    if child is None:
        return None
    try:
        child.wait_ready()
    except Exception:  # noqa: BLE001 - ChildFailure, or a box that failed: the grade tries afresh
        child.close()
        return None
    return child


def _launch_child():
    """A child started now (importing torch, or a warm server's fork to come), used by the next grade."""
    from autograder.runner import Child

    child = Child()
    try:
        child.launch()
    except Exception:  # noqa: BLE001 - the grade then starts its own child and says why if it cannot
        child.close()
        return None
    return child


if __name__ == "__main__":
    main()
