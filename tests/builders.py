"""Building submissions from the reference lessons, and grading many of them at once.

A test submission is the reference solutions copied into a temporary folder with one
piece changed (a task cell replaced or deleted, a file broken or left out). Each
``grade`` starts a sandboxed child (a few seconds, mostly importing torch), so a test
module registers its submissions with a ``Submissions`` registry and grades them all
up front in a small pool of processes; each test then reads its own result.
"""
from __future__ import annotations

import multiprocessing
import os
import re
import shutil
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from autograder.classroom.progress import ClassProgress
from autograder.grading import grade
from autograder.results import PASSED, SubmissionResult
from autograder.tasks import LESSONS, TASKS, tasks_of

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
SEED = 20190301  # fixed, so a failure here reproduces exactly
# One grade at a time per core: more only adds load, and load skews the speed checks' timings.
WORKERS = int(os.environ.get("AUTOGRADER_TEST_WORKERS", 0)) or os.cpu_count() or 1

_NEXT_CELL = re.compile(r"^# %%", re.MULTILINE)


def processes_named(name: str) -> list[int]:
    """Live processes on this host whose name (``comm``, set with ``prctl``) is ``name``."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if Path(entry.path, "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def lesson_path(folder: Path, task_id: str) -> Path:
    return folder / LESSONS[TASKS[task_id].lesson].filename


def task_ids(lesson: str) -> list[str]:
    return [t.id for t in tasks_of(lesson)]


def copy_lessons(folder: Path, upto: str | None = None, source: Path = SOLUTIONS) -> Path:
    """Copy the reference lesson files up to and including ``upto`` (what it imports); all
    of them by default."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem in LESSONS:
        shutil.copy(source / LESSONS[stem].filename, folder / LESSONS[stem].filename)
        if stem == upto:
            break
    return folder


def _cell_span(text: str, task_id: str) -> tuple[int, int, int]:
    """(header start, body start, body end) of the cell headed ``# %% task="<id>"``."""
    header = re.search(rf'^# %% task="{re.escape(task_id)}"[ \t]*\n', text, re.MULTILINE)
    assert header, f'no cell with header # %% task="{task_id}"'
    following = _NEXT_CELL.search(text, header.end())
    return header.start(), header.end(), following.start() if following else len(text)


def replace_task_cell(path: Path, task_id: str, code: str) -> Path:
    """Replace the body of the task's cell (up to the next ``# %%``) with ``code``."""
    text = path.read_text()
    _, start, end = _cell_span(text, task_id)
    path.write_text(text[:start] + code.rstrip("\n") + "\n\n\n" + text[end:])
    return path


def delete_task_cell(path: Path, task_id: str) -> Path:
    """Remove the task's cell, header and all."""
    text = path.read_text()
    header, _, end = _cell_span(text, task_id)
    path.write_text(text[:header] + text[end:])
    return path


def line_of(path: Path, fragment: str) -> int:
    """1-based number of the only line of ``path`` containing ``fragment``."""
    numbers = [n for n, line in enumerate(path.read_text().split("\n"), 1) if fragment in line]
    assert len(numbers) == 1, f"{fragment!r} is on lines {numbers} of {path.name}"
    return numbers[0]


def by_id(result: SubmissionResult) -> dict:
    return {t.id: t for t in result.tasks}


def describe(result: SubmissionResult) -> str:
    return "\n".join(f"  {t.id} {t.status}: {t.message}" for t in result.tasks)


def assert_outcome(result: SubmissionResult, expected: dict[str, str | set[str]],
                   graded: list[str]) -> None:
    """Exactly the tasks ``graded``, in order; those in ``expected`` have that status, the
    rest passed. A status may be a set of acceptable ones ({"failed", "error"})."""
    statuses = {t.id: t.status for t in result.tasks}
    assert list(statuses) == graded, describe(result)
    for task_id, status in statuses.items():
        wanted = expected.get(task_id, PASSED)
        wanted = {wanted} if isinstance(wanted, str) else wanted
        assert status in wanted, f"Task {task_id} is {status}, expected {wanted}:\n{describe(result)}"


class Submissions:
    """A test module's submissions: ``@submissions.register`` a builder, grade them all.

    A builder gets an empty folder and returns the path to grade (a lesson file or the
    folder). ``grading(root)`` builds every submission, starts grading them in a pool
    and yields ``result(builder) -> SubmissionResult``.
    """

    def __init__(self):
        self.builders: dict[str, tuple[Callable[[Path], Path], dict]] = {}

    def register(self, build: Callable[[Path], Path] | None = None, *, name: str | None = None,
                 **grade_options):
        def add(function):
            self.builders[name or function.__name__] = (function, grade_options)
            return function
        return add(build) if build else add

    @contextmanager
    def grading(self, root: Path, only: set[str] | None = None,
                ) -> Iterator[Callable[[Callable], SubmissionResult]]:
        """``only``: the names of the submissions the selected tests need (default: all)."""
        futures: dict[str, Future] = {}
        # NOTE: processes, not threads: grade() keeps the reference solutions (the speed
        # baselines) in one namespace per process, and two threads grading at once swap
        # each other's reference matmul mid-timing.
        context = multiprocessing.get_context("spawn")  # no fork of a process holding torch
        with ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
            for name, (build, options) in self.builders.items():
                if only is not None and name not in only:
                    continue
                path = build(root / name)
                futures[name] = pool.submit(grade, path, seed=SEED, **options)
            try:
                yield lambda build: futures[getattr(build, "__name__", build)].result()
            finally:
                pool.shutdown(wait=True, cancel_futures=True)


def venv_without_the_kit(folder: Path) -> str:
    """A virtual environment that sees this interpreter's packages (torch, pip, setuptools)
    but not the kit: the site-packages folders are plain path entries, so the ``.pth``
    files there (an editable install's finder among them) never run. Returns its python."""
    import site
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    own = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    Path(own, "system-packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return str(python)


class Quiet(ClassProgress):
    """A class run's progress that prints nothing and keeps who was graded, in order."""

    def __init__(self):
        super().__init__()
        self.graded: list[str] = []

    def start(self, total, kept):
        self.total, self.kept = total, kept

    def advance(self, record):
        self.graded.append(record.student)
