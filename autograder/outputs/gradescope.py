"""Gradescope's ``results.json``: one test per task (name, number, score, max_score,
output, visibility), the total as ``score``, the seed and flags in ``extra_data``."""
from __future__ import annotations

import json

from autograder.classroom.record import StudentRecord
from autograder.results import PASSED

FILENAME = "results.json"
VISIBILITY = "visible"
UNGRADED = "This submission could not be graded: {error}"


def results(record: StudentRecord) -> dict:
    """The same ``results.json`` as the Gradescope release writes, with the class's data."""
    from autograder.releases.gradescope import results_json

    extra = {"student": record.name, "folder": record.student, "seed": record.seed, "content_hash": record.content_hash}
    if not record.graded:
        return {"score": 0, "output": UNGRADED.format(error=record.error), "visibility": VISIBILITY,
                "tests": [], "extra_data": extra}
    result = record.result
    data = results_json(result, record.seconds.get("total", 0.0))
    passed = sum(task.status == PASSED for task in result.tasks)
    summary = f"{passed} of {len(result.tasks)} tasks passed (inputs drawn with seed {record.seed})."
    data["output"] = "\n".join(filter(None, [summary, data.get("output", "")]))
    data["score"] = result.score
    data["visibility"] = VISIBILITY
    data["extra_data"] = {**extra, "flags": list(result.flags)}
    return data


def render(record: StudentRecord) -> str:
    return json.dumps(results(record), indent=2) + "\n"
