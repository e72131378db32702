"""Loading a submission: lesson files found, split into cells, cells mapped to tasks.

Nothing here runs student code: files are read and parsed as text. A submission is a
lesson ``.py`` (jupytext percent format, or a plain module), an ``.ipynb``, or a folder
of them. Cells carrying a ``task`` id in their metadata are that task's cells;
otherwise tasks are found by name and order of definition (see ``tasks.TASKS``).
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupytext.cell_metadata import text_to_metadata

from autograder import cells as cell_rules
from autograder.tasks import LESSONS, Lesson, Task, lesson_for_filename, tasks_of

_CELL_HEADER = re.compile(r"^#\s?%%(?P<rest>.*)$")
_DEF_LINE = re.compile(r"^(?:def|class)\s+(\w+)|^(\w+)\s*=", re.MULTILINE)


class SubmissionError(Exception):
    """The path given is not a submission at all (nothing to grade)."""


@dataclass(frozen=True)
class Cell:
    source: str  # padded with blank lines so that line numbers match the file
    filename: str  # what tracebacks show: the file, or "notebook.ipynb, cell 7"
    where: str  # "line 42" or "cell 7", for messages
    metadata_task: str | None = None
    syntax_error: str = ""
    names: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()  # tasks whose namespace is snapshotted after this cell


@dataclass
class LessonFile:
    lesson: Lesson
    path: Path | None
    cells: list[Cell] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # task id -> why it cannot be graded

    @property
    def display(self) -> str:
        return self.path.name if self.path else self.lesson.filename


def find_lesson_files(path: Path) -> dict[str, Path]:
    """Lesson stem -> file, for a file or a folder (``.py`` preferred over ``.ipynb``)."""
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"{path} does not exist")
    candidates = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    found: dict[str, Path] = {}
    for candidate in sorted(candidates, key=lambda p: (p.suffix != ".py", p.name)):
        lesson = lesson_for_filename(candidate.name)
        if lesson and lesson.stem not in found:
            found[lesson.stem] = candidate
    if path.is_file() and not found:
        raise SubmissionError(
            f"{path.name} is not a lesson file: name it like l01_matmul.py or 01_matmul.ipynb")
    return found


def load(path: Path, lessons: list[str] | None = None) -> list[LessonFile]:
    """Every lesson of the curriculum, in order, with its file (or None when missing)."""
    found = find_lesson_files(path)
    wanted = lessons or list(LESSONS)
    return [read_lesson(LESSONS[stem], found.get(stem)) for stem in wanted]


def read_lesson(lesson: Lesson, path: Path | None) -> LessonFile:
    lesson_file = LessonFile(lesson, path)
    if path is None:
        for task in tasks_of(lesson.stem):
            lesson_file.problems[task.id] = f"{lesson.filename} is missing from the submission"
        return lesson_file
    try:
        raw_cells = _read_ipynb(path) if path.suffix == ".ipynb" else _read_py(path)
    except Exception as exc:  # unreadable file: every task of the lesson says why
        reason = f"could not read {path.name}: {exc}"
        lesson_file.problems = {t.id: reason for t in tasks_of(lesson.stem)}
        return lesson_file
    lesson_file.cells = [_parse_cell(*raw) for raw in raw_cells]
    _map_tasks(lesson_file)
    return lesson_file


def _read_ipynb(path: Path) -> list[tuple[str, str, str, str | None]]:
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        raise ValueError(f"it is not a valid notebook (invalid JSON: {exc})") from None
    cells = []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.get("cell_type") == "code":
            task = cell.get("metadata", {}).get("task")
            cells.append((cell.source, f"{path.name}, cell {number}", f"cell {number}",
                          str(task) if task is not None else None))
    return cells


def _read_py(path: Path) -> list[tuple[str, str, str, str | None]]:
    lines = path.read_text(encoding="utf-8").split("\n")
    headers = [i for i, line in enumerate(lines) if _CELL_HEADER.match(line)]
    if not headers:  # a plain module: every top-level statement is its own cell
        return _statement_cells(path, "\n".join(lines))
    cells = []
    bounds = [0, *headers, len(lines)] if headers[0] else [*headers, len(lines)]
    for start, end in zip(bounds, bounds[1:]):
        match = _CELL_HEADER.match(lines[start])
        body_start = start + 1 if match else start
        title, metadata = text_to_metadata(match["rest"].strip(), allow_title=True) if match else ("", {})
        if title.startswith("[") and title != "[code]":  # [markdown], [raw]
            continue
        source = "\n" * body_start + "\n".join(lines[body_start:end])
        task = metadata.get("task")
        cells.append((source, str(path.name), f"line {body_start + 1}", str(task) if task else None))
    return cells


def _statement_cells(path: Path, text: str) -> list[tuple[str, str, str, str | None]]:
    try:
        tree = ast.parse(cell_rules.strip_magics(text))
    except SyntaxError:
        return [(text, path.name, "line 1", None)]  # one cell: the syntax error is reported
    lines = text.split("\n")
    cells = []
    for statement in tree.body:
        first = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])
        body = "\n".join(lines[first - 1:statement.end_lineno])
        cells.append(("\n" * (first - 1) + body, path.name, f"line {first}", None))
    return cells


def _parse_cell(source: str, filename: str, where: str, task: str | None) -> Cell:
    try:
        tree = cell_rules.parse(source, filename)
    except SyntaxError as exc:
        message = f"syntax error in {filename} at line {exc.lineno}: {exc.msg}"
        guessed = tuple(a or b for a, b in _DEF_LINE.findall(source))  # so the task still maps here
        return Cell(source, filename, where, task, syntax_error=message, names=guessed)
    return Cell(source, filename, where, task, names=tuple(cell_rules.defined_names(tree)))


def _map_tasks(lesson_file: LessonFile) -> None:
    """Decide after which cell each task's namespace is taken."""
    tasks = tasks_of(lesson_file.lesson.stem)
    by_metadata = {c.metadata_task for c in lesson_file.cells} & {t.id for t in tasks}
    completing: dict[str, int] = {}
    for task in tasks:
        if by_metadata:
            index = _cell_by_metadata(lesson_file.cells, task)
        else:
            index = _cell_by_names(lesson_file.cells, task)
        if isinstance(index, str):
            lesson_file.problems[task.id] = index
        else:
            completing[task.id] = index
    for task_id, index in completing.items():
        cell = lesson_file.cells[index]
        lesson_file.cells[index] = Cell(**{**cell.__dict__, "tasks": cell.tasks + (task_id,)})


