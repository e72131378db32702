"""Engine pieces on their own: the wire, the cell rules, task mapping, results."""
import ast
import io
import os
import pickle

import pytest
import torch

from autograder import cells, submission, wire
from autograder.results import SubmissionResult, TaskResult
from autograder.tasks import LESSONS


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch /tmp/autograder-wire-exploit",))


def test_wire_round_trips_plain_data():
    message = {"value": torch.arange(6.0).reshape(2, 3), "items": [1, 2.5, "x", None, True]}
    decoded = wire.decode(wire.encode(message)[8:])
    assert torch.equal(decoded["value"], message["value"])
    assert decoded["items"] == message["items"]


def test_wire_refuses_a_pickle_that_runs_code():
    payload = pickle.dumps({"ok": Exploit()}, protocol=2)
    with pytest.raises(wire.WireError, match="not plain data"):
        wire.decode(payload)
    assert not os.path.exists("/tmp/autograder-wire-exploit")


def test_wire_refuses_an_oversized_reply():
    read_fd, write_fd = os.pipe()
    wire.write_message(write_fd, {"big": torch.zeros(1000)})
    with pytest.raises(wire.WireError, match="over the"):
        wire.read_message(read_fd, limit=100)
    os.close(read_fd)
    os.close(write_fd)


def test_wire_refuses_a_non_dict():
    buffer = io.BytesIO()
    torch.save([1, 2], buffer)
    with pytest.raises(wire.WireError, match="not a dict"):
        wire.decode(buffer.getvalue())


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


def test_plain_python_file_maps_tasks_by_order_of_definition(tmp_path):
    body = "\n".join(f"def matmul(a, b):\n    return {n}\n" for n in range(5))
    lesson = submission.read_lesson(LESSONS["l01_matmul"], write(tmp_path / "l01_matmul.py", body))
    owners = {task: cell.source.strip() for cell in lesson.cells for task in cell.tasks}
    assert owners["1.2"].endswith("return 0") and owners["1.8"].endswith("return 4")
    assert "found 5" not in lesson.problems.get("1.2", "")
    assert "get_data" in lesson.problems["1.1"]


def test_metadata_wins_and_a_missing_task_cell_is_named(tmp_path):
    text = '# %% task="1.3"\ndef frobenius(a):\n    return 1\n\n# %%\ndef frobenius(a):\n    return 2\n'
    lesson = submission.read_lesson(LESSONS["l01_matmul"], write(tmp_path / "l01_matmul.py", text))
    assert lesson.cells[0].tasks == ("1.3",)
    assert 'task="1.2"' in lesson.problems["1.2"]


def test_syntax_error_cell_still_maps_to_its_task(tmp_path):
    text = "# %%\ndef relu(x):\n    return x.clamp_min(0.\n"
    lesson = submission.read_lesson(LESSONS["l02_fully_connected"], write(tmp_path / "l02_x.py", text))
    (cell,) = lesson.cells
    assert cell.tasks == ("2.4",)
    assert "syntax error" in cell.syntax_error and "line" in cell.syntax_error


def test_lesson_files_are_recognized_by_name(tmp_path):
    for name in ["01_matmul.ipynb", "l02_fully_connected.py", "notes.py", "l00_exports.py"]:
        write(tmp_path / name, "")
    found = submission.find_lesson_files(tmp_path)
    assert {stem: path.name for stem, path in found.items()} == {
        "l00_exports": "l00_exports.py", "l01_matmul": "01_matmul.ipynb",
        "l02_fully_connected": "l02_fully_connected.py"}


def test_results_round_trip_through_json():
    result = SubmissionResult(tasks=[TaskResult("2.8", "mse", 1.0, "passed"),
                                     TaskResult("2.9", "mse_grad", 2.0, "failed", "wrong")])
    assert (result.score, result.max_score, result.passed) == (1.0, 3.0, False)
    again = SubmissionResult.from_json(result.to_json())
    assert again.to_json() == result.to_json()
