"""A pytest plugin: one test item per task of a submission.

``pytest --submission exercises/ -p autograder.pytest_plugin`` grades the submission with
the same engine as ``autograder check``, one item per task (``task[2.11]``), so every
pytest tool applies: ``-k``, ``--junitxml``, ``-x``, reruns. Without ``--submission``
the plugin does nothing.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder.reading import submission
from autograder.grading import grade_task, one_thread
from autograder.results import PASSED, TaskResult
from autograder.runner import Session
from autograder.tasks import Task

_GRADING = pytest.StashKey["Grading"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder")
    group.addoption("--submission", type=Path, help="grade this lesson file or folder, one test per task")
    group.addoption("--grade-seed", type=int, default=None, help="seed for the grader's inputs")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "task(id): the curriculum task a test grades, e.g. task('2.11')")


class Grading:
    """The submission loaded once into its child, shared by every task item."""

    def __init__(self, path: Path, seed: int | None):
        self.path, self.seed = path, seed if seed is not None else 0
        self.submission = submission.load(path)
        self.session: Session | None = None
        self.results: dict[str, TaskResult] = {}

    def grade(self, task: Task) -> TaskResult:
        if self.session is None:
            one_thread()
            self.session = Session(self.submission)
            self.session.load()
        result = grade_task(task, self.session, hash((self.seed, task.id)) & 0x7FFFFFFF, self.results)
        self.results[task.id] = result
        return result

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


class TaskFailed(Exception):
    pass


class TaskItem(pytest.Item):
    def __init__(self, *, task: Task, **kwargs):
        super().__init__(**kwargs)
        self.task = task
        self.add_marker(pytest.mark.task(task.id))

    def runtest(self) -> None:
        result = self.config.stash[_GRADING].grade(self.task)
        self.user_properties.append(("score", result.score))
        if result.status != PASSED:
            raise TaskFailed(f"[{result.status}] {result.message}")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, TaskFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.task.lesson, None, f"Task {self.task.id} ({self.task.name})"


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    path = config.getoption("submission")
    if path is None:
        return
    grading = config.stash[_GRADING] = Grading(path, config.getoption("grade_seed"))
    items[:] = [TaskItem.from_parent(session, name=f"task[{task.id}]", task=task)
                for task in grading.submission.tasks]


def pytest_sessionfinish(session: pytest.Session) -> None:
    grading = session.config.stash.get(_GRADING, None)
    if grading is not None:
        grading.close()


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    grading = config.stash.get(_GRADING, None)
    if grading is None or not grading.results:
        return
    score = sum(r.score for r in grading.results.values())
    total = sum(r.max_score for r in grading.results.values())
    terminalreporter.write_sep("=", f"autograder: {grading.path} scored {score:g}/{total:g}")
