"""Which statements of a submitted cell run, and which names a cell defines.

Shared by the grader (to map cells to tasks, without running anything) and the child
(to run exactly those statements). Only definitions run: imports, ``def``, ``class``
and assignments without calls (``partial(...)`` and ``re.compile(...)`` allowed). Exploration code such as
downloads, timing, plots and sanity checks is skipped, as is anything under
``if __name__ == "__main__":``.
"""
from __future__ import annotations

import ast
import re

_MAGIC = re.compile(r"^([^\S\n]*)[%!]", re.MULTILINE)  # one pass over a cell: cells are padded to their line
_DEFS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_ALLOWED_CALLS = {"partial", "functools.partial", "re.compile"}  # pure: the course compiles its regexes


def strip_magics(source: str) -> str:
    """Turn IPython magics and shell lines into ``pass`` so line numbers stay put."""
    return _MAGIC.sub(r"\1pass  # ", source)


def _call_name(node: ast.Call) -> str:
    return ast.unparse(node.func)


def _pure(value: ast.AST) -> bool:
    calls = [n for n in ast.walk(value) if isinstance(n, ast.Call)]
    return all(_call_name(c) in _ALLOWED_CALLS for c in calls)


def runs(statement: ast.stmt) -> bool:
    """Whether a top-level statement of a submission is run by the grader."""
    if isinstance(statement, _DEFS):
        return True
    if isinstance(statement, (ast.Assign, ast.AnnAssign)):
        return statement.value is not None and _pure(statement.value)
    if isinstance(statement, ast.Try):  # try: import x / except ImportError: ...
        return all(isinstance(s, (ast.Import, ast.ImportFrom, ast.Pass)) for s in statement.body)
    return False


def runnable(tree: ast.Module) -> ast.Module:
    return ast.Module(body=[s for s in tree.body if runs(s)], type_ignores=[])


def defined_names(tree: ast.Module) -> list[str]:
    """Names bound by the statements that run, in order (imports excluded)."""
    names: list[str] = []
    for statement in runnable(tree).body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(statement.name)
        elif isinstance(statement, ast.Assign):
            names += [t.id for t in statement.targets if isinstance(t, ast.Name)]
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            names.append(statement.target.id)
    return names


def parse(source: str, filename: str) -> ast.Module:
    """Parse a cell; raises SyntaxError with the submission's file and line."""
    return ast.parse(strip_magics(source), filename=filename)
