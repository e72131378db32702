"""``gradebook.csv``: one row per entry of the class folder, graded or not; and its LMS variant.

``gradebook.csv``: ``student`` (the name as handed in), ``score``, ``max_score``, ``passed``
(``yes``/``no``, only with a pass score), one column per scored row (each task id, and each
hidden check as ``1.2.h1``: the task columns add up to the score), then ``entry`` (the file
or folder in the class folder), ``folder`` (its results, under ``students/``) and
``not_graded`` (why, for an entry that could not be graded; its score cells are empty).

``gradebook-lms.csv``: what Canvas's gradebook import and Moodle's "Import grades from CSV"
read directly: Canvas's identity columns (``Student``, ``ID``, ``SIS User ID``, ``SIS Login
ID``, ``Section``; the name as handed in goes in ``Student`` and ``SIS Login ID``, the rest
stay empty) and one column of points named for the assignment. An entry that could not be
graded has an empty cell, which both leave unchanged.

Text cells that a spreadsheet would read as a formula (starting with ``= + - @``, a tab or a
carriage return) are written with a leading ``'``, as OWASP advises against CSV injection.
"""
from __future__ import annotations

import csv
import io

from autograder.classroom.passing import PassScore
from autograder.classroom.record import ClassReport
from autograder.results import rows

FILENAME = "gradebook.csv"
LMS_FILENAME = "gradebook-lms.csv"
LMS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]  # Canvas's export, in its order
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _points(value: float) -> str:
    return f"{value:g}"


def text_cell(value: str) -> str:
    """A cell a spreadsheet shows as text, never evaluates (OWASP: CSV injection)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _writer(buffer: io.StringIO):
    return csv.writer(buffer, lineterminator="\r\n")  # RFC 4180: a CR or LF in a name is quoted too


def render(report: ClassReport, students: str = "students", pass_score: PassScore | None = None) -> str:
    row_ids = report.row_ids()
    passed = ["passed"] if pass_score is not None else []
    buffer = io.StringIO()
    writer = _writer(buffer)
    writer.writerow(["student", "score", "max_score", *passed, *row_ids, "entry", "folder", "not_graded"])
    for record in sorted(report.records, key=lambda r: (r.name, r.student)):
        where = [text_cell(record.source), f"{students}/{record.student}"]
        if not record.graded:
            writer.writerow([text_cell(record.name), "", "", *[""] * len(passed), *[""] * len(row_ids), *where,
                             text_cell(" ".join(record.error.split()))])
            continue
        points = {row.id: row.task.score for row in rows(record.result)}
        verdict = ["yes" if pass_score.passed(record.result) else "no"] if pass_score is not None else []
        writer.writerow([text_cell(record.name), _points(record.result.score), _points(record.result.max_score),
                         *verdict, *[_points(points[i]) if i in points else "" for i in row_ids], *where, ""])
    return buffer.getvalue()


def render_lms(report: ClassReport, assignment: str) -> str:
    """One row per entry, one column of points named ``assignment`` (Canvas: an assignment of
    that name is updated, or made; Moodle: map the column to a grade item)."""
    buffer = io.StringIO()
    writer = _writer(buffer)
    writer.writerow([*LMS_IDENTITY, text_cell(assignment)])
    for record in sorted(report.records, key=lambda r: (r.name, r.student)):
        name = text_cell(record.name)
        writer.writerow([name, "", "", name, "", _points(record.result.score) if record.graded else ""])
    return buffer.getvalue()
