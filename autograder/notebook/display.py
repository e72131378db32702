"""A ``%check`` result as the notebook shows it: an HTML table in Jupyter, plain lines elsewhere.

The plain lines are those ``autograder check`` prints when its output is not a terminal
(one line per task, the flags, the score), after one line saying what was graded.
"""
from __future__ import annotations

from html import escape

from autograder import report
from autograder.results import ERROR, PASSED, SubmissionResult

_COLOURS = {PASSED: "#1a7f37", ERROR: "#8250df"}  # failed: red
_FAILED_COLOUR = "#cf222e"
_TABLE = "border-collapse:collapse;margin:0.3em 0"
_CELL = "padding:0.15em 0.8em;text-align:left;border-bottom:1px solid #ddd"


class CheckReport:
    """What one ``%check`` shows (IPython displays it through ``_repr_mimebundle_``)."""

    def __init__(self, result: SubmissionResult, graded: str, notes: list[str] = (), seconds: float | None = None):
        self.result, self.graded, self.notes, self.seconds = result, graded, list(notes), seconds

    def heading(self) -> str:
        timing = f" in {self.seconds:.2g} s" if self.seconds is not None else ""
        return f"Checked {self.graded} (seed {self.result.seed}){timing}"

    def lines(self) -> list[str]:
        """The heading, then exactly what ``autograder check`` prints after its own title line."""
        lines = [self.heading(), *report.plain_lines(self.result)[1:]]
        lines += [f"note: {note}" for note in getattr(self.result, "notes", [])]
        lines += [f"flag for the instructor: {flag}" for flag in self.result.flags]
        lines.append(report.score_line(self.result))
        lines += [line for line in [report.hidden_line(self.result)] if line]
        return lines + [f"Note: {note}" for note in self.notes]

    def html(self) -> str:
        rows = "".join(
            f"<tr><td style='{_CELL}'>{escape(t.id)}</td><td style='{_CELL}'>{escape(t.name)}</td>"
            f"<td style='{_CELL};color:{_COLOURS.get(t.status, _FAILED_COLOUR)};font-weight:bold'>"
            f"{escape(t.status)}</td><td style='{_CELL};text-align:right'>"
            f"{t.score:g}/{t.max_score:g}</td></tr>" for t in self.result.tasks)
        header = "".join(f"<th style='{_CELL}'>{name}</th>" for name in ("Task", "Name", "Status", "Points"))
        messages = "".join(
            f"<li style='color:{_COLOURS.get(t.status, _FAILED_COLOUR) if t.status != PASSED else 'inherit'}'>"
            f"<b>{escape(t.id)}</b> {escape(t.message)}</li>" for t in self._with_messages())
        extra = ([f"note: {note}" for note in getattr(self.result, "notes", [])]
                 + [f"flag for the instructor: {flag}" for flag in self.result.flags]
                 + [line for line in [report.hidden_line(self.result)] if line] + [f"Note: {n}" for n in self.notes])
        return (f"<div class='autograder-check'><div><b>{escape(report.score_line(self.result))}</b>"
                f" &middot; {escape(self.heading())}</div>"
                f"<table style='{_TABLE}'><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>"
                + (f"<ul style='margin:0.3em 0'>{messages}</ul>" if messages else "")
                + "".join(f"<div>{escape(line)}</div>" for line in extra) + "</div>")

    def _with_messages(self):
        """Failing tasks first, then notes on passing ones (a skipped speed check, say)."""
        tasks = [t for t in self.result.tasks if t.message]
        return [t for t in tasks if t.status != PASSED] + [t for t in tasks if t.status == PASSED]

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": "\n".join(self.lines()), "text/html": self.html()}

    def __repr__(self) -> str:
        return "\n".join(self.lines())


class CheckProblem:
    """A ``%check`` that could not grade: why, and what to do."""

    def __init__(self, message: str):
        self.message = message

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": f"%check: {self.message}",
                "text/html": f"<div class='autograder-check' style='color:{_FAILED_COLOUR}'>"
                             f"<b>%check</b>: {escape(self.message)}</div>"}

    def __repr__(self) -> str:
        return f"%check: {self.message}"
