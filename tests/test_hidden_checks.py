"""Hidden checks: rows of their own in instructor grading, only counted in a self-check."""
from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from autograder import report
from autograder.checks import HIDDEN, hidden_counts
from autograder.grading import grade
from autograder.results import SubmissionResult
from builders import SEED, copy_lessons, lesson_path, replace_task_cell

FIXTURES = Path(__file__).parent / "hidden"


def test_at_least_one_real_task_has_a_hidden_check():
    assert hidden_counts() and all(HIDDEN[task_id] for task_id in hidden_counts())


def test_hidden_checks_run_in_instructor_grading_as_rows_of_their_own(tmp_path):
    reference = grade(copy_lessons(tmp_path / "reference", upto="l01_matmul"), task_ids=["1.2"],
                      seed=SEED, hidden=True)
    assert [t.status for t in reference.tasks] == ["passed"]
    assert [(t.id, t.status) for t in reference.hidden] == [("1.2", "passed")]
    assert reference.score == reference.max_score == 2 and reference.hidden_pending == 0

    folder = copy_lessons(tmp_path / "capped", upto="l01_matmul")
    replace_task_cell(lesson_path(folder, "1.2"), "1.2", (FIXTURES / "matmul_rows_capped_at_five.py").read_text())
    capped = grade(folder, task_ids=["1.2"], seed=SEED, hidden=True)
    assert [t.status for t in capped.tasks] == ["passed"]  # fitted to the visible cases
    assert [t.status for t in capped.hidden] == ["failed"]
    assert "hidden check (larger and degenerate shapes)" in capped.hidden[0].message
    assert (capped.score, capped.max_score, capped.passed) == (1, 2, False)

    self_check = grade(folder, task_ids=["1.2"], seed=SEED)
    assert self_check.hidden == [] and self_check.hidden_pending == 1
    assert (self_check.score, self_check.max_score, self_check.passed) == (1, 1, True)
    restored = SubmissionResult.from_json(capped.to_json())
    assert [t.status for t in restored.hidden] == ["failed"] and restored.score == 1


def test_the_self_check_says_how_many_hidden_checks_there_will_be():
    result = SubmissionResult(tasks=[], hidden_pending=3)
    console = Console(file=io.StringIO(), width=200)
    report.print_table(result, console)
    assert report.HIDDEN_PENDING.format(count=3, checks="checks") in console.file.getvalue()
