"""Engine pieces on their own: the wire, the cell rules, task mapping, results."""
import ast
import json
import os
import pickle
import subprocess
import sys

import pytest
import torch

from autograder import wire
from autograder.reading import cells, submission
from autograder.results import SubmissionResult, TaskResult
from autograder.tasks import LESSONS


class Exploit:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_wire_round_trips_plain_data():
    message = {"value": torch.arange(6.0).reshape(2, 3), "items": [1, 2.5, "x", None, True]}
    decoded = wire.decode(wire.encode(message)[8:])
    assert torch.equal(decoded["value"], message["value"])
    assert decoded["items"] == message["items"]


def test_wire_refuses_a_pickle_that_runs_code(tmp_path):
    planted = tmp_path / "wire-exploit"  # a fresh path: a broken grader's run leaves nothing behind here
    payload = pickle.dumps({"ok": Exploit(planted)}, protocol=2)
    with pytest.raises(wire.WireError, match="not plain data"):
        wire.decode(payload)
    assert not planted.exists()


def test_wire_refuses_an_oversized_reply():
    read_fd, write_fd = os.pipe()
    wire.write_message(write_fd, {"big": torch.zeros(1000)})
    with pytest.raises(wire.WireError, match="over the"):
        wire.read_message(read_fd, limit=100)
    os.close(read_fd)
    os.close(write_fd)


def test_wire_refuses_a_non_dict():
    with pytest.raises(wire.WireError, match="not a dict"):
        wire.decode(wire.encode([1, 2])[8:])


def test_wire_round_trips_every_kind_it_takes():
    message = {
        "transposed": torch.arange(6.0).reshape(2, 3).t(), "half": torch.tensor([1.5, -2.0], dtype=torch.bfloat16),
        "empty": torch.zeros(0, 3), "scalar": torch.tensor(7), "mask": torch.tensor([True, False]),
        "leaf": torch.ones(2, requires_grad=True), "complex": torch.tensor([1 + 2j]), "dtype": torch.float64,
        "big": 2**70, "negative": -(2**63), "nan": float("nan"), "bytes": b"\x00\xff", 3: (1, [2, {"x": None}]),
        "text": "naïve \u2713", "size": torch.Size([2, 3]),
    }
    decoded = wire.decode(wire.encode(message)[8:])
    for key in ("transposed", "half", "empty", "scalar", "mask", "complex"):
        assert decoded[key].dtype == message[key].dtype and torch.equal(decoded[key], message[key]), key
    assert decoded["leaf"].requires_grad and not decoded["transposed"].requires_grad
    assert decoded["dtype"] is torch.float64 and decoded["big"] == 2**70 and decoded["negative"] == -(2**63)
    assert decoded["nan"] != decoded["nan"] and decoded["bytes"] == b"\x00\xff" and decoded["text"] == message["text"]
    assert decoded[3] == (1, [2, {"x": None}]) and decoded["size"] == (2, 3)


@pytest.mark.parametrize("value", [object(), {1, 2}, {(1, 2): 3}, torch.tensor([1], dtype=torch.uint16)])
def test_wire_will_not_send_what_is_not_plain_data(value):
    with pytest.raises(TypeError, match="does not cross the wire"):
        wire.encode({"value": value})


@pytest.mark.parametrize("payload, why", [
    (b"d" + (1).to_bytes(4, "big") + b"s" + (5).to_bytes(4, "big") + b"ab", "cut short"),
    (b"d" + (10**6).to_bytes(4, "big"), "items announced"),
    (b"dx", "cut short"),
    (b"N" + b"N", "bytes after the message"),
    (b"\x80\x02}q\x00.", "unknown tag"),
    (b"d\x00\x00\x00\x01s\x00\x00\x00\x01kx\x00\x00\x00\x04evil\x01\x00" + bytes(16), "unknown dtype"),
    (b"d\x00\x00\x00\x01s\x00\x00\x00\x01kx\x00\x00\x00\x07float32\x01\x00"
     + (1000).to_bytes(8, "big") + (4).to_bytes(8, "big") + bytes(4), "cannot hold"),
    (b"l\x00\x00\x00\x01" * 40 + b"N", "nested deeper"),
])
def test_wire_refuses_what_is_malformed(payload, why):
    with pytest.raises(wire.WireError, match=why):
        wire.decode(payload)


@pytest.mark.parametrize("source, runs", [
    ("import torch", True),
    ("def f(x): return x", True),
    ("class A: pass", True),
    ("TOL = 1e-3", True),
    ("test_eq = partial(test, cmp=operator.eq)", True),
    ("_camel_re1 = re.compile('(.)([A-Z][a-z]+)')", True),
    ("pattern = re.compile(input())", False),
    ("x_train = get_data()", False),
    ("print('hi')", False),
    ("plt.imshow(x)", False),
    ("if __name__ == '__main__':\n    import os", False),
    ("for i in range(3): pass", False),
])
def test_only_definitions_run(source, runs):
    (statement,) = ast.parse(source).body
    assert cells.runs(statement) is runs


