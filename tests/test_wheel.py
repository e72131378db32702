"""The published wheel: `python -m build` makes it, and, installed alone, it grades.

The wheel is what `pip install dlfoundations-autograder` hands anyone, students too: it
holds the grader and its public checks, never ``instructor/`` (the hidden checks and
the answers that stand in for earlier tasks) and never the solutions.
Instructors grade from the kit checkout, where an editable install keeps them.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import autograder
from builders import venv_without_the_kit

KIT = Path(autograder.__file__).resolve().parents[1]
CLASS = KIT / "examples" / "class"
SOURCES = ("pyproject.toml", "README.md", "autograder", "instructor")  # instructor/: built beside, left out
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "baselines.json")

pytestmark = [pytest.mark.skipif(not (KIT / "pyproject.toml").is_file(), reason="needs the kit checkout"),
              pytest.mark.slow]  # builds and installs: `pytest -m slow`


def _kit_copy(folder: Path) -> Path:
    """What the build reads, copied, so building leaves nothing in the checkout."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in SOURCES:
        source = KIT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=IGNORED)
        else:
            shutil.copy(source, folder / name)
    return folder


def _environment() -> dict:
    """No path back to the checkout: the installed package is the only ``autograder``."""
    return {key: value for key, value in os.environ.items()
            if key not in ("PYTHONPATH", "AUTOGRADER_SOLUTIONS", "AUTOGRADER_BASELINES")}


def _venv(folder: Path) -> str:
    return venv_without_the_kit(folder)


def _pip_install(python: str, *arguments: str, cwd: Path) -> None:
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", *arguments], check=True, cwd=cwd, env=_environment())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("build")
    source = _kit_copy(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("dist")
    completed = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
                               cwd=source, capture_output=True, text=True, env=_environment(), timeout=300)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    (built,) = out.glob("dlfoundations_autograder-*.whl")
    return built


def test_the_wheel_holds_the_grader_but_no_instructor_material_and_no_solutions(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "autograder/grading.py" in names and "autograder/checks/lesson04.py" in names
    assert "autograder/standins.py" in names
    assert not [n for n in names if n.startswith("autograder/instructor")]
    assert not [n for n in names if "solutions" in n.split("/")[0] or n.startswith("solutions")]
    assert not [n for n in names if n.startswith("instructor")]
    assert (KIT / "instructor" / "hidden.py").is_file()  # left out, not missing
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "autograder = autograder.cli:run" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_wheel_grades_a_class_from_outside_the_checkout(wheel, tmp_path):
    python = _venv(tmp_path / "venv")
    _pip_install(python, str(wheel), cwd=tmp_path)
    where = subprocess.run([python, "-c", (
        "import autograder, autograder.checks as c, autograder.grader_only as g; "
        "print(autograder.__file__); print(g.folder()); "
        "print(c.hidden_counts())")], cwd=tmp_path, env=_environment(), capture_output=True, text=True, check=True)
    package, instructor, counts = where.stdout.splitlines()
    assert Path(package).is_relative_to(tmp_path / "venv") and instructor == "None" and counts == "{}"

    course = tmp_path / "class"
    course.mkdir()
    shutil.copy(CLASS / "autograder.toml", course)
    shutil.copytree(CLASS / "ada", course / "ada")
    shutil.copy(CLASS / "ben.zip", course)
    results = tmp_path / "results"
    completed = subprocess.run([str(tmp_path / "venv" / "bin" / "autograder"), "grade", str(course), "--out",
                                str(results), "--jobs", "2", "--seed", "7"], cwd=tmp_path, env=_environment(),
                               capture_output=True, text=True, timeout=600)
    assert (results / "gradebook.csv").is_file(), completed.stdout[-2000:] + completed.stderr[-2000:]
    rows = {row["student"]: row for row in csv.DictReader((results / "gradebook.csv").open())}
    assert set(rows) == {"ada", "ben"}, rows
    tasks = [key for key in rows["ada"] if key not in ("student", "score", "max_score", "entry", "folder", "not_graded")]
    assert len(tasks) > 20 and all(rows["ada"][task] == "1" for task in tasks), rows["ada"]
    assert rows["ada"]["score"] == rows["ada"]["max_score"] == str(len(tasks))  # no hidden checks here
    assert [task for task in tasks if rows["ben"][task] != "1"] == ["2.8"] and rows["ben"]["2.8"] == "0"
    assert rows["ben"]["score"] == str(len(tasks) - 1)


def test_an_editable_install_of_the_kit_keeps_the_instructor_material(tmp_path):
    """Instructors grade from the checkout: installed editable, it still has the hidden checks
    and the answers (``instructor/``, beside the package)."""
    source = _kit_copy(tmp_path / "kit")  # the checkout itself would get an egg-info
    python = _venv(tmp_path / "venv")
    _pip_install(python, "--editable", str(source), cwd=tmp_path)
    completed = subprocess.run([python, "-c", (
        "import autograder, autograder.grader_only as g, autograder.checks as c; "
        "print(autograder.__file__ if g.answers_present() else 'no answers'); print(c.hidden_counts())")],
        cwd=tmp_path, env=_environment(), capture_output=True, text=True, check=True)
    package, counts = completed.stdout.splitlines()
    assert Path(package).is_relative_to(source) and counts == "{'1.2': 1}"
