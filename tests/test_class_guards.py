"""What a class run promises an instructor, each tested at its edge: no student's text runs
as script in the class report or a student's feedback, whatever field it reaches; a
student's folder never takes a class file's place; each cap on what an entry may hold
grades one under it and refuses one over it with its reason, the rest of the class graded;
a student who loops forever is an error row after the time limit, locally and on Dask.

The pages are tested on records made by hand, one hostile value in one field at a time.
The caps and the time limit each grade one small class once (one quick task), shared by
their tests; the caps are lowered for it, as they are module constants.
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from autograder.classroom import entries, grade_class
from autograder.classroom import run as class_run
from autograder.classroom.progress import ClassProgress
from autograder.classroom.record import ClassReport, StudentRecord
from autograder.outputs import class_report, feedback, gradebook
from autograder.results import ERROR, FAILED, PASSED, CheckResult, SubmissionResult, TaskResult

REPO = Path(__file__).resolve().parents[1]
TASK = "2.4"  # relu: quick, untimed
RELU = b"import torch\n\n\ndef relu(x):\n    return x.clamp_min(0.)\n"


class Quiet(ClassProgress):
    def start(self, total, kept):
        pass

    def advance(self, record):
        pass


# -- student text in the HTML pages ------------------------------------------------------

# no digits: the report groups failure messages with their numbers taken out
HOSTILE = {
    "tag": "</title></pre></td><img src=x onerror=alert(document.domain)>",
    "double quote": '" onmouseover="alert(document.domain)" x="',
    "single quote": "' onfocus='alert(document.domain)' x='",
    "script": "<script>alert(document.cookie)</script>",
}
SPEED_CHECKS = ["speed", "speed (work)", "speed (memory)", "speed (time)"]  # as the grader names them


class Page(HTMLParser):
    """Every tag and attribute of a page, and its text as a reader sees it."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        self.text += [value or "" for _, value in attrs]

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)

    def unsafe(self) -> list[str]:
        """Whatever a browser could run: a script, an event handler, an image from elsewhere."""
        found = []
        for tag, attrs in self.tags:
            names = {name for name, _ in attrs}
            if tag in {"script", "iframe", "object", "embed", "svg"} or any(n.startswith("on") for n in names):
                found.append(f"<{tag} {attrs}>")
            if tag == "img" and not dict(attrs).get("src", "").startswith("data:image/png;base64,"):
                found.append(f"<{tag} {attrs}>")
            if tag == "a" and not dict(attrs).get("href", "").startswith("students/"):
                found.append(f"<{tag} {attrs}>")
            if len(names) != len(attrs) or names - {"href", "src", "alt", "class", "lang", "charset", "colspan"}:
                found.append(f"<{tag} {attrs}>")  # an attribute the page never writes: one broken into
        return found

    def shows(self, value: str) -> bool:
        return value in "".join(self.text)


def _record(hostile: str, field: str, speed_check: str = "speed (time)") -> StudentRecord:
    """A graded student with something in every section of both pages; ``hostile`` in ``field``."""
    def text(name, plain):
        return hostile if field == name else plain

    def task(task_id, name, status, check, message):
        message = f"Task {task_id} ({name}): {message}" if message else ""
        return TaskResult(task_id, text("task name", name), 1.0, status, message,
                          [CheckResult(check, status == PASSED, message)], location=text("location", "l02_fc.py, line 3"))

    tasks = [
        task("2.4", "relu", PASSED, "values", ""),
        task("2.8", "mse", FAILED, "values", text("message", "mse is wrong: the largest difference is large")),
        task("1.6", "matmul (broadcasting)", FAILED, "rules", text("rule message", "calls torch.matmul, forbidden")),
        task("1.7", "matmul (einsum)", FAILED, speed_check, text("speed message", "much slower than the reference")),
        task("2.11", "lin_grad", ERROR, "runs", text("error message", "raised ValueError: bad")),
    ]
    result = SubmissionResult(tasks, path="ada", seed=3, flags=[text("flag", "l01_matmul.py: patches torch")],
                              notes=[text("note", "l00_exports.py: import failed")])
    return StudentRecord(text("folder", "ada"), "ada", "h", 3, result, seconds={"total": 1.0},
                         name=text("name", "Ada"))


