"""``autograder release gradescope ZIP``: a Gradescope autograder.

The zip holds ``setup.sh`` and ``run_autograder`` at its root and, beside them, the
grader package, the reference solutions (the speed baselines) and ``instructor/`` (the
hidden checks and the answers), both read only by the trusted grader: they lie beside
the package, where the sandboxed child cannot read them, and ``pyproject.toml``. ``run_autograder``
grades ``/autograder/submission`` (a notebook, ``.py`` files or a folder) with the
hidden checks, and writes ``/autograder/results/results.json`` whole, after grading:
nothing the submission does can write it (its code runs in the sandboxed child).
``AUTOGRADER_GRADESCOPE_ROOT`` moves ``/autograder`` elsewhere, for tests.

``python -m autograder.releases.gradescope ROOT`` is what ``run_autograder`` runs.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback
import zipfile
from pathlib import Path

from autograder.results import SubmissionResult, TaskResult, rows

ROOT_ENV = "AUTOGRADER_GRADESCOPE_ROOT"
VISIBLE, AFTER_PUBLISHED = "visible", "after_published"

SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, when the autograder image is built.
set -euo pipefail
cd /autograder/source
python3 -m pip install --no-cache-dir 'torch==2.13.0' .
"""
RUN = f"""\
#!/usr/bin/env bash
# Gradescope runs this for every submission: grade it, write results/results.json.
ROOT="${{{ROOT_ENV}:-/autograder}}"
export PYTHONPATH="$ROOT/source${{PYTHONPATH:+:$PYTHONPATH}}"
export AUTOGRADER_SOLUTIONS="$ROOT/source/solutions"
export AUTOGRADER_INSTRUCTOR="$ROOT/source/instructor"
cd "$ROOT"
exec "${{PYTHON:-python3}}" -m autograder.releases.gradescope "$ROOT"
"""
NOTHING_SUBMITTED = "Nothing was submitted: upload your notebook (.ipynb), your .py files or a folder of them."
CRASHED = "The grader could not run on this submission ({error}); no points were given. Tell your instructor."


def results_json(result: SubmissionResult, execution_time: float | None = None) -> dict:
    """Gradescope's results.json: one test per task, hidden checks shown once grades are published."""
    tests = [_test(row.task, AFTER_PUBLISHED if row.hidden else VISIBLE, number=row.id) for row in rows(result)]
    data = {"tests": tests, "stdout_visibility": "hidden"}
    output = [*result.notes, result.crashed] if result.crashed else list(result.notes)
    if output:
        data["output"] = "\n".join(output)
    if result.crashed:
        data["score"] = 0
    if execution_time is not None:
        data["execution_time"] = round(execution_time, 1)
    return data


def _test(task: TaskResult, visibility: str, number: str) -> dict:
    where = f"\n(found in {task.location})" if task.location else ""
    return {"name": f"Task {task.id}: {task.name}", "number": number, "score": task.score,
            "max_score": task.max_score, "status": "passed" if task.score == task.max_score else "failed",
            "output": (task.message or task.status) + where, "visibility": visibility}


def release_gradescope(*, solutions: Path, destination: Path) -> Path:
    """Write the autograder zip; refuses malformed solutions before writing anything."""
    from autograder import grader_only
    from autograder.releases import exercises, student

    exercises.render(solutions)  # the same checks as every release
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(destination.name + ".partial")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        _add(archive, "setup.sh", SETUP)
        _add(archive, "run_autograder", RUN)
        _add(archive, "pyproject.toml", (student.KIT / "pyproject.toml").read_text(encoding="utf-8"))
        for source in sorted(student.PACKAGE.rglob("*")):
            relative = source.relative_to(student.PACKAGE).as_posix()
            if source.is_file() and "__pycache__" not in relative and source.suffix != ".pyc":
                archive.write(source, f"autograder/{relative}")
        for source in sorted(Path(solutions).glob("l*.py")):
            archive.write(source, f"solutions/{source.name}")
        instructor = grader_only.folder()
        for source in sorted(instructor.glob("*.py")) if instructor else ():
            archive.write(source, f"instructor/{source.name}")
    os.replace(temporary, destination)
    return destination


def _add(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16  # executable: Gradescope runs both scripts
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, text)


def submission_path(folder: Path) -> Path:
    """What to grade in ``folder``: its only file or folder, else the folder itself."""
    entries = [p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
    return entries[0] if len(entries) == 1 else folder


def run(root: Path) -> int:
    """Grade ``root/submission``; always leave a valid ``root/results/results.json``."""
    started = time.monotonic()
    folder = root / "submission"
    try:
        if not folder.is_dir() or not any(folder.iterdir()):
            result = SubmissionResult(tasks=[], crashed=NOTHING_SUBMITTED)
        else:
            from autograder.grading import grade
            from autograder.limits import DEFAULT_TIME_LIMIT

            result = grade(submission_path(folder), hidden=True, time_limit=DEFAULT_TIME_LIMIT)
    except Exception as exc:  # noqa: BLE001 - fail closed, but with valid JSON and a reason
        traceback.print_exc()
        result = SubmissionResult(tasks=[], crashed=CRASHED.format(error=f"{type(exc).__name__}: {exc}"))
    _write(root / "results" / "results.json", results_json(result, time.monotonic() - started))
    print(f"{result.score:g}/{result.max_score:g}")
    return 0


def _write(path: Path, data: dict) -> None:
    """Whole or not at all: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


if __name__ == "__main__":
    code = run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(os.environ.get(ROOT_ENV, "/autograder")))
    import atexit

    atexit._run_exitfuncs()  # stop children and boxes, then leave without torch's slow teardown
    sys.stdout.flush()
    os._exit(code)
