"""The notebook as it stands, written to a private folder for the grader to read.

The saved file is the base, with two corrections from what the kernel saw: a cell the
kernel ran after the save (same cell id) counts as it ran, and cells run after the last save that
are not in the file are named, with what to do. Where no notebook is found, the cells this
kernel ran are graded instead, in the order they ran. The copy keeps the notebook's file
name, and the lessons beside it come along (lesson 02 imports lesson 01), as they would
for ``autograder check`` on the file itself.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from autograder.reading import cells as cell_rules
from autograder.notebook.locate import Executions
from autograder.notebook.selection import UNKNOWN
from autograder.tasks import LESSONS, TASKS, lesson_for_filename

NEIGHBOUR_BYTES = 16 * 2**20  # a lesson is far smaller; anything larger is not one
UNSAVED = ("{count} cell{s} you ran after the last save ({saved}) {are} not in {name}: save the "
           "notebook (Ctrl+S / Cmd+S) and run %check again to grade {them}")
FROM_HISTORY = "the {count} cells this kernel ran, in the order they ran, as {names}"
NO_NOTEBOOK = ("no notebook file found ({why}): graded the cells this kernel ran instead; save the "
               "notebook and %check again to grade it as it stands")
NO_HISTORY = ("no notebook file found ({why}), and this kernel has run no task yet: run the cells "
              "that define your functions, or check the file from a terminal: autograder check FILE")
NO_LESSON = ("no notebook file found ({why}), and the cells this kernel ran define no task: "
             "name one (%check 1.2) or check the file from a terminal: autograder check FILE")


@dataclass
class Snapshot:
    path: Path  # what the grader reads: a copy of the notebook, or a folder of lessons
    graded: str  # what the student is told was graded: which file, which moment
    upto: int | None = None  # the number of the cell that asked, in the copy
    notes: list[str] = field(default_factory=list)


def _clock(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(seconds))


def _normal(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().split("\n"))


def _only_magics(source: str) -> bool:
    lines = [line.strip() for line in source.split("\n") if line.strip() and not line.strip().startswith("#")]
    return all(line.startswith(("%", "!")) for line in lines)


def from_notebook(real: Path, executions: Executions, folder: Path) -> Snapshot:
    saved = real.stat().st_mtime
    notebook = nbformat.read(str(real), as_version=4)
    ran = executions.latest_by_id()
    known_ids, changed = set(), 0
    for cell in notebook.cells:
        latest = ran.get(cell.get("id"))
        if cell.cell_type == "code" and latest is not None and latest.time > saved:  # else the file is newer
            changed += _normal(cell.source) != _normal(latest.source)
            cell.source = latest.source
            known_ids.add(latest.cell_id)
    sources = {_normal(c.source) for c in notebook.cells if c.cell_type == "code"}
    current = executions.current
    unsaved = {_normal(e.source) for e in executions.cells
               if e.time > saved and e is not current and e.cell_id not in known_ids
               and not _only_magics(e.source) and _normal(e.source) not in sources}
    folder.mkdir(parents=True, exist_ok=True)
    _copy_neighbours(real, folder)
    copy = folder / real.name
    nbformat.write(notebook, str(copy))
    graded = f"{real.name} as saved at {_clock(saved)}"
    if changed:
        graded += f", with {changed} cell{'s' if changed > 1 else ''} as you ran {'them' if changed > 1 else 'it'} since"
    snapshot = Snapshot(copy, graded, _position(notebook, current))
    if unsaved:
        many = len(unsaved) > 1
        snapshot.notes.append(UNSAVED.format(count=len(unsaved), s="s" if many else "", saved=_clock(saved),
                                             are="are" if many else "is", name=real.name,
                                             them="them" if many else "it"))
    return snapshot


def _position(notebook, current) -> int | None:
    """The 1-based number of the cell that asked, by its id, else by its text when unique."""
    if current is None:
        return None
    if current.cell_id:
        for number, cell in enumerate(notebook.cells, start=1):
            if cell.get("id") == current.cell_id:
                return number
    same = [n for n, c in enumerate(notebook.cells, start=1)
            if c.cell_type == "code" and _normal(c.source) == _normal(current.source)]
    return same[0] if len(same) == 1 else None


def _copy_neighbours(real: Path, folder: Path) -> None:
    """The notebooks and modules beside it (what it may import), not other copies of it."""
    own = lesson_for_filename(real.name)
    for neighbour in real.parent.iterdir():
        if (neighbour.suffix in (".py", ".ipynb") and not neighbour.name.startswith(".")
                and neighbour.stem != real.stem and neighbour.is_file()
                and (own is None or lesson_for_filename(neighbour.name) != own)
                and neighbour.stat().st_size <= NEIGHBOUR_BYTES):
            shutil.copy(neighbour, folder / neighbour.name)


def from_history(executions: Executions, words: list[str], why: str, folder: Path) -> Snapshot:
    """The cells this kernel ran, as a notebook named for each lesson they (or ``words``) touch."""
    last_run = {e.cell_id: e for e in executions.cells if e.cell_id}
    sources = [e.source for e in executions.cells if not _only_magics(e.source)
               and (not e.cell_id or last_run[e.cell_id] is e)]  # a cell run again: only as it ran last
    if not sources:
        raise LookupError(NO_HISTORY.format(why=why))
    lessons = _lessons(sources, words)
    unknown = [w for w in words if not _lessons([], [w])]
    if unknown:
        raise LookupError(UNKNOWN.format(word=unknown[0]))
    if not lessons:
        raise LookupError(NO_LESSON.format(why=why))
    folder.mkdir(parents=True, exist_ok=True)
    notebook = new_notebook(cells=[new_code_cell(source) for source in sources])
    names = []
    for stem in lessons:
        name = f"{stem}.ipynb"
        nbformat.write(notebook, str(folder / name))
        names.append(name)
    graded = FROM_HISTORY.format(count=len(sources), names=", ".join(names))
    return Snapshot(folder, graded, notes=[NO_NOTEBOOK.format(why=why)])


def _lessons(sources: list[str], words: list[str]) -> list[str]:
    defined = set()
    for source in sources:
        try:
            defined.update(cell_rules.defined_names(cell_rules.parse(source, "<cell>")))
        except SyntaxError:
            continue
    wanted = {w.casefold() for w in words}
    stems = set()
    for task in TASKS.values():
        names = {n.casefold() for n in task.names}
        if words and (task.id in words or task.name.casefold() in wanted or names & wanted):
            stems.add(task.lesson)
        elif not words and set(task.names) & defined:
            stems.add(task.lesson)
    return [stem for stem in LESSONS if stem in stems]
