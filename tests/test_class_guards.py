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
from autograder.classroom.record import ClassReport, StudentRecord
from autograder.outputs import class_report, feedback, gradebook
from autograder.results import ERROR, FAILED, PASSED, CheckResult, SubmissionResult, TaskResult
from builders import Quiet

REPO = Path(__file__).resolve().parents[1]
TASK = "2.4"  # relu: quick, untimed
RELU = b"import torch\n\n\ndef relu(x):\n    return x.clamp_min(0.)\n"


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


@pytest.mark.parametrize("hostile", list(HOSTILE.values()), ids=[kind.replace(" ", "_") for kind in HOSTILE])
@pytest.mark.parametrize("field", list(FIELDS), ids=[field.replace(" ", "_") for field in FIELDS])
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


def test_every_speed_check_the_grader_names_is_one_the_report_knows():
    """The check names the grader fails a task with (``CheckFailed(name, ...)``, ``t.expect(..., name)``)."""
    import ast

    named = set()
    for path in [REPO / "autograder" / "speed.py", *(REPO / "autograder" / "checks").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            position = {"CheckFailed": 0, "expect": 1}.get(getattr(node, "func", None) and
                                                           getattr(node.func, "attr", getattr(node.func, "id", "")))
            if position is not None and len(node.args) > position and isinstance(node.args[position], ast.Constant):
                named.add(node.args[position].value)
    speed_names = {name for name in named if str(name).startswith("speed")}
    assert speed_names and speed_names <= set(SPEED_CHECKS) == class_report.SPEED_CHECKS


@pytest.mark.parametrize("check", SPEED_CHECKS, ids=[check.replace(" ", "_") for check in SPEED_CHECKS])
def test_every_speed_failure_is_a_speed_row_of_the_report(check):
    page = class_report.render(ClassReport(1, [_record("", "", speed_check=check)]))
    section = page.split("<h2>Rule-breaking, speed and flags</h2>", 1)[1].split("<h2>", 1)[0]
    assert "<td>speed</td>" in section and "much slower than the reference" in section, check
    assert "<td>rule</td>" in section and "calls torch.matmul" in section


# -- class files beside student folders -------------------------------------------------

RESERVED = ["gradebook.csv", "gradebook-lms.csv", "report.html", "class.json", "students", "report", "gradebook"]


def test_a_student_named_as_a_class_file_never_takes_its_place(tmp_path):
    records = [StudentRecord(name, name, "h", 1, SubmissionResult([TaskResult(TASK, "relu", 1.0, PASSED)]),
                             name=name) for name in RESERVED]
    for record in records:
        class_run.write_student(tmp_path, record)
    class_run.write_class_files(tmp_path, ClassReport(1, records))
    assert (tmp_path / gradebook.FILENAME).is_file() and (tmp_path / class_report.FILENAME).is_file()
    assert (tmp_path / gradebook.LMS_FILENAME).is_file()
    for record in records:
        assert class_run.read_record(tmp_path, record.student).name == record.name
        assert (tmp_path / "students" / record.student / feedback.HTML).is_file()
    rows = list(csv.DictReader(io.StringIO((tmp_path / gradebook.FILENAME).read_text(), newline="")))
    assert sorted(row["student"] for row in rows) == sorted(RESERVED)


# -- the caps on an entry, at their edges ---------------------------------------------------

FILES, FILE_BYTES, TOTAL_BYTES = 3, 300, 600  # the caps, lowered for this class


def _relu(size: int) -> bytes:
    """A relu submission of exactly ``size`` bytes."""
    return RELU + b"#" * (size - len(RELU) - 1) + b"\n"


# entry -> its files; "_at" entries sit on a cap (graded), "_over" ones one past it (refused)
CAPPED = {
    "files_at": {"relu.py": _relu(100), "a.txt": b"a", "b.txt": b"b"},
    "files_over": {"relu.py": _relu(100), "a.txt": b"a", "b.txt": b"b", "c.txt": b"c"},
    "size_at": {"relu.py": _relu(FILE_BYTES)},
    "size_over": {"relu.py": _relu(FILE_BYTES + 1)},
    "total_at": {"relu.py": _relu(FILE_BYTES), "a.txt": b"a" * (TOTAL_BYTES - FILE_BYTES)},
    "total_over": {"relu.py": _relu(FILE_BYTES), "a.txt": b"a" * (TOTAL_BYTES - FILE_BYTES), "b.txt": b"b"},
}
REASONS = {
    "files_over": "{entry}: more than 3 files",
    "size_over": "{entry}: {inside}relu.py is larger than",
    "total_over": "{entry}: {total} is larger than",
}


@pytest.fixture(scope="module")
def capped_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("caps") / "class"
    for name, contents in CAPPED.items():
        (root / name).mkdir(parents=True)
        for file, content in contents.items():
            (root / name / file).write_bytes(content)
        with zipfile.ZipFile(root / f"z{name}.zip", "w") as archive:  # the same files, as zip members
            for file, content in contents.items():
                archive.writestr(f"z{name}/{file}", content)
    (root / "ada").mkdir()
    (root / "ada" / "relu.py").write_bytes(RELU)
    out = root.parent / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(entries, "MAX_FILES", FILES)
        patch.setattr(entries, "MAX_FILE_BYTES", FILE_BYTES)
        patch.setattr(entries, "MAX_TOTAL_BYTES", TOTAL_BYTES)
        report = grade_class(root, out=out, jobs=2, seed=5, task_ids=[TASK], progress=Quiet())
    return {r.source: r for r in report.records}, out


@pytest.mark.parametrize("name", list(CAPPED))
@pytest.mark.parametrize("kind", ["folder", "zip"])
def test_each_cap_grades_one_under_and_refuses_one_over_with_its_reason(capped_class, name, kind):
    records, out = capped_class
    entry = name if kind == "folder" else f"z{name}.zip"
    record = records[entry]
    if name.endswith("_at"):
        assert record.graded, record.error
        assert [(t.id, t.status) for t in record.result.tasks] == [(TASK, PASSED)], record.result.tasks[0].message
    else:
        total, inside = ("the submission", "") if kind == "folder" else ("the unpacked zip", f"z{name}/")
        reason = REASONS[name].format(entry=entry, total=total, inside=inside)
        assert not record.graded and record.error.startswith(reason), \
            record.error
        rows = {row["entry"]: row for row in csv.DictReader(io.StringIO((out / gradebook.FILENAME).read_text()))}
        assert rows[entry]["score"] == "" and rows[entry]["not_graded"] == record.error


def test_the_rest_of_a_class_with_refused_entries_is_graded(capped_class):
    records, _ = capped_class
    assert records["ada"].graded and records["ada"].result.score == 1
    assert len(records) == 2 * len(CAPPED) + 1
    assert sorted(name for name, r in records.items() if not r.graded) == \
        sorted([*(n for n in CAPPED if n.endswith("_over")), *(f"z{n}.zip" for n in CAPPED if n.endswith("_over"))])


# -- the per-submission time limit through a class run ------------------------------------

LIMIT = 3.0
LOOPS = b"class Spin:\n    while True:\n        pass\n\n\n" + RELU  # never gets past its first cell


@pytest.fixture(scope="module")
def looping_class(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("loops") / "class"
    for name, content in (("ada", RELU), ("loops", LOOPS), ("bo", RELU)):
        (root / name).mkdir(parents=True)
        (root / name / "relu.py").write_bytes(content)
    return root


def _assert_looper_is_an_error_row_and_the_rest_graded(out: Path) -> None:
    rows = {row["student"]: row for row in csv.DictReader(io.StringIO((out / gradebook.FILENAME).read_text()))}
    assert sorted(rows) == ["ada", "bo", "loops"]
    assert rows["ada"]["score"] == rows["bo"]["score"] == "1" and rows["ada"][TASK] == "1"
    assert rows["loops"]["score"] == "0" and rows["loops"]["not_graded"] == ""
    task = json.loads((out / "students" / "loops" / "grade.json").read_text())["result"]["tasks"][0]
    assert task["status"] == ERROR and f"time limit of {LIMIT:g} s ran out" in task["message"], task["message"]


def test_a_student_who_loops_forever_is_an_error_row_after_the_limit(looping_class, tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(looping_class), "--out", str(out),
                           "--jobs", "2", "--seed", "3", "--task", TASK, "--time-limit", f"{LIMIT:g}"],
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300)
    assert "3 of 3 entries graded" in done.stdout, done.stdout + done.stderr
    _assert_looper_is_an_error_row_and_the_rest_graded(out)


def test_a_student_who_loops_forever_is_an_error_row_after_the_limit_on_dask(looping_class, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1", processes=True,
                                  dashboard_address=None) as cluster:
        grade_class(looping_class, out=tmp_path / "out", executor="dask", scheduler=cluster.scheduler_address,
                    seed=3, task_ids=[TASK], time_limit=LIMIT, progress=Quiet())
    _assert_looper_is_an_error_row_and_the_rest_graded(tmp_path / "out")
