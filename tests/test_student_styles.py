"""Submissions written the way students work, not the way the kit lays them out.

Numbered versions (``matmul_v1`` …), descriptive names (``three_loop_matmul`` …) in any
order, a bug fixed by writing the function again, a class per lesson (``class MatMul``
with a method per version, ``class Net`` with lesson 02's functions as methods), Colab
cells, and the notebook a student filled in beside the kit's untouched ``.py``. Every
correct task passes, and the message says which definition was graded and why.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from autograder.reading import submission as reading
from autograder.grading import grade
from autograder.reading.locate import parse_aliases
from autograder.results import PASSED
from builders import EXERCISES, SOLUTIONS, by_id
from course_notebooks import write_notebook

LADDER = ["1.2", "1.4", "1.6", "1.7", "1.8"]
PRELUDE = "import torch\nfrom torch import tensor"
BODY = "    ar, ac = a.shape\n    br, bc = b.shape\n    assert ac == br\n    c = torch.zeros(ar, bc)\n"
THREE = "def {name}({self}a, b):\n" + BODY + (
    "    for i in range(ar):\n        for j in range(bc):\n            for k in range(ac):\n"
    "                c[i, j] += a[i, k] * b[k, j]\n    return c")
THREE_BUGGY = THREE.replace("c[i, j] += a[i, k]", "c[i, j] = a[i, k]")
TWO = "def {name}({self}a, b):\n" + BODY + (
    "    for i in range(ar):\n        for j in range(bc):\n            c[i, j] = (a[i, :] * b[:, j]).sum()\n"
    "    return c")
BROADCAST = "def {name}({self}a, b):\n" + BODY + (
    "    for i in range(ar):\n        c[i] = (a[i].unsqueeze(-1) * b).sum(dim=0)\n    return c")
EINSUM = "def {name}({self}a, b): return torch.einsum('ik,kj->ij', a, b)"
TORCH = "def {name}({self}a, b): return a @ b"
RUNGS = [THREE, TWO, BROADCAST, EINSUM, TORCH]


def fn(template: str, name: str, method: bool = False) -> str:
    return template.format(name=name, self="self, " if method else "")


def a_class(name: str, methods: list[tuple[str, str]]) -> str:
    body = "\n\n".join("    " + fn(t, n, method=True).replace("\n", "\n    ") for t, n in methods)
    return f"class {name}:\n{body}"


def graded(folder: Path, name: str, cells: list[str], tasks: list[str], aliases=()) -> dict:
    path = write_notebook(folder / name, [PRELUDE, *cells])
    return by_id(grade(path, seed=5, task_ids=tasks, aliases=parse_aliases(list(aliases))))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("styles")


def assert_passed(results: dict, tasks: list[str]) -> None:
    failing = {t: results[t].message for t in tasks if results[t].status != PASSED}
    assert not failing, failing


def test_numbered_versions_are_graded_rung_by_rung(folder):
    cells = [fn(t, f"matmul_v{n}") for n, t in enumerate(RUNGS, start=1)]
    results = graded(folder, "numbered.ipynb", cells, LADDER)
    assert_passed(results, LADDER)
    assert "graded `matmul_v2` (numbered.ipynb, cell 3) as Task 1.4, by what it does: two loops" \
        in results["1.4"].message


def test_descriptive_names_in_any_order_and_a_missing_rung(folder):
    names = {THREE: "three_loop_matmul", TWO: "two_loop_matmul", BROADCAST: "broadcast_matmul",
             EINSUM: "einstein_sum_matmul"}
    cells = [fn(t, names[t]) for t in (EINSUM, BROADCAST, THREE, TWO)]  # not the course's order
    results = graded(folder, "descriptive.ipynb", cells, LADDER)
    assert_passed(results, LADDER[:4])
    assert "graded `einstein_sum_matmul`" in results["1.7"].message
    assert "graded `three_loop_matmul`" in results["1.2"].message
    assert results["1.8"].status != PASSED
    assert "PyTorch's matmul" in results["1.8"].message, results["1.8"].message


def test_a_bug_fixed_by_writing_the_function_again_replaces_it(folder):
    cells = [fn(THREE_BUGGY, "matmul"), "m1 = torch.randn(5, 784)", fn(THREE, "matmul"),
             *[fn(t, "matmul") for t in RUNGS[1:]]]
    results = graded(folder, "fixed.ipynb", cells, LADDER)
    assert_passed(results, LADDER)
    assert "`matmul` (fixed.ipynb, cell 4) replaced an earlier definition (fixed.ipynb, cell 2)" \
        in results["1.2"].message, results["1.2"].message
    # the same ladder without the fix: the buggy one is graded, and fails 1.2 alone
    unfixed = graded(folder, "unfixed.ipynb", [fn(THREE_BUGGY, "matmul"), *[fn(t, "matmul") for t in RUNGS[1:]]],
                     LADDER)
    assert unfixed["1.2"].status != PASSED
    assert_passed(unfixed, LADDER[1:])


def test_a_class_with_a_method_per_version(folder):
    methods = list(zip(RUNGS, ["three_loops", "two_loops", "broadcast", "einsum", "pytorch"]))
    results = graded(folder, "klass.ipynb", [a_class("MatMul", methods)], LADDER)
    assert_passed(results, LADDER)
    assert "graded `MatMul.two_loops`" in results["1.4"].message


def test_an_alias_names_a_definition_or_a_method(folder):
    methods = [(THREE, "slow"), (TWO, "faster")]
    cells = [a_class("Mm", methods), fn(THREE, "mat_mul_1"), fn(TWO, "mat_mul_2")]
    results = graded(folder, "aliased.ipynb", cells, ["1.2", "1.4"], aliases=["1.2=Mm.slow", "1.4=mat_mul_2"])
    assert_passed(results, ["1.2", "1.4"])
    assert "graded `Mm.slow` (aliased.ipynb, cell 2) as Task 1.2, as the alias 1.2=Mm.slow says" \
        in results["1.2"].message
    assert results["1.4"].location == "aliased.ipynb, cell 4"
    missing = graded(folder, "aliased.ipynb", cells, ["1.2"], aliases=["1.2=Mm.nosuch"])
    assert "`Mm.nosuch`" in missing["1.2"].message and "found none" in missing["1.2"].message


NET = """class Net:
    def normalize(self, x, m, s): return (x - m) / s
    def relu(self, x): return x.clamp_min(0.)
    def lin(self, x, w, b): return x @ w + b
    def mse(self, output, targ): return (output.squeeze(-1) - targ).pow(2).mean()"""


def test_a_class_per_lesson_holds_the_functions_as_methods(folder):
    results = graded(folder, "net.ipynb", [NET], ["2.1", "2.4", "2.5", "2.8"])
    assert_passed(results, ["2.1", "2.4", "2.5", "2.8"])
    assert "graded `Net.relu`" in results["2.4"].message


MSE_GRAD_BUGGY = "def mse_grad(inp, targ):\n    inp.g = 2. * (inp.squeeze() - targ).unsqueeze(-1)"
MSE_GRAD = "def mse_grad(inp, targ):\n    inp.g = 2. * (inp.squeeze() - targ).unsqueeze(-1) / inp.shape[0]"


def test_mse_grad_fixed_by_redefinition(folder):
    results = graded(folder, "grads.ipynb", [MSE_GRAD_BUGGY, "x = 1", MSE_GRAD], ["2.9"])
    assert_passed(results, ["2.9"])
    assert "replaced an earlier definition (grads.ipynb, cell 2)" in results["2.9"].message


COLAB = ["!pip install -q torch", "from google.colab import drive\ndrive.mount('/content/drive')",
         "%matplotlib inline", *[fn(t, "matmul") for t in RUNGS]]


def test_colab_cells(folder):
    path = write_notebook(folder / "Copy_of_homework.ipynb", [PRELUDE, *COLAB])
    notebook = json.loads(path.read_text())
    notebook["metadata"]["colab"] = {"provenance": [], "name": "Copy of homework"}
    for number, cell in enumerate(notebook["cells"]):
        cell["metadata"]["id"] = f"cell{number:03d}"
    path.write_text(json.dumps(notebook))
    result = grade(path, seed=5, task_ids=LADDER)
    assert_passed(by_id(result), LADDER)
    assert any("google.colab" in note for note in result.notes), result.notes


def test_a_final_version_alone_is_graded_for_the_task_that_tests_it(tmp_path):
    """3.13, 3.14 and 4.4 test the last of several versions; a student may write only that one."""
    path = tmp_path / "mine.py"
    path.write_text(
        "def collate(b): pass\n\n"
        "class DataLoader():\n    def __init__(self, ds, sampler, collate_fn=collate):\n        self.ds = ds\n\n"
        "def fit(epochs, model, loss_func, opt, train_dl, valid_dl):\n    pass\n\n"
        "class Callback():\n    _order = 0\n    def set_runner(self, run): self.run = run\n")
    loaded = reading.load(path, ["3.7", "3.13", "3.14", "4.4"])
    assert loaded.location("3.13") == "mine.py, line 3"
    assert loaded.location("3.14") == "mine.py, line 7"
    assert loaded.location("4.4") == "mine.py, line 10"
    assert "3.7" in loaded.problems and "(…, lr" not in loaded.problems["3.7"]  # the plain fit is not there


def test_a_later_lesson_redefining_a_name_is_not_a_fix(tmp_path):
    """Lesson 04 writes its own ``fit(epochs, learn, cb)``: lesson 03's last fit stays 3.14."""
    path = tmp_path / "all_lessons.py"
    path.write_text("def fit(epochs, model, loss_func, lr, x, y, bs): pass\n\n"
                    "def fit(epochs, model, loss_func, opt, train_dl): pass\n\n"
                    "def fit(epochs, model, loss_func, opt, train_dl, valid_dl): pass\n\n"
                    "def fit(epochs, learn, cb): pass\n")
    loaded = reading.load(path, ["3.7", "3.14"])
    assert loaded.location("3.7") == "all_lessons.py, line 1"
    assert loaded.location("3.14") == "all_lessons.py, line 5"


