"""Progress of a class run: a rich bar (count, rate, time left) on a terminal, one plain
line per student elsewhere (logs, CI)."""
from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text

from autograder.classroom.record import StudentRecord


class _RateColumn(ProgressColumn):
    """Submissions per minute graded in this run (kept results from an earlier run excluded)."""

    def __init__(self, reporter: "ClassProgress"):
        super().__init__()
        self.reporter = reporter

    def render(self, task) -> Text:
        return Text(f"{self.reporter.rate():.1f}/min", style="progress.data.speed")


def describe(record: StudentRecord) -> str:
    if not record.graded:
        return f"{record.name}: not graded ({record.error})"
    result = record.result
    return f"{record.name}: {result.score:g}/{result.max_score:g} ({record.seconds.get('total', 0):.1f} s)"


class ClassProgress:
    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.bar: Progress | None = None
        self.total = self.done = self.graded_here = 0
        self.started = time.monotonic()

    def rate(self) -> float:
        minutes = (time.monotonic() - self.started) / 60
        return self.graded_here / minutes if minutes > 0 else 0.0

    def start(self, total: int, kept: int) -> None:
        self.total, self.done, self.started = total, kept, time.monotonic()
        if kept:
            self.console.print(f"{kept} of {total} entries already graded and unchanged: kept", highlight=False)
        if self.console.is_terminal:
            self.bar = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), _RateColumn(self),
                                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                TextColumn("{task.description}"), console=self.console, transient=False)
            self.bar.start()
            self.task = self.bar.add_task("", total=total, completed=kept)

    def advance(self, record: StudentRecord) -> None:
        self.done += 1
        self.graded_here += 1
        if self.bar is not None:
            self.bar.update(self.task, advance=1, description=describe(record))
        else:
            self.console.print(f"[{self.done}/{self.total}] {describe(record)}", markup=False, highlight=False,
                               soft_wrap=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
