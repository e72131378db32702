"""Each student's code per task, read without running it, and the course's own code.

A student's code for a task is what the grader reads as the task
(``submission.task_statements``): the task's definitions (a function, a class, a method of
a class), or the statements of the cells whose metadata names it. So a notebook and a
``.py`` with the same code in other cells or another order give the same task code. A
definition that only raises ``NotImplementedError`` is the release's stub, and is left out.

The course's own code never counts as shared: every cell of the kit's ``exercises/`` (the
stubs and the code given around them) and of ``solutions/`` (the given code and the
reference answers, which the course publishes in its notebooks: two students who both
wrote the course's answer share the course's code, not each other's), and the files that
the class folder's ``autograder.toml`` names as given (``[similarity] given = [...]``, paths
relative to the class folder: the course's own notebooks, a handout). Its k-grams are kept
whole (not winnowed), so any k-gram of a student's code found in it is discounted.
"""
from __future__ import annotations

import ast
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.reading import cells as cell_rules
from autograder.reading import finder
from autograder.reading.locate import CONFIG, read_config
from autograder.reading import submission as reading
from autograder.similarity import fingerprints

KIT = Path(__file__).resolve().parents[2]
GIVEN_MISSING = "given code {path!r} (autograder.toml, [similarity] given) does not exist"
GIVEN_NOT_PATHS = "[similarity] given in autograder.toml should be a list of paths, not {value!r}"


@dataclass(frozen=True)
class TaskCode:
    task_id: str
    location: str  # where the task was found: "01_matmul.ipynb, cell 13"
    # (line number in its file or cell, text), as handed in; (0, "l02_fully_connected.py, line 90")
    # says where the lines after it are, when the task spans cells
    lines: tuple[tuple[int, str], ...]
    tokens: tuple[tuple[str, int], ...]  # normalised tokens, each with the index in ``lines`` of its line
    starts: tuple[int, ...] = ()  # where each statement's tokens begin (k-grams do not span two)


@dataclass(frozen=True)
class CourseCode:
    kgrams: frozenset[int]  # every k-gram hash of the course's code
    library: frozenset[str]  # the names the course imports: kept as written when normalising
    sources: tuple[str, ...]  # the folders read ("solutions", "exercises", given ones), for the report
    problems: tuple[str, ...] = ()  # given code that could not be read: why


def _imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name != "*"}
    return names


def _course_files(folder: Path | None) -> list[Path]:
    return sorted(folder.glob("l*.py")) if folder is not None and folder.is_dir() else []


def _given_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.suffix in reading.SUFFIXES and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(path).parts))


def given_paths(class_dir: Path) -> tuple[list[Path], list[str]]:
    """The given code the class folder's ``autograder.toml`` names, and what is wrong with it."""
    config = Path(class_dir) / CONFIG
    if not config.is_file():
        return [], []
    try:
        given = read_config(config).get("similarity", {}).get("given", [])
    except ValueError as exc:  # not TOML: the message names the file
        return [], [str(exc)]
    except (OSError, UnicodeDecodeError, AttributeError) as exc:
        return [], [f"{CONFIG}: {exc}"]
    if isinstance(given, str):
        given = [given]
    if not isinstance(given, list) or not all(isinstance(item, str) for item in given):
        return [], [GIVEN_NOT_PATHS.format(value=given)]
    paths = [Path(class_dir) / item for item in given]
    return ([p for p in paths if p.exists()],
            [GIVEN_MISSING.format(path=item) for item, p in zip(given, paths) if not p.exists()])


def course_code(solutions: Path | None = None, exercises: Path | None = None,
                given: list[Path] = (), problems: list[str] = ()) -> CourseCode:
    """The course's own code: ``solutions`` (default: the reference lessons, when the kit has
    them), ``exercises`` (default: the kit's) and ``given`` (files or folders of code the class
    was handed). ``problems``: what was wrong with the given code, kept for the report."""
    if solutions is None:
        from autograder.reference import solutions_dir

        solutions = solutions_dir()
    exercises = KIT / "exercises" if exercises is None else exercises
    named = [(folder.name, path) for folder in (solutions, exercises) for path in _course_files(folder)]
    named += [(folder.name, path) for folder in given for path in _given_files(folder)]
    read = [(name, reading.read_file(path)) for name, path in named]
    problems = [*problems, *(source_file.problem for _, source_file in read if source_file.problem)]
    parsed = [ast.parse(cell_rules.strip_magics(cell.source)) for _, source_file in read
              for cell in source_file.cells if not cell.syntax_error]
    library = frozenset(name for tree in parsed for name in _imported(tree))
    kgrams: set[int | None] = set()
    for _, source_file in read:
        for cell in source_file.cells:
            texts = [text for text, _ in fingerprints.tokens(cell.source, library)]
            kgrams.update(fingerprints.kgram_hashes(texts))  # spanning statements too: a superset
    kgrams.discard(None)
    sources = tuple(dict.fromkeys(name for name, _ in named))
    return CourseCode(frozenset(kgrams), library, sources, tuple(problems))


def _first_line(node: ast.stmt) -> int:
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def task_code(loaded: reading.Submission, library: frozenset[str] = frozenset()) -> dict[str, TaskCode]:
    """Task id -> the student's code for it, for every task found that is not a stub."""
    codes = {}
    for task_id, found in loaded.found.items():
        lines: list[tuple[int, str]] = []
        tokens: list[tuple[str, int]] = []
        cells, starts = [], []
        for cell, statement in reading.task_statements(loaded, task_id):
            if isinstance(statement, (ast.Import, ast.ImportFrom)) or finder.raises_not_implemented(statement):
                continue
            if cells and cells[-1] is not cell:  # the task spans cells: say where each part is
                lines.append((0, cell.location))
            cells.append(cell)
            first, last = _first_line(statement), statement.end_lineno or statement.lineno
            segment = cell.source.split("\n")[first - 1:last]
            base = len(lines) - 1  # a token on line L of the segment is lines[base + L]
            lines += [(first + offset, text) for offset, text in enumerate(segment)]
            starts.append(len(tokens))
            tokens += [(text, base + line) for text, line in fingerprints.tokens("\n".join(segment), library)]
        if tokens:
            if len(set(map(id, cells))) > 1 and lines[0][0] != 0:
                lines.insert(0, (0, cells[0].location))
                tokens = [(text, index + 1) for text, index in tokens]
            codes[task_id] = TaskCode(task_id, found.location, tuple(lines), tuple(tokens), tuple(starts[1:]))
    return codes


class Unreadable(Exception):
    """A job whose task code cannot be read; the message names its files as handed in."""


def job_code(job, library: frozenset[str] = frozenset()) -> dict[str, TaskCode]:
    """A class run's job (its files as bytes) read as its worker reads it: its task code."""
    from autograder.classroom.work import write_files

    with tempfile.TemporaryDirectory(prefix="autograder-similarity-") as folder:
        root = Path(folder) / "submission"
        try:
            write_files(root, job.files)
            target = root / job.single if job.single else root
            return task_code(reading.load(target, job.task_ids, job.aliases), library)
        except (reading.SubmissionError, OSError, ValueError, RecursionError, MemoryError) as exc:
            message = str(exc).replace(str(root / job.single) if job.single else str(root), job.source)
            raise Unreadable(message.replace(str(root), job.source) or type(exc).__name__) from None
