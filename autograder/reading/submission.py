"""Loading a submission: its files read as one stream of cells, tasks found in it.

Nothing here runs student code: files are read and parsed as text. A submission is a
single file of any name (a notebook or a ``.py``, jupytext percent format or a plain
module) or a folder of them. A folder is read in lesson order: files whose name starts
with a lesson number (``01_matmul.ipynb``, ``l02_fully_connected.py``) in number order,
then the rest by name. Every file beside the graded ones is importable by its stem, as
Python would find it, and a notebook numbered XX is ``exp.nb_XX`` (its ``#export`` cells),
as the course's ``notebook2script`` would have written it. Where each task is defined is
decided by ``locate``.
"""
from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from autograder import messages
from autograder.reading import cells as cell_rules
from autograder.reading import finder, locate
from autograder.tasks import LESSONS, NUMBERED, Task, lesson_of, select

_CELL_HEADER = re.compile(r"^#\s?%%(?P<rest>.*)$")
# The headers the kit and most notebooks write: `# %%`, `# %% [markdown]`, `# %% task="1.2"`.
# Anything else is read by jupytext itself (whose import, through nbformat and jsonschema,
# costs seconds where a Jupyter install has rfc3987-syntax: every grader would pay it).
_PLAIN_HEADER = re.compile(r'^(?:(?P<title>\[\w+\])(?:\s+|$))?(?P<pairs>(?:\w+="[^"\\]*"(?:\s+|$))*)$')
_PAIR = re.compile(r'(\w+)="([^"\\]*)"')
_DEF_LINE = re.compile(r"^(?:def|class)\s+(\w+)|^(\w+)\s*=", re.MULTILINE)
_EXPORT = re.compile(r"^\s*#\s*export", re.IGNORECASE)
SUFFIXES = (".py", ".ipynb")
# The course's own tooling, not lessons: never part of the stream.
TOOLING = {"notebook2script.py", "run_notebook.py", "setup.py", "conftest.py"}
SAME_SAVE = 2.0  # seconds: a .py and a notebook saved closer than this were written together


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
    exported: bool = False  # an ``#export`` cell: part of the notebook's exp.nb_XX module

    @property
    def location(self) -> str:
        """``01_matmul.ipynb, cell 26`` or ``l01_matmul.py, line 40``."""
        name = self.filename.split(",")[0]
        return f"{name}, {self.where}"


@dataclass
class SourceFile:
    path: Path
    cells: list[Cell] = field(default_factory=list)
    problem: str = ""  # why it could not be read
    note: str = ""  # how it was read, where that is not plain UTF-8

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def number(self) -> str | None:
        match = NUMBERED.match(self.path.name)
        return match["number"] if match else None

    @property
    def module_name(self) -> str:
        return self.path.stem


@dataclass
class Submission:
    """The stream of cells that is graded, the modules it may import, and where tasks are."""

    root: Path
    files: list[SourceFile]  # the stream, in order
    importable: list[SourceFile]  # every file an import may name (the stream and its siblings)
    tasks: list[Task]  # the tasks graded
    found: dict[str, locate.Found] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # task id -> why it cannot be graded
    missing: dict[str, str] = field(default_factory=dict)  # task id -> the lesson file not handed in
    statements: list | None = field(default=None, repr=False)  # ``_runnable_statements``, once parsed
    nearest: dict[str, str] = field(default_factory=dict)  # task id -> the file holding what came close
    notes: list[str] = field(default_factory=list)  # about the whole submission: the file graded of a pair
    fallbacks: dict[int, int] = field(default_factory=dict)  # file index set aside -> the file graded instead

    def cells(self):
        """(file, cell) in stream order."""
        for source_file in self.files:
            for cell in source_file.cells:
                yield source_file, cell

    def location(self, task_id: str) -> str:
        found = self.found.get(task_id)
        return found.location if found else ""

    def display(self, task_id: str | None = None) -> str:
        """The file a student edits for the task (or the submission itself)."""
        found = self.found.get(task_id) if task_id else None
        if found:
            return found.file
        return self.files[0].name if len(self.files) == 1 else self.root.name

    @property
    def modules(self) -> dict[str, list[tuple[str, str]]]:
        """What the child may import: module name -> runnable cells ``(source, filename)``.

        Every file by its stem, and a numbered notebook's ``#export`` cells as ``exp.nb_XX``.
        """
        modules: dict[str, list[tuple[str, str]]] = {}
        for source_file in sorted(self.importable, key=lambda f: f.path.suffix != ".ipynb"):
            cells = [c for c in source_file.cells if not c.syntax_error]
            modules.setdefault(source_file.module_name, [(c.source, c.filename) for c in cells])
            if source_file.number:
                modules.setdefault(f"exp.nb_{source_file.number}",
                                   [(c.source, c.filename) for c in cells if c.exported])
        return modules


