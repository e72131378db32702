"""A class graded in one run: the same scores as alone, resumable, whole outputs, Dask.

A small class of real submissions (the reference lessons, a known mistake, a broken zip),
graded on a few tasks so that the tests stay quick; the examples' full class is graded by
the README's first command.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder.classroom import entries, grade_class
from autograder.grading import grade
from builders import Quiet, copy_lessons, replace_task_cell

REPO = Path(__file__).resolve().parents[1]
TASKS = ["0.2", "1.2", "2.8", "2.11"]  # no timed task: scores cannot depend on the machine's load
CLASS_SEED = 4242
STUDENT_FILES = {"grade.json", "results.json", "feedback.md", "feedback.html", "junit.xml"}


@pytest.fixture(scope="module")
def class_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("class")
    copy_lessons(root / "ada")
    bo = copy_lessons(root / "bo")
    replace_task_cell(bo / "l02_fully_connected.py", "2.8",
                      "def mse(output, targ):\n    return (output - targ).pow(2).mean()")
    cy = copy_lessons(root / "cy-staging")
    with zipfile.ZipFile(root / "cy.zip", "w") as archive:
        for path in cy.iterdir():
            archive.write(path, f"cy/{path.name}")
    for path in cy.iterdir():
        path.unlink()
    cy.rmdir()
    with zipfile.ZipFile(root / "dee.zip", "w") as archive:
        archive.writestr("../../outside.py", "x = 1")
    return root


def _scores(record) -> dict:
    return {t.id: (t.status, t.score) for t in record.result.tasks}


def test_a_class_run_grades_everyone_as_alone_and_resumes(class_dir, tmp_path):
    out = tmp_path / "out"
    progress = Quiet()
    report = grade_class(class_dir, out=out, jobs=2, seed=CLASS_SEED, task_ids=TASKS, progress=progress)
    records = {r.student: r for r in report.records}
    assert sorted(records) == ["ada", "bo", "cy", "dee"]
    assert sorted(progress.graded) == ["ada", "bo", "cy", "dee"]
    assert "outside the submission" in records["dee"].error and not records["dee"].graded
    from autograder.checks import HIDDEN

    hidden_points = sum(extra.points for task in TASKS for extra in HIDDEN.get(task, ()))
    assert records["ada"].result.score == 4 + hidden_points and records["cy"].result.score == 4 + hidden_points
    assert _scores(records["bo"])["2.8"] == ("failed", 0)
    for student in ("ada", "bo"):  # the same seed gives the same grade, alone
        alone = grade(class_dir / student, task_ids=TASKS, seed=entries.student_seed(CLASS_SEED, student),
                      hidden=True)  # the class run is instructor grading, as `autograder grade` is
        assert records[student].seed == entries.student_seed(CLASS_SEED, student)
        assert _scores(records[student]) == {t.id: (t.status, t.score) for t in alone.tasks}
        folder = os.path.relpath(class_dir / student) + os.sep  # alone, messages name the file by its path
        assert [t.message for t in records[student].result.tasks] == [t.message.replace(folder, "") for t in alone.tasks]
    for student in records:
        assert {p.name for p in (out / "students" / student).iterdir()} == STUDENT_FILES
    assert {p.name for p in out.iterdir()} == {"students", "class.json", "gradebook.csv", "gradebook-lms.csv",
                                               "report.html", "similarity.csv"}
    assert "No pair of submissions is above the threshold." in (out / "report.html").read_text()  # the course's code
    assert {p.name for p in (out / "students").iterdir()} == {"ada", "bo", "cy", "dee"}
    gradebook = (out / "gradebook.csv").read_text().splitlines()
    columns = [row for task in TASKS for row in [task, *(f"{task}.h{n}" for n, _ in enumerate(HIDDEN.get(task, ()), 1))]]
    assert gradebook[0] == "student,score,max_score," + ",".join(columns) + ",entry,folder,not_graded"
    bo_points = ",".join("0" if row == "2.8" else "1" for row in columns)  # each hidden check a column of its own
    assert gradebook[2] == f"bo,{3 + hidden_points:g},{4 + hidden_points:g},{bo_points},bo,students/bo,"

    stamps = {s: (out / "students" / s / "grade.json").stat().st_mtime_ns for s in records}
    again = Quiet()
    grade_class(class_dir, out=out, jobs=2, task_ids=TASKS, progress=again)  # the class seed is kept
    assert again.graded == [] and again.kept == 4
    assert stamps == {s: (out / "students" / s / "grade.json").stat().st_mtime_ns for s in records}

    fixed = class_dir / "bo" / "l02_fully_connected.py"
    original = fixed.read_text()
    try:
        replace_task_cell(fixed, "2.8", "def mse(output, targ):\n    return (output.squeeze(-1) - targ).pow(2).mean()")
        changed = Quiet()
        report = grade_class(class_dir, out=out, jobs=2, task_ids=TASKS, progress=changed)
    finally:
        fixed.write_text(original)
    assert changed.graded == ["bo"] and changed.kept == 3
    assert {r.student: r.result.score for r in report.graded}["bo"] == 4 + hidden_points
    assert (out / "gradebook.csv").read_text().splitlines()[2] == \
        f"bo,{4 + hidden_points:g},{4 + hidden_points:g},{bo_points.replace('0', '1')},bo,students/bo,"


def test_a_killed_run_restarted_ends_whole(class_dir, tmp_path):
    """Killed as soon as the first student is written; the restart grades only the rest."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder", "grade", str(class_dir), "--out", str(out), "--jobs", "1",
               "--seed", str(CLASS_SEED), *[option for task in TASKS for option in ("--task", task)]]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list(out.glob("students/*/grade.json"))) < 2:  # dee is written at once
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    first = {p.parent.name: p.read_text() for p in out.glob("students/*/grade.json")}
    assert 2 <= len(first) < 4, "the run was killed too late to test a restart"
    assert not (out / "report.html").exists()

    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 1, completed.stderr  # dee is ungraded
    assert "4 of 4 entries" not in completed.stdout and "report: " in completed.stdout
    assert f"{len(first)} of 4 entries already graded" in completed.stderr
    for student, text in first.items():  # kept as written, not graded twice
        assert (out / "students" / student / "grade.json").read_text() == text
    assert not [p for p in [*out.iterdir(), *(out / "students").iterdir()] if p.name.startswith(".")]  # no leftovers
    rows = (out / "gradebook.csv").read_text().splitlines()[1:]
    assert sorted(row.split(",")[0] for row in rows) == ["ada", "bo", "cy", "dee"]
    from autograder.checks import HIDDEN

    hidden_points = sum(extra.points for task in TASKS for extra in HIDDEN.get(task, ()))
    for student in ("ada", "bo", "cy"):  # the class run is instructor grading: hidden checks count
        assert json.loads((out / "students" / student / "grade.json").read_text())["result"]["max_score"] == 4 + hidden_points


def test_the_dask_executor_gives_the_same_results(class_dir, tmp_path):
    distributed = pytest.importorskip("distributed")
    local = grade_class(class_dir, out=tmp_path / "local", jobs=1, seed=CLASS_SEED, task_ids=["2.8"],
                        progress=Quiet())
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1", processes=True,
                                  dashboard_address=None) as cluster:
        remote = grade_class(class_dir, out=tmp_path / "dask", executor="dask", scheduler=cluster.scheduler_address,
                             seed=CLASS_SEED, task_ids=["2.8"], progress=Quiet())
    assert [r.to_json()["result"] and _scores(r) if r.graded else r.error for r in remote.records] == \
        [r.to_json()["result"] and _scores(r) if r.graded else r.error for r in local.records]
    assert [r.seed for r in remote.records] == [r.seed for r in local.records]
    assert (tmp_path / "dask" / "gradebook.csv").read_text() == (tmp_path / "local" / "gradebook.csv").read_text()
