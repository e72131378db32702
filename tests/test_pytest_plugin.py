"""The pytest plugin, tested the way pytest plugins are: pytest run by pytester."""
from pathlib import Path

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]


def test_one_item_per_task_and_a_score_line(pytester):
    result = pytester.runpytest_subprocess(
        "-p", "autograder.pytest_plugin", "--submission", str(REPO / "solutions" / "l00_exports.py"),
        "-k", "0.1 or 0.2", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*task?0.1? PASSED*", "*task?0.2? PASSED*",
                                 "*autograder: *l00_exports.py scored 2/2*"])


def test_a_failing_task_fails_its_item_with_the_grader_message(pytester):
    result = pytester.runpytest_subprocess(
        "-p", "autograder.pytest_plugin", "--submission", str(REPO / "exercises" / "l00_exports.py"),
        "--junitxml", "report.xml")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*Task 0.1 (test): test is not implemented yet*"])
    assert "Task 0.2 (test_eq)" in (pytester.path / "report.xml").read_text()


def test_without_a_submission_the_plugin_does_nothing(pytester):
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "autograder.pytest_plugin")
    result.assert_outcomes(passed=1)
