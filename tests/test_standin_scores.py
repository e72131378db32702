"""Lessons 03-05's tasks that build on stand-ins keep their scores in instructor grading.

The answers they run on (``instructor/answers.py``) reach the child only as the source of
the request that needs them, and ``camel2snake`` and ``listify`` stand-ins are no longer
answers (``standins``); the scores do not move for it: every task of lessons 03-05 passes
on the reference solutions and on the course's own notebooks (but where the course differs:
``COURSE_DIFFERENCES``), and fails as not implemented on the untouched exercises. (The mutants of these lessons, graded as an instructor grades,
each still lose the points of their own task only: ``test_mutants.py``.)
"""
from __future__ import annotations

import pytest

from builders import EXERCISES, SOLUTIONS, Submissions, by_id
from course_notebooks import COURSE_DIFFERENCES, write_course_notebooks
from autograder.tasks import tasks_of

BUILT_ON_STANDINS = ("3.14", "4.4", "4.7", "4.8", "4.9", "5.7", "5.8", "5.9", "5.10")
GRADED = [t.id for lesson in ("l03_minibatch_training", "l04_callbacks", "l05_anneal") for t in tasks_of(lesson)]
submissions = Submissions()


@submissions.register(hidden=True, task_ids=GRADED)
def reference(folder):
    return SOLUTIONS


@submissions.register(hidden=True, task_ids=GRADED)
def course_notebooks(folder):
    return write_course_notebooks(folder)


@submissions.register(hidden=True, task_ids=GRADED)
def untouched_exercises(folder):
    return EXERCISES


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    with submissions.grading(tmp_path_factory.mktemp("standin-scores")) as result:
        yield result


@pytest.mark.parametrize("name", ["reference", "course_notebooks"])
def test_working_code_gets_every_point(graded, name):
    result = by_id(graded(name))
    assert list(result) == GRADED
    failed = {task_id: task.message for task_id, task in result.items() if task.status != "passed"}
    assert set(failed) == (set(COURSE_DIFFERENCES) if name == "course_notebooks" else set()), failed
    assert not any("your own" in result[task_id].message for task_id in BUILT_ON_STANDINS)


def test_stubs_fail_as_not_implemented_not_through_a_stand_in(graded):
    result = by_id(graded("untouched_exercises"))
    assert list(result) == GRADED
    for task_id, task in result.items():
        assert task.status == "failed" and task.score == 0, (task_id, task.message)
        assert task.checks and task.checks[-1].name == "implemented", (task_id, task.message)