def stream_files(path: Path) -> list[Path]:
    """The files of a submission folder, in lesson order, one per name (the ``.py`` of a pair):
    what a file graded on its own may import."""
    return [min(group, key=lambda p: p.suffix != ".py") for group in _pairs(path)]


def _order(p: Path):
    match = NUMBERED.match(p.name)
    return (0, match["number"], p.stem, p.suffix) if match else (1, "", p.stem, p.suffix)


def _pairs(path: Path) -> list[tuple[Path, ...]]:
    """The files of a folder in lesson order, a ``.py`` and a notebook of one name together."""
    by_stem: dict[str, list[Path]] = {}
    for candidate in sorted((p for p in path.iterdir() if p.is_file() and p.suffix in SUFFIXES
                             and p.name not in TOOLING and not p.name.startswith(".")), key=_order):
        by_stem.setdefault(candidate.stem, []).append(candidate)
    return [tuple(group) for group in by_stem.values()]


def _saved(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _stubbed(source_file: SourceFile) -> tuple[set[str], set[str]]:
    """The names a file defines for real, and those it only stubs (``raise NotImplementedError``)."""
    real, stubs = set(), set()
    for cell in source_file.cells:
        for name, kind, _, _, node in locate.cell_definitions(cell):
            if kind in ("def", "class") and node is not None:  # not a syntax error's guess
                (stubs if finder.raises_not_implemented(node) else real).add(name)
    return real, stubs


def _one_per_lesson(pairs: list[tuple[Path, ...]]) -> tuple[list[SourceFile], list[str], dict[int, int]]:
    """Read each file; of a ``.py`` and a notebook of one lesson, grade the one saved last, and
    put the other before it where it implements what the last saved only stubs (per task, the
    finder then takes the one that implements it). Returns the stream, the notes that say which
    file was graded, and {index of a file set aside but kept: index of the file graded}."""
    files: list[SourceFile] = []
    notes: list[str] = []
    fallbacks: dict[int, int] = {}
    for group in pairs:
        read = [read_file(p) for p in group]
        if len(read) == 1:
            files += read
            continue
        stubs = [_stubbed(f) for f in read]
        saved = [_saved(f.path) for f in read]
        if abs(saved[0] - saved[1]) > SAME_SAVE:
            newest, why = max(range(2), key=lambda i: saved[i]), "saved last"
        else:  # written together (a checkout, an unzip): the one that implements more, else the .py
            unfinished = [len(stubbed) - len(real) for real, stubbed in stubs]
            newest = min(range(2), key=lambda i: (unfinished[i], read[i].path.suffix != ".py"))
            why = "both saved at once" + ("; it implements more" if unfinished[0] != unfinished[1] else "")
        graded, other = read[newest], read[1 - newest]
        (real, stubbed), (other_real, _) = stubs[newest], stubs[1 - newest]
        taken = sorted((stubbed - real) & other_real)
        if taken:
            fallbacks[len(files)] = len(files) + 1
            files += [other, graded]
            notes.append(messages.PAIR_FALLBACK.format(graded=graded.name, other=other.name, why=why,
                                                       names=", ".join(f"`{n}`" for n in taken)))
        else:
            files.append(graded)
            notes.append(messages.PAIR.format(graded=graded.name, other=other.name, why=why))
    return files, notes, fallbacks


def load(path: Path, task_ids: list[str] | None = None, aliases: dict | None = None) -> Submission:
    """Read a submission; a lesson-named single file is graded for that lesson's tasks only.

    A single file of another name is a whole submission. ``aliases`` maps a task to the
    name it is defined under (``{"1.4": "matmul2"}``; see ``locate.parse_aliases``).
    """
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"{path} does not exist")
    if path.is_file():
        if path.suffix not in SUFFIXES:
            raise SubmissionError(f"{path.name} is not a notebook or a Python file (.ipynb or .py)")
        files, notes, fallbacks = [read_file(path)], _later_twin(path), {}
        siblings = [p for p in stream_files(path.parent) if p.stem != path.stem]
        lesson = lesson_of(path.name)
        tasks = [t for t in select(task_ids) if lesson is None or t.lesson == lesson]
    else:
        pairs = _pairs(path)
        if not pairs:
            raise SubmissionError(f"{path} holds no notebook or Python file to grade")
        files, notes, fallbacks = _one_per_lesson(pairs)
        siblings = []
        tasks = select(task_ids)
    importable = files + [read_file(p) for p in siblings]
    notes += [f.note for f in files if f.note]
    submission = Submission(path, files, importable, tasks, notes=notes, fallbacks=fallbacks)
    unreadable = [f for f in files if f.problem]
    for source_file in unreadable:
        lesson = lesson_of(source_file.name)
        for task in tasks:
            if lesson is None and len(files) == 1 or task.lesson == lesson:
                submission.problems[task.id] = source_file.problem
    locate.locate(submission, aliases or {})
    if task_ids is None:
        _keep_lessons_present(submission)
    _name_missing_files(submission, unreadable)
    return submission


