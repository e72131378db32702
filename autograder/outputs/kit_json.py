"""The kit's own JSON: a student's whole record (what a restarted run reads back)."""
from __future__ import annotations

import json

from autograder.classroom.record import StudentRecord

FILENAME = "grade.json"


def render(record: StudentRecord) -> str:
    return json.dumps(record.to_json(), indent=2) + "\n"


def parse(text: str) -> StudentRecord:
    return StudentRecord.from_json(json.loads(text))