# --- the notebook a student filled in, beside the kit's untouched .py --------------------------

@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Path:
    """exercises/l01_matmul.py untouched, and its notebook filled in (saved after it)."""
    folder = tmp_path_factory.mktemp("pair")
    shutil.copy(EXERCISES / "l01_matmul.py", folder / "l01_matmul.py")
    filled = json.loads((EXERCISES / "l01_matmul.ipynb").read_text())
    solved = reading.read_file(SOLUTIONS / "l01_matmul.py")
    by_task = {c.metadata_task: c.source.strip("\n") for c in solved.cells if c.metadata_task}
    for cell in filled["cells"]:
        task = cell.get("metadata", {}).get("task")
        if task in by_task:
            cell["source"] = by_task[task]
    (folder / "l01_matmul.ipynb").write_text(json.dumps(filled))
    older = (folder / "l01_matmul.ipynb").stat().st_mtime - 60
    os.utime(folder / "l01_matmul.py", (older, older))
    return folder


def test_the_notebook_saved_last_is_graded_and_the_py_set_aside(pair):
    result = grade(pair, seed=5, task_ids=["1.2", "1.3", "1.4"])
    assert_passed(by_id(result), ["1.2", "1.3", "1.4"])
    assert "l01_matmul.ipynb and l01_matmul.py hold the same lesson: graded l01_matmul.ipynb (saved last); " \
           "l01_matmul.py is set aside." in result.notes