def _later_twin(path: Path) -> list[str]:
    """A file graded on its own whose notebook (or ``.py``) of the same name was saved later."""
    twin = path.with_suffix(".py" if path.suffix == ".ipynb" else ".ipynb")
    if twin.is_file() and _saved(twin) > _saved(path):
        return [messages.LATER_TWIN.format(graded=path.name, twin=twin.name)]
    return []


def _keep_lessons_present(submission: Submission) -> None:
    """Grade the lessons a submission covers: one with a task found in it, or a file named
    for it or for a later lesson (so a missing earlier lesson file is still reported).
    A submission where nothing at all is found is graded for everything, to say so."""
    order = list(LESSONS)
    present = {t.lesson for t in submission.tasks if t.id in submission.found}
    numbered = [order.index(lesson) for lesson in map(lambda f: lesson_of(f.name), submission.files) if lesson]
    if numbered and submission.root.is_dir():
        present |= set(order[:max(numbered) + 1])
    elif numbered:
        present |= {order[i] for i in numbered}
    if not present:
        return
    submission.tasks = [t for t in submission.tasks if t.lesson in present]
    kept = {t.id for t in submission.tasks}
    submission.problems = {k: v for k, v in submission.problems.items() if k in kept}
    submission.found = {k: v for k, v in submission.found.items() if k in kept}


def _name_missing_files(submission: Submission, unreadable: list[SourceFile]) -> None:
    """A task not found says so more plainly when its whole lesson file is missing."""
    lessons = {lesson_of(f.name) for f in submission.files} - {None}
    for task in submission.tasks:
        problem = submission.problems.get(task.id, "")
        if task.id in submission.found or not problem.startswith(messages.NOT_FOUND_START):
            continue
        if submission.root.is_dir() and lessons and task.lesson not in lessons:
            filename = LESSONS[task.lesson].filename
            if all(f.path.suffix == ".ipynb" for f in submission.files):  # a student of notebooks only
                filename = f"{LESSONS[task.lesson].stem}.ipynb (or {filename})"
            submission.problems[task.id] = messages.MISSING_LESSON.format(file=filename)
            submission.missing[task.id] = filename
        elif unreadable:
            submission.problems[task.id] = f"{problem} ({'; '.join(f.problem for f in unreadable)})"
        elif len(submission.files) > 1 and task.id not in submission.nearest:  # nothing came close
            searched = ", ".join(dict.fromkeys(f.name for f in submission.files))
            submission.problems[task.id] = f"{problem}. {messages.SEARCHED.format(files=searched)}"


def read_file(path: Path) -> SourceFile:
    source_file = SourceFile(path)
    try:
        if path.suffix == ".ipynb":
            raw_cells = _read_ipynb(path)
        else:
            text, source_file.note = read_source(path)
            raw_cells = _read_py(path, text)
    except Exception as exc:  # unreadable file: every task says why
        source_file.problem = f"could not read {path.name}: {exc}"
        return source_file
    source_file.cells = [_parse_cell(*raw) for raw in raw_cells]
    return source_file


