"""What a student reads: ``feedback.md`` and ``feedback.html``, row by row.

A table of every row that carries points (each task, then each hidden check: result,
points, where it was found in the student's files), so that the rows add up to the score;
then one section per row to fix with the grader's message, which already says what was
expected, what came back and which function in which file to edit. A hidden check's
message (the cases it tried) is withheld until grades are published (``published``).
The HTML adds the pictures of what grading measured (``feedback_pictures``).
"""
from __future__ import annotations

import html

from autograder.classroom.record import StudentRecord, location
from autograder.outputs import feedback_pictures
from autograder.results import ERROR, PASSED, Row, rows

MARKDOWN = "feedback.md"
HTML = "feedback.html"
LABEL = {PASSED: "passed", ERROR: "could not be graded"}
UNGRADED = "Your submission could not be graded: {error}"
ALL_PASSED = "Every task passed. Well done."
SEED = "Inputs were drawn with seed {seed}; grading again with this seed repeats them exactly."
HIDDEN_UNTIL = "hidden until grades are published"
HIDDEN_ROWS = ("Rows {ids} are hidden checks: more cases of a task, each worth its points. "
               "Their messages are {visibility}.")
HIDDEN_ROW = "Row {ids} is a hidden check: more cases of a task, worth its points. Its message is {visibility}."
HIDDEN_MESSAGE = "This hidden check's message is " + HIDDEN_UNTIL + "."


def _points(value: float) -> str:
    return f"{value:g}"


HEADERS = ("Task", "Name", "Result", "Points", "Where")


def _where(record: StudentRecord) -> bool:
    """The "Where" column only when the grader knows where tasks were found."""
    return any(location(row.task) for row in rows(record.result))


def _rows(record: StudentRecord) -> list[tuple[str, ...]]:
    """One table row per scored row: tasks, then hidden checks."""
    where = _where(record)
    return [(row.id, row.task.name, label(row.task), f"{_points(row.task.score)}/{_points(row.task.max_score)}",
             *([location(row.task)] if where else [])) for row in rows(record.result)]


def label(task) -> str:
    return LABEL.get(task.status, "failed")


def _headers(record: StudentRecord) -> tuple[str, ...]:
    return HEADERS if _where(record) else HEADERS[:-1]


def _summary(record: StudentRecord) -> str:
    result = record.result
    passed = sum(t.status == PASSED for t in result.tasks)
    text = f"Score {_points(result.score)}/{_points(result.max_score)}: {passed} of {len(result.tasks)} tasks passed"
    if result.hidden:
        hidden = sum(t.status == PASSED for t in result.hidden)
        text += f", {hidden} of {len(result.hidden)} hidden {'check' if len(result.hidden) == 1 else 'checks'}"
    return text + "."


def hidden_note(record: StudentRecord, published: bool) -> str:
    """Which rows are hidden checks and what the student sees of them ("" when there are none)."""
    ids = [row.id for row in rows(record.result) if row.hidden]
    if not ids:
        return ""
    template = HIDDEN_ROW if len(ids) == 1 else HIDDEN_ROWS
    return template.format(ids=", ".join(ids), visibility="below" if published else HIDDEN_UNTIL)


def message(row: Row, published: bool) -> str:
    """The row's message as the student may see it: a hidden check's only once grades are published."""
    return HIDDEN_MESSAGE if row.hidden and not published else row.task.message


def _to_fix(record: StudentRecord) -> list[Row]:
    return [row for row in rows(record.result) if row.task.status != PASSED]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(record: StudentRecord, published: bool = False) -> str:
    lines = [f"# Feedback for {record.name}", ""]
    if not record.graded:
        return "\n".join(lines + [UNGRADED.format(error=record.error), ""])
    headers = _headers(record)
    lines += [_summary(record), "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in _rows(record)]
    if hidden_note(record, published):
        lines += ["", hidden_note(record, published)]
    to_fix = _to_fix(record)
    lines += ["", "## What to fix" if to_fix else ALL_PASSED, ""]
    for row in to_fix:
        task = row.task
        lines += [f"### {'Hidden check' if row.hidden else 'Task'} {row.id}: {task.name} ({label(task)})", ""]
        if location(task):
            lines += [f"Found at {location(task)}.", ""]
        lines += [message(row, published), ""]
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


def render_html(record: StudentRecord, published: bool = False, pictures: list[dict] | None = None) -> str:
    """``pictures``: ``feedback_pictures.as_data``'s, drawn beforehand (else drawn here)."""
    escape = html.escape
    body = [f"<h1>Feedback for {escape(record.name)}</h1>"]
    if not record.graded:
        return page(f"Feedback: {record.name}", body + [f"<p>{escape(UNGRADED.format(error=record.error))}</p>"])
    body.append(f"<p><strong>{escape(_summary(record))}</strong></p>")
    body.append("<table><tr>" + "".join(f"<th>{h}</th>" for h in _headers(record)) + "</tr>")
    for row, cells in zip(rows(record.result), _rows(record)):
        tds = [f"<td>{escape(value)}</td>" for value in cells]
        tds[2] = f'<td class="{escape(row.task.status)}">{escape(cells[2])}</td>'
        body.append(("<tr class=\"hidden-check\">" if row.hidden else "<tr>") + "".join(tds) + "</tr>")
    body.append("</table>")
    if hidden_note(record, published):
        body.append(f'<p class="small">{escape(hidden_note(record, published))}</p>')
    to_fix = _to_fix(record)
    body.append("<h2>What to fix</h2>" if to_fix else f"<p>{ALL_PASSED}</p>")
    for row in to_fix:
        task = row.task
        where = f'<p class="small">Found at {escape(location(task))}.</p>' if location(task) else ""
        kind = "Hidden check" if row.hidden else "Task"
        body.append(f'<section><h3 class="{escape(task.status)}">{kind} {escape(row.id)}: {escape(task.name)}</h3>'
                    f"{where}<pre>{escape(message(row, published))}</pre></section>")
    body += feedback_pictures.section(record, pictures)
    notes = [*getattr(record.result, "notes", []), *record.result.flags]
    if notes:
        body.append("<ul>" + "".join(f"<li>Note: {escape(note)}</li>" for note in notes) + "</ul>")
    body.append(f'<p class="small">{escape(SEED.format(seed=record.seed))}</p>')
    return page(f"Feedback: {record.name}", body)
