"""Checks for every task, one function per task id, registered with ``@check``.

A check draws its inputs from ``t`` (a ``checking.TaskContext`` seeded by the grader),
runs the student's code in the child through it, and compares with PyTorch itself:
values with ``torch``, gradients with ``torch.autograd``.

A *hidden* check (``@hidden_check``, kept in ``instructor/hidden.py``) is one
more case for a task, scored as a row of its own: instructor grading and the Gradescope
release run it; the student release and the wheel leave it out, and ``autograder check``
there only announces how many there are (``ANNOUNCED``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

CHECKS = {}


@dataclass(frozen=True)
class HiddenCheck:
    task_id: str
    name: str  # what it tries, in a few words: "larger and degenerate shapes"
    function: Callable
    points: float = 1.0


HIDDEN: dict[str, list[HiddenCheck]] = {}  # task id -> its hidden checks, in registration order


def check(*task_ids):
    def register(function):
        for task_id in task_ids:
            CHECKS[task_id] = function
        return function
    return register


def hidden_check(task_id: str, name: str, points: float = 1.0):
    def register(function):
        HIDDEN.setdefault(task_id, []).append(HiddenCheck(task_id, name, function, points))
        return function
    return register


def hidden_counts() -> dict[str, int]:
    """Task id -> how many hidden checks it has: counted here, or, in a student release that
    has no ``instructor/``, as the release wrote them down."""
    if HIDDEN:
        return {task_id: len(checks) for task_id, checks in HIDDEN.items()}
    return dict(ANNOUNCED)


def operator_arg(name: str) -> dict:
    """An ``operator`` function as an argument (the child turns it back into the function)."""
    return {"__operator__": name}


from autograder.checks import (  # noqa: E402,F401  (registration)
    lesson00, lesson01, lesson02, lesson03, lesson04, lesson05, lesson06, training,
)
# the instructor's copy (``instructor/hidden.py``, out of the child's reach); a student
# release has ``announced.py`` instead
from autograder import grader_only  # noqa: E402

grader_only.load_hidden()
try:
    from autograder.checks.announced import ANNOUNCED  # noqa: E402
except ModuleNotFoundError:
    ANNOUNCED: dict[str, int] = {}
