"""The example class (``examples/class``), graded once as its README's command grades it.

Every point has a row: for every student, the rows of ``feedback.md``, ``feedback.html``,
``junit.xml``, ``results.json``, the gradebook and its LMS variant each add up to the score
in ``grade.json``. And every student gets what ``examples/class/README.md`` says.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import stat
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.outputs import feedback
from autograder.tasks import TASKS

REPO = Path(__file__).resolve().parents[1]
CLASS = REPO / "examples" / "class"
SEED = 2026
PASS_SCORE = "20"
LESSON = {lesson: [task_id for task_id, task in TASKS.items() if task.lesson.startswith(lesson)]
          for lesson in ("l00", "l01", "l02")}


def _grade(out: Path, *options: str) -> tuple[int, str]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main(["grade", str(CLASS), "--out", str(out), "--jobs", "2", "--seed", str(SEED), *options])
    return status, printed.getvalue()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once, with a pass score, the hidden checks' messages not yet published."""
    out = tmp_path_factory.mktemp("example") / "results"
    previous = os.umask(0o022)
    try:
        status, printed = _grade(out, "--pass-score", PASS_SCORE)
    finally:
        os.umask(previous)
    students = {}
    for folder in sorted((out / "students").iterdir()):
        record = json.loads((folder / "grade.json").read_text())
        students[record["name"]] = {"folder": folder, "record": record}
    return {"out": out, "status": status, "printed": printed, "students": students}


# -- every point has a row -------------------------------------------------------------

def _markdown_points(text: str) -> list[str]:
    table = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| Task |")]
    return [re.split(r"(?<!\\)\|", line)[4].strip() for line in table]


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "td":
            self.rows[-1].append(self.cell)
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def _html_points(text: str) -> list[str]:
    parser = _Cells()
    parser.feed(text)
    return [row[3] for row in parser.rows if row]


def _scored(points: list[str]) -> tuple[float, float]:
    pairs = [tuple(float(x) for x in p.split("/")) for p in points]
    return sum(p[0] for p in pairs), sum(p[1] for p in pairs)


def _junit_points(text: str) -> list[tuple[float, float]]:
    suite = ElementTree.fromstring(text).find("testsuite")
    cases = suite.findall("testcase")
    assert int(suite.get("tests")) == len(cases)
    points = []
    for case in cases:
        properties = {p.get("name"): float(p.get("value")) for p in case.find("properties")}
        lost = case.find("failure") is not None or case.find("error") is not None
        assert lost == (properties["score"] < properties["max_score"]), case.get("name")
        points.append((properties["score"], properties["max_score"]))
    return points


def _gradebook(out: Path, name: str = "gradebook.csv") -> list[dict]:
    return list(csv.DictReader(io.StringIO((out / name).read_text(encoding="utf-8"), newline="")))


def test_every_students_rows_add_up_to_their_score_in_every_output(graded):
    gradebook = {row["student"]: row for row in _gradebook(graded["out"])}
    row_ids = [column for column in next(iter(gradebook.values())) if column[:1].isdigit()]
    lms = {row["Student"]: row for row in _gradebook(graded["out"], "gradebook-lms.csv")}
    assert set(gradebook) == set(lms) == set(graded["students"]) and len(graded["students"]) == 13
    for name, student in graded["students"].items():
        result, folder = student["record"]["result"], student["folder"]
        score, top, count = result["score"], result["max_score"], len(result["tasks"]) + len(result["hidden"])
        assert result["hidden"], name  # the example class has a hidden check: the point of this test
        markdown = _markdown_points((folder / "feedback.md").read_text())
        assert len(markdown) == count and _scored(markdown) == (score, top), name
        page = _html_points((folder / "feedback.html").read_text())
        assert len(page) == count and _scored(page) == (score, top), name
        junit = _junit_points((folder / "junit.xml").read_text())
        assert len(junit) == count and tuple(map(sum, zip(*junit))) == (score, top), name
        results = json.loads((folder / "results.json").read_text())
        assert len(results["tests"]) == count and results["score"] == score, name
        assert sum(t["score"] for t in results["tests"]) == score, name
        assert sum(t["max_score"] for t in results["tests"]) == top, name
        row = gradebook[name]
        assert sum(float(row[i] or 0) for i in row_ids) == float(row["score"]) == score, name
        assert float(lms[name]["Lessons 00-02"]) == score, name


def _section(text: str, heading: str) -> str:
    """The Markdown section under ``heading``, to the next heading."""
    start = text.index(heading)
    return text[start:text.find("\n#", start + 1) % (len(text) + 1)]


