"""The class report and the student's feedback as a person reads them: failure groups that
show whole messages, plots that explain themselves, and the feedback page's pictures.

Records made by hand first (quick), then the example class graded once for the module,
its pages checked in the HTML and, where a headless Chromium is installed, as rendered.
"""
from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import pytest
import torch

from autograder.checks.lesson02 import HISTOGRAM_BINS, weights_histogram
from autograder.classroom.record import ClassReport, StudentRecord
from autograder.outputs import class_report, feedback, feedback_pictures, plots
from autograder.results import ERROR, FAILED, PASSED, CheckResult, SubmissionResult, TaskResult
from browser import MISSING, find_chromium, rendered
from builders import Quiet

REPO = Path(__file__).resolve().parents[1]
LIMITS = {"1.6": 5.0, "1.7": 5.0, "1.8": 5.0}
NAMES = {"1.1": "get_data", "1.2": "matmul (three loops)", "1.3": "frobenius", "1.4": "matmul (elementwise)",
         "1.5": "near, test_near", "1.6": "matmul (broadcasting)", "1.7": "matmul (einsum)",
         "1.8": "matmul (pytorch)", "2.3": "he_init", "2.6": "kaiming_torch", "2.8": "mse"}
LONG = ("no definition for Task 1.3: it needs a `def frobenius` (found none). Your notebook computes the Frobenius "
        "norm inline (mo.ipynb, cell 12: `(m1 * m1).sum().sqrt()`) but defines no function for it; the kit grades "
        "`frobenius(a)`: wrap that code in a function with this signature, then check again for its functionality.")
UNREADABLE = ("could not read 01_matmul.ipynb: it is not a valid notebook "
              "(invalid JSON: Expecting value: line 220 column 13 (char 4421)).")


LADDER_AND_13 = ("1.3", "1.6", "1.7", "1.8")
RAISED = "mse raised TypeError: unsupported operand (l02_fully_connected.py, line 40)."


def _task(task_id, status=PASSED, body="", file="l02_fully_connected.py", **measures):
    message = "" if status == PASSED else f"Task {task_id} ({NAMES[task_id]}): {body} Edit {NAMES[task_id]} in {file}."
    task = TaskResult(id=task_id, name=NAMES[task_id], max_score=1.0, status=status, message=message)
    task.checks = [CheckResult("values", status == PASSED, body)]
    task.measures = dict(measures)
    return task


def _record(student, tasks):
    return StudentRecord(student, student, "h-" + student, 3, SubmissionResult(tasks=tasks, path=student, seed=3),
                         seconds={"total": 1.0})


def _mse(difference):
    return (f"mse(output, targ) for output (12, 1) and targ (12,) is wrong: largest difference {difference} "
            f"at index () (expected 1.25, got {1.25 + difference}).")


@pytest.fixture
def report():
    ladder = [_task("1.6", speed_ratio=1.2), _task("1.7", speed_ratio=1.5), _task("1.8", speed_ratio=0.9)]
    return ClassReport(5, [
        _record("ada", [*ladder, _task("1.3"), _task("2.8", FAILED, _mse(0.25))]),
        _record("bo", [_task("1.6", speed_ratio=9.5), _task("1.7", speed_ratio=1.4), _task("1.8", speed_ratio=1.0),
                       _task("1.3", FAILED, LONG, "mo.ipynb"), _task("2.8", FAILED, _mse(0.5))]),
        _record("cy", [_task("1.6", speed_ratio=1.1), _task("1.7", speed_ratio=1.6), _task("1.8", speed_ratio=1.1),
                       _task("1.3"), _task("2.8", FAILED, RAISED)]),
        _record("eve", [*(_task(task_id, ERROR, UNREADABLE, "01_matmul.ipynb") for task_id in LADDER_AND_13),
                        _task("2.8")]),
    ])


def _section(page: str, messages: bool = True) -> str:
    """The failures section's text, as a reader sees it (tags out, entities decoded, spaces
    made one); without the messages shown in it if ``messages`` is false."""
    start = page.index("<h2>Most common failures per task</h2>")
    end = page.index("<h2>", start + 5) if "<h2>" in page[start + 5:] else len(page)
    section = page[start:end] if messages else re.sub(r"<pre>.*?</pre>", " ", page[start:end], flags=re.DOTALL)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", section)))


