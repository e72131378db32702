"""A class run's pieces that need no grading: entries, zips, seeds, and every output format."""
from __future__ import annotations

import csv
import io
import json
import os
import stat
import xml.etree.ElementTree as ElementTree
import zipfile
from pathlib import Path

import pytest

from autograder.classroom import entries
from autograder.classroom.record import ClassReport, StudentRecord
from autograder.outputs import class_report, feedback, files, gradebook, gradescope, junit, kit_json
from autograder.results import ERROR, FAILED, PASSED, CheckResult, SubmissionResult, TaskResult

LESSON = "# %%\ndef f():\n    return 1\n"


def _zip(path: Path, members: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return path


def test_every_kind_of_entry_is_one_student(tmp_path):
    (tmp_path / "ada").mkdir()
    (tmp_path / "ada" / "l01_matmul.py").write_text(LESSON)
    (tmp_path / "ada" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "ada" / ".ipynb_checkpoints" / "l01_matmul-checkpoint.py").write_text("stale")
    (tmp_path / "bo.ipynb").write_text("{}")
    (tmp_path / "cy.py").write_text(LESSON)
    _zip(tmp_path / "di.zip", {"di/l01_matmul.py": LESSON.encode(), "di/sub/notes.txt": b"x"})
    (tmp_path / "notes.txt").write_text("not a submission")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "results").mkdir()  # the run's own output, inside the class folder
    found = entries.find_entries(tmp_path, exclude=tmp_path / "results")
    assert [e.student for e in found] == ["ada", "bo", "cy", "di", "notes.txt"]  # every entry, .hidden aside
    jobs = {e.student: entries.read_job(e) for e in found}
    assert "not a submission" in jobs.pop("notes.txt").problem
    assert set(jobs["ada"].files) == {"l01_matmul.py"}  # checkpoints are not the submission
    assert jobs["bo"].single == "bo.ipynb" and jobs["cy"].single == "cy.py"
    assert set(jobs["di"].files) == {"l01_matmul.py", "sub/notes.txt"}  # the zip's folder is stripped
    assert not any(job.problem for job in jobs.values())


def test_nbgrader_layout_gathers_each_students_assignments(tmp_path):
    for assignment, name in (("ps1", "01_matmul.ipynb"), ("ps2", "02_fully_connected.ipynb")):
        folder = tmp_path / "submitted" / "ada" / assignment
        folder.mkdir(parents=True)
        (folder / name).write_text("{}")
        (folder / "timestamp.txt").write_text("2026-01-01")
    (tmp_path / "submitted" / "bo" / "ps1").mkdir(parents=True)
    (tmp_path / "submitted" / "bo" / "ps1" / "01_matmul.ipynb").write_text("{}")
    (tmp_path / "source").mkdir()
    found = entries.find_entries(tmp_path)
    assert [e.student for e in found] == ["ada", "bo"]
    job = entries.read_job(found[0])
    assert {"01_matmul.ipynb", "02_fully_connected.ipynb"} <= set(job.files)


def test_nbgrader_student_names_are_cleaned_as_every_other_entry_is(tmp_path):
    """A student's folder in OUT is named from the entry: the same cleaning for every layout."""
    names = ["ada lovelace", "bo;rm -rf", "-cy"]
    for name in names:
        folder = tmp_path / "course" / "submitted" / name / "ps1"
        folder.mkdir(parents=True)
        (folder / "01_matmul.ipynb").write_text("{}")
        (tmp_path / "plain" / name).mkdir(parents=True)
        (tmp_path / "plain" / name / "01_matmul.ipynb").write_text("{}")
    nbgrader = [e.student for e in entries.find_entries(tmp_path / "course")]
    assert nbgrader == [e.student for e in entries.find_entries(tmp_path / "plain")]
    assert sorted(e.name for e in entries.find_entries(tmp_path / "course")) == sorted(names)  # as handed in
    assert all(any(folder.startswith(entries.safe_name(name)) for name in names) for folder in nbgrader)
    assert not any(" " in folder or ";" in folder or "/" in folder for folder in nbgrader)