def test_the_hidden_check_is_a_named_row_hidden_until_grades_are_published(graded):
    out, eve = graded["out"], graded["students"]["eve"]["folder"]
    columns = list(next(iter(_gradebook(out))))
    assert columns.index("1.2.h1") == columns.index("1.2") + 1  # a column of its own, after its task's
    text = (eve / "feedback.md").read_text()
    assert "| 1.2.h1 | matmul (three loops) (hidden: larger and degenerate shapes) | could not be graded | 0/1 |" in text
    assert "Row 1.2.h1 is a hidden check" in text and feedback.HIDDEN_UNTIL in text
    section = _section(text, "### Hidden check 1.2.h1")
    assert feedback.HIDDEN_MESSAGE in section and "not a valid notebook" not in section
    tests = json.loads((eve / "results.json").read_text())["tests"]
    assert (tests[-1]["number"], tests[-1]["visibility"], tests[-1]["output"]) == (
        "1.2.h1", "after_published", feedback.HIDDEN_MESSAGE)
    case = ElementTree.fromstring((eve / "junit.xml").read_text()).find("testsuite").findall("testcase")[-1]
    assert case.get("name").startswith("1.2.h1 ") and case.find("error").get("message") == feedback.HIDDEN_MESSAGE
    report = (out / "report.html").read_text()
    assert "<th>Hidden checks passed</th>" in report and "<td>0/1</td>" in report


def test_published_grades_show_the_hidden_messages_without_grading_again(graded, tmp_path):
    import shutil

    out = tmp_path / "results"
    shutil.copytree(graded["out"], out)
    records = {p: p.read_bytes() for p in out.glob("students/*/grade.json")}
    status, _ = _grade(out, "--publish-hidden")
    assert status == 0  # everyone graded, no pass score
    assert {p: p.read_bytes() for p in records} == records  # nobody graded again
    eve = out / "students" / "eve"
    message = graded["students"]["eve"]["record"]["result"]["hidden"][0]["message"]
    assert message in _section((eve / "feedback.md").read_text(), "### Hidden check 1.2.h1")
    assert "Its message is below." in (eve / "feedback.md").read_text()
    assert feedback.HIDDEN_UNTIL not in (eve / "feedback.html").read_text()
    assert json.loads((eve / "results.json").read_text())["tests"][-1]["output"].startswith(message)
    again = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    _grade(out, "--publish-hidden")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == again  # the same run again: no change


# -- pass/fail, files a TA can read -----------------------------------------------------

def test_a_pass_score_marks_who_passes_and_sets_the_exit_status(graded):
    gradebook = {row["student"]: row for row in _gradebook(graded["out"])}
    failing = sorted(name for name, row in gradebook.items() if row["passed"] == "no")
    assert failing == ["eve", "gus", "ivan"]
    assert all((float(row["score"]) >= 20) == (row["passed"] == "yes") for row in gradebook.values())
    assert graded["status"] == 1 and "10 of 13 pass (20 points); below it: eve, gus, ivan" in graded["printed"]
    report = (graded["out"] / "report.html").read_text()
    assert "<th>Passes</th>" in report and "10 of 13 pass (pass score: 20 points)" in report


def test_results_are_readable_by_the_group_and_nothing_half_written_is(graded):
    out = graded["out"]
    assert not (out / ".run.lock").exists()
    for path in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))


# -- each student gets what the README says ---------------------------------------------

def _lost(result: dict) -> dict[str, dict]:
    """Task id (or hidden row) -> the row, for every row that lost its points."""
    rows = {t["id"]: t for t in result["tasks"] if t["status"] != "passed"}
    rows.update({f"{t['id']}.h{n}": t for n, t in enumerate(result["hidden"], 1) if t["status"] != "passed"})
    return rows


def _failed_check(row: dict) -> str:
    return next((c["name"] for c in row["checks"] if not c["passed"]), "")


def expect_ada(result, lost):
    assert lost == {}


def expect_ben(result, lost):
    assert set(lost) == {"2.8"} and lost["2.8"]["status"] == "failed"
    assert "Hint:" in lost["2.8"]["message"] and "(n, 1)" in lost["2.8"]["message"] and "(n, n)" in lost["2.8"]["message"]


def expect_chen(result, lost):
    assert lost == {} and result["flags"] == []
    assert "rcParams" in (CLASS / "chen" / "01_matmul.ipynb").read_text()  # what is not flagged is there


def expect_dana(result, lost):
    assert set(lost) == {"2.4"} and lost["2.4"]["status"] == "error"
    assert "`my_relu`" in lost["2.4"]["message"] and "2.4=my_relu" in lost["2.4"]["message"]


