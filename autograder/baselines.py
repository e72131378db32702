"""Timing baselines as data: the reference's speed, recorded where the solutions are.

A student release carries no solutions, so the ratio-to-reference check compares the
submission with the reference's speed measured when the release was built
(``baselines.json`` beside this module). Machines and their load differ, so what is
recorded is relative: the reference's time per call over the time of a fixed torch
workload (the calibration) timed in the trusted grader, in rounds interleaved with the
reference's. Where the check runs, the calibration is timed again, interleaved with
the submission's rounds, and the recorded quotient turns it back into the reference's
expected time.
"""
from __future__ import annotations

import functools
import json
import os
import statistics
import time
from pathlib import Path

BASELINES_ENV = "AUTOGRADER_BASELINES"
FILE_NAME = "baselines.json"
CALIBRATION_SHAPES = ((256, 784), (784, 256))
CALIBRATION_ROUNDS = 7


def path() -> Path:
    configured = os.environ.get(BASELINES_ENV)
    return Path(configured) if configured else Path(__file__).with_name(FILE_NAME)


@functools.lru_cache(maxsize=1)
def _recorded() -> dict:
    try:
        data = json.loads(path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load() -> dict[str, float]:
    """Task id -> the reference's time per call over the calibration's, as recorded; empty
    without a file."""
    tasks = _recorded().get("tasks", {})
    return {task_id: float(seconds) for task_id, seconds in tasks.items()
            if isinstance(seconds, (int, float)) and seconds > 0}


def calibrate(repeats: int = 1) -> float:
    """Seconds of one single-threaded float32 matmul of a fixed size (the best of
    ``repeats``), in this process: trusted, no student code runs here."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the children run
    try:
        a, b = _calibration_inputs()
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - start)
        return best
    finally:
        torch.set_num_threads(threads)


@functools.lru_cache(maxsize=1)
def _calibration_inputs():
    import torch

    generator = torch.Generator().manual_seed(0)
    return tuple(torch.randn(*shape, generator=generator) for shape in CALIBRATION_SHAPES)


def measure(task_ids: list[str] | None = None, seed: int = 0) -> dict:
    """Record, for every task the speed table times, the reference's time per call over the
    calibration's (medians of interleaved rounds)."""
    import torch

    from autograder import reference, speed
    from autograder.tasks import TASKS

    session = reference.session()
    if session is None:
        raise FileNotFoundError("no reference solutions to time (set AUTOGRADER_SOLUTIONS)")
    generator = torch.Generator().manual_seed(seed)
    tasks = {}
    with reference.lock:
        for task_id in task_ids or list(speed.MEASURE):
            if task_id in speed.MEASURE:
                tasks[task_id] = speed.relative_time(TASKS[task_id], session, generator)
    return {"calibration": CALIBRATION_SHAPES, "tasks": tasks}


def write(destination: Path, data: dict) -> Path:
    destination.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return destination