def test_a_py_saved_later_that_only_stubs_falls_back_to_the_notebook_task_by_task(pair, tmp_path):
    folder = shutil.copytree(pair, tmp_path / "resaved")
    later = (folder / "l01_matmul.ipynb").stat().st_mtime + 60
    os.utime(folder / "l01_matmul.py", (later, later))  # opened and saved untouched after the notebook
    result = grade(folder, seed=5, task_ids=["1.2", "1.3"])
    assert_passed(by_id(result), ["1.2", "1.3"])
    assert any(n.startswith("l01_matmul.py and l01_matmul.ipynb hold the same lesson: graded l01_matmul.py "
                            "(saved last), and l01_matmul.ipynb where") for n in result.notes), result.notes
    assert "Note: graded from l01_matmul.ipynb: l01_matmul.py only raises NotImplementedError for it." \
        in by_id(result)["1.2"].message


def test_a_single_file_named_says_its_twin_was_saved_later(pair):
    loaded = reading.load(pair / "l01_matmul.py", ["1.2"])
    assert loaded.notes == ["l01_matmul.ipynb, beside l01_matmul.py, was saved later: this grades "
                            "l01_matmul.py only (grade the folder, or name l01_matmul.ipynb, to grade that one)."]


def test_written_together_the_one_that_implements_more_is_graded(pair, tmp_path):
    folder = shutil.copytree(pair, tmp_path / "unzipped")
    same = (folder / "l01_matmul.py").stat().st_mtime
    os.utime(folder / "l01_matmul.ipynb", (same, same))  # an unzip or a checkout writes both at once
    loaded = reading.load(folder, ["1.2"])
    assert loaded.notes == ["l01_matmul.ipynb and l01_matmul.py hold the same lesson: graded l01_matmul.ipynb "
                            "(both saved at once; it implements more); l01_matmul.py is set aside."]
    assert loaded.location("1.2").startswith("l01_matmul.ipynb, cell ")