def _shown_messages(page: str) -> list[str]:
    start = page.index("<h2>Most common failures per task</h2>")
    return [html.unescape(text) for text in re.findall(r"<pre>(.*?)</pre>", page[start:], re.DOTALL)]


def _is_whole(shown: str, messages: list[str]) -> bool:
    """A message shown whole: a student's message, or (for a whole file's problem) all of it
    but the task's name in front and the file to edit after it, never a piece of a word."""
    for message in messages:
        at = message.find(shown)
        if at < 0:
            continue
        before, after = message[:at], message[at + len(shown):]
        named = before == "" or re.fullmatch(r"Task [\w.]+ \(.*\): ", before)
        if named and (after == "" or after.startswith(" Edit ")):
            return True
    return False


def _messages(report: ClassReport) -> list[str]:
    return [t.message for r in report.graded for t in r.result.tasks if t.message]


# -- failure groups -----------------------------------------------------------------------

def test_a_failure_group_shows_one_whole_message_the_students_and_a_count(report):
    page = class_report.render(report, LIMITS)
    groups = class_report.common_failures(report)["2.8"]
    assert [(g.students, g.identical) for g in groups] == [(["ada", "bo"], False), (["cy"], True)]
    assert groups[0].example == report.records[0].task("2.8").message  # ada's, whole: no "…" for the numbers
    text = _section(page)
    assert "Task 2.8: mse (3 of 4 graded students did not pass)" in text
    assert "2 of 4 graded students got messages like this one (they differ in numbers or places): ada, bo." in text
    assert "1 of 4 graded students got this message: cy." in text
    assert report.records[1].task("1.3").message in text  # 370 characters, not cut at 300
    shown = _shown_messages(page)
    assert shown and all(_is_whole(message, _messages(report)) for message in shown)
    assert "…" not in text


def test_a_file_that_could_not_be_read_is_one_group_not_one_per_task(report):
    problems = class_report.file_problems(report)
    assert [(p.kind, p.student, p.task_ids) for p in problems] == [
        ("could not be read", "eve", ["1.3", "1.6", "1.7", "1.8"])]
    assert problems[0].message == UNREADABLE
    groups = class_report.common_failures(report)
    assert set(groups) == {"1.3", "2.8"} and all("eve" not in g.students for g in groups["1.3"])
    text = _section(class_report.render(report, LIMITS))
    assert text.count("could not read 01_matmul.ipynb") == 1 and "eve, 4 tasks (tasks 1.3 to 1.8)" in text
    assert "Task 1.3: frobenius (1 of 4 graded students did not pass; 1 more whose file is listed above)" in text
    assert "Task 1.6" not in text  # only eve failed it, and her file is listed once above


def test_failure_patterns_differ_by_words_not_by_numbers_places_or_notes():
    same = [class_report.failure_pattern(f"Task 2.8 (mse): {_mse(d)} Edit mse in {f}.")
            for d, f in ((0.25, "a.py"), (3, "02_fully_connected.ipynb (or l02_fully_connected.py)"))]
    assert same[0] == same[1]
    raised = "Task 2.3 (he_init): he_init raised NameError: name 'torch' is not defined ({}). Note: {}"
    assert (class_report.failure_pattern(raised.format("l02.py, line 3", "the import failed"))
            == class_report.failure_pattern(raised.format("02.ipynb, cell 13, line 1", "another note")))
    assert class_report.failure_pattern(_mse(0.25)) != class_report.failure_pattern(
        "mse(output, targ) for output (12, 1) and targ (12,) has shape (12, 12), expected ().")


# -- the report's plots -------------------------------------------------------------------

def test_every_plot_has_labels_a_legend_and_alt_text_from_its_numbers(report):
    pictures = [plots.score_distribution(report), plots.pass_rate(report), plots.speed_ratio(report, LIMITS)]
    for picture in pictures:
        assert picture.png.startswith(b"\x89PNG") and picture.title and picture.xlabel and picture.ylabel
        assert picture.legend and picture.alt
    scores, rates, speed = pictures
    assert "4 graded students, out of 5: lowest 1, median 3.5, highest 4" in scores.alt
    assert "median 3.5" in scores.legend
    assert set(rates.legend) == {label for _, _, label in plots.PASS_BANDS}  # the orange bars say what they are
    assert ("each of 5 tasks: 3 with 75% or more passing (green), 1 with 40% to 74% (orange), 1 under 40% (red)"
            in rates.alt)
    assert ("2.8", "mse", "1", "4", "25%") in rates.table
    page = class_report.render(report, LIMITS)
    assert [html.unescape(alt) for alt in re.findall(r'<img alt="([^"]*)"', page)] == [p.alt for p in pictures]
    assert "No speed ratio was measured" not in page  # the old alt text, under a plot of ratios
    assert "<summary>Pass rate per task, as a table</summary>" in page and "<td>25%</td>" in page


