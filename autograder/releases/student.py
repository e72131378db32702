"""``autograder release student DIR``: a repository to hand to students.

It holds the exercises, the grader package and its public checks, a README for
students and a GitHub Classroom workflow; never the solutions, and never ``instructor/``
(the hidden checks, and the answers the grader stands in for earlier tasks: here a task
built on another runs with the student's own), which lies beside the package. What
the checks need from the reference travels as data: the reference's timing
baselines, measured now (``baselines.json``), and how many hidden checks each task
has (``checks/announced.py``).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import autograder
from autograder.releases import exercises, workflow

PACKAGE = Path(autograder.__file__).resolve().parent
KIT = PACKAGE.parent
LEFT_OUT = {"checks/announced.py", "baselines.json"}  # rewritten here

NOT_EMPTY = "{destination} is not empty; release into a new or empty folder"
NO_PROJECT = "no pyproject.toml beside the autograder package in {kit}: build releases from a kit checkout"

README = """\
# Deep Learning from the Foundations: your exercises

Rebuild PyTorch and fastai pieces from scratch, one task at a time, and let the grader
check each one against PyTorch.

## Set up (once)

```bash
pip install -e . pytest
```

## Work

Open `exercises/` (`.ipynb` in Jupyter, or the `.py` files in an editor). Each task is a
function or class whose body is `raise NotImplementedError("Task 1.2: ...")`: replace
that line with your code. Then:

```bash
autograder check                                  # every lesson in exercises/
autograder check exercises/{example} --task {task}
```

Each row says what was expected and what came back, and which function in which file
to edit. The exit status is non-zero while anything fails.

{hidden}
## Grading

Every push to this repository is graded by GitHub Actions
(`.github/workflows/autograde.yml`): the run fails while a task fails, and its JUnit
report shows the result per task. The same run on your machine:

```bash
{command}
```
"""
HIDDEN = """\
## Hidden checks

When your work is graded, {count} more {checks} will run that this copy does not
contain (tasks {tasks}), each worth its own points. They try your code on other cases
than the ones here; code that is right in general passes them.
"""


def release_student(*, solutions: Path, destination: Path, baselines: dict | None = None) -> list[Path]:
    """Write the student repository into ``destination`` (new or empty).

    ``baselines``: the reference's timing data (``autograder.baselines.measure``);
    measured now when not given.
    """
    from autograder import baselines as timing
    from autograder.checks import hidden_counts

    destination = Path(destination)
    if destination.exists() and any(destination.iterdir()):
        raise ValueError(NOT_EMPTY.format(destination=destination))
    if not (KIT / "pyproject.toml").is_file():
        raise FileNotFoundError(NO_PROJECT.format(kit=KIT))
    files = exercises.render(solutions)  # checks every solution before anything is written
    data = timing.measure() if baselines is None else baselines
    counts = hidden_counts()

    written = [*_copy_package(destination / "autograder")]
    written.append(_write(destination / "autograder/checks/announced.py", _announced_module(counts)))
    written.append(timing.write(destination / "autograder" / timing.FILE_NAME, data))
    for name, content in files.items():
        written.append(_write(destination / "exercises" / name, content))
    shutil.copy(KIT / "pyproject.toml", destination / "pyproject.toml")
    written.append(destination / "pyproject.toml")
    written.append(_write(destination / "README.md", _readme(files, counts)))
    written.append(_write(destination / workflow.PATH, workflow.WORKFLOW))
    written.append(_write(destination / ".gitignore", "__pycache__/\n*.egg-info/\nresults/\n.pytest_cache/\n"))
    return written


def _copy_package(target: Path) -> list[Path]:
    written = []
    for source in sorted(PACKAGE.rglob("*")):
        relative = source.relative_to(PACKAGE).as_posix()
        if source.is_dir() or "__pycache__" in relative or source.suffix == ".pyc" or relative in LEFT_OUT:
            continue
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target / relative)
        written.append(target / relative)
    return written


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def _announced_module(counts: dict[str, int]) -> str:
    return ('"""How many hidden checks each task has; the checks themselves are not in this copy.\n\n'
            'Written by `autograder release student`."""\n\n'
            f"ANNOUNCED: dict[str, int] = {dict(sorted(counts.items()))!r}\n")


def _readme(files: dict[str, str], counts: dict[str, int]) -> str:
    from autograder.tasks import TASKS

    lessons = sorted(name for name in files if name.endswith(".py"))
    example_task = next((t for t in TASKS.values() if f"{t.lesson}.py" in lessons), None)
    total = sum(counts.values())
    hidden = HIDDEN.format(count=total, checks="check" if total == 1 else "checks",
                           tasks=", ".join(sorted(counts))) if total else ""
    return README.format(example=f"{example_task.lesson}.py" if example_task else lessons[0],
                         task=example_task.id if example_task else "1.1", hidden=hidden,
                         command=workflow.GRADE_COMMAND)