# --- what a message says about the student's own code ----------------------------------------

def test_a_call_on_another_signature_shows_both_signatures(folder):
    results = graded(folder, "signature.ipynb", ["def mse(targ, output, n=1): return (output - targ).pow(2).mean()",
                                                 "def normalize(x, m): return x - m"], ["2.1", "2.8"])
    message = results["2.1"].message
    assert "Hint: your `normalize` takes (x, m); the kit calls normalize(x, m, s), in that order." in message, \
        message
    assert "TypeError" in message


MODEL_OWN_WEIGHTS = """class Model():
    def __init__(self, n_in, nh, n_out):
        self.layers = [Lin(torch.randn(n_in, nh), torch.zeros(nh)), Relu(), Lin(torch.randn(nh, n_out), torch.zeros(n_out))]
        self.loss = Mse()"""
FORWARD_WITH_LR = """def forward_and_backward(inp, targ, lr=0.5):
    l1 = inp @ w1 + b1
    l2 = l1.clamp_min(0.)
    out = l2 @ w2 + b2
    return out"""


def test_the_globals_note_names_exactly_the_globals_read(folder):
    from autograder.scenarios import _fit_arguments, _read_of

    namespace: dict = {}
    exec(FORWARD_WITH_LR, namespace)
    function = namespace["forward_and_backward"]
    args, extra = _fit_arguments(function, ["inp", "targ", "w1", "b1", "w2", "b2"],
                                 ["inp", "targ", "w1", "b1", "w2", "b2"])
    assert args == ["inp", "targ"] and list(extra) == ["w1", "b1", "w2", "b2"]  # lr keeps its default
    assert _read_of(function, extra) == ["w1", "b1", "w2", "b2"]
    exec("import torch\nclass Lin: pass\nclass Relu: pass\nclass Mse: pass\n" + MODEL_OWN_WEIGHTS, namespace)
    assert _read_of(namespace["Model"], {"w1": 1, "b1": 2}) == []  # builds its own weights


@pytest.mark.parametrize("cell_ids", [True, False], ids=["notebook-cells", "console"])
def test_check_without_a_notebook_grades_the_definition_the_kernel_holds_now(folder, tmp_path, cell_ids):
    """A cell re-run with a broken ``matmul``: %check (no notebook file) grades the broken one."""
    from types import SimpleNamespace

    from autograder.notebook import locate as kernel, snapshot

    executions = kernel.Executions(["%load_ext autograder"])
    for source, cell in [(PRELUDE, "p"), (fn(THREE, "matmul"), "a"), ("x = 1", "b"), (fn(THREE_BUGGY, "matmul"), "a")]:
        executions.record(SimpleNamespace(raw_cell=source, store_history=True, silent=False,
                                          cell_id=cell if cell_ids else None))
    taken = snapshot.from_history(executions, ["1.2"], "a console", tmp_path / "copy")
    result = by_id(grade(taken.path, seed=5, task_ids=["1.2"]))
    assert result["1.2"].status != PASSED, result["1.2"].message
    if not cell_ids:  # both runs are in the history: the later one replaced the first
        assert "replaced an earlier definition" in result["1.2"].message


