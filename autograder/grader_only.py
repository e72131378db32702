"""The instructor's material, which only the trusted grader reads: answers and hidden checks.

It lives in ``instructor/`` beside ``solutions/`` (or where ``AUTOGRADER_INSTRUCTOR``
says), outside the ``autograder`` package. The sandboxed child may read the system, the
interpreter's packages, the ``autograder`` package and its scratch folder, and nothing
else (``sandbox.Box.visible``), so a folder beside the package is out of its reach by
construction, in every mode, as ``solutions/`` is: no list of files to keep up to date.
``out_of_reach`` refuses a layout that would break that (a checkout inside a venv).

- ``instructor/hidden.py``: the hidden checks. They run here, in the grader, and send the
  child only inputs.
- ``instructor/answers.py``: working answers of lessons 03-04 that tasks built on them
  need while they run (the Runner on ``TrainEvalCallback``). The child never imports
  them: in instructor grading, ``standin_source`` sends the source of the few a request
  needs with that one request, and the child compiles it for that request only
  (``scenarios.given``). ``autograder check`` and the student release send none: there a
  task built on another runs on the student's own code and says so.
"""
from __future__ import annotations

import ast
import functools
import importlib.util
import os
from pathlib import Path

INSTRUCTOR_ENV = "AUTOGRADER_INSTRUCTOR"
ANSWERS, HIDDEN = "answers.py", "hidden.py"
IN_REACH = ("the instructor's material in {folder} lies inside {reach}, which the sandboxed child may read; "
            "keep it beside solutions/, outside the autograder package and the interpreter's folders "
            f"(or point {INSTRUCTOR_ENV} elsewhere)")


class InReach(RuntimeError):
    """The instructor's material lies where a submission could read it."""


def folder() -> Path | None:
    """``instructor/`` beside the package (a kit checkout, the Gradescope zip), else None (a student
    release, the wheel). A folder of that name without our files (another project's package
    beside an installed copy) is not it."""
    configured = os.environ.get(INSTRUCTOR_ENV)
    path = Path(configured) if configured else Path(__file__).resolve().parents[1] / "instructor"
    return path if (path / ANSWERS).is_file() or (path / HIDDEN).is_file() else None


def child_reach() -> list[str]:
    """What the sandboxed child may read besides its scratch folder (``sandbox.Box.visible``)."""
    from autograder.sandbox import filesystem, landlock

    return [*landlock.SYSTEM_READ, *filesystem.python_trees(), str(filesystem.PACKAGE_DIR)]


def out_of_reach(path: Path) -> Path:
    """``path``, after making sure no folder the child may read holds it."""
    real = os.path.realpath(path)
    for reach in child_reach():
        reach = os.path.realpath(reach)
        if real == reach or real.startswith(reach.rstrip("/") + "/"):
            raise InReach(IN_REACH.format(folder=path, reach=reach))
    return path


def _module(name: str):
    base = folder()
    if base is None or not (base / name).is_file():
        return None
    path = out_of_reach(base / name)
    spec = importlib.util.spec_from_file_location(f"instructor_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.lru_cache(maxsize=None)
def load_hidden() -> bool:
    """Register the hidden checks (``@hidden_check``); False where there are none."""
    return _module(HIDDEN) is not None


@functools.lru_cache(maxsize=None)
def _answers() -> tuple[str, dict[str, ast.stmt], list[ast.stmt]] | None:
    base = folder()
    if base is None or not (base / ANSWERS).is_file():
        return None
    text = out_of_reach(base / ANSWERS).read_text(encoding="utf-8")
    tree = ast.parse(text)
    definitions = {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    return text, definitions, imports


def answers_present() -> bool:
    return _answers() is not None


def _binds(node: ast.Import | ast.ImportFrom) -> set[str]:
    return {alias.asname or alias.name.split(".")[0] for alias in node.names}


def _needs(node: ast.stmt, definitions: dict) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in definitions} - {node.name}


@functools.lru_cache(maxsize=None)
def standin_source(names: tuple[str, ...]) -> str:
    """The source of the answers ``names`` and of the answers they use, with the imports
    they use, in file order: what one request needs and nothing more ("" without answers)."""
    loaded = _answers()
    if loaded is None:
        return ""
    text, definitions, imports = loaded
    unknown = [name for name in names if name not in definitions]
    if unknown:
        raise KeyError(f"no answer named {', '.join(unknown)} in {ANSWERS}")
    wanted, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo += _needs(definitions[name], definitions)
    chosen = [node for node in definitions.values() if node.name in wanted]
    used = {n.id for node in chosen for n in ast.walk(node) if isinstance(n, ast.Name)}
    chosen += [node for node in imports if _binds(node) & used or getattr(node, "module", "") == "__future__"]
    chosen.sort(key=lambda node: node.lineno)
    return "\n\n".join(ast.get_source_segment(text, node) for node in chosen) + "\n"
