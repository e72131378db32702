"""``autograder check --watch``: grade again, on each save, the tasks whose cells changed.

The files are watched with ``watchfiles``. After a save the submission is read again (no
torch here, only the cells) and each task's cells are compared with what was graded last:
a task is graded again when its own cell changed, or a task it builds on did. A change
outside the task cells (imports, helpers, another lesson it imports) grades every task
again. The table always shows every task, each with its latest result, so a failing
task's message stays on screen until it passes.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Callable

from rich.console import Console

from autograder import report
from autograder.results import SubmissionResult
from autograder.reading.submission import SUFFIXES, SubmissionError, load
from autograder.tasks import TASKS

STEP_MS = 30  # quiet time after a change before it is handled: an editor's save is one batch
WATCHING = "watching {path} for saved changes (Ctrl+C to stop)"
UNCHANGED = "saved, but no task's cells changed: nothing to grade again"


def watch(path: Path, *, grade: Callable[[list[str] | None], SubmissionResult],
          task_ids: list[str] | None = None, aliases: dict | None = None,
          console: Console | None = None, stop_event=None) -> int:
    """Grade ``path``, then again after each save, until Ctrl+C (or ``stop_event``).

    ``grade(task_ids)`` grades those tasks (None: all) the way ``autograder check`` does.
    Returns 0 when every task passed at the end, else 1."""
    import watchfiles

    console = console or Console()
    path = Path(path)
    shown = grade(None)
    seen = fingerprints(path, task_ids, aliases)
    _show(console, shown, path)
    folder = path if path.is_dir() else path.parent
    try:
        for _ in watchfiles.watch(folder, watch_filter=_lesson_file, step=STEP_MS, stop_event=stop_event,
                                  recursive=False):
            try:
                now = fingerprints(path, task_ids, aliases)
            except SubmissionError as exc:
                console.print(f"autograder check: {exc}", markup=False, highlight=False)
                continue
            changed = changed_tasks(seen, now)
            if not changed:
                console.print(UNCHANGED)
                continue
            try:
                fresh = grade(None if changed is ALL else changed)
            except (SubmissionError, ValueError) as exc:
                console.print(f"autograder check: {exc}", markup=False, highlight=False)
                continue
            seen = now
            shown = fresh if changed is ALL else merge(shown, fresh)
            _show(console, shown, path)
    except KeyboardInterrupt:
        pass
    return 0 if shown.passed else 1


def _lesson_file(change, name: str) -> bool:
    return Path(name).suffix in SUFFIXES and not Path(name).name.startswith(".")


ALL = ["*"]  # every task: the change was outside the task cells


def fingerprints(path: Path, task_ids: list[str] | None, aliases: dict | None) -> dict[str, str]:
    """A hash per graded task of its own cells, and under ``""`` one of everything else read."""
    loaded = load(path, task_ids, aliases)
    own: dict[str, hashlib._Hash] = {task.id: hashlib.sha256() for task in loaded.tasks}
    rest = hashlib.sha256()
    for source_file, cell in loaded.cells():
        holders = [task for task in cell.tasks if task in own]
        for task in holders:
            own[task].update(cell.source.encode())
        if not cell.tasks:
            rest.update(f"{source_file.path}\0{cell.source}\0".encode())
    for source_file in loaded.importable[len(loaded.files):]:  # lessons it imports
        for cell in source_file.cells:
            rest.update(cell.source.encode())
    for task, problem in loaded.problems.items():
        if task in own:
            own[task].update(problem.encode())
    return {"": rest.hexdigest(), **{task: digest.hexdigest() for task, digest in own.items()}}


def changed_tasks(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The tasks to grade again (``ALL`` for every one), in curriculum order."""
    if before.get("") != after.get("") or set(before) != set(after):
        return ALL
    changed = {task for task in after if task and before[task] != after[task]}
    grown = True
    while grown:  # and the tasks built on them
        more = {task for task in after if task and task not in changed
                and any(d in changed for d in TASKS[task].depends)}
        changed |= more
        grown = bool(more)
    return [task for task in after if task in changed]


def merge(shown: SubmissionResult, fresh: SubmissionResult) -> SubmissionResult:
    """Every task of ``shown``, with those ``fresh`` graded again replaced."""
    latest = {task.id: task for task in fresh.tasks}
    return SubmissionResult(tasks=[latest.get(task.id, task) for task in shown.tasks], path=shown.path,
                            seed=fresh.seed, crashed=fresh.crashed, flags=fresh.flags, notes=fresh.notes,
                            hidden_pending=shown.hidden_pending)


def _show(console: Console, result: SubmissionResult, path: Path) -> None:
    if console.is_terminal:
        console.clear()
    report.print_table(result, console)
    console.print(f"{WATCHING.format(path=path)}; graded at {time.strftime('%H:%M:%S')}",
                  markup=False, highlight=False)
