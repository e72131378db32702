"""`autograder release nbgrader`: a round trip through nbgrader itself.

generate_assignment makes the student notebook; autograde grades three submissions
built from it: the reference gets full marks, the stubs zero, and a wrong answer to
one task loses exactly that task's points.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.releases import nbgrader as release
from autograder.tasks import TASKS, tasks_of
from builders import SOLUTIONS

nbgrader_api = pytest.importorskip("nbgrader.api", reason="nbgrader is a test extra: pip install -e '.[test]'")

LESSON = "l00_exports"
MUTANT = Path(__file__).parent / "mutants" / "test_eq_compares_identity.py"
WRONG_TASK = "0.2"


def test_source_cells_follow_schema_version_3(tmp_path):
    release.release_nbgrader(solutions=SOLUTIONS, destination=tmp_path)
    for path in sorted((tmp_path / "source").glob("*/*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        graded = [c["metadata"]["nbgrader"] for c in cells if "nbgrader" in c["metadata"]]
        tests = {m["grade_id"]: m for m in graded if m["grade"]}
        answers = {m["grade_id"] for m in graded if m["solution"]}
        lesson_tasks = tasks_of(path.stem)
        assert len(tests) == len(answers) == len(lesson_tasks) > 0
        for task in lesson_tasks:
            test = tests[release.grade_id("test", task.id)]
            assert test["locked"] and test["points"] == task.points and not test["solution"]
        assert all(m["schema_version"] == 3 for m in graded)


def _nbgrader(course: Path, *arguments: str) -> None:
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    completed = subprocess.run([sys.executable, "-m", "nbgrader", *arguments, "--force"], cwd=course,
                               env=environment, capture_output=True, text=True, timeout=1500)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]


def _answers(notebook: dict) -> dict[str, dict]:
    return {c["metadata"]["nbgrader"]["grade_id"]: c for c in notebook["cells"]
            if c["metadata"].get("nbgrader", {}).get("solution")}


@pytest.mark.slow  # nbgrader's own generate, autograde and gradebook
def test_the_round_trip_through_nbgrader(tmp_path):
    course = tmp_path / "course"
    release.release_nbgrader(solutions=SOLUTIONS, destination=course)
    for other in (course / "source").iterdir():
        if other.name != LESSON:
            shutil.rmtree(other)
    _nbgrader(course, "generate_assignment", LESSON)
    student = json.loads((course / "release" / LESSON / f"{LESSON}.ipynb").read_text())
    source = json.loads((course / "source" / LESSON / f"{LESSON}.ipynb").read_text())
    assert "BEGIN SOLUTION" not in json.dumps(student)

    def submit(name: str, answers: dict[str, str]) -> None:
        notebook = json.loads(json.dumps(student))
        for cell_id, cell in _answers(notebook).items():
            if cell_id in answers:
                cell["source"] = answers[cell_id]
        folder = course / "submitted" / name / LESSON
        folder.mkdir(parents=True)
        (folder / f"{LESSON}.ipynb").write_text(json.dumps(notebook))

    reference = {cell_id: "".join(line for line in "".join(cell["source"]).splitlines(keepends=True)
                                  if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
                 for cell_id, cell in _answers(source).items()}
    submit("reference", reference)
    submit("stubs", {})
    submit("wrong", {**reference, release.grade_id("answer", WRONG_TASK): MUTANT.read_text()})
    _nbgrader(course, "autograde", LESSON)

    total = sum(t.points for t in tasks_of(LESSON))
    with nbgrader_api.Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {name: gradebook.find_submission(LESSON, name).score for name in ("reference", "stubs", "wrong")}
        wrong_task = gradebook.find_grade(release.grade_id("test", WRONG_TASK), LESSON, LESSON, "wrong").score
    assert scores == {"reference": total, "stubs": 0, "wrong": total - TASKS[WRONG_TASK].points}
    assert wrong_task == 0