def test_the_speed_plot_names_the_slow_student_and_says_so(report):
    speed = plots.speed_ratio(report, LIMITS)
    assert speed.annotations == ("bo",)  # 9.5× against a limit of 5×; the others are near 1×
    assert "Named on the plot: bo (1.6, 9.50×)." in speed.alt and "1 time over the limit" in speed.alt
    assert "3 students timed" in speed.alt and "tasks 1.6, 1.7, 1.8" in speed.alt
    assert ("1.6", "3", "1.20×", "bo (9.50×)", "5×", "bo") in speed.table
    assert set(speed.legend) == {"one student: time ÷ reference's", "the task's limit", "as fast as the reference"}


def test_without_speed_ratios_there_is_no_speed_plot_and_the_page_says_why(report):
    for record in report.graded:
        for task in record.result.tasks:
            task.measures = {}
    assert plots.speed_ratio(report, LIMITS) is None
    page = class_report.render(report, LIMITS)
    assert page.count("<img ") == 2 and "No speed ratio was measured" in page


# -- the feedback page's pictures ---------------------------------------------------------

def _draw(std, n_in=784, n_out=50, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return weights_histogram(torch.randn(n_in, n_out, generator=generator) * std, n_in, n_out)


def test_the_init_check_keeps_a_small_plain_histogram_of_the_draw():
    kept = _draw(math.sqrt(2 / 784))
    assert len(kept["weights_counts"]) == HISTOGRAM_BINS and sum(kept["weights_counts"]) == 784 * 50
    assert all(type(count) is int for count in kept["weights_counts"])
    assert kept["weights_high"] == pytest.approx(4 * math.sqrt(2 / 784), rel=0.02)
    wide = _draw(math.sqrt(2 / 50))  # fan_out's std: the range widens to hold every weight
    assert wide["weights_high"] == pytest.approx(4 * math.sqrt(2 / 50), rel=0.02)
    record = _record("ada", [_task("2.3", **kept)])
    assert StudentRecord.from_json(json.loads(json.dumps(record.to_json()))).task("2.3").measures == kept


def test_feedback_shows_the_matmul_ladder_and_the_weights_against_the_normal():
    record = _record("ada", [_task("1.2"), _task("1.6", speed_ratio=2.03), _task("1.7", speed_ratio=1.95),
                             _task("1.8", speed_ratio=0.78), _task("2.3", **_draw(math.sqrt(2 / 784))),
                             _task("2.6", FAILED, "kaiming_torch(784, 50) has std 0.2; expected 0.0505",
                                   **_draw(math.sqrt(2 / 50)))])
    ladder, weights = feedback_pictures.pictures(record)
    assert ladder.alt == ("Bar chart, one pair of bars per matmul rung, your time beside the reference's (1×): "
                          "1.6 (broadcasting) 2.03×; 1.7 (einsum) 1.95×; 1.8 (pytorch) 0.78×. "
                          "The dashed line is the limit, 5×. Not timed: 1.2.")
    assert ladder.annotations == ("2.03×", "1.95×", "0.78×") and "not timed: 1.2" in ladder.xlabel
    assert set(ladder.legend) == {"your time", "the reference's time (1×)", "the limit (5×)"}
    assert weights.legend == ("your he_init(784, 50) (2.3)", "your kaiming_torch(784, 50) (2.6)",
                              "expected: normal, std sqrt(2/784) = 0.0505")
    assert weights.title == "Your weights against the expected normal (Tasks 2.3 and 2.6)"
    theirs = [float(x) for x in re.findall(r"standard deviation about (\d\.\d+)", weights.alt)]
    assert theirs[0] == pytest.approx(0.0505, rel=0.03) and theirs[1] == pytest.approx(0.2, rel=0.03)  # fan_out's
    assert "he_init(784, 50) (Task 2.3), 39200 weights" in weights.alt
    page = feedback.render_html(record)
    assert [html.unescape(a) for a in re.findall(r'<img alt="([^"]*)"', page)] == [ladder.alt, weights.alt]
    assert f"<h2>{feedback_pictures.HEADING}</h2>" in page


def test_feedback_without_measures_has_no_pictures(report):
    record = _record("bo", [_task("1.2"), _task("2.3", FAILED, "he_init is not implemented yet")])
    assert feedback_pictures.pictures(record) == [] and "<img" not in feedback.render_html(record)
    ungraded = StudentRecord("dee", "dee.zip", "h", 1, None, error="not a readable zip")
    assert feedback_pictures.pictures(ungraded) == []


# -- the example class, graded once -------------------------------------------------------

EXAMPLE_TASKS = ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "2.3", "2.4", "2.6"]  # not 2.8: hana hangs


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    from autograder.classroom import grade_class

    out = tmp_path_factory.mktemp("example") / "results"
    report = grade_class(REPO / "examples" / "class", out=out, jobs=2, seed=99, task_ids=EXAMPLE_TASKS,
                         progress=Quiet())
    return out, report


