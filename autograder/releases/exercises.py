"""Generate ``exercises/`` from ``solutions/``: the student copy of every lesson.

Each solution region, ``### BEGIN SOLUTION`` ... ``### END SOLUTION``, becomes one line,
``raise NotImplementedError("Task 2.11: implement lin_grad")``, at the marker's
indentation; every other line is kept byte for byte. Malformed markers are refused
with ``path:line:`` so nothing half-stripped can reach a student.
"""
from __future__ import annotations

import re
from pathlib import Path

import jupytext

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = 'raise NotImplementedError("Task {task}: implement {name}")'
HEADER = """\
# %% [markdown]
# *Generated from `{source}` by `autograder release`;
# instructors edit that file and regenerate this one.*
#
# Replace each `raise NotImplementedError("Task ...")` with your code,
# then run `autograder check` to see which tasks pass.
"""

# Problems a ReleaseError reports, after "path:line: ".
UNCLOSED = f"'{BEGIN}' is not closed before {{where}}"
NESTED = f"nested '{BEGIN}' (the region opened on line {{line}} is not closed)"
UNOPENED = f"'{END}' without a '{BEGIN}' before it"
MALFORMED = f"malformed marker: write exactly '{BEGIN}' or '{END}' on a line of its own"
NO_TASK = "solution region outside a task cell (give the cell a header like '# %% task=\"2.11\"')"
NO_REGION = "task cell {task} has no solution region, so its answer would ship as is"
NO_DEF = "solution region is not inside a def"

_TASK = re.compile(r"""\btask=["']([^"']+)["']""")
_BLOCK = re.compile(r"\s*(?:async\s+)?(?P<kind>def|class)\s+(?P<name>\w+)")


class ReleaseError(ValueError):
    """A malformed solution file; the message starts with ``path:line:``."""

    def __init__(self, source: str, line: int, problem: str):
        super().__init__(f"{source}:{line}: {problem}")


def strip_solutions(text: str, *, source: str) -> str:
    """Replace every solution region in ``text`` by its task-named ``raise``."""
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    cell_start, cell_header, task, regions = 0, 0, None, 0
    begin = None  # index of the open BEGIN marker
    for index, line in enumerate(lines + ["# %% end of file"]):
        number, marker = index + 1, line.strip()
        if line.startswith("# %%"):
            if begin is not None:
                where = "the file ends" if index == len(lines) else f"the next cell (line {number})"
                raise ReleaseError(source, begin + 1, UNCLOSED.format(where=where))
            if task is not None and regions == 0:
                raise ReleaseError(source, cell_header, NO_REGION.format(task=task))
            match = _TASK.search(line)
            cell_start, cell_header, task, regions = index, number, match and match[1], 0
            if index == len(lines):
                break
        if marker == BEGIN:
            if begin is not None:
                raise ReleaseError(source, number, NESTED.format(line=begin + 1))
            if task is None:
                raise ReleaseError(source, number, NO_TASK)
            begin = index
        elif marker == END:
            if begin is None:
                raise ReleaseError(source, number, UNOPENED)
            kept.append(_stub(lines, begin, cell_start, task, source))
            begin, regions = None, regions + 1
        elif "BEGIN SOLUTION" in line or "END SOLUTION" in line:
            raise ReleaseError(source, number, MALFORMED)
        elif begin is None:
            kept.append(line)
    return "".join(kept)


def _stub(lines: list[str], begin: int, cell_start: int, task: str, source: str) -> str:
    marker = lines[begin]
    indent = marker[: len(marker) - len(marker.lstrip())]
    ending = marker[len(marker.rstrip("\r\n")):]
    name = _enclosing_name(lines, begin, cell_start, source)
    return indent + STUB.format(task=task, name=name) + ending


def _enclosing_name(lines: list[str], begin: int, cell_start: int, source: str) -> str:
    """``fn`` or ``Class.method``: the nearest def around line ``begin``, found by indentation."""
    width, names = _width(lines[begin]), []
    for line in reversed(lines[cell_start:begin]):
        if not line.strip() or line.lstrip()[0] in "#)]}" or _width(line) >= width:
            continue  # blank, comment, end of a multi-line signature, or inside our block
        width, block = _width(line), _BLOCK.match(line)
        if block:
            if (block["kind"] == "def") == bool(names):
                break  # a class body before any def, or the function around a local def
            names.insert(0, block["name"])
        if width == 0:
            break
    if not names:
        raise ReleaseError(source, begin + 1, NO_DEF)
    return ".".join(names)


def _width(line: str) -> int:
    line = line.expandtabs()
    return len(line) - len(line.lstrip())


def add_header(text: str, *, source: str) -> str:
    """Insert the generated-file notice as a markdown cell after the jupytext YAML header."""
    lines = text.splitlines(keepends=True)
    header = HEADER.format(source=source)
    if lines and lines[0].rstrip() == "# ---":
        close = next((i for i, line in enumerate(lines[1:], 1) if line.rstrip() == "# ---"), None)
        if close is not None:
            return "".join(lines[: close + 1]) + "\n" + header + "".join(lines[close + 1:])
    return header + "\n" + text


def to_ipynb(text: str) -> str:
    """The notebook of a percent-format lesson, byte-identical from run to run."""
    notebook = jupytext.reads(text, fmt="py:percent")
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index}"  # NOTE: nbformat draws random ids otherwise
    return jupytext.writes(notebook, fmt="ipynb") + "\n"  # jupytext.write adds the same newline


def render(solutions: Path) -> dict[str, str]:
    """File name -> content of every exercise file; checks every solution before returning."""
    paths = sorted(solutions.glob("l*.py"))
    if not paths:  # refuse rather than let release() delete every exercise
        raise FileNotFoundError(f"no lesson files (l*.py) in {solutions}")
    files = {}
    for path in paths:
        text = path.read_bytes().decode("utf-8")  # bytes: keep the line endings as they are
        exercise = strip_solutions(text, source=str(path))
        exercise = add_header(exercise, source=f"{solutions.name}/{path.name}")
        files[path.name] = exercise
        files[f"{path.stem}.ipynb"] = to_ipynb(exercise)
    return files


def _generated(exercises: Path) -> list[Path]:
    return sorted([*exercises.glob("l*.py"), *exercises.glob("l*.ipynb")])


def release(*, solutions: Path, exercises: Path) -> list[Path]:
    """Write ``exercises/`` from ``solutions/``; remove exercises whose solution is gone."""
    files = render(solutions)
    exercises.mkdir(parents=True, exist_ok=True)
    for stale in _generated(exercises):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, content in files.items():
        (exercises / name).write_bytes(content.encode("utf-8"))
        written.append(exercises / name)
    return written


def release_diff(*, solutions: Path, exercises: Path) -> list[str]:
    """Names of exercise files that are missing, stale or differ from a fresh release."""
    files = render(solutions)
    present = {path.name: path for path in _generated(exercises)}
    return sorted(
        name
        for name in files.keys() | present.keys()
        if name not in files or name not in present
        or present[name].read_bytes() != files[name].encode("utf-8")
    )