def expect_eve(result, lost):
    assert set(lost) == {*LESSON["l01"], "1.2.h1", "2.3", "2.6", "2.16"}
    for task_id in [*LESSON["l01"], "1.2.h1"]:
        assert lost[task_id]["status"] == "error" and "not a valid notebook" in lost[task_id]["message"]
    for task_id in ("2.3", "2.6", "2.16"):
        assert "name 'torch' is not defined" in lost[task_id]["message"]


def expect_finn(result, lost):
    assert set(lost) == {"1.6", "2.4"}
    assert all(_failed_check(row) == "rules" and "its values are right" in row["message"] for row in lost.values())
    assert "torch.einsum" in lost["1.6"]["message"] and "torch.relu" in lost["2.4"]["message"]
    assert any("getattr" in flag or "computed name" in flag for flag in result["flags"])


def expect_gus(result, lost):
    assert set(lost) == set(LESSON["l02"])
    assert all("not implemented yet" in row["message"] for row in lost.values())


def expect_hana(result, lost):
    assert set(lost) == {"2.8"} and "timed out after 10 s" in lost["2.8"]["message"]


def expect_ivan(result, lost):
    assert set(lost) == {*LESSON["l00"], *LESSON["l02"], "1.5"}
    assert all("is missing" in lost[t]["message"] for t in [*LESSON["l00"], *LESSON["l02"]])
    assert "name 'test' is not defined" in lost["1.5"]["message"]


def expect_jo(result, lost):
    assert set(lost) == {"1.8", "2.11"}
    assert _failed_check(lost["1.8"]).startswith("speed") and "transpose" in lost["2.11"]["message"]


def expect_kim(result, lost):
    assert set(lost) == {"2.9", "2.10"}
    assert "2x" in lost["2.9"]["message"] and "exactly 0" in lost["2.10"]["message"]


def expect_lee(result, lost):
    assert lost == {}


def expect_mo_homework(result, lost):
    assert set(lost) == {"1.1", "1.3", "1.5", "1.8", "2.3", "2.6"}
    assert sum(t["status"] == "passed" for t in result["tasks"]) == 21
    assert all("inline" in lost[t]["message"] for t in ("1.1", "1.3", "1.8", "2.3", "2.6"))
    assert "`test_near` (found none)" in lost["1.5"]["message"]


EXPECTED = {name.removeprefix("expect_"): check for name, check in globals().items() if name.startswith("expect_")}


def _readme_table() -> dict[str, str]:
    """Student -> what the README says they get (its "Gets" column)."""
    table = {}
    for line in (CLASS / "README.md").read_text().splitlines():
        match = re.match(r"\| `([^`]+)` \|[^|]*\| (.*) \|$", line)
        if match:
            table[Path(match[1].rstrip("/")).stem] = match[2]
    return table


def test_every_student_gets_what_the_readme_says(graded):
    table = _readme_table()
    assert set(table) == set(EXPECTED) == set(graded["students"])
    assert "thirteen" in (CLASS / "README.md").read_text() and len(table) == 13
    failures = []
    for name, student in graded["students"].items():
        result = student["record"]["result"]
        said = re.match(r"(\d+)/(\d+)", table[name])
        try:
            assert said and (float(said[1]), float(said[2])) == (result["score"], result["max_score"]), table[name]
            EXPECTED[name](result, _lost(result))
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
    assert not failures, "\n".join(failures)


def test_the_similar_pairs_are_the_ones_the_readme_names(graded):
    """chen, eve and mo_homework hand in the course's own code; the kit's lessons write it otherwise."""
    readme = (CLASS / "README.md").read_text()
    paragraph = readme[readme.index('"Similar submissions"'):]
    named = set(re.findall(r"\b(chen|eve|mo_homework|ada|ben|dana|finn|gus|hana|ivan|jo|kim|lee)\b",
                           paragraph.split(":")[0]))
    with open(graded["out"] / "similarity.csv", newline="", encoding="utf-8") as handle:
        pairs = list(csv.DictReader(handle))
    listed = {name for pair in pairs for name in (pair["student_a"], pair["student_b"])}
    assert named == listed == {"chen", "eve", "mo_homework"}, (named, pairs)
    assert "Similar submissions" in (graded["out"] / "report.html").read_text()


def test_every_message_reads_as_sentences(graded):
    """A note or hint ends as a sentence before the next part ("... still ran. Edit he_init in ...")."""
    unended = []
    for name, student in graded["students"].items():
        for task in student["record"]["result"]["tasks"]:
            if re.search(r"(?<![.!?]) (Edit|Hint:|Note:|This task builds on) ", task["message"]):
                unended.append(f"{name} {task['id']}: {task['message']}")
    assert not unended, "\n".join(unended)
