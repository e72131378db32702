"""A path that does not exist, answered at once with the command that would work.

Checked by the command line before anything heavy is imported (torch, the grader), so a
wrong path costs a fraction of a second: ``autograder check`` run from inside
``exercises/`` (the default path is ``exercises``), a typo in a lesson file's name, or a
path written from the folder above.
"""
from __future__ import annotations

import difflib
import shlex
from pathlib import Path

MISSING = "{path} does not exist"
INSIDE = " (this folder is {folder}/ itself)"
RUN = "; run: {command}"
NOTHING = "; give the lesson file or folder to grade (e.g. exercises/l01_matmul.py)"


def missing(path: Path, argv: list[str], program: str = "autograder") -> str:
    """The one-line error for a ``path`` that does not exist, with the command that would work."""
    cwd = Path.cwd()
    message = MISSING.format(path=path)
    better = _better(Path(path), cwd)
    if better is None:
        return message + NOTHING
    if not Path(path).is_absolute() and Path(path).parts[:1] == (cwd.name,):
        message += INSIDE.format(folder=cwd.name)
    return message + RUN.format(command=shlex.join([program, *_replace(argv, path, better)]))


def _better(path: Path, cwd: Path) -> Path | None:
    """The path the user most likely meant, if one exists."""
    if not path.is_absolute() and path.parts and path.parts[0] == cwd.name:
        inside = Path(*path.parts[1:]) if len(path.parts) > 1 else Path(".")
        if inside.exists():
            return inside  # written from the folder above: `exercises/l01_matmul.py` inside exercises/
        path = inside
    if path.exists():
        return path
    parent = path.parent if str(path.parent) else Path(".")
    if parent.is_dir():
        names = [entry.name for entry in parent.iterdir() if not entry.name.startswith(".")]
        close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.6)
        if close:
            return parent / close[0] if parent != Path(".") else Path(close[0])
        if path.name in ("exercises", "") and _lessons_here(cwd):
            return Path(".")
    above = cwd.parent / path
    if not path.is_absolute() and above.exists():
        return Path("..") / path
    return None


def _lessons_here(folder: Path) -> bool:
    return any(folder.glob("l[0-9][0-9]_*.py")) or any(folder.glob("[0-9][0-9]_*.ipynb"))


def _replace(argv: list[str], path: Path, better: Path) -> list[str]:
    """``argv`` with the path replaced by ``better`` (or added after the command, when it was the default)."""
    for index, word in enumerate(argv[1:], 1):
        if not word.startswith("-") and Path(word) == Path(path):
            return [*argv[:index], str(better), *argv[index + 1:]]
    return [argv[0], str(better), *argv[1:]] if argv else [str(better)]
