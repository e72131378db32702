"""Writers: small functions of a ``SubmissionResult``."""
from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autograder.results import ERROR, PASSED, SubmissionResult

_STYLE = {PASSED: "green", ERROR: "magenta"}
HIDDEN_PENDING = ("{count} hidden {checks} of these tasks will also run when your work is graded; "
                  "they are not in this copy and not in this score.")


def _points(value: float) -> str:
    return f"{value:g}"


def table(result: SubmissionResult) -> Table:
    grid = Table(title=f"{result.path} (seed {result.seed})", title_justify="left",
                 show_lines=False, expand=False)
    grid.add_column("Task", no_wrap=True)
    grid.add_column("Name", no_wrap=True)
    grid.add_column("Status", no_wrap=True)
    grid.add_column("Points", justify="right", no_wrap=True)
    grid.add_column("Where", overflow="fold")
    grid.add_column("Message", overflow="fold")
    for task in [*result.tasks, *result.hidden]:
        style = _STYLE.get(task.status, "red")
        grid.add_row(task.id, task.name, f"[{style}]{task.status}[/{style}]",
                     f"{_points(task.score)}/{_points(task.max_score)}", task.location, task.message)
    return grid


def plain_lines(result: SubmissionResult) -> list[str]:
    """One line per task, unwrapped: for logs, pipes and grep."""
    lines = [f"{result.path} (seed {result.seed})"]
    for task in [*result.tasks, *result.hidden]:
        points = f"{_points(task.score)}/{_points(task.max_score)}"
        where = f" [{task.location}]" if task.location else ""
        lines.append(f"{task.id:>5} {task.status:<7}{points:>6}  {task.name}{where}"
                     + (f": {task.message}" if task.message else ""))
    return lines


def print_table(result: SubmissionResult, console: Console | None = None) -> None:
    """A table on a terminal; plain lines elsewhere (CI logs must not wrap messages)."""
    console = console or Console()
    if console.is_terminal:
        console.print(table(result))
    else:
        for line in plain_lines(result):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    for note in result.notes:
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    for flag in result.flags:
        console.print(f"flag for the instructor: {flag}", markup=False, highlight=False, soft_wrap=True)
    console.print(score_line(result, "[bold]", "[/bold]"))
    if hidden_line(result):
        console.print(hidden_line(result), markup=False, highlight=False, soft_wrap=True)


def hidden_line(result: SubmissionResult) -> str:
    """How many hidden checks will run at grading time ("" when none are pending)."""
    if not result.hidden_pending:
        return ""
    return HIDDEN_PENDING.format(count=result.hidden_pending,
                                 checks="check" if result.hidden_pending == 1 else "checks")


def score_line(result: SubmissionResult, start: str = "", end: str = "") -> str:
    passed = sum(t.status == PASSED for t in result.tasks)
    return (f"{start}Score {_points(result.score)}/{_points(result.max_score)}{end}: "
            f"{passed} of {len(result.tasks)} tasks passed")


def write_json(result: SubmissionResult, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
