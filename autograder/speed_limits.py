"""The speed table, one row per task: what its work may grow with, and its time-ratio limit.

Apart from ``speed`` so that it imports no torch: the command line reads it before torch
loads, to start the reference's child only for a check that times a task against it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Speed:
    grows_with: tuple[str, ...] | None = None  # of "rows", "inner", "cols": what the work may grow with
    no_temporary: bool = False  # 2.17: no (batch, n_in, n_out) tensor
    ratio: float | None = None  # limit on median(submission) / median(reference)


SPEED: dict[str, Speed] = {
    "1.4": Speed(grows_with=("rows", "cols")),
    "1.6": Speed(grows_with=("rows",), ratio=5.0),
    "1.7": Speed(grows_with=(), ratio=5.0),
    "1.8": Speed(grows_with=(), ratio=5.0),
    "2.17": Speed(no_temporary=True, ratio=5.0),
}


def timed_against_reference(task_ids) -> bool:
    """Whether any of these tasks has a time-ratio check (it needs the reference's child)."""
    return any(SPEED.get(task_id) and SPEED[task_id].ratio for task_id in task_ids)
