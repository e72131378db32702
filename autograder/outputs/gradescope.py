"""Gradescope's ``results.json``: one test per scored row (each task, then each hidden check,
``after_published``), with name, number, score, max_score, output and visibility; the
total as ``score``, the seed and flags in ``extra_data``. Until grades are published
(``published``), a hidden check's output is withheld here too, as in the feedback: this
file sits in the student's folder beside it."""
from __future__ import annotations

import json

from autograder.classroom.record import StudentRecord
from autograder.outputs import feedback
from autograder.results import PASSED, rows

FILENAME = "results.json"
VISIBILITY = "visible"
UNGRADED = "This submission could not be graded: {error}"


def results(record: StudentRecord, published: bool = False) -> dict:
    """The same ``results.json`` as the Gradescope release writes, with the class's data."""
    from autograder.releases.gradescope import results_json

    extra = {"student": record.name, "folder": record.student, "seed": record.seed, "content_hash": record.content_hash}
    if not record.graded:
        return {"score": 0, "output": UNGRADED.format(error=record.error), "visibility": VISIBILITY,
                "tests": [], "extra_data": extra}
    result = record.result
    data = results_json(result, record.seconds.get("total", 0.0))
    for test, row in zip(data["tests"], rows(result)):
        if row.hidden and not published:
            test["output"] = feedback.message(row, published)
    passed = sum(task.status == PASSED for task in result.tasks)
    hidden = (f", {sum(task.status == PASSED for task in result.hidden)} of {len(result.hidden)} hidden checks"
              if result.hidden else "")
    summary = f"{passed} of {len(result.tasks)} tasks passed{hidden} (inputs drawn with seed {record.seed})."
    data["output"] = "\n".join(filter(None, [summary, data.get("output", "")]))
    data["score"] = result.score
    data["visibility"] = VISIBILITY
    data["extra_data"] = {**extra, "flags": list(result.flags)}
    return data


def render(record: StudentRecord, published: bool = False) -> str:
    return json.dumps(results(record, published), indent=2) + "\n"
