"""The reference solutions, loaded into the trusted grader as speed baselines.

They run here, never in the child, and are loaded the way a submission is (cell by
cell, with a snapshot per task), so "the reference's 1.6" is exactly the 1.6 cell of
``solutions/l01_matmul.py``. Students' copies of the kit have no ``solutions/``; there
the ratio-to-reference check is skipped and says so, while the deterministic work
check still runs.
"""
from __future__ import annotations

import functools
import os
import sys
import threading
from pathlib import Path

from autograder import submission
from autograder.child import Child

SOLUTIONS_ENV = "AUTOGRADER_SOLUTIONS"


def solutions_dir() -> Path | None:
    configured = os.environ.get(SOLUTIONS_ENV)
    folder = Path(configured) if configured else Path(__file__).resolve().parents[1] / "solutions"
    return folder if folder.is_dir() and any(folder.glob("l*.py")) else None


class Reference:
    def __init__(self, folder: Path):
        self.runner = Child()
        self.lock = threading.Lock()
        before = dict(sys.modules)
        try:
            for lesson_file in submission.load(folder):
                for cell in lesson_file.cells:
                    reply = self.runner.exec_cell(lesson=lesson_file.lesson.stem, source=cell.source,
                                                  filename=f"reference:{cell.filename}", tasks=cell.tasks)
                    if not reply["ok"]:
                        raise RuntimeError(f"reference solution {cell.filename} {cell.where} failed: {reply}")
        finally:  # lesson 02 imports lesson 01 while loading; the grader keeps no such modules
            for name in [n for n in sys.modules if n not in before]:
                if name.split(".")[0] == "exp" or name in self.runner.modules:
                    del sys.modules[name]

    def namespace(self, task: str) -> dict:
        return self.runner.restore(task)


_LOADING = threading.Lock()


@functools.lru_cache(maxsize=1)
def _load(folder: Path | None) -> Reference | None:
    return Reference(folder) if folder else None


def load() -> Reference | None:
    with _LOADING:
        return _load(solutions_dir())
