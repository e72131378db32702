"""Gradescope's ``results.json``: one test per task (name, number, score, max_score,
output, visibility), the total as ``score``, the seed and flags in ``extra_data``."""
from __future__ import annotations

import json

from autograder.classroom.record import StudentRecord, location
from autograder.results import PASSED

FILENAME = "results.json"
VISIBILITY = "visible"
UNGRADED = "This submission could not be graded: {error}"


def results(record: StudentRecord) -> dict:
    extra = {"student": record.student, "seed": record.seed, "content_hash": record.content_hash}
    if not record.graded:
        return {"score": 0, "output": UNGRADED.format(error=record.error), "visibility": VISIBILITY,
                "tests": [], "extra_data": extra}
    result = record.result
    tests = []
    for task in result.tasks:
        output = task.message or "Passed."
        where = location(task)
        if where:
            output += f"\n(found at {where})"
        tests.append({"name": f"Task {task.id}: {task.name}", "number": task.id, "score": task.score,
                      "max_score": task.max_score, "status": "passed" if task.status == PASSED else "failed",
                      "output": output, "visibility": VISIBILITY})
    passed = sum(task.status == PASSED for task in result.tasks)
    return {"score": result.score, "execution_time": record.seconds.get("total", 0.0),
            "output": f"{passed} of {len(result.tasks)} tasks passed (inputs drawn with seed {record.seed}).",
            "visibility": VISIBILITY, "tests": tests,
            "extra_data": {**extra, "flags": list(result.flags)}}


def render(record: StudentRecord) -> str:
    return json.dumps(results(record), indent=2) + "\n"
