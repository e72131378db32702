"""What a submission may import inside the child, besides what is installed.

- Its own files, by stem (``from my_testing import *`` beside ``my_testing.py``; the kit's
  ``from l01_matmul import near``), run as a module of their own: their definitions only.
- ``exp.nb_XX``: the ``#export`` cells of the submission's own notebook XX, as the course's
  ``notebook2script`` would have exported them. Never the kit's solutions.
- Stand-ins, only when the real package is not installed: ``fastai.datasets``
  (``download_data`` hands back the small MNIST-layout file the grader wrote; no
  network) and IPython's ``set_trace`` (does nothing).

Imports run one statement at a time (``run_statements``): a failing import is recorded and
the rest of the cell still runs.
"""
from __future__ import annotations

import ast
import importlib.abc
import importlib.machinery
import sys
import types

from autograder.reading import cells as cell_rules

_PROTECTED = {"torch", "numpy", "autograder", "exp"} | set(getattr(sys, "stdlib_module_names", ()))
_downloads: list[str] = []  # the file the grader wrote for a scenario (see ``offer_download``)


def offer_download(path: str | None) -> None:
    """What ``download_data`` returns during the next scenario (the course's ``get_data()``)."""
    _downloads[:] = [path] if path else []


def run_statements(tree: ast.Module, namespace: dict, filename: str) -> list[dict]:
    """Run a cell's statements in order; an import or an assignment that fails is recorded, not
    fatal (``x_train = mnist.data`` after a loader the grader skips): the definitions after it in
    the cell still run. A definition that fails (a decorator, a default) fails the cell."""
    failures = []
    for statement in tree.body:
        for single in _split_imports(statement):
            code = compile(ast.Module(body=[single], type_ignores=[]), filename, "exec")
            if isinstance(single, (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign)):
                try:
                    exec(code, namespace)
                except Exception as exc:  # noqa: BLE001 - reported once, the cell goes on
                    failures.append({"statement": ast.unparse(single), "line": single.lineno,
                                     "error": f"{type(exc).__name__}: {exc}"[:300]})
            else:
                exec(code, namespace)
    return failures


def _split_imports(statement: ast.stmt) -> list[ast.stmt]:
    """``import pickle, fastai, torch`` is three imports: one failing leaves the others."""
    if isinstance(statement, ast.Import) and len(statement.names) > 1:
        return [ast.copy_location(ast.Import(names=[alias]), statement) for alias in statement.names]
    return [statement]


class _SubmissionLoader(importlib.abc.Loader):
    def __init__(self, cells: list[tuple[str, str]] | None):
        self.cells = cells  # None: a package with nothing in it (``exp``)

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        if self.cells is None:
            module.__path__ = []
            return
        for source, filename in self.cells:
            try:
                tree = cell_rules.runnable(cell_rules.parse(source, filename))
                run_statements(tree, module.__dict__, filename)
            except Exception:  # noqa: BLE001 - the cell's own run reports it
                continue


class SubmissionFinder(importlib.abc.MetaPathFinder):
    """The submission's own modules; first on ``sys.meta_path`` (as the script's folder is)."""

    def __init__(self, modules: dict[str, list[tuple[str, str]]]):
        self.modules = modules

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "exp" and any(name.startswith("exp.") for name in self.modules):
            return importlib.machinery.ModuleSpec(fullname, _SubmissionLoader(None), is_package=True)
        if fullname.startswith("exp.nb_"):
            if fullname in self.modules:
                return importlib.machinery.ModuleSpec(fullname, _SubmissionLoader(self.modules[fullname]))
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: the submission has no notebook {fullname[7:]} to export from",
                name=fullname)
        if fullname in self.modules and fullname.split(".")[0] not in _PROTECTED:
            return importlib.machinery.ModuleSpec(fullname, _SubmissionLoader(self.modules[fullname]))
        return None


def _download_data(url, fname=None, ext=".tgz", *args, **kwargs):
    if not _downloads:
        raise RuntimeError("download_data has no network while grading; the grader hands get_data its own file")
    from pathlib import Path

    return Path(_downloads[0])


def _set_trace(*args, **kwargs):
    return None


def _standin_modules() -> dict[str, types.ModuleType]:
    fastai = types.ModuleType("fastai")
    fastai.__path__ = []
    datasets = types.ModuleType("fastai.datasets")
    datasets.download_data = _download_data
    datasets.URLs = type("URLs", (), {"MNIST": "https://s3.amazonaws.com/fast-ai-imageclas/mnist_png"})
    fastai.datasets = datasets
    ipython = types.ModuleType("IPython")
    ipython.__path__ = []
    core = types.ModuleType("IPython.core")
    core.__path__ = []
    debugger = types.ModuleType("IPython.core.debugger")
    debugger.set_trace = _set_trace
    ipython.core, core.debugger = core, debugger
    return {m.__name__: m for m in (fastai, datasets, ipython, core, debugger)}


class _StandinLoader(importlib.abc.Loader):
    def __init__(self, module):
        self.module = module

    def create_module(self, spec):
        return self.module

    def exec_module(self, module) -> None:
        return None


class StandinFinder(importlib.abc.MetaPathFinder):
    """Last on ``sys.meta_path``: only what nothing installed provides."""

    def __init__(self):
        self.standins = _standin_modules()

    def find_spec(self, fullname, path=None, target=None):
        module = self.standins.get(fullname)
        if module is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _StandinLoader(module),
                                              is_package=hasattr(module, "__path__"))


def install(modules: dict[str, list[tuple[str, str]]]) -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, (SubmissionFinder, StandinFinder))]
    sys.meta_path.insert(0, SubmissionFinder(modules))
    sys.meta_path.append(StandinFinder())
