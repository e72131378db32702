"""`autograder release student`: a repository students can use with no access to the kit.

The release is built once, copied to an empty folder and installed there into a
virtual environment of its own; `autograder check` must then grade a correct and a
wrong submission with the instructor's scores (hidden checks aside), its workflow's
grade command must run as written, and no solution text may be anywhere in it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
import yaml

from autograder import baselines, speed
from autograder.grading import grade
from autograder.releases import student, workflow
from autograder.releases.student import release_student
from autograder.tasks import tasks_of
from builders import SEED, SOLUTIONS, copy_lessons, lesson_path, replace_task_cell, venv_without_the_kit
from test_release import solution_only_lines

MUTANT = Path(__file__).parent / "mutants" / "matmul_broadcast_wrong_axis.py"
# Lines a solution shares with the grader because they are the task's interface, not its answer:
# the grader calls the student's backward and its stand-in layers keep what the tasks' layers keep.
INTERFACE = {"layer.backward()", "return self.out", "self.w, self.b = w, b"}
# Python idioms a solution shares with any code, no answer to a task (the grader's "no rule: no
# violations" writes ``return []`` as the None case of listify does; a module's ``__init__`` and a
# context manager's ``__enter__`` are written alike everywhere).
IDIOMS = {"return []", "return x", "return self", "super().__init__()"}
GRADED = [t.id for lesson in ("l00_exports", "l01_matmul") for t in tasks_of(lesson)]


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    destination = tmp_path_factory.mktemp("built") / "repo"
    release_student(solutions=SOLUTIONS, destination=destination)
    return destination


@pytest.fixture(scope="module")
def installed(release, tmp_path_factory) -> dict:
    """The release copied to an empty folder and installed there: one pip command."""
    root = tmp_path_factory.mktemp("student")
    repo = shutil.copytree(release, root / "repo")
    venv = root / "venv"
    python = venv_without_the_kit(venv)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", str(repo)], check=True, cwd=root)
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("PYTHONPATH", "AUTOGRADER_SOLUTIONS", "AUTOGRADER_BASELINES")}
    return {"repo": repo, "python": python, "env": environment, "bin": venv / "bin"}


def release_text(folder: Path) -> dict[str, list[str]]:
    files = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix == ".pyc":
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            text = "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
        files[str(path.relative_to(folder))] = text.splitlines()
    return files


@pytest.mark.parametrize("lessons", [("l00", "l01", "l02"), ("l03", "l04", "l05"), ("l06",)])
def test_no_line_of_any_solution_region_is_in_the_release(release, lessons):
    secret = solution_only_lines(lessons) - INTERFACE - IDIOMS
    assert secret
    files = release_text(release)
    assert any(name.startswith("exercises/") for name in files) and "README.md" in files
    for name, lines in files.items():
        for number, line in enumerate(lines, 1):
            assert line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"), f"{name}:{number}"
            assert line.strip() not in secret, f"{name}:{number}: solution line: {line.strip()}"


def test_no_solutions_and_no_hidden_checks_are_in_the_release(release):
    names = set(release_text(release))
    assert not any(name.startswith("solutions") for name in names)
    assert not any(name.startswith(("instructor", "autograder/instructor")) for name in names)
    assert (student.KIT / "instructor" / "answers.py").is_file()  # the kit has them: the release leaves them out
    hidden_source = (student.KIT / "instructor" / "hidden.py").read_text()
    definitions = [line for line in hidden_source.splitlines() if line.startswith(("def ", "LARGER_SHAPES"))]
    assert definitions
    everything = "\n".join("\n".join(lines) for lines in release_text(release).values())
    assert not any(line in everything for line in definitions)
    announced = (release / "autograder/checks/announced.py").read_text()
    assert "ANNOUNCED" in announced and "'1.2': 1" in announced


def test_the_timing_baselines_travel_as_data(release):
    recorded = json.loads((release / "autograder" / baselines.FILE_NAME).read_text())
    assert set(recorded["tasks"]) == set(speed.MEASURE)
    assert all(value > 0 for value in recorded["tasks"].values())


def test_the_speed_ratio_compares_with_the_recorded_data(release, tmp_path, monkeypatch):
    """The reference passes its own recorded baseline; recorded 100 times faster, it fails."""
    monkeypatch.setenv("AUTOGRADER_SOLUTIONS", str(tmp_path / "none"))  # as in a release: no solutions
    submission = copy_lessons(tmp_path / "reference", upto="l01_matmul")
    recorded = json.loads((release / "autograder" / baselines.FILE_NAME).read_text())
    outcomes = {}
    for name, factor in (("as recorded", 1), ("100 times faster", 0.01)):
        data = {**recorded, "tasks": {k: v * factor for k, v in recorded["tasks"].items()}}
        monkeypatch.setenv(baselines.BASELINES_ENV, str(baselines.write(tmp_path / f"{factor}.json", data)))
        baselines._recorded.cache_clear()
        result = grade(submission, task_ids=["1.8"], seed=SEED)
        outcomes[name] = (result.tasks[0].status, [c.name for c in result.tasks[0].checks])
    baselines._recorded.cache_clear()
    assert outcomes["as recorded"][0] == "passed" and "speed (time)" in outcomes["as recorded"][1]
    status, checks = outcomes["100 times faster"]
    assert status == "failed" and checks[-1] == "speed (time)"


def student_check(installed, submission: Path, output: Path, task_ids=GRADED) -> tuple[int, dict, str]:
    arguments = [str(installed["bin"] / "autograder"), "check", str(submission), "--seed", str(SEED),
                 "--json", str(output)] + [f"--task={task_id}" for task_id in task_ids]
    completed = subprocess.run(arguments, cwd=installed["repo"], env=installed["env"],
                               capture_output=True, text=True, timeout=1200)
    return completed.returncode, json.loads(output.read_text()), completed.stdout


@pytest.mark.slow  # installs the release in a venv of its own
def test_the_installed_release_grades_like_the_instructor(installed, tmp_path):
    correct = copy_lessons(tmp_path / "correct", upto="l01_matmul")
    wrong = copy_lessons(tmp_path / "wrong", upto="l01_matmul")
    replace_task_cell(lesson_path(wrong, "1.6"), "1.6", MUTANT.read_text())
    for submission, expected_code in ((correct, 0), (wrong, 1)):
        code, result, stdout = student_check(installed, submission, tmp_path / f"{submission.name}.json")
        instructor = grade(submission, task_ids=GRADED, seed=SEED)
        assert code == expected_code, stdout
        assert {t["id"]: t["status"] for t in result["tasks"]} == {t.id: t.status for t in instructor.tasks}
        assert (result["score"], result["max_score"]) == (instructor.score, instructor.max_score)
        assert result["hidden_pending"] == 1 and "1 hidden check of these tasks" in stdout
    assert [t["id"] for t in result["tasks"] if t["status"] != "passed"] == ["1.6"]


BUILT_ON = ["3.6", "3.14", *[t.id for t in tasks_of("l04_callbacks")]]
MUTANTS = Path(__file__).parent / "mutants"


@pytest.mark.slow  # installs the release in a venv of its own
def test_without_the_answers_a_task_runs_on_the_students_own_and_says_so(installed, tmp_path):
    """The release has no answers to stand in for 3.6 and 4.5 (``instructor/``): a
    correct submission still gets full marks; where the student's own accuracy and
    TrainEvalCallback are wrong, the tasks that ran on them say so, and instructor grading,
    which stands in working ones, does not need to."""
    correct = copy_lessons(tmp_path / "correct", upto="l04_callbacks")
    code, result, stdout = student_check(installed, correct, tmp_path / "correct.json", BUILT_ON)
    assert code == 0, stdout
    assert [t["id"] for t in result["tasks"]] == BUILT_ON
    assert all(t["status"] == "passed" and "your own" not in t["message"] for t in result["tasks"]), stdout

    wrong = copy_lessons(tmp_path / "wrong", upto="l04_callbacks")
    for task_id, mutant in (("4.5", "train_eval_counts_validation"), ("3.6", "accuracy_counts_matches")):
        replace_task_cell(lesson_path(wrong, task_id), task_id, (MUTANTS / f"{mutant}.py").read_text())
    code, result, stdout = student_check(installed, wrong, tmp_path / "wrong.json", BUILT_ON)
    tasks = {t["id"]: t for t in result["tasks"]}
    assert code == 1 and tasks["4.5"]["status"] == "failed" and tasks["3.6"]["status"] == "failed"
    assert "graded with your own TrainEvalCallback (task 4.5 fails here); instructor grading uses a " \
        "working one" in tasks["4.7"]["message"], tasks["4.7"]
    assert "graded with your own accuracy (task 3.6 fails here)" in tasks["3.14"]["message"], tasks["3.14"]
    assert tasks["3.14"]["status"] == "failed"  # its accuracy is the student's wrong one
    assert not any("your own" in t["message"] for i, t in tasks.items() if i not in ("3.14", "4.7"))

    instructor = {t.id: t for t in grade(wrong, task_ids=BUILT_ON, seed=SEED, hidden=True).tasks}
    assert {i for i, t in instructor.items() if t.status != "passed"} == {"3.6", "4.5"}
    assert not any("your own" in t.message for t in instructor.values())


@pytest.mark.slow  # installs the release in a venv of its own
def test_the_workflow_grades_every_push_with_the_command_the_test_runs(installed, release):
    document = yaml.safe_load((release / workflow.PATH).read_text())
    assert "push" in document[True]  # YAML 1.1 reads the key `on` as True
    steps = document["jobs"]["grade"]["steps"]
    runs = {step.get("name"): step.get("run") for step in steps}
    assert runs["Install"] == workflow.INSTALL_COMMAND and runs["Grade"] == workflow.GRADE_COMMAND
    published = [step for step in steps if "junit" in step.get("uses", "")]
    assert published and published[0]["if"] == "always()"
    assert published[0]["with"]["report_paths"] == workflow.JUNIT

    environment = {**installed["env"], "PATH": f"{installed['bin']}{os.pathsep}{installed['env']['PATH']}"}
    completed = subprocess.run(runs["Grade"], shell=True, cwd=installed["repo"], env=environment,
                               capture_output=True, text=True, timeout=1200)
    assert completed.returncode == 1, completed.stdout[-2000:]  # the stubs fail: so does the run
    cases = ElementTree.parse(installed["repo"] / workflow.JUNIT).getroot().iter("testcase")
    outcomes = {case.get("name"): [child.tag for child in case] for case in cases}
    assert len(outcomes) == \
        len([t for lesson in _lessons(installed["repo"]) for t in tasks_of(lesson)])
    assert all("failure" in tags for tags in outcomes.values()), outcomes


def _lessons(repo: Path) -> list[str]:
    return [path.stem for path in sorted((repo / "exercises").glob("l*.py"))]