def _read_ipynb(path: Path) -> list[tuple[str, str, str, str | None]]:
    """A notebook's code cells. Version 4 (every notebook of the last decade) is read as the
    JSON it is; an older one is converted by nbformat."""
    text = path.read_text(encoding="utf-8")
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"it is not a valid notebook (invalid JSON: {exc})") from None
    if isinstance(notebook, dict) and notebook.get("nbformat") != 4 and "cells" not in notebook:
        import nbformat

        notebook = nbformat.reads(text, as_version=4)
    raw_cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(raw_cells, list):
        raise ValueError("it is not a valid notebook (it has no list of cells)")
    cells = []
    for number, cell in enumerate(raw_cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if not isinstance(source, str):
            raise ValueError(f"it is not a valid notebook (cell {number}'s source is not text)")
        metadata = cell.get("metadata")
        task = metadata.get("task") if isinstance(metadata, dict) else None
        cells.append((source, f"{path.name}, cell {number}", f"cell {number}",
                      str(task) if task is not None else None))
    return cells


def header_metadata(rest: str) -> tuple[str, dict]:
    """A percent-format cell header's title and metadata, as jupytext reads them."""
    plain = _PLAIN_HEADER.match(rest)
    if plain:
        return plain["title"] or "", dict(_PAIR.findall(plain["pairs"]))
    from jupytext.cell_metadata import text_to_metadata

    return text_to_metadata(rest, allow_title=True)


def read_source(path: Path) -> tuple[str, str]:
    """A Python file's text as Python reads it (a BOM, a PEP 263 coding cookie, else UTF-8), and a
    note where bytes are not in that encoding: they become replacement characters, so a stray
    byte in a comment costs no task."""
    data = path.read_bytes()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:  # a cookie naming an unknown encoding
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
        note = ""
    except UnicodeDecodeError as exc:
        text = data.decode(encoding, errors="replace")
        line = data[:exc.start].count(b"\n") + 1
        note = messages.NOT_UTF8.format(file=path.name, byte=data[exc.start], line=line, encoding=encoding)
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n"), note  # as text mode reads


def _read_py(path: Path, text: str) -> list[tuple[str, str, str, str | None]]:
    lines = text.split("\n")
    headers = [i for i, line in enumerate(lines) if _CELL_HEADER.match(line)]
    if not headers:  # a plain module: every top-level statement is its own cell
        return _statement_cells(path, "\n".join(lines))
    cells = []
    bounds = [0, *headers, len(lines)] if headers[0] else [*headers, len(lines)]
    for start, end in zip(bounds, bounds[1:]):
        match = _CELL_HEADER.match(lines[start])
        body_start = start + 1 if match else start
        title, metadata = header_metadata(match["rest"].strip()) if match else ("", {})
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
    exported = bool(_EXPORT.match(source.lstrip("\n")))
    try:
        tree = cell_rules.parse(source, filename)
    except SyntaxError as exc:
        message = f"syntax error in {filename} at line {exc.lineno}: {exc.msg}"
        guessed = tuple(a or b for a, b in _DEF_LINE.findall(source))  # so the task still maps here
        return Cell(source, filename, where, task, syntax_error=message, names=guessed, exported=exported)
    return Cell(source, filename, where, task, names=tuple(cell_rules.defined_names(tree)), exported=exported)


def _runnable_statements(submission: Submission) -> list[tuple[SourceFile, Cell, ast.stmt]]:
    """(file, cell, statement) for every statement of the stream the grader runs, in order.

    Parsed once per submission: the rules check asks for it for every task.
    """
    if submission.statements is None:
        submission.statements = [
            (source_file, cell, statement) for source_file, cell in submission.cells() if not cell.syntax_error
            for statement in cell_rules.runnable(cell_rules.parse(cell.source, cell.filename)).body]
    return submission.statements


def whole_module(submission: Submission, source_file: SourceFile | None = None) -> ast.Module:
    """Everything of the stream (or of one file) that runs, as one module (aliases, flags)."""
    return ast.Module(body=[s for f, _, s in _runnable_statements(submission)
                            if source_file is None or f is source_file], type_ignores=[])


def task_statements(submission: Submission, task_id: str) -> list[tuple[Cell, ast.stmt]]:
    """The statements graded as the task, each with its cell, in stream order: every statement
    of the cells whose metadata names the task (a cell split in two keeps its metadata in both
    halves), else the definitions ``locate`` found (a method of a class among them,
    ``MatMul.three_loops``)."""
    found = submission.found.get(task_id)
    if found is None:
        return []
    if found.by_metadata:
        return [(cell, statement) for _, cell, statement in _runnable_statements(submission)
                if cell.metadata_task == task_id]
    statements = []
    for _, cell, statement in _runnable_statements(submission):
        if (cell.filename, statement.lineno) in found.definitions:
            statements.append((cell, statement))
        elif isinstance(statement, ast.ClassDef):
            statements += [(cell, item) for item in statement.body
                           if (cell.filename, getattr(item, "lineno", 0)) in found.definitions]
    return statements


def task_definitions(submission: Submission, task: Task) -> tuple[list[ast.stmt], ast.Module]:
    """The statements that make up ``task`` (``task_statements``), and the stream's whole
    runnable module: for the static rules check, every definition of the stream for aliases."""
    return [statement for _, statement in task_statements(submission, task.id)], whole_module(submission)
