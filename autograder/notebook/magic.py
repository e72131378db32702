"""``%check``: grade the notebook as it stands, in the grader beside the kernel, and show it.

``%check`` grades every task defined above the cell that asks (all the notebook defines,
when that cell is not in the saved file); ``%check 1.6`` or ``%check matmul`` grades those
tasks; ``--seed N`` repeats a run. What is graded and when it was saved is said above
the result.
"""
from __future__ import annotations

import shutil
import time
from itertools import count
from pathlib import Path

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.display import Javascript, display

from autograder.notebook import locate, service, snapshot
from autograder.notebook.display import CheckProblem, CheckReport
from autograder.results import SubmissionResult

# Classic Notebook (6 and earlier) runs this; JupyterLab, Notebook 7 and VS Code do not let
# a kernel save the notebook: there the saved file is graded and unsaved runs are named.
SAVE_SCRIPT = "if (window.IPython && IPython.notebook) { IPython.notebook.save_checkpoint(); }"
SAVE_WAIT = 1.5  # seconds to wait for that save to reach the disk
USAGE = "usage: %check [TASK ...] [--seed N], e.g. %check, %check 1.6, %check matmul"
_numbers = count(1)


def parse(line: str) -> tuple[list[str], int | None]:
    words, seed = [], None
    parts = line.replace("--seed=", "--seed ").split()
    while parts:
        part = parts.pop(0)
        if part == "--seed":
            if not parts or not parts[0].lstrip("-").isdigit():
                raise ValueError(f"--seed needs a whole number; {USAGE}")
            seed = int(parts.pop(0))
        elif part.startswith("-"):
            raise ValueError(f"unknown option {part}; {USAGE}")
        else:
            words.append(part.strip(","))
    return [w for w in words if w], seed


@magics_class
class CheckMagics(Magics):
    def __init__(self, shell, executions: locate.Executions):
        super().__init__(shell)
        self.executions = executions

    @line_magic
    def check(self, line: str = "") -> None:
        """Grade this notebook's tasks with the official grader: %check, %check 1.6, %check matmul."""
        try:
            words, seed = parse(line)
        except ValueError as exc:
            display(CheckProblem(str(exc)))
            return
        grader = service.service()
        folder = Path(grader.folder.name) / f"check-{next(_numbers)}"
        try:
            taken = self._snapshot(words, folder)
            started = time.monotonic()
            reply = grader.request({"path": str(taken.path), "words": words, "upto": taken.upto, "seed": seed})
            seconds = time.monotonic() - started
        except (LookupError, OSError, ValueError, service.ServiceError) as exc:
            display(CheckProblem(str(exc)))
            return
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if not reply.get("ok"):
            display(CheckProblem(str(reply.get("error", "the grader gave no reason"))))
            return
        data = reply["result"]
        result = SubmissionResult.from_json(data)
        result.seed, result.flags, result.crashed = data.get("seed"), data.get("flags", []), data.get("crashed", "")
        result.notes = data.get("notes", [])  # said once for the whole submission (a failing import)
        display(CheckReport(result, taken.graded, taken.notes, seconds))

    def _snapshot(self, words: list[str], folder: Path) -> snapshot.Snapshot:
        path, how = locate.notebook_file(self.shell.user_ns)
        if path is None:
            return snapshot.from_history(self.executions, words, how, folder)
        taken = snapshot.from_notebook(path, self.executions, folder)
        if taken.notes and hasattr(self.shell, "kernel"):  # a front end that may save on request
            saved = path.stat().st_mtime
            display(Javascript(SAVE_SCRIPT))
            deadline = time.monotonic() + SAVE_WAIT
            while time.monotonic() < deadline and path.stat().st_mtime == saved:
                time.sleep(0.1)
            if path.stat().st_mtime != saved:
                shutil.rmtree(folder, ignore_errors=True)
                taken = snapshot.from_notebook(path, self.executions, folder)
        return taken


_loaded: dict[int, locate.Executions] = {}


def load(shell) -> None:
    """Register ``%check`` and start recording the cells this kernel runs (once per shell)."""
    if id(shell) in _loaded:
        return
    history = getattr(shell, "history_manager", None)
    earlier = [source for source in (history.input_hist_raw if history else [])[1:] if source]  # as typed
    executions = _loaded[id(shell)] = locate.Executions(earlier)
    shell.events.register("pre_run_cell", executions.record)
    shell.register_magics(CheckMagics(shell, executions))
