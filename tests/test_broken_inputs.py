"""Submissions that are broken rather than wrong: each costs its own tasks, the rest is graded."""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder.results import ERROR, FAILED
from autograder.tasks import TASKS
from builders import (
    Submissions, assert_outcome, by_id, copy_lessons, delete_task_cell, line_of, replace_task_cell,
    task_ids,
)

L00, L01, L02 = "l00_exports", "l01_matmul", "l02_fully_connected"
NOT_PASSED = {FAILED, ERROR}
submissions = Submissions()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    with submissions.grading(tmp_path_factory.mktemp("broken")) as result:
        yield result


def lesson_02_with(folder, task_id, code):
    copy_lessons(folder)
    return replace_task_cell(folder / f"{L02}.py", task_id, code)


# --- unreadable and missing files ----------------------------------------------------------

@submissions.register
def notebook_of_invalid_json(folder):
    copy_lessons(folder)
    (folder / f"{L02}.py").unlink()
    (folder / "02_fully_connected.ipynb").write_text('{"cells": [{"cell_type": "code", "source": ')
    return folder


def test_an_invalid_notebook_errors_its_own_lesson_only(graded):
    result = graded(notebook_of_invalid_json)
    assert_outcome(result, {t: ERROR for t in task_ids(L02)}, list(TASKS))
    for task_id in task_ids(L02):
        message = by_id(result)[task_id].message
        assert "02_fully_connected.ipynb" in message and "notebook" in message and "JSON" in message, message


@submissions.register
def lesson_00_missing(folder):
    copy_lessons(folder)
    (folder / f"{L00}.py").unlink()
    return folder


def test_a_missing_lesson_file_fails_its_tasks_with_the_reason(graded):
    result = graded(lesson_00_missing)
    tasks = by_id(result)
    for task_id in ("0.1", "0.2"):
        assert tasks[task_id].status == FAILED
        assert "l00_exports.py is missing" in tasks[task_id].message, tasks[task_id].message
    # lessons 01 and 02 import test/test_eq from it: only test_near (1.5) is built on them
    assert_outcome(result, {"0.1": FAILED, "0.2": FAILED, "1.5": NOT_PASSED}, list(TASKS))


def test_a_task_broken_by_the_missing_lesson_names_it(graded):
    message = by_id(graded(lesson_00_missing))["1.5"].message
    assert "l00_exports" in message, message


# --- a cell that does not run --------------------------------------------------------------

SYNTAX_ERROR = '''def mse(output, targ):
    return (output.squeeze(-1) - targ).pow(2).mean(  # never closed
'''


@submissions.register
def syntax_error_in_mse(folder):
    return lesson_02_with(folder, "2.8", SYNTAX_ERROR)


def test_a_syntax_error_costs_its_task_only_and_names_the_line(graded):
    result = graded(syntax_error_in_mse)
    assert_outcome(result, {"2.8": ERROR}, task_ids(L02))
    message = by_id(result)["2.8"].message
    line = line_of(Path(result.path), "# never closed")
    assert "syntax error" in message and f"line {line}" in message, message


@submissions.register
def relu_cell_deleted(folder):
    copy_lessons(folder)
    return delete_task_cell(folder / f"{L02}.py", "2.4")


def test_a_deleted_task_cell_is_named_and_later_tasks_use_stand_ins(graded):
    result = graded(relu_cell_deleted)
    assert_outcome(result, {"2.4": ERROR}, task_ids(L02))  # 2.7 (model) calls relu: still passes
    assert "relu" in by_id(result)["2.4"].message


RAISING_DEFAULT = '''def mse(output, targ, weight=1 / 0):
    return (output.squeeze(-1) - targ).pow(2).mean()
'''
RAISING_CLASS_BODY = '''class Relu:
    raise ValueError("Relu is not ready")


class Lin:
    def __init__(self, w, b):
        self.w, self.b = w, b


class Mse:
    pass
'''


@submissions.register
def default_argument_raises(folder):
    return lesson_02_with(folder, "2.8", RAISING_DEFAULT)


@submissions.register
def class_body_raises(folder):
    return lesson_02_with(folder, "2.13", RAISING_CLASS_BODY)


@pytest.mark.parametrize("build, task_id, exception", [
    (default_argument_raises, "2.8", "ZeroDivisionError"),
    (class_body_raises, "2.13", "ValueError"),
], ids=["default_argument_raises", "class_body_raises"])
def test_a_cell_that_raises_while_defining_errors_its_task(graded, build, task_id, exception):
    result = graded(build)
    assert_outcome(result, {task_id: ERROR}, task_ids(L02))
    assert exception in by_id(result)[task_id].message


# --- code that runs, but badly -------------------------------------------------------------

@submissions.register
def mse_returns_a_float(folder):
    return lesson_02_with(folder, "2.8", "def mse(output, targ):\n"
                                         "    return (output.squeeze(-1) - targ).pow(2).mean().item()\n")


@submissions.register
def mse_returns_a_list(folder):
    return lesson_02_with(folder, "2.8", "def mse(output, targ):\n"
                                         "    return [(output.squeeze(-1) - targ).pow(2).mean()]\n")


@pytest.mark.parametrize("build, kind", [(mse_returns_a_float, "float"), (mse_returns_a_list, "list")],
                         ids=["float", "list"])
def test_a_wrong_return_type_is_named(graded, build, kind):
    result = graded(build)
    assert_outcome(result, {"2.8": FAILED}, task_ids(L02))
    message = by_id(result)["2.8"].message
    assert "torch.Tensor" in message and kind in message, message


@submissions.register
def lin_loops_forever(folder):
    return lesson_02_with(folder, "2.5", "def lin(x, w, b):\n    while True:\n        pass\n")


def test_an_infinite_loop_times_out_and_grading_goes_on(graded):
    result = graded(lin_loops_forever)
    assert_outcome(result, {"2.5": NOT_PASSED}, task_ids(L02))
    assert "timed out" in by_id(result)["2.5"].message


EXITS = {"sys_exit": "import sys\n\n\ndef normalize(x, m, s):\n    sys.exit(0)\n",
         "os_exit": "import os\n\n\ndef normalize(x, m, s):\n    os._exit(0)\n"}
for _name, _code in EXITS.items():
    submissions.register(lambda folder, code=_code: lesson_02_with(folder, "2.1", code),
                         name=f"normalize_calls_{_name}")


@pytest.mark.parametrize("exit_call", list(EXITS))
def test_exiting_from_student_code_fails_that_task_only(graded, exit_call):
    result = graded(f"normalize_calls_{exit_call}")
    assert_outcome(result, {"2.1": NOT_PASSED}, task_ids(L02))
    assert result.score == result.max_score - 1
