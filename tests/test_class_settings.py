"""A run's settings reach every student: ``--alias`` and ``--time-limit`` through the command
line, alone and in a class run, and a class run started again with other settings grades
again rather than keeping results graded under the old ones.

One small class, graded once on one task by the command line: ``ada`` handed in one file of
her own (no task metadata) with her relu named ``my_relu``, graded only through the alias;
``slow``'s first lesson sleeps in a class body, stopped only by the time limit. The tests
share that run.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.classroom import grade_class
from autograder.reading.locate import parse_aliases
from autograder.results import PASSED
from builders import Quiet, copy_lessons

REPO = Path(__file__).resolve().parents[1]
TASK = "2.4"
ALIAS = f"{TASK}=my_relu"  # the file has one `def my_relu`: valid by position or by definition
LIMIT = 3.0  # as the command line parses it: the resume hash sees the same number
SLEEPS = "class Slow:\n    __import__('time').sleep(60)\n\n\n"


def student_result(out: Path, student: str) -> dict:
    """The ``result`` of a student's ``grade.json``, wherever the run put the student's folder."""
    (found,) = [path for path in (out / student / "grade.json", out / "students" / student / "grade.json")
                if path.is_file()]
    return json.loads(found.read_text())["result"]


def task_of(result: dict, task_id: str = TASK) -> dict:
    (task,) = [t for t in result["tasks"] if t["id"] == task_id]
    return task


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "autograder", *args], env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def class_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("settings")
    (root / "ada").mkdir()
    (root / "ada" / "my_work.py").write_text("import torch\n\n\ndef my_relu(x):\n    return x.clamp_min(0.)\n")
    slow = copy_lessons(root / "slow", upto="l02_fully_connected")
    first = slow / "l00_exports.py"
    first.write_text(SLEEPS + first.read_text())
    return root


@pytest.fixture(scope="module")
def class_run(class_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("settings-out") / "out"
    done = cli("grade", str(class_dir), "--out", str(out), "--jobs", "2", "--seed", "7", "--task", TASK,
               "--alias", ALIAS, "--time-limit", f"{LIMIT:g}")
    assert "2 of 2 entries graded" in done.stdout, done.stdout + done.stderr
    return out


def test_an_alias_on_the_command_line_grades_the_renamed_function(class_dir, tmp_path):
    out = tmp_path / "result.json"
    done = cli("grade", str(class_dir / "ada"), "--json", str(out), "--task", TASK, "--alias", ALIAS)
    task = task_of(json.loads(out.read_text()))
    assert task["status"] == PASSED and done.returncode == 0, task["message"] + done.stderr
    assert task["location"].startswith("my_work.py"), task


def test_an_alias_reaches_every_student_of_a_class_run(class_run):
    task = task_of(student_result(class_run, "ada"))
    assert task["status"] == PASSED, task["message"]


def test_the_time_limit_reaches_every_student_of_a_class_run(class_run):
    task = task_of(student_result(class_run, "slow"))
    assert task["status"] != PASSED and f"time limit of {LIMIT:g} s" in task["message"], task["message"]


def test_a_class_run_with_other_settings_grades_again(class_dir, class_run):
    aliases = parse_aliases([ALIAS])
    same = Quiet()
    grade_class(class_dir, out=class_run, jobs=1, task_ids=[TASK], aliases=aliases, time_limit=LIMIT, progress=same)
    assert same.graded == [] and same.kept == 2  # the settings the command line gave, read back the same

    changed = Quiet()
    grade_class(class_dir, out=class_run, jobs=2, task_ids=[TASK], aliases={}, time_limit=LIMIT + 1,
                progress=changed)
    assert sorted(changed.graded) == ["ada", "slow"] and changed.kept == 0
    ada = task_of(student_result(class_run, "ada"))
    assert ada["status"] != PASSED and "my_relu" in ada["message"], ada["message"]  # no alias now: not found
    slow = task_of(student_result(class_run, "slow"))
    assert f"time limit of {LIMIT + 1:g} s" in slow["message"], slow["message"]
