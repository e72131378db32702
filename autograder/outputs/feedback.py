"""What a student reads: ``feedback.md`` and ``feedback.html``, task by task.

A table of every task (result, points, where it was found in the student's files), then
one section per task to fix with the grader's message, which already says what was
expected, what came back and which function in which file to edit. The HTML adds the
pictures of what grading measured (``feedback_pictures``).
"""
from __future__ import annotations

import html

from autograder.classroom.record import StudentRecord, location
from autograder.outputs import feedback_pictures
from autograder.results import ERROR, PASSED

MARKDOWN = "feedback.md"
HTML = "feedback.html"
LABEL = {PASSED: "passed", ERROR: "could not be graded"}
UNGRADED = "Your submission could not be graded: {error}"
ALL_PASSED = "Every task passed. Well done."
SEED = "Inputs were drawn with seed {seed}; grading again with this seed repeats them exactly."


def _points(value: float) -> str:
    return f"{value:g}"


HEADERS = ("Task", "Name", "Result", "Points", "Where")


def _rows(record: StudentRecord) -> list[tuple[str, ...]]:
    """One row per task; the "Where" column only when the grader knows where tasks were found."""
    where = any(location(t) for t in record.result.tasks)
    return [(t.id, t.name, LABEL.get(t.status, "failed"), f"{_points(t.score)}/{_points(t.max_score)}",
             *([location(t)] if where else [])) for t in record.result.tasks]


def _headers(record: StudentRecord) -> tuple[str, ...]:
    return HEADERS if any(location(t) for t in record.result.tasks) else HEADERS[:-1]


def _summary(record: StudentRecord) -> str:
    result = record.result
    passed = sum(t.status == PASSED for t in result.tasks)
    return f"Score {_points(result.score)}/{_points(result.max_score)}: {passed} of {len(result.tasks)} tasks passed."


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(record: StudentRecord) -> str:
    lines = [f"# Feedback for {record.name}", ""]
    if not record.graded:
        return "\n".join(lines + [UNGRADED.format(error=record.error), ""])
    headers = _headers(record)
    lines += [_summary(record), "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in _rows(record)]
    to_fix = [t for t in record.result.tasks if t.status != PASSED]
    lines += ["", "## What to fix" if to_fix else ALL_PASSED, ""]
    for task in to_fix:
        lines += [f"### Task {task.id}: {task.name} ({LABEL.get(task.status, 'failed')})", ""]
        if location(task):
            lines += [f"Found at {location(task)}.", ""]
        lines += [task.message, ""]
    for note in [*getattr(record.result, "notes", []), *record.result.flags]:
        lines += [f"- Note: {note}"]
    lines += ["", SEED.format(seed=record.seed), ""]
    return "\n".join(lines)


_STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
.passed{color:#1a7f37}.failed{color:#b3261e}.error{color:#8e24aa}section{margin:1rem 0}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.6rem;border-radius:4px}.small{color:#666}img{max-width:100%}"""


def page(title: str, body: list[str], style: str = _STYLE) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{style}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def render_html(record: StudentRecord, pictures: list[dict] | None = None) -> str:
    """``pictures``: ``feedback_pictures.as_data``'s, drawn beforehand (else drawn here)."""
    escape = html.escape
    body = [f"<h1>Feedback for {escape(record.name)}</h1>"]
    if not record.graded:
        return page(f"Feedback: {record.name}", body + [f"<p>{escape(UNGRADED.format(error=record.error))}</p>"])
    body.append(f"<p><strong>{escape(_summary(record))}</strong></p>")
    body.append("<table><tr>" + "".join(f"<th>{h}</th>" for h in _headers(record)) + "</tr>")
    for task, row in zip(record.result.tasks, _rows(record)):
        cells = [f"<td>{escape(value)}</td>" for value in row]
        cells[2] = f'<td class="{escape(task.status)}">{escape(row[2])}</td>'
        body.append("<tr>" + "".join(cells) + "</tr>")
    body.append("</table>")
    to_fix = [t for t in record.result.tasks if t.status != PASSED]
    body.append("<h2>What to fix</h2>" if to_fix else f"<p>{ALL_PASSED}</p>")
    for task in to_fix:
        where = f'<p class="small">Found at {escape(location(task))}.</p>' if location(task) else ""
        body.append(f'<section><h3 class="{escape(task.status)}">Task {escape(task.id)}: {escape(task.name)}</h3>'
                    f"{where}<pre>{escape(task.message)}</pre></section>")
    body += feedback_pictures.section(record, pictures)
    notes = [*getattr(record.result, "notes", []), *record.result.flags]
    if notes:
        body.append("<ul>" + "".join(f"<li>Note: {escape(note)}</li>" for note in notes) + "</ul>")
    body.append(f'<p class="small">{escape(SEED.format(seed=record.seed))}</p>')
    return page(f"Feedback: {record.name}", body)
