"""The command line: help for every command, exit codes, the JSON shape."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.cli import main, parser
from autograder.tasks import TASKS

REPO = Path(__file__).resolve().parents[1]
COMMANDS = ["check", "grade", "release", "tasks", "doctor", "server"]


def run(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "Example: autograder" in capsys.readouterr().out


def test_the_command_list_is_complete():
    subcommands = parser()._subparsers._group_actions[0].choices
    assert sorted(subcommands) == sorted(COMMANDS)


def test_check_passes_on_solutions_and_fails_on_exercises():
    good = run("check", "solutions", "--task", "2.8", "--task", "1.6")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Score 2/2" in good.stdout
    bad = run("check", "exercises", "--task", "2.11")
    assert bad.returncode == 1
    assert "Task 2.11 (lin_grad)" in bad.stdout and "not implemented" in bad.stdout


def test_grade_writes_exactly_the_documented_json(tmp_path):
    out = tmp_path / "result.json"
    completed = run("grade", "exercises", "--json", str(out), "--task", "0.1", "--task", "2.8")
    assert completed.returncode == 1  # below full marks
    data = json.loads(out.read_text())
    assert set(data) == {"score", "max_score", "tasks", "notes"}
    assert data["score"] == 0 and data["max_score"] == 2
    assert [t["id"] for t in data["tasks"]] == ["0.1", "2.8"]
    for task in data["tasks"]:
        assert set(task) == {"id", "name", "status", "score", "max_score", "message", "location"}
        assert task["status"] == "failed" and task["score"] == 0 and task["max_score"] == 1
    assert data["tasks"][1]["name"] == "mse"
    assert data["tasks"][1]["location"].startswith("l02_fully_connected.py, line ")


def test_grade_pass_score_sets_the_exit_status(tmp_path):
    out = tmp_path / "result.json"
    assert run("grade", "exercises", "--json", str(out), "--task", "2.8", "--pass-score", "0").returncode == 0


@pytest.mark.parametrize("args, expected", [
    (["check", "no/such/folder"], "does not exist"),
    (["check", "solutions", "--task", "9.9"], "unknown task id 9.9"),
    (["check", "README.md"], "not a notebook or a Python file"),
    (["check", "solutions", "--alias", "1.4"], "should look like 1.4=matmul2"),
])
def test_bad_input_is_a_clear_error(args, expected):
    completed = run(*args)
    assert completed.returncode == 2
    assert expected in completed.stderr
    assert "Traceback" not in completed.stderr


def test_release_check_is_clean_on_the_repository():
    completed = run("release", "--check")
    assert completed.returncode == 0, completed.stdout


def test_tasks_lists_every_task():
    completed = run("tasks")
    assert completed.returncode == 0
    assert len(completed.stdout.strip().splitlines()) == len(TASKS)


def test_doctor_names_every_layer():
    completed = run("doctor")
    assert completed.returncode == 0
    for layer in ("bubblewrap", "seccomp", "rlimits", "landlock", "namespaces", "warm start"):
        assert f"\n{layer}: o" in completed.stdout
    assert "\ncontained: files " in completed.stdout


def test_a_check_leaves_nothing_behind(tmp_path):
    """The command ends without the interpreter's teardown (``cli.run``): its children, their
    boxes and the scratch folders must be gone all the same, and its output complete. The
    scratch folders lie in a TMPDIR closed to others (pytest's): the child still reads the
    data file Task 1.1's check writes there."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "autograder", "check", "solutions", "--task", "1.1",
                           "--task", "1.6", "--json", str(tmp_path / "result.json")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Score 2/2" in done.stdout
    assert json.loads((tmp_path / "result.json").read_text())["score"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]
    left = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(tmp_path).encode() in (entry / "cmdline").read_bytes():
                left.append(entry.name)
        except OSError:
            continue
    assert not left, f"processes left running: {left}"
