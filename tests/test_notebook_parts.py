"""The parts of ``%check`` that need no kernel: which tasks, which file, which cells, what is shown."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.notebook import locate, snapshot
from autograder.notebook.display import CheckReport
from autograder.notebook.magic import parse
from autograder.notebook.selection import NOTHING_DEFINED, choose
from autograder.report import plain_lines, score_line
from autograder.results import SubmissionResult, TaskResult

ROOT = Path(__file__).resolve().parents[1]
MATMUL = "def matmul(a, b): return a @ b"


def _notebook(path: Path, sources: list[str]) -> Path:
    cells = [new_markdown_cell(s[3:]) if s.startswith("md:") else new_code_cell(s) for s in sources]
    nbformat.write(new_notebook(cells=cells), str(path))
    return path


# -- which tasks -------------------------------------------------------------------
def test_words_are_ids_or_names_and_a_bare_check_takes_what_is_defined_above(tmp_path):
    loops = "def matmul(a, b):\n    c = torch.zeros(a.shape[0], b.shape[1])\n"
    three = loops + "    for i in range(a.shape[0]):\n        for j in range(b.shape[1]):\n" \
        "            for k in range(a.shape[1]): c[i, j] += a[i, k] * b[k, j]\n    return c"
    two = loops + "    for i in range(a.shape[0]):\n        for j in range(b.shape[1]):\n" \
        "            c[i, j] = (a[i] * b[:, j]).sum()\n    return c"
    one = loops + "    for i in range(a.shape[0]): c[i] = (a[i].unsqueeze(-1) * b).sum(0)\n    return c"
    path = _notebook(tmp_path / "l01_matmul.ipynb",  # the ladder's first three rungs, each checked
                     ["md:# matmul", three, "%check", two, "def frobenius(a): pass", one])
    assert choose(path, [], upto=3) == ["1.2"]
    assert choose(path, [], upto=None) == ["1.2", "1.3", "1.4", "1.6"]
    assert choose(path, ["matmul"], upto=5) == ["1.2", "1.4"]  # the matmuls defined so far
    assert choose(path, ["matmul"], upto=2) == ["1.2", "1.4", "1.6", "1.7", "1.8"]  # none yet: all
    assert choose(path, ["1.8", "near"], upto=3) == ["1.5", "1.8"]  # asked for: graded, missing or not
    assert choose(path, ["Frobenius"], upto=None) == ["1.3"]


@pytest.mark.parametrize("words, upto, message", [
    ([], 2, NOTHING_DEFINED),
    (["softmax"], None, "unknown task 'softmax'"),
    (["2.8"], None, "Task 2.8 belongs to l02_fully_connected, which l01_matmul.ipynb does not hold"),
])
def test_what_cannot_be_graded_says_why(tmp_path, words, upto, message):
    path = _notebook(tmp_path / "l01_matmul.ipynb", ["import torch", MATMUL])
    with pytest.raises(ValueError) as raised:
        choose(path, words, upto)
    assert message in str(raised.value)


@pytest.mark.parametrize("line, words, seed", [
    ("", [], None), ("1.6", ["1.6"], None), ("matmul 1.2 --seed 7", ["matmul", "1.2"], 7),
    ("1.2, 1.3 --seed=3", ["1.2", "1.3"], 3)])
def test_the_magic_line(line, words, seed):
    assert parse(line) == (words, seed)


@pytest.mark.parametrize("line", ["--seed", "--seed x", "--quick 1.2"])
def test_a_bad_magic_line_shows_the_usage(line):
    with pytest.raises(ValueError, match="usage: %check"):
        parse(line)


# -- which file --------------------------------------------------------------------
def test_the_notebook_is_found_from_vs_code_or_the_jupyter_session(tmp_path, monkeypatch):
    path = _notebook(tmp_path / "l01_matmul.ipynb", [MATMUL])
    monkeypatch.delenv(locate.SESSION_ENV, raising=False)
    monkeypatch.setattr(locate, "kernel_id", lambda: None)
    assert locate.notebook_file({locate.VSCODE_NAME: str(path)}) == (path, "VS Code")
    found, why = locate.notebook_file({})
    assert found is None and "not attached to a saved notebook" in why
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(locate.SESSION_ENV, "course/l01_matmul.ipynb")  # relative to the server's root
    assert locate.notebook_file({}) == (path.resolve(), "the Jupyter session")


class _Sessions(BaseHTTPRequestHandler):
    sessions: list = []

    def do_GET(self):  # noqa: N802 - http.server's name
        allowed = self.path == "/api/sessions" and self.headers["Authorization"] == "token secret"
        body = json.dumps(self.sessions if allowed else {"message": "Forbidden"}).encode()
        self.send_response(200 if allowed else 403)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_running_server_names_the_notebook_of_this_kernel(tmp_path):
    root = tmp_path / "root"
    path = _notebook((root / "course").mkdir(parents=True) or root / "course" / "01_matmul.ipynb", [MATMUL])
    _Sessions.sessions = [{"path": "other.ipynb", "kernel": {"id": "aaa"}},
                          {"path": "course/01_matmul.ipynb", "kernel": {"id": "bbb"}}]
    server = HTTPServer(("127.0.0.1", 0), _Sessions)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        runtime = tmp_path / "runtime"
        runtime.mkdir()
        (runtime / "jpserver-1.json").write_text(json.dumps(
            {"url": f"http://127.0.0.1:{server.server_port}/", "token": "secret", "root_dir": str(root)}))
        (runtime / "nbserver-2.json").write_text(json.dumps(  # a dead server: skipped
            {"url": "http://127.0.0.1:9/", "token": "", "notebook_dir": str(root)}))
        assert locate.from_servers("bbb", runtime) == path.resolve()
        assert locate.from_servers("ccc", runtime) is None
    finally:
        server.shutdown()


# -- which cells -------------------------------------------------------------------
def _ran(source, cell_id=None, when=None):
    return locate.Execution(source, cell_id, time.time() if when is None else when)


def test_the_copy_keeps_the_name_brings_the_lessons_beside_it_and_takes_cells_as_they_ran(tmp_path):
    real = _notebook(tmp_path / "02_fully_connected.ipynb", ["import torch", "def relu(x): return x", "%check"])
    (tmp_path / "l01_matmul.py").write_text("# lesson 01\n")
    (tmp_path / "notes.txt").write_text("not a lesson")
    (tmp_path / "helpers.py").write_text("x = 1\n")  # importable beside it
    (tmp_path / "l02_fully_connected.py").write_text("# another copy of the same lesson\n")
    saved = nbformat.read(str(real), as_version=4)
    os.utime(real, (time.time() - 60, time.time() - 60))
    executions = locate.Executions()
    executions.cells = [_ran("import numpy", saved.cells[0].id, when=time.time() - 120),  # the file is newer
                        _ran("def relu(x): return x.clamp_min(0.)", saved.cells[1].id),  # edited, run, not saved
                        _ran("%check", saved.cells[2].id)]
    taken = snapshot.from_notebook(real, executions, tmp_path / "copy")
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == ["02_fully_connected.ipynb", "helpers.py", "l01_matmul.py"]
    graded = nbformat.read(str(taken.path), as_version=4)
    assert [c.source for c in graded.cells] == ["import torch", "def relu(x): return x.clamp_min(0.)", "%check"]
    assert taken.upto == 3 and taken.notes == []
    assert taken.graded.startswith("02_fully_connected.ipynb as saved at ")
    assert taken.graded.endswith(", with 1 cell as you ran it since")


def test_cells_run_after_the_save_that_the_file_lacks_are_named(tmp_path):
    real = _notebook(tmp_path / "l01_matmul.ipynb", [MATMUL, "%check"])
    saved_at = real.stat().st_mtime
    executions = locate.Executions()
    executions.cells = [_ran("def old(): pass", when=saved_at - 10),  # before the save: superseded
                        _ran(MATMUL), _ran("def frobenius(a): pass"), _ran("%timeit 1"), _ran("%check")]
    taken = snapshot.from_notebook(real, executions, tmp_path / "copy")
    assert taken.upto == 2
    assert taken.notes == [snapshot.UNSAVED.format(count=1, s="", saved=snapshot._clock(saved_at), are="is",
                                                   name="l01_matmul.ipynb", them="it")]
    assert "save the notebook" in taken.notes[0]


def test_without_a_notebook_the_history_is_graded_as_the_lessons_it_touches(tmp_path):
    executions = locate.Executions(["%load_ext autograder", "def test(a, b, cmp, cname=None): pass",
                                    "def mse(output, targ): pass"])
    taken = snapshot.from_history(executions, [], "a console", tmp_path / "copy")
    assert sorted(p.name for p in taken.path.iterdir()) == ["l00_exports.ipynb", "l02_fully_connected.ipynb"]
    assert taken.graded == ("the 2 cells this kernel ran, in the order they ran, as "
                            "l00_exports.ipynb, l02_fully_connected.ipynb")
    assert taken.notes[0].startswith("no notebook file found (a console): graded the cells this kernel ran")
    assert choose(taken.path, [], None) == ["0.1", "2.8"]
    asked = snapshot.from_history(executions, ["1.2"], "a console", tmp_path / "asked")
    assert [p.name for p in asked.path.iterdir()] == ["l01_matmul.ipynb"]
    with pytest.raises(LookupError, match="unknown task '1.9'"):
        snapshot.from_history(executions, ["1.9"], "a console", tmp_path / "unknown")
    with pytest.raises(LookupError, match="run no task yet"):
        snapshot.from_history(locate.Executions(["%load_ext autograder"]), [], "a console", tmp_path / "none")
    with pytest.raises(LookupError, match="define no task"):
        snapshot.from_history(locate.Executions(["x = 1"]), [], "a console", tmp_path / "none")


def test_the_cells_run_are_recorded_with_their_ids_and_the_one_running_is_current():
    executions = locate.Executions(["%load_ext autograder"])
    executions.record(SimpleNamespace(raw_cell="x = 1", store_history=True, silent=False, cell_id="a"))
    executions.record(SimpleNamespace(raw_cell="hidden", store_history=False, silent=True, cell_id=None))
    executions.record(SimpleNamespace(raw_cell="x = 2", store_history=True, silent=False, cell_id="a"))
    assert [e.source for e in executions.cells] == ["%load_ext autograder", "x = 1", "x = 2"]
    assert executions.latest_by_id()["a"].source == "x = 2" and executions.current.source == "x = 2"


# -- what is shown -----------------------------------------------------------------
def test_the_report_shows_what_autograder_check_prints_and_escapes_html():
    result = SubmissionResult(tasks=[
        TaskResult("1.2", "matmul (three loops)", 1, "passed"),
        TaskResult("1.3", "frobenius", 1, "failed", "Task 1.3 (frobenius): got <tensor> & more.")],
        path="l01_matmul.ipynb", seed=5, flags=["uses sys.modules"])
    report = CheckReport(result, "l01_matmul.ipynb as saved at 10:00:00", ["a note"], 0.4)
    lines = report.lines()
    assert lines[0] == "Checked l01_matmul.ipynb as saved at 10:00:00 (seed 5) in 0.4 s"
    assert lines[1:] == [*plain_lines(result)[1:], "flag for the instructor: uses sys.modules",
                         score_line(result), "Note: a note"]
    html = report._repr_mimebundle_()["text/html"]
    assert "got &lt;tensor&gt; &amp; more." in html and "<tensor>" not in html
    assert html.index("<table") < html.index("Task 1.3 (frobenius)")  # the message under the table


def test_importing_the_package_stays_light():
    code = "import autograder, sys; print(sorted(m for m in ('torch', 'IPython', 'autograder.notebook.magic') if m in sys.modules))"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert completed.stdout.strip() == "[]", completed.stderr


# -- the grader process --------------------------------------------------------------
def test_the_grader_process_answers_bad_requests_and_goes_on(tmp_path):
    from autograder.notebook.service import Service

    loops = ("def matmul(a, b):\n    assert a.shape[1] == b.shape[0]\n    c = torch.zeros(a.shape[0], b.shape[1])\n"
             "    for i in range(a.shape[0]):\n        for j in range(b.shape[1]):\n"
             "            for k in range(a.shape[1]): c[i, j] += a[i, k] * b[k, j]\n    return c")
    path = _notebook(tmp_path / "l01_matmul.ipynb", ["import torch", loops])
    grader = Service()
    try:
        grader.start()
        grader.process.stdin.write(b"not json\n")
        grader.process.stdin.flush()
        assert json.loads(grader.process.stdout.readline())["ok"] is False
        missing = grader.request({"path": str(tmp_path / "gone" / "l01_matmul.ipynb"), "words": []})
        assert missing == {"ok": False, "error": f"{tmp_path / 'gone' / 'l01_matmul.ipynb'} does not exist"}
        unknown = grader.request({"path": str(path), "words": ["softmax"]})
        assert "unknown task 'softmax'" in unknown["error"]
        graded = grader.request({"path": str(path), "words": ["1.2"], "seed": 3})
        assert graded["ok"] is True, graded
        assert [(t["id"], t["status"]) for t in graded["result"]["tasks"]] == [("1.2", "passed")]
        assert graded["result"]["seed"] == 3
        process = grader.process
    finally:
        grader.close()
    assert process.returncode == 0  # stdin closed: it cleaned up and ended
