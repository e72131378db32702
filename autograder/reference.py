"""The reference solutions, as speed baselines, in a child of their own.

The reference runs in a process started exactly like the submission's child (same
interpreter, same thread settings, same pipes), so both pay the same costs: a wake-up
on a busy machine, a round trip, OpenMP's spinning threads. Only the reference's
cells are sent to it: no student code ever runs there, and it never sees a
submission. Students' copies of the kit have no ``solutions/``; there the
ratio-to-reference check is skipped and says so, while the work check still runs.
"""
from __future__ import annotations

import ast
import atexit
import multiprocessing.util
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.reading import submission

if TYPE_CHECKING:  # imported when used: ``solutions_dir`` serves the command line before torch loads
    from autograder.runner import Session

SOLUTIONS_ENV = "AUTOGRADER_SOLUTIONS"
_LOCK = threading.Lock()
_SESSION: dict[str, "Session"] = {}


def solutions_dir() -> Path | None:
    configured = os.environ.get(SOLUTIONS_ENV)
    folder = Path(configured) if configured else Path(__file__).resolve().parents[1] / "solutions"
    return folder if folder.is_dir() and any(folder.glob("l*.py")) else None


def needed(path: Path, task_ids: list[str] | None = None, aliases: dict | None = None) -> bool:
    """``wanted`` for a submission on disk, read without torch: the command line starts the
    reference's child ahead only for a check that will need it."""
    if solutions_dir() is None:
        return False
    try:
        return wanted(submission.load(Path(path), task_ids, aliases))
    except (submission.SubmissionError, OSError, ValueError):
        return False  # the grade says why


def wanted(loaded: submission.Submission) -> bool:
    """Whether grading ``loaded`` will time a task against the reference: a task with a
    time-ratio check is defined, and not as the release's stub (``raise NotImplementedError``
    fails its values first). Only a guess of when to start the child: ``session`` starts it
    whenever a timing needs it."""
    from autograder.speed_limits import timed_against_reference

    timed = {task.id for task in loaded.tasks if timed_against_reference([task.id])}
    return any(timed & set(cell.tasks) and not _stub(cell.source) for _, cell in loaded.cells())


def _stub(source: str) -> bool:
    """A cell with a function whose body is only (a docstring and) ``raise NotImplementedError``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = [statement for statement in node.body if not (
                isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))]
            if len(body) == 1 and isinstance(body[0], ast.Raise) and "NotImplementedError" in ast.dump(body[0]):
                return True
    return False


def session() -> "Session | None":
    """The reference loaded in its child, started once per grader process; None without solutions.

    Callers hold ``lock`` while they use it: rounds must not interleave.
    """
    folder = solutions_dir()
    if folder is None:
        return None
    from autograder.runner import Session

    with _LOCK:
        key = str(folder)
        reference = _SESSION.get(key)
        if reference is None or not reference.executed or not reference.child.running:
            reference = _SESSION[key] = _SESSION.get(key) or Session(submission.load(folder), pooled=False)
            reference.child.launch()
            reference.child.wait_ready()
            reference.load()
            if reference.problems:
                del _SESSION[key]
                reference.close()
                raise RuntimeError(f"the reference solutions in {folder} do not load: {reference.problems}")
        return reference


def warm_up() -> None:
    """Start the reference's child now (its warm server), so that it imports torch while the
    submission loads."""
    from autograder.runner import Session

    folder = solutions_dir()
    with _LOCK:
        if folder is not None and str(folder) not in _SESSION:
            reference = _SESSION[str(folder)] = Session(submission.load(folder), pooled=False)
            try:
                reference.child.launch()
            except Exception:  # noqa: BLE001 - session() starts it again and reports
                pass


lock = threading.Lock()


@atexit.register
def _close() -> None:
    for reference in list(_SESSION.values()):
        reference.close()
    _SESSION.clear()


multiprocessing.util.Finalize(None, _close, exitpriority=10)  # a pool worker skips atexit
