"""JUnit XML: one ``testsuite`` per student, one ``testcase`` per task; ``failure`` for a
wrong answer, ``error`` for a task that could not be graded (or a student who could not)."""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from autograder.classroom.record import StudentRecord, location
from autograder.results import ERROR, FAILED
from autograder.tasks import TASKS

FILENAME = "junit.xml"


def _suite(record: StudentRecord) -> ElementTree.Element:
    suite = ElementTree.Element("testsuite", name=record.name)
    tasks = record.result.tasks if record.graded else []
    if not record.graded:
        case = ElementTree.SubElement(suite, "testcase", classname=f"autograder.{record.student}", name="grading")
        ElementTree.SubElement(case, "error", message=record.error).text = record.error
    for task in tasks:
        lesson = TASKS[task.id].lesson if task.id in TASKS else "tasks"
        case = ElementTree.SubElement(suite, "testcase", classname=f"autograder.{lesson}",
                                      name=f"{task.id} {task.name}", time="0")
        if task.status in (FAILED, ERROR):
            kind = "failure" if task.status == FAILED else "error"
            text = task.message + (f"\n(found at {location(task)})" if location(task) else "")
            ElementTree.SubElement(case, kind, message=task.message[:200]).text = text
    failures = sum(t.status == FAILED for t in tasks)
    errors = sum(t.status == ERROR for t in tasks) + (not record.graded)
    suite.set("tests", str(max(len(tasks), 1 if not record.graded else 0)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("time", f"{record.seconds.get('total', 0.0):.3f}")
    return suite


def render(record: StudentRecord) -> str:
    root = ElementTree.Element("testsuites", name=f"autograder: {record.name}")
    root.append(_suite(record))
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"