def test_the_example_report_reads_whole_in_its_html(example):
    out, report = example
    page = (out / "report.html").read_text()
    assert _section(page).count("could not read 01_matmul.ipynb") == 1  # eve's notebook, once, not in eight tasks
    shown = _shown_messages(page)
    assert len(shown) >= 5 and all(_is_whole(message, _messages(report)) for message in shown)
    around = _section(page, messages=False)
    assert "…" not in around and "1×" not in around and "1 of 13 graded students" in around
    alts = [html.unescape(alt) for alt in re.findall(r'<img alt="([^"]*)"', page)]
    assert len(alts) == 3 and all(alts) and alts[2].startswith("Dot plot of each student's time over the reference's")
    ada = (out / "students" / "ada" / "feedback.html").read_text()
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', ada)) == 2  # the ladder, 2.3 and 2.6
    assert "he_init(784, 50) (Task 2.3)" in ada and "kaiming_torch(784, 50) (Task 2.6)" in ada


@pytest.fixture(scope="module")
def chromium():
    found = find_chromium()
    if found is None:
        pytest.skip(MISSING)
    return found


@pytest.mark.parametrize("page", ["report.html", "students/ada/feedback.html"])
def test_the_example_pages_as_chromium_renders_them(example, chromium, page, tmp_path):
    out, report = example
    seen = rendered(chromium, out / page, tmp_path)
    assert seen["images"] and all(image["decoded"] and image["inked"] > 100 and image["shown"] > 0 and image["alt"]
                                  for image in seen["images"]), seen["images"]
    original = [html.unescape(a) for a in re.findall(r'<img alt="([^"]*)"', (out / page).read_text())]
    assert [image["alt"] for image in seen["images"]] == original  # the alt text is the plot's own
    assert not any(pre["overflows"] for pre in seen["pre"])  # nothing cut off at the edge of its box
    if page == "report.html":
        assert all(_is_whole(pre["text"].strip(), _messages(report)) for pre in seen["pre"])
        text = seen["text"]
        for pre in seen["pre"]:
            text = text.replace(pre["text"], "")
        assert "…" not in text and "Task 2.4: relu" in text
    else:
        assert feedback_pictures.HEADING in seen["text"]


def test_malformed_measures_leave_the_picture_out_not_the_page():
    record = _record("ada", [_task("1.6", speed_ratio=1.2),
                             _task("2.3", weights_counts=[1, 2], weights_n_in=0, weights_low="x")])
    drawn = feedback_pictures.pictures(record)
    assert [picture.title for picture in drawn] == ["Your matmul against the reference's"]
    assert feedback.render_html(record).count("<img ") == 1


def test_a_class_run_embeds_the_pictures_its_workers_drew(monkeypatch, tmp_path):
    """The file-writing process embeds what the worker drew and draws nothing itself."""
    from autograder.classroom import run

    record = _record("ada", [_task("1.6", speed_ratio=1.2), _task("1.7", speed_ratio=1.5)])
    drawn = feedback_pictures.as_data(record)
    monkeypatch.setattr(feedback_pictures, "pictures", lambda record: pytest.fail("drawn again"))
    run.write_student(tmp_path, record, pictures=drawn)
    page = (tmp_path / "students" / "ada" / feedback.HTML).read_text()
    assert [html.unescape(alt) for alt in re.findall(r'<img alt="([^"]*)"', page)] == [drawn[0]["alt"]]
