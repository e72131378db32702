"""``autograder release nbgrader DIR``: source notebooks for an nbgrader course.

One assignment per lesson, ``DIR/source/<lesson>/<lesson>.ipynb``, in nbgrader's cell
metadata (schema version 3). Each task cell is an autograded answer cell whose
``### BEGIN SOLUTION`` regions nbgrader itself strips; after it comes a locked,
read-only test cell worth the task's points that calls this grader for that task.
The test cell grades the notebook *file* in the sandboxed child, like every grade
here, and raises when the task fails, which nbgrader scores as zero.
"""
from __future__ import annotations

import json
from pathlib import Path

SCHEMA_VERSION = 3
TEST_CELL = """\
# Graded by the autograder: do not edit (nbgrader restores this cell before grading).
import importlib
importlib.import_module("autograder.releases.nbgrader").check_task({task!r}, {notebook!r})
"""
NOT_PASSED = "{message}"
CONFIG = """\
c = get_config()  # noqa: F821
c.CourseDirectory.root = __import__("os").path.dirname(__file__)
# The first test cell of a notebook grades all its tasks in a sandboxed child: give it time.
c.Execute.timeout = 900
c.Execute.iopub_timeout = 60
"""
_RESULTS: dict[tuple[str, float], dict] = {}  # the notebook graded once for all its test cells


def grade_id(kind: str, task_id: str) -> str:
    return f"{kind}_{task_id.replace('.', '_')}"  # nbgrader allows letters, digits, _ and -


def _metadata(*, grade: bool, solution: bool, locked: bool, cell_id: str | None = None,
              points: float | None = None) -> dict:
    data = {"schema_version": SCHEMA_VERSION, "grade": grade, "solution": solution, "locked": locked,
            "task": False}
    if cell_id:
        data["grade_id"] = cell_id
    if grade:
        data["points"] = points
    return data


def source_notebook(text: str, *, source: str, stem: str) -> dict:
    """The nbgrader source notebook of one percent-format solution lesson."""
    import jupytext
    import nbformat

    from autograder.releases import exercises
    from autograder.tasks import TASKS

    exercises.strip_solutions(text, source=source)  # refuse malformed regions, as every release does
    notebook = jupytext.reads(text, fmt="py:percent")
    cells = []
    for cell in notebook.cells:
        task_id = cell.metadata.get("task")
        if cell.cell_type == "code" and task_id:
            cell.metadata["nbgrader"] = _metadata(grade=False, solution=True, locked=False,
                                                  cell_id=grade_id("answer", task_id))
            cells.append(cell)
            test = nbformat.v4.new_code_cell(TEST_CELL.format(task=task_id, notebook=f"{stem}.ipynb"))
            test.metadata["nbgrader"] = _metadata(grade=True, solution=False, locked=True,
                                                  cell_id=grade_id("test", task_id),
                                                  points=TASKS[task_id].points)
            test.metadata["editable"] = test.metadata["deletable"] = False
            cells.append(test)
        else:
            cells.append(cell)
    notebook.cells = cells
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index}"
    notebook.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3",
                                                "language": "python"})
    return json.loads(nbformat.writes(notebook))


def release_nbgrader(*, solutions: Path, destination: Path) -> list[Path]:
    """Write ``source/<lesson>/<lesson>.ipynb`` for every lesson, and a starter config."""
    paths = sorted(Path(solutions).glob("l*.py"))
    if not paths:
        raise FileNotFoundError(f"no lesson files (l*.py) in {solutions}")
    notebooks = {path.stem: source_notebook(path.read_text(encoding="utf-8"), source=str(path), stem=path.stem)
                 for path in paths}  # all checked before anything is written
    written = []
    for stem, notebook in notebooks.items():
        target = Path(destination) / "source" / stem / f"{stem}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")
        written.append(target)
    config = Path(destination) / "nbgrader_config.py"
    if not config.exists():
        config.write_text(CONFIG, encoding="utf-8")
        written.append(config)
    return written


def check_task(task_id: str, notebook: str) -> None:
    """The body of a test cell: grade the notebook file (once for all its test cells) in the
    sandboxed child, and raise unless ``task_id`` passed."""
    path = Path(notebook).resolve()
    key = (str(path), path.stat().st_mtime)
    if key not in _RESULTS:
        from autograder.grading import grade

        _RESULTS[key] = {task.id: task for task in grade(path).tasks}
    task = _RESULTS[key].get(task_id)
    if task is None:
        raise AssertionError(f"Task {task_id} was not graded in {notebook}")
    if task.status != "passed":
        raise AssertionError(NOT_PASSED.format(message=task.message))
    print(f"Task {task_id} ({task.name}): passed")
