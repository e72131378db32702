"""Which tasks a ``%check`` grades: its words (ids or names), or every task defined so far.

Trusted side: runs in the grader process, on the notebook's text (nothing is executed).
"""
from __future__ import annotations

import re
from pathlib import Path

from autograder.reading import submission
from autograder.tasks import TASKS, Task

NOTHING_DEFINED = ("no task is defined above this cell yet: write a task's function (def matmul ...) "
                   "and run %check again, or name one: %check 1.2")
UNKNOWN = "unknown task {word!r}: give a task id such as 1.6 or a name such as matmul (autograder tasks lists them)"
OTHER_LESSON = "Task {task} belongs to {lesson}, which {where} does not hold"
_CELL_NUMBER = re.compile(r"cell (\d+)$")


def choose(path: Path, words: list[str], upto: int | None) -> list[str]:
    """Task ids, in curriculum order. ``upto``: the 1-based number of the cell that asked,
    when known: without words, only tasks completed in cells above it count as defined."""
    held, completed_in = _tasks_and_cells(path)
    defined = {task for task, where in completed_in.items() if upto is None or _above(where, upto)}
    if not words:
        if not defined:
            raise ValueError(NOTHING_DEFINED)
        return _ordered(defined)
    chosen: list[str] = []
    for word in words:
        matches = _matching(word)
        if not matches:
            raise ValueError(UNKNOWN.format(word=word))
        inside = [t.id for t in matches if t.id in held]
        if not inside:
            raise ValueError(OTHER_LESSON.format(task=matches[0].id, lesson=matches[0].lesson,
                                                 where=path.name))
        so_far = [t for t in inside if t in defined]
        chosen += inside if _is_id(word) or not so_far else so_far
    return _ordered(set(chosen))


def _tasks_and_cells(path: Path) -> tuple[set[str], dict[str, str]]:
    """The tasks ``path`` can hold, and where (``"cell 7"``) each one it defines is completed
    (in the notebook itself, or in any of a folder's: the kernel's cells written as lessons)."""
    loaded = submission.load(path)  # one stream of cells, tasks located across it
    return ({t.id for t in loaded.tasks},
            {task: loaded.files[found.file_index].cells[found.cell_index].where
             for task, found in loaded.found.items() if found.file_index == 0 or path.is_dir()})


def _above(where: str, upto: int) -> bool:
    number = _CELL_NUMBER.search(where)
    return number is None or int(number[1]) < upto


def _is_id(word: str) -> bool:
    return word in TASKS


def _matching(word: str) -> list[Task]:
    if _is_id(word):
        return [TASKS[word]]
    folded = word.casefold()
    return [t for t in TASKS.values()
            if t.name.casefold() == folded or folded in (n.casefold() for n in t.names)]


def _ordered(ids) -> list[str]:
    return [t for t in TASKS if t in ids]
