"""Checks for every task, one function per task id, registered with ``@check``.

A check draws its inputs from ``t`` (a ``checking.TaskContext`` seeded by the grader),
runs the student's code in the child through it, and compares with PyTorch itself:
values with ``torch``, gradients with ``torch.autograd``.
"""
from __future__ import annotations

CHECKS = {}


def check(*task_ids):
    def register(function):
        for task_id in task_ids:
            CHECKS[task_id] = function
        return function
    return register


def operator_arg(name: str) -> dict:
    """An ``operator`` function as an argument (the child turns it back into the function)."""
    return {"__operator__": name}


from autograder.checks import (  # noqa: E402,F401  (registration)
    lesson00, lesson01, lesson02, lesson03, lesson04, training,
)