def _cell_by_metadata(cells: list[Cell], task: Task) -> int | str:
    indices = [i for i, c in enumerate(cells) if c.metadata_task == task.id]
    if not indices:
        return f"the cell for Task {task.id} ({task.name}) is missing: its cell metadata says task=\"{task.id}\""
    return indices[-1]


def _cell_by_names(cells: list[Cell], task: Task) -> int | str:
    last = -1
    for name, nth in task.defines:
        seen = [i for i, c in enumerate(cells) for n in c.names if n == name]
        if len(seen) < nth:
            found = f"found {len(seen)}" if seen else "found none"
            ordinal = {1: "a", 2: "a 2nd", 3: "a 3rd"}.get(nth, f"a {nth}th")
            return f"no definition of {name} for Task {task.id}: it needs {ordinal} `{name}` ({found})"
        last = max(last, seen[nth - 1])
    return last



def _runnable_statements(lesson_file: LessonFile):
    """(cell, statement) for every statement of the lesson the grader runs, in order."""
    for cell in lesson_file.cells:
        if not cell.syntax_error:
            for statement in cell_rules.runnable(cell_rules.parse(cell.source, cell.filename)).body:
                yield cell, statement


def whole_module(lesson_file: LessonFile) -> ast.Module:
    """Everything of the lesson that runs, as one module (for aliases and flags)."""
    return ast.Module(body=[s for _, s in _runnable_statements(lesson_file)], type_ignores=[])


def task_definitions(lesson_file: LessonFile, task: Task) -> tuple[list[ast.stmt], ast.Module]:
    """The statements that make up ``task``, and the lesson's whole runnable module.

    For the static rules check: the 3rd ``def matmul`` (or all of the task's cell when
    it has metadata), and every definition of the lesson for import aliases.
    """
    by_metadata = any(c.metadata_task == task.id for c in lesson_file.cells)
    wanted, counts, definitions = set(task.defines), {}, []
    for cell, statement in _runnable_statements(lesson_file):
        hits = []
        for name in cell_rules.defined_names(ast.Module(body=[statement], type_ignores=[])):
            counts[name] = counts.get(name, 0) + 1
            hits.append((name, counts[name]) in wanted)
        if (cell.metadata_task == task.id) if by_metadata else any(hits):
            definitions.append(statement)
    return definitions, whole_module(lesson_file)
