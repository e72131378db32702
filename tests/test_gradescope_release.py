"""`autograder release gradescope`: the zip's run_autograder against a root laid out as
Gradescope lays out /autograder, for a correct, a wrong and a hostile submission."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.releases import gradescope
from autograder.results import SubmissionResult, TaskResult
from builders import SOLUTIONS, copy_lessons, replace_task_cell

MUTANT = Path(__file__).parent / "mutants" / "test_eq_compares_identity.py"


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    return gradescope.release_gradescope(solutions=SOLUTIONS, destination=tmp_path_factory.mktemp("zip") / "a.zip")


def run_autograder(archive: Path, root: Path, build_submission) -> dict:
    """Unzip into root/source, put the submission in root/submission, run run_autograder."""
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(root / "source")
        for info in opened.infolist():  # zipfile drops the mode bits; Gradescope keeps them
            mode = info.external_attr >> 16
            if mode:
                os.chmod(root / "source" / info.filename, mode & 0o777)
    (root / "submission").mkdir()
    build_submission(root / "submission")
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    environment.update({gradescope.ROOT_ENV: str(root), "PYTHON": sys.executable})
    completed = subprocess.run([str(root / "source" / "run_autograder")], env=environment, cwd=root,
                               capture_output=True, text=True, timeout=1500)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads((root / "results" / "results.json").read_text())


def test_the_zip_has_both_scripts_at_its_root_executable(archive):
    with zipfile.ZipFile(archive) as opened:
        infos = {info.filename: info for info in opened.infolist()}
    for script in ("setup.sh", "run_autograder"):
        assert infos[script].external_attr >> 16 & stat.S_IXUSR
    assert "instructor/hidden.py" in infos and "instructor/answers.py" in infos and "solutions/l01_matmul.py" in infos
    assert not any(name.startswith("autograder/instructor") for name in infos)  # beside the package, not in it


def test_results_json_follows_the_gradescope_schema():
    result = SubmissionResult(
        tasks=[TaskResult("1.2", "matmul", 1.0, "passed"), TaskResult("1.3", "frobenius", 2.0, "failed", "no sqrt")],
        hidden=[TaskResult("1.2", "matmul (hidden: larger shapes)", 1.0, "failed", "wrong")])
    data = gradescope.results_json(result, execution_time=3.21)
    assert [(t["number"], t["score"], t["max_score"], t["visibility"]) for t in data["tests"]] == [
        ("1.2", 1.0, 1.0, "visible"), ("1.3", 0.0, 2.0, "visible"), ("1.2.h1", 0.0, 1.0, "after_published")]
    assert data["tests"][1]["output"] == "no sqrt" and "score" not in data and data["execution_time"] == 3.2


def test_a_correct_submission_gets_full_marks_with_its_hidden_checks(archive, tmp_path):
    data = run_autograder(archive, tmp_path, lambda folder: copy_lessons(folder / "my_work"))
    tests = data["tests"]
    assert tests and all(t["score"] == t["max_score"] for t in tests), [t for t in tests if t["score"] < t["max_score"]]
    assert [t["number"] for t in tests if t["visibility"] == "after_published"] == ["1.2.h1"]


def test_a_wrong_submission_loses_its_tasks_points(archive, tmp_path):
    def build(folder):
        shutil.copy(SOLUTIONS / "l00_exports.py", folder / "l00_exports.py")
        replace_task_cell(folder / "l00_exports.py", "0.2", MUTANT.read_text())

    tests = run_autograder(archive, tmp_path, build)["tests"]
    assert {t["number"]: t["score"] for t in tests} == {"0.1": 1.0, "0.2": 0.0}
    assert "Task 0.2" in tests[1]["output"]


def test_a_hostile_submission_cannot_forge_its_results(archive, tmp_path):
    results, script = tmp_path / "results" / "results.json", tmp_path / "source" / "run_autograder"
    hostile = f'''\
import json, os
for path in [{str(results)!r}, {str(results.parent / "forged.json")!r}]:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as file:
            json.dump({{"score": 100, "tests": []}}, file)
    except OSError:
        pass
try:
    with open({str(script)!r}, "a") as file:
        file.write("echo '{{\\"score\\": 100}}' > {results}\\n")
except OSError:
    pass
os._exit(0)
'''
    data = run_autograder(archive, tmp_path, lambda folder: (folder / "l00_exports.py").write_text(hostile))
    assert data["tests"] and all(t["score"] == 0 for t in data["tests"])
    assert not (tmp_path / "results" / "forged.json").exists()
    assert "score\": 100" not in script.read_text()


def test_an_empty_submission_still_gets_valid_results(archive, tmp_path):
    data = run_autograder(archive, tmp_path, lambda folder: None)
    assert data["score"] == 0 and gradescope.NOTHING_SUBMITTED in data["output"]
