"""JUnit XML: one ``testsuite`` per student, one ``testcase`` per scored row (each task, then
each hidden check); ``failure`` for a wrong answer, ``error`` for a row that could not be
graded (or a student who could not). Points travel as properties, as pytest's
``record_property`` writes them: ``score`` and ``max_score`` on each case and on the suite,
so that the cases add up to the score. A hidden check's message is withheld until grades
are published (``feedback.message``)."""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from autograder.classroom.record import StudentRecord, location
from autograder.outputs import feedback
from autograder.results import ERROR, FAILED, rows
from autograder.tasks import TASKS

FILENAME = "junit.xml"


def _points(value: float) -> str:
    return f"{value:g}"


def _properties(element: ElementTree.Element, score: float, max_score: float) -> None:
    properties = ElementTree.SubElement(element, "properties")
    ElementTree.SubElement(properties, "property", name="score", value=_points(score))
    ElementTree.SubElement(properties, "property", name="max_score", value=_points(max_score))


def _suite(record: StudentRecord, published: bool) -> ElementTree.Element:
    suite = ElementTree.Element("testsuite", name=record.name)
    scored = rows(record.result) if record.graded else []
    if record.graded:
        _properties(suite, record.result.score, record.result.max_score)
    else:
        case = ElementTree.SubElement(suite, "testcase", classname=f"autograder.{record.student}", name="grading")
        ElementTree.SubElement(case, "error", message=record.error).text = record.error
    for row in scored:
        task = row.task
        lesson = TASKS[task.id].lesson if task.id in TASKS else "tasks"
        case = ElementTree.SubElement(suite, "testcase", classname=f"autograder.{lesson}",
                                      name=f"{row.id} {task.name}", time="0")
        _properties(case, task.score, task.max_score)
        if task.status in (FAILED, ERROR):
            kind = "failure" if task.status == FAILED else "error"
            message = feedback.message(row, published)
            text = message + (f"\n(found at {location(task)})" if location(task) else "")
            ElementTree.SubElement(case, kind, message=message[:200]).text = text
    tasks = [row.task for row in scored]
    failures = sum(t.status == FAILED for t in tasks)
    errors = sum(t.status == ERROR for t in tasks) + (not record.graded)
    suite.set("tests", str(max(len(tasks), 1 if not record.graded else 0)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("time", f"{record.seconds.get('total', 0.0):.3f}")
    return suite


def render(record: StudentRecord, published: bool = False) -> str:
    root = ElementTree.Element("testsuites", name=f"autograder: {record.name}")
    root.append(_suite(record, published))
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"
