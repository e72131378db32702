"""A submission's time limit: one that hangs everywhere holds its grading slot that long at most."""
from __future__ import annotations

import time

import pytest

from autograder import cli
from autograder.grading import grade
from autograder.results import ERROR, PASSED
from builders import SEED, copy_lessons, replace_task_cell, task_ids

L01 = "l01_matmul"
HANGS = "def matmul(a, b):\n    while True:\n        pass\n"
LIMIT = 6.0


@pytest.fixture(scope="module")
def hanging(tmp_path_factory):
    """Lesson 01 whose every matmul hangs, and a top-level cell that sleeps past the limit."""
    folder = copy_lessons(tmp_path_factory.mktemp("hangs") / "student", upto=L01)
    path = folder / f"{L01}.py"
    for task_id in ("1.2", "1.4", "1.6", "1.7", "1.8"):
        replace_task_cell(path, task_id, HANGS)
    started = time.monotonic()
    result = grade(folder, task_ids=task_ids(L01), seed=SEED, hidden=True, time_limit=LIMIT)
    return result, time.monotonic() - started


def test_the_tasks_past_the_limit_say_so_and_the_earlier_ones_keep_their_grades(hanging):
    result, _ = hanging
    statuses = {task.id: task.status for task in result.tasks}
    assert statuses["1.1"] == PASSED  # graded before the first hang
    out_of_time = [task for task in result.tasks if "time limit of 6 s" in task.message]
    assert out_of_time and all(task.status == ERROR for task in out_of_time)
    assert out_of_time[-1].id == result.tasks[-1].id  # every task after the limit, to the last
    assert "while Task 1.2 (matmul (three loops)) was graded (l01_matmul.py, line" in out_of_time[0].message
    assert "Edit" not in out_of_time[0].message


def test_the_hidden_checks_count_even_out_of_time(hanging):
    result, _ = hanging
    assert result.hidden and result.max_score == sum(t.max_score for t in result.tasks + result.hidden)


def test_the_limit_bounds_the_whole_grade(hanging):
    """Without it, five hanging tasks wait out several 10 s scenario timeouts each."""
    _, seconds = hanging
    assert seconds < LIMIT + 25, seconds


def test_the_cells_past_the_limit_do_not_run(tmp_path):
    """A class body runs as it is defined: this one sleeps past the limit, the cells after it wait."""
    folder = copy_lessons(tmp_path / "student", upto=L01)
    path = folder / f"{L01}.py"
    path.write_text("class Slow:\n    __import__('time').sleep(60)\n\n\n" + path.read_text())
    started = time.monotonic()
    result = grade(folder, task_ids=["1.1", "1.2"], seed=SEED, time_limit=3.0)
    assert time.monotonic() - started < 30
    messages_ = [task.message for task in result.tasks]
    assert all(task.status == ERROR for task in result.tasks), messages_
    assert all("time limit of 3 s ran out while its cells ran" in message for message in messages_), messages_


def test_a_negative_time_limit_is_refused(tmp_path, capsys):
    code = cli.main(["grade", str(tmp_path), "--json", str(tmp_path / "r.json"), "--time-limit", "-1"])
    assert code == 2 and "--time-limit must be 0" in capsys.readouterr().err