@pytest.mark.parametrize("member", ["../escape.py", "/etc/cron.d/x.py", "a/../../escape.py", "C:/x.py"])
def test_a_zip_member_outside_the_submission_makes_it_ungraded(tmp_path, member):
    _zip(tmp_path / "eve.zip", {"l01_matmul.py": LESSON.encode(), member: b"print(1)"})
    job = entries.read_job(entries.find_entries(tmp_path)[0])
    assert job.files == {} and "outside the submission" in job.problem and repr(member) in job.problem


def test_a_symlink_in_a_zip_is_not_read_and_says_so(tmp_path):
    _zip(tmp_path / "eve.zip", {"l01_matmul.py": LESSON.encode()}, symlink="link.py")
    job = entries.read_job(entries.find_entries(tmp_path)[0])
    assert set(job.files) == {"l01_matmul.py"} and not job.problem
    assert job.notes == ["the zip member 'link.py' is a symbolic link: not read (a submission holds files only)"]


def test_a_zip_bomb_is_stopped_by_the_size_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(entries, "MAX_FILE_BYTES", 1000)
    with zipfile.ZipFile(tmp_path / "eve.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("l01_matmul.py", b"#" * 100_000)  # compresses to a few hundred bytes
    job = entries.read_job(entries.find_entries(tmp_path)[0])
    assert "larger than" in job.problem and job.files == {}


def test_a_corrupt_zip_or_an_empty_folder_says_why(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 not really")
    (tmp_path / "empty").mkdir()
    problems = {e.student: entries.read_job(e).problem for e in entries.find_entries(tmp_path)}
    assert "not a readable zip" in problems["bad"]
    assert "no .py or .ipynb" in problems["empty"]


def test_seeds_and_hashes_are_deterministic_and_track_content(tmp_path):
    assert entries.student_seed(7, "ada") == entries.student_seed(7, "ada")
    assert entries.student_seed(7, "ada") != entries.student_seed(7, "bo")
    assert entries.student_seed(7, "ada") != entries.student_seed(8, "ada")
    job = entries.Job("ada", "ada", {"l01_matmul.py": b"a"}, seed=1)
    same = entries.Job("ada", "ada", {"l01_matmul.py": b"a"}, seed=1)
    changed = entries.Job("ada", "ada", {"l01_matmul.py": b"b"}, seed=1)
    reseeded = entries.Job("ada", "ada", {"l01_matmul.py": b"a"}, seed=2)
    assert job.content_hash == same.content_hash
    assert len({job.content_hash, changed.content_hash, reseeded.content_hash}) == 3


@pytest.mark.parametrize("setting", [{"task_ids": ["2.8"]}, {"aliases": {"2.4": {"relu": "my_relu"}}},
                                     {"time_limit": 30.0}, {"single": "l01_matmul.py"}], ids=lambda s: next(iter(s)))
def test_every_run_setting_is_in_the_resume_hash(setting):
    """A result graded under other settings is graded again, not kept."""
    files = {"l01_matmul.py": b"a"}
    before = entries.Job("ada", "ada", dict(files), seed=1, task_ids=["1.2"], time_limit=10.0)
    after = entries.Job("ada", "ada", dict(files), seed=1, task_ids=["1.2"], time_limit=10.0)
    for name, value in setting.items():
        setattr(after, name, value)
    assert before.content_hash != after.content_hash


# -- the formats, on records made by hand --------------------------------------------

def _task(task_id, name, status, message="", check="values", location=""):
    task = TaskResult(id=task_id, name=name, max_score=1.0, status=status, message=message)
    task.checks = [CheckResult(check, status == PASSED, message)]
    if location:
        task.location = location
    return task


def _record(student, statuses, flags=(), ratio=None):
    names = {"1.6": "matmul (broadcasting)", "2.8": "mse", "2.11": "lin_grad"}
    tasks = []
    for task_id, status in statuses.items():
        message = "" if status == PASSED else f"Task {task_id} ({names[task_id]}): mse is wrong: largest difference 0.{len(student)} at index (1, 2). Edit mse in l02_fully_connected.py."
        check = "rules" if (task_id == "1.6" and status == FAILED) else "values"
        tasks.append(_task(task_id, names[task_id], status, message, check, f"02_fully_connected.ipynb, cell {len(student)}"))
    if ratio is not None:
        tasks[0].measures = {"speed_ratio": ratio}
    result = SubmissionResult(tasks=tasks, path=student, seed=11, flags=list(flags))
    return StudentRecord(student, student, "hash-" + student, 11, result, seconds={"total": 1.5})


@pytest.fixture
def report():
    return ClassReport(7, [
        _record("ada", {"1.6": PASSED, "2.8": PASSED, "2.11": PASSED}, ratio=1.1),
        _record("bo", {"1.6": FAILED, "2.8": FAILED, "2.11": PASSED}, flags=["l01_matmul.py: line 3: patches torch"], ratio=1.4),
        _record("cyd", {"1.6": PASSED, "2.8": FAILED, "2.11": ERROR}, ratio=0.9),
        StudentRecord("dee", "dee.zip", "h", 5, None, error="dee.zip: the zip member '../x' would be written outside the submission"),
    ])


def test_gradebook_has_one_row_per_student_and_one_column_per_task(report):
    rows = list(csv.reader(io.StringIO(gradebook.render(report))))
    assert rows[0] == ["student", "score", "max_score", "1.6", "2.8", "2.11", "entry", "folder", "not_graded"]
    assert rows[1] == ["ada", "3", "3", "1", "1", "1", "ada", "students/ada", ""]
    assert rows[2] == ["bo", "1", "3", "0", "0", "1", "bo", "students/bo", ""]
    # not graded: no score to upload by mistake, and why
    assert rows[4] == ["dee", "", "", "", "", "", "dee.zip", "students/dee", report.records[3].error]


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_a_name_a_spreadsheet_would_evaluate_is_written_as_text(name):
    """OWASP's advice for CSV injection: a leading ' makes the cell text."""
    record = StudentRecord("x", name + ".zip", "h", 1, None, error=name + ": not a readable zip", name=name)
    rows = list(csv.reader(io.StringIO(gradebook.render(ClassReport(1, [record])), newline="")))
    student, entry, reason = rows[1][0], rows[1][-3], rows[1][-1]
    assert student == "'" + name and entry == "'" + name + ".zip"
    assert reason.startswith("'") or not reason.startswith(gradebook.FORMULA_STARTS)
    harmless = StudentRecord("y", "y", "h", 1, None, error="e", name="a=b")
    assert list(csv.reader(io.StringIO(gradebook.render(ClassReport(1, [harmless])))))[1][0] == "a=b"


def test_gradescope_results_follow_the_schema(report):
    data = json.loads(gradescope.render(report.records[1]))
    assert data["score"] == 1
    assert [t["number"] for t in data["tests"]] == ["1.6", "2.8", "2.11"]
    for test in data["tests"]:
        assert set(test) >= {"name", "number", "score", "max_score", "output", "visibility"}
        assert test["visibility"] in {"hidden", "after_due_date", "after_published", "visible"}
        assert test["status"] in {"passed", "failed"}
        assert isinstance(test["score"], (int, float)) and test["score"] <= test["max_score"]
    assert "cell 2" in data["tests"][1]["output"]  # where the task was found
    ungraded = json.loads(gradescope.render(report.records[3]))
    assert ungraded["score"] == 0 and "outside the submission" in ungraded["output"]


def test_junit_parses_with_failures_and_errors_counted(report):
    suite = ElementTree.fromstring(junit.render(report.records[2])).find("testsuite")
    assert suite.get("name") == "cyd"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["1.6 matmul (broadcasting)", "2.8 mse", "2.11 lin_grad"]
    assert cases[1].find("failure") is not None and cases[2].find("error") is not None
    ungraded = ElementTree.fromstring(junit.render(report.records[3])).find("testsuite")
    assert ungraded.get("errors") == "1"


def test_feedback_shows_each_task_and_where_it_was_found(report):
    text = feedback.markdown(report.records[1])
    assert "Score 1/3" in text and "| 2.8 | mse | failed | 0/1 | 02_fully_connected.ipynb, cell 2 |" in text
    assert "### Task 2.8: mse (failed)" in text and "largest difference 0.2" in text
    page = feedback.render_html(report.records[1])
    assert "<table>" in page and "02_fully_connected.ipynb, cell 2" in page and "<script" not in page
    assert "could not be graded" in feedback.markdown(report.records[3])


def test_feedback_escapes_what_a_student_wrote():
    record = _record("ada", {"2.8": FAILED})
    record.result.tasks[0].message = "mse raised ValueError: <script>alert(1)</script>"
    assert "<script>" not in feedback.render_html(record)
    assert "<script>" not in class_report.render(ClassReport(1, [record]))


def test_report_groups_failures_and_lists_rules_flags_and_ungraded(report):
    page = class_report.render(report, {"1.6": 5.0})
    assert page.count("data:image/png;base64,") == 3  # scores, pass rate, speed ratio
    groups = class_report.common_failures(report)
    assert [(g.students, g.identical) for g in groups["2.8"]] == [(["bo", "cyd"], False)]  # 0.2 and 0.3 differ
    assert groups["2.8"][0].example == report.records[1].result.tasks[1].message  # bo's, whole
    assert "2 of 3 graded students</span> got messages like this one" in page and "bo, cyd" in page
    assert "patches torch" in page and ">rule<" in page
    assert "dee.zip: the zip member" in page


def test_records_round_trip_through_json(report):
    for record in report.records:
        again = kit_json.parse(kit_json.render(record))
        assert again.to_json() == record.to_json()


def test_a_folder_is_replaced_whole_and_partials_are_cleared(tmp_path):
    final = tmp_path / "ada"
    for content in ("old", "new"):
        staging = files.staging_folder(final)
        (staging / "grade.json").write_text(content)
        files.replace_folder(staging, final)
        assert (final / "grade.json").read_text() == content
    files.staging_folder(tmp_path / "bo")  # a killed run's leftover
    files.write_text(tmp_path / "gradebook.csv", "x")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) != []
    files.remove_partials(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["ada", "gradebook.csv"]


def test_grade_needs_json_or_out_and_never_both(tmp_path, capsys):
    from autograder.cli import main

    assert main(["grade", str(tmp_path)]) == 2
    assert "--json FILE to grade one submission, or --out FOLDER" in capsys.readouterr().err
    assert main(["grade", str(tmp_path), "--out", str(tmp_path / "o"), "--json", str(tmp_path / "x.json")]) == 2
    assert main(["grade", str(tmp_path), "--out", str(tmp_path / "o")]) == 2  # an empty class
    assert "holds no submissions" in capsys.readouterr().err
    assert main(["grade", str(tmp_path), "--out", str(tmp_path / "o"), "--executor", "dask"]) == 2
    assert "needs --scheduler" in capsys.readouterr().err


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_shows_count_rate_and_time_left_or_plain_lines(report, terminal):
    from rich.console import Console

    from autograder.classroom.progress import ClassProgress

    stream = io.StringIO()
    progress = ClassProgress(Console(file=stream, force_terminal=terminal, width=150))
    progress.start(total=4, kept=1)
    for record in report.records[1:]:
        progress.advance(record)
    progress.close()
    text = stream.getvalue()
    assert "1 of 4 entries already graded" in text
    if terminal:
        assert "4/4" in text and "/min" in text and "ETA" in text
    else:
        assert "[2/4] bo: 1/3 (1.5 s)" in text and "[4/4] dee: not graded (dee.zip" in text


# -- every point has a row, pass/fail, the LMS variant, file modes ------------------------

def _with_hidden(student, hidden_status, message="Task 1.6 (matmul (broadcasting)): hidden check (more shapes): "
                                                  "matmul(a, b) for a (7, 3) and b (3, 9) is wrong"):
    record = _record(student, {"1.6": PASSED, "2.8": FAILED})
    hidden = TaskResult("1.6", "matmul (broadcasting) (hidden: more shapes)", 1.0, hidden_status,
                        "" if hidden_status == PASSED else message)
    record.result.hidden = [hidden]
    return record


def test_a_hidden_check_is_a_row_whose_message_waits_for_publishing():
    record = _with_hidden("ada", FAILED)
    for published in (False, True):
        text = feedback.markdown(record, published)
        assert "Score 1/3: 1 of 2 tasks passed, 0 of 1 hidden check." in text
        assert "| 1.6.h1 | matmul (broadcasting) (hidden: more shapes) | failed | 0/1 |" in text
        page = feedback.render_html(record, published)
        suite = ElementTree.fromstring(junit.render(record, published)).find("testsuite")
        tests = json.loads(gradescope.render(record, published))["tests"]
        assert [case.get("name")[:6] for case in suite.findall("testcase")] == ["1.6 ma", "2.8 ms", "1.6.h1"]
        assert tests[-1]["number"] == "1.6.h1" and tests[-1]["visibility"] == "after_published"
        shown = [published == ("(7, 3)" in output) for output in (text, page, junit.render(record, published),
                                                                    tests[-1]["output"])]
        assert all(shown), (published, shown)
        assert (feedback.HIDDEN_UNTIL in text) != published and (feedback.HIDDEN_UNTIL in page) != published
    passed = _with_hidden("bo", PASSED)
    assert "| 1.6.h1 | matmul (broadcasting) (hidden: more shapes) | passed | 1/1 |" in feedback.markdown(passed)


def test_the_gradebook_has_a_column_per_hidden_check_and_passed_with_a_pass_score():
    from autograder.classroom.passing import parse

    report = ClassReport(3, [_with_hidden("ada", PASSED), _with_hidden("bo", FAILED),
                             StudentRecord("cy", "cy.zip", "h", 5, None, error="cy.zip: not a readable zip")])
    rows = list(csv.reader(io.StringIO(gradebook.render(report, pass_score=parse("2")))))
    assert rows[0] == ["student", "score", "max_score", "passed", "1.6", "1.6.h1", "2.8", "entry", "folder", "not_graded"]
    assert rows[1][:7] == ["ada", "2", "3", "yes", "1", "1", "0"] and rows[2][:7] == ["bo", "1", "3", "no", "1", "0", "0"]
    assert rows[3][:7] == ["cy", "", "", "", "", "", ""]
    assert "passed" not in next(csv.reader(io.StringIO(gradebook.render(report))))
    page = class_report.render(report, pass_score=parse("2"))
    assert "<th>Passes</th>" in page and "1 of 3 pass (pass score: 2 points)" in page
    assert "<th>Hidden checks passed</th>" in page


def test_the_lms_gradebook_has_canvas_columns_and_one_of_points():
    report = ClassReport(3, [_with_hidden("ada", PASSED), StudentRecord("=cy", "=cy.zip", "h", 5, None, error="bad zip", name="=cy")])
    rows = list(csv.reader(io.StringIO(gradebook.render_lms(report, "Lessons 00-02"))))
    assert rows == [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lessons 00-02"],
                    ["'=cy", "", "", "'=cy", "", ""], ["ada", "", "", "ada", "", "2"]]


@pytest.mark.parametrize("mask, file_mode, folder_mode", [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)],
                         ids=["umask 022", "umask 027"])
def test_results_get_the_modes_of_the_umask_and_half_written_ones_stay_private(tmp_path, mask, file_mode, folder_mode):
    from autograder.classroom.lock import OutLock

    previous = os.umask(mask)
    try:
        files.write_text(tmp_path / "gradebook.csv", "x")
        staging = files.staging_folder(tmp_path / "ada")
        assert stat.S_IMODE(staging.stat().st_mode) == 0o700  # while it fills
        (staging / "grade.json").write_text("{}")
        files.replace_folder(staging, tmp_path / "ada")
        with OutLock(tmp_path):
            assert stat.S_IMODE((tmp_path / ".run.lock").stat().st_mode) == 0o600
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "gradebook.csv").stat().st_mode) == file_mode
    assert stat.S_IMODE((tmp_path / "ada").stat().st_mode) == folder_mode
    assert stat.S_IMODE((tmp_path / "ada" / "grade.json").stat().st_mode) == file_mode