def test_data_loaded_another_way_costs_no_definition_of_its_cell(folder):
    cell = ("from torchvision import datasets\nmnist = datasets.MNIST('data', train=True, download=True)\n"
            "x_train = mnist.data\n\ndef relu(x): return x.clamp_min(0.)")
    path = write_notebook(folder / "torchvision.ipynb", [PRELUDE, cell])
    result = grade(path, seed=5, task_ids=["2.4"])
    assert_passed(by_id(result), ["2.4"])
    assert any(n.startswith("torchvision.ipynb, cell 2, line 3: `x_train = mnist.data` failed (NameError")
               for n in result.notes), result.notes


@pytest.mark.parametrize("header, body, note", [
    (b"", b"# caf\xe9 au lait\n", "byte 0xe9 at line 2"),  # a Latin-1 byte in a comment, no cookie
    (b"# -*- coding: latin-1 -*-\n", b"# caf\xe9\n", ""),  # declared: read as declared, no note
    (b"\xef\xbb\xbf", b"# caf\xc3\xa9\n", ""),  # a UTF-8 BOM
])
def test_a_file_not_in_utf8_is_read_as_python_reads_it(tmp_path, header, body, note):
    path = tmp_path / "l01_matmul.py"
    path.write_bytes(header + b"import torch\n" + body + fn(THREE, "matmul").encode() + b"\n")
    loaded = reading.load(path, ["1.2"])
    assert loaded.location("1.2").startswith("l01_matmul.py, line ")
    assert not loaded.problems
    if note:
        (said,) = loaded.notes
        assert note in said and "save the file as UTF-8" in said
    else:
        assert loaded.notes == []
    result = grade(path, seed=5, task_ids=["1.2"])
    assert_passed(by_id(result), ["1.2"])


def test_a_task_found_nowhere_names_the_files_searched_and_a_notebook_student_is_told_of_notebooks(tmp_path):
    write_notebook(tmp_path / "01_matmul.ipynb", [PRELUDE, fn(THREE, "matmul")])
    write_notebook(tmp_path / "02_fully_connected.ipynb", [PRELUDE, "def relu(x): return x.clamp_min(0.)"])
    loaded = reading.load(tmp_path, ["0.1", "1.3"])
    assert loaded.problems["0.1"] == "l00_exports.ipynb (or l00_exports.py) is missing from the submission"
    assert loaded.problems["1.3"].endswith("Searched 01_matmul.ipynb, 02_fully_connected.ipynb"), \
        loaded.problems["1.3"]


def test_an_alias_maps_a_renamed_function_in_the_kits_own_task_cell(tmp_path):
    path = tmp_path / "l02_fully_connected.py"
    text = (EXERCISES / "l02_fully_connected.py").read_text()
    stub = 'def relu(x):'
    assert stub in text
    path.write_text(text.replace(stub, "def my_relu(x):\n    return x.clamp_min(0.)\n\n\ndef _unused(x):"))
    plain = by_id(grade(path, seed=5, task_ids=["2.4"]))
    assert plain["2.4"].status != PASSED
    aliased = by_id(grade(path, seed=5, task_ids=["2.4"], aliases=parse_aliases(["2.4=my_relu"])))
    assert_passed(aliased, ["2.4"])


def test_a_function_renamed_in_the_kits_cell_is_named_with_its_alias(tmp_path):
    path = tmp_path / "l02_fully_connected.py"
    text = (EXERCISES / "l02_fully_connected.py").read_text()
    path.write_text(text.replace("def relu(x):", "def my_relu(x):"))
    message = by_id(grade(path, seed=5, task_ids=["2.4"]))["2.4"].message
    assert "Hint: the cell of Task 2.4 (l02_fully_connected.py, line" in message, message
    assert "defines `my_relu`, not `relu`" in message and "`--alias 2.4=my_relu`" in message, message


def test_a_helper_named_like_the_task_is_not_graded_as_a_version(tmp_path):
    path = tmp_path / "helpers.py"
    path.write_text("import torch\n\n" + "\n\n".join(fn(t, "matmul") for t in RUNGS[:4])
                    + "\n\ndef matmul_shapes(a, b):\n    return a.shape, b.shape\n")
    loaded = reading.load(path, LADDER)
    assert "1.8" in loaded.problems and "matmul_shapes" not in loaded.problems["1.8"], loaded.problems["1.8"]
    assert loaded.location("1.7").startswith("helpers.py, line ")