def _ungraded(hostile: str, field: str) -> StudentRecord:
    return StudentRecord("dee", "dee.zip", "h", 5, None, name=hostile if field == "name" else "Dee",
                         error=hostile if field == "reason" else "dee.zip: not a readable zip")


# field -> the pages that must show it (the report, the graded student's feedback, the ungraded one's)
FIELDS = {
    "name": {"report", "feedback", "ungraded feedback"},
    "folder": set(),  # in a link only, URL-quoted
    "task name": {"report", "feedback"},
    "location": {"report", "feedback"},
    "message": {"report", "feedback"},
    "rule message": {"report", "feedback"},
    "speed message": {"report", "feedback"},
    "error message": {"report", "feedback"},
    "flag": {"report", "feedback"},
    "note": {"feedback"},
    "reason": {"report", "ungraded feedback"},
}


def _pages(hostile: str, field: str, speed_check: str = "speed (time)") -> dict[str, str]:
    graded, ungraded = _record(hostile, field, speed_check), _ungraded(hostile, field)
    return {"report": class_report.render(ClassReport(1, [graded, ungraded]), {"1.7": 5.0}),
            "feedback": feedback.render_html(graded), "ungraded feedback": feedback.render_html(ungraded)}


@pytest.mark.parametrize("hostile", list(HOSTILE.values()), ids=list(HOSTILE))
@pytest.mark.parametrize("field", list(FIELDS))
def test_no_student_text_runs_as_script_in_the_report_or_the_feedback(field, hostile):
    for where, text in _pages(hostile, field).items():
        page = Page(text)
        assert page.unsafe() == [], (where, field)
        if where in FIELDS[field]:
            assert page.shows(hostile), (where, field)  # written, as text


def test_the_benign_pages_have_nothing_unsafe_and_show_every_section():
    pages = _pages("unused", "none")
    assert all(Page(text).unsafe() == [] for text in pages.values())
    report = Page(pages["report"])
    for shown in ("mse is wrong", "calls torch.matmul", "much slower than the reference", "raised ValueError",
                  "patches torch", "not a readable zip", "l02_fc.py, line 3"):
        assert report.shows(shown), shown


@pytest.mark.parametrize("check", SPEED_CHECKS)
def test_every_speed_failure_is_a_speed_row_of_the_report(check):
    page = class_report.render(ClassReport(1, [_record("", "", speed_check=check)]))
    section = page.split("<h2>Rule-breaking, speed and flags</h2>", 1)[1].split("<h2>", 1)[0]
    assert "<td>speed</td>" in section and "much slower than the reference" in section, check
    assert "<td>rule</td>" in section and "calls torch.matmul" in section


# -- class files beside student folders -------------------------------------------------

RESERVED = ["gradebook.csv", "report.html", "class.json", "students", "report", "gradebook"]


def test_a_student_named_as_a_class_file_never_takes_its_place(tmp_path):
    records = [StudentRecord(name, name, "h", 1, SubmissionResult([TaskResult(TASK, "relu", 1.0, PASSED)]),
                             name=name) for name in RESERVED]
    for record in records:
        class_run.write_student(tmp_path, record)
    class_run.write_class_files(tmp_path, ClassReport(1, records))
    assert (tmp_path / gradebook.FILENAME).is_file() and (tmp_path / class_report.FILENAME).is_file()
    for record in records:
        assert class_run.read_record(tmp_path, record.student).name == record.name
        assert (tmp_path / "students" / record.student / feedback.HTML).is_file()
    rows = list(csv.DictReader(io.StringIO((tmp_path / gradebook.FILENAME).read_text(), newline="")))
    assert sorted(row["student"] for row in rows) == sorted(RESERVED)
