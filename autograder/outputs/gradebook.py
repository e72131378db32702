"""``gradebook.csv``: one row per student, ``student, score, max_score``, then one column
per task id (its points). A student who could not be graded has empty cells."""
from __future__ import annotations

import csv
import io

from autograder.classroom.record import ClassReport

FILENAME = "gradebook.csv"


def _points(value: float) -> str:
    return f"{value:g}"


def render(report: ClassReport) -> str:
    task_ids = report.task_ids()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "score", "max_score", *task_ids])
    for record in sorted(report.records, key=lambda r: r.student):
        if not record.graded:
            writer.writerow([record.student, "", "", *[""] * len(task_ids)])
            continue
        tasks = {t.id: t for t in record.result.tasks}
        writer.writerow([record.student, _points(record.result.score), _points(record.result.max_score),
                         *[_points(tasks[i].score) if i in tasks else "" for i in task_ids]])
    return buffer.getvalue()