def test_magics_become_pass_and_keep_line_numbers():
    source = "%matplotlib inline\ndef f():\n    %time g()\n    return 1"
    tree = cells.parse(source, "x.py")
    assert cells.defined_names(tree) == ["f"]
    assert tree.body[-1].lineno == 2


def write(path, text):
    path.write_text(text)
    return path


def owners(loaded):
    return {task: cell for _, cell in loaded.cells() for task in cell.tasks}


def test_plain_python_file_maps_tasks_by_order_of_definition(tmp_path):
    body = "\n".join(f"def matmul(a, b):\n    return {n}\n" for n in range(5))
    loaded = submission.load(write(tmp_path / "l01_matmul.py", body))
    sources = {task: cell.source.strip() for task, cell in owners(loaded).items()}
    assert sources["1.2"].endswith("return 0") and sources["1.8"].endswith("return 4")
    assert "found 5" not in loaded.problems.get("1.2", "")
    assert "get_data" in loaded.problems["1.1"]
    assert loaded.location("1.8") == "l01_matmul.py, line 13"


def test_metadata_wins_and_a_missing_task_cell_is_named(tmp_path):
    text = '# %% task="1.3"\ndef frobenius(a):\n    return 1\n\n# %%\ndef frobenius(a):\n    return 2\n'
    loaded = submission.load(write(tmp_path / "l01_matmul.py", text))
    assert loaded.files[0].cells[0].tasks == ("1.3",)
    assert 'task="1.2"' in loaded.problems["1.2"]


def test_syntax_error_cell_still_maps_to_its_task(tmp_path):
    text = "# %%\ndef relu(x):\n    return x.clamp_min(0.\n"
    loaded = submission.load(write(tmp_path / "l02_x.py", text))
    (cell,) = loaded.files[0].cells
    assert cell.tasks == ("2.4",)
    assert "syntax error" in cell.syntax_error and "line" in cell.syntax_error


def test_a_folder_is_one_stream_in_lesson_order(tmp_path):
    for name in ["notes.py", "01_matmul.ipynb", "l02_fully_connected.py", "l00_exports.py",
                 "l00_exports.ipynb", "notebook2script.py"]:
        write(tmp_path / name, "" if name.endswith(".py") else '{"cells": [], "metadata": {}, '
              '"nbformat": 4, "nbformat_minor": 5}')
    assert [p.name for p in submission.stream_files(tmp_path)] == [
        "l00_exports.py", "01_matmul.ipynb", "l02_fully_connected.py", "notes.py"]


def test_a_file_of_any_name_is_a_whole_submission(tmp_path):
    text = "def test(a, b, cmp, cname=None):\n    pass\n\ndef matmul(a, b):\n    return a\n"
    loaded = submission.load(write(tmp_path / "my_work.py", text))
    # the lessons it covers: a task of lessons 00 and 01 is found in it, none of later ones
    assert {t.lesson for t in loaded.tasks} == {"l00_exports", "l01_matmul"}
    assert loaded.location("0.1") == "my_work.py, line 1" and loaded.location("1.2") == "my_work.py, line 4"


def test_results_round_trip_through_json():
    result = SubmissionResult(tasks=[TaskResult("2.8", "mse", 1.0, "passed"),
                                     TaskResult("2.9", "mse_grad", 2.0, "failed", "wrong")])
    assert (result.score, result.max_score, result.passed) == (1.0, 3.0, False)
    again = SubmissionResult.from_json(result.to_json())
    assert again.to_json() == result.to_json()


@pytest.mark.parametrize("header", ["", "[markdown]", 'task="1.1"', '[markdown] task="1.1"', "Title", "[raw]",
                                    'task="1.1" tags=["a"]', "task=1.1", "export", 'a="x" b="y z"', '[md]  x=""',
                                    'task="1.1"x', "[markdown]title"])
def test_cell_headers_read_as_jupytext_reads_them(header):
    from jupytext.cell_metadata import text_to_metadata

    assert submission.header_metadata(header) == text_to_metadata(header, allow_title=True)


def test_loading_a_submission_imports_neither_nbformat_nor_jupytext(tmp_path):
    """Through jsonschema they cost seconds of every grader's start where rfc3987-syntax is installed."""
    notebook = tmp_path / "01_matmul.ipynb"
    notebook.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {"task": "1.2"}, "source": ["def matmul(a, b):\n", "    return a @ b\n"],
         "outputs": [], "execution_count": None}]}))
    (tmp_path / "l02_fully_connected.py").write_text('# %% task="2.4"\ndef relu(x):\n    return x.clamp_min(0.)\n')
    code = ("import sys; from pathlib import Path; from autograder.reading import submission; "
            f"loaded = submission.load(Path({str(tmp_path)!r})); "
            "print(sorted(loaded.found), 'nbformat' in sys.modules, 'jupytext' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'1.2'" in shown and "'2.4'" in shown and shown.strip().endswith("False False"), shown


def test_the_grading_process_computes_with_one_torch_thread(tmp_path):
    """Its tensors are small; a second thread only spins on a busy machine (``grading.one_thread``)."""
    from autograder.grading import grade
    from builders import SOLUTIONS

    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        result = grade(SOLUTIONS / "l00_exports.py", seed=1)
        assert result.score == result.max_score > 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
