"""``gradebook.csv``: one row per entry of the class folder, graded or not.

``student`` (the name as handed in), ``score``, ``max_score``, one column per task id (its
points), then ``entry`` (the file or folder in the class folder), ``folder`` (its results,
under ``students/``) and ``not_graded`` (why, for an entry that could not be graded; its
score cells are empty). Text cells that a spreadsheet would read as a formula (starting
with ``= + - @``, a tab or a carriage return) are written with a leading ``'``, as OWASP
advises against CSV injection.
"""
from __future__ import annotations

import csv
import io

from autograder.classroom.record import ClassReport

FILENAME = "gradebook.csv"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _points(value: float) -> str:
    return f"{value:g}"


def text_cell(value: str) -> str:
    """A cell a spreadsheet shows as text, never evaluates (OWASP: CSV injection)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def render(report: ClassReport, students: str = "students") -> str:
    task_ids = report.task_ids()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180: a CR or LF in a name is quoted too
    writer.writerow(["student", "score", "max_score", *task_ids, "entry", "folder", "not_graded"])
    for record in sorted(report.records, key=lambda r: (r.name, r.student)):
        where = [text_cell(record.source), f"{students}/{record.student}"]
        if not record.graded:
            writer.writerow([text_cell(record.name), "", "", *[""] * len(task_ids), *where,
                             text_cell(" ".join(record.error.split()))])
            continue
        tasks = {t.id: t for t in record.result.tasks}
        writer.writerow([text_cell(record.name), _points(record.result.score), _points(record.result.max_score),
                         *[_points(tasks[i].score) if i in tasks else "" for i in task_ids], *where, ""])
    return buffer.getvalue()
