"""Notebooks as students of the course really hand them in, graded as they are written.

Each fixture is our own code in the course's conventions: ``from exp.nb_01 import *``,
imports of packages the grader does not have (``fastai``), functions that read their
weights from globals, one notebook for every lesson under a name of its own, the fill-in
notebook's lowercase classes, the course's shifted ReLU, renamed functions, a module of
the student's own beside the notebook. Nothing fails for plumbing: every task either
passes, fails naming the student's own bug, or says why it could not be found.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from autograder.grading import grade
from autograder.reading.locate import parse_aliases
from autograder.results import PASSED
from autograder.rules import suspicious_constructs
from autograder.tasks import TASKS
from course_notebooks import md, write_notebook

IMPORTS = ("import operator\nfrom pathlib import Path\nfrom IPython.core.debugger import set_trace\n"
           "from fastai import datasets\nimport pickle, gzip, math, torch, matplotlib as mpl\n"
           "import matplotlib.pyplot as plt\nfrom torch import tensor\n\n"
           "MNIST_URL='http://deeplearning.net/data/mnist/mnist.pkl'")

# The fill-in notebook's blanks, filled correctly, in its order and with its names: lessons
# 01 and 02 in one notebook. It computes Frobenius, the PyTorch matmul, He and kaiming init
# inline, reads MNIST inline, and defines `near` but no `test_near`.
FILL_IN = [
    md("# Rules of the game"),
    "import operator",
    "def test(a,b,cmp,cname=None):\n    if cname is None: cname=cmp.__name__\n"
    "    assert cmp(a,b), f'{cname}:\\n{a}\\n{b}'\n\ndef test_eq(a,b): test(a,b,operator.eq,'==')",
    IMPORTS,
    "path = datasets.download_data(MNIST_URL, ext='.gz'); path",
    "with gzip.open(path, 'rb') as f:\n    ((x_train, y_train), (x_valid, y_valid), _) = pickle.load(f, encoding='latin-1')",
    "x_train,y_train,x_valid,y_valid = map(tensor, (x_train,y_train,x_valid,y_valid))\nn,c = x_train.shape",
    "mpl.rcParams['image.cmap'] = 'gray'",
    "weights = torch.randn(784,10)\nbias = torch.zeros(10)",
    "def matmul(a,b):\n    ar,ac = a.shape\n    br,bc = b.shape\n    assert ac==br\n    c = torch.zeros(ar,bc)\n"
    "    for i in range(ar):\n        for j in range(bc):\n            for k in range(ac): c[i,j] += a[i,k]*b[k,j]\n"
    "    return c",
    "m1 = x_train[:5]\nm2 = weights\n%time t1 = matmul(m1, m2)",
    "m1 = tensor([[1., 2, 3], [4, 5, 6], [7, 8, 9]])\n(m1*m1).sum().sqrt()",
    "def matmul(a,b):\n    ar,ac = a.shape\n    br,bc = b.shape\n    assert ac==br\n    c = torch.zeros(ar,bc)\n"
    "    for i in range(ar):\n        for j in range(bc): c[i,j] = (a[i]*b[:,j]).sum()\n    return c",
    "def near(a,b): return torch.allclose(a,b,rtol=1e-3,atol=1e-5)",
    "near(t1, matmul(m1, m2))",
    "def matmul(a,b):\n    ar,ac = a.shape\n    br,bc = b.shape\n    assert ac==br\n    c = torch.zeros(ar,bc)\n"
    "    for i in range(ar): c[i] = (a[i][:,None]*b).sum(0)\n    return c",
    "def matmul(a,b): return torch.einsum('ik,kj->ij', a, b)",
    "%timeit -n 10 t4 = m1.matmul(m2)",
    "def normalize(x, m, s): return (x-m)/s",
    "def test_near_zero(a, tol=1e-3): assert a.abs() < tol, f'Near zero: {a}'",
    "nh = 50",
    "w1 = torch.randn(784,nh)*math.sqrt(2/784)\nb1 = torch.zeros(nh)\nw2 = torch.randn(nh,1)*math.sqrt(2/nh)\nb2 = torch.zeros(1)",
    "def relu(x): return x.clamp_min(0.)",
    "def lin(x, w, b): return x@w + b",
    "from torch.nn import init",
    "init.kaiming_normal_(w1, mode='fan_out')",
    "def model(xb):\n    return lin(relu(lin(xb, w1, b1)), w2, b2)",
    "def mse(output, targ): return (output.squeeze(-1)-targ).pow(2).mean()",
    "def mse_grad(inp, targ): inp.g = 2.*(inp.squeeze(-1)-targ).unsqueeze(-1)/inp.shape[0]",
    "def relu_grad(inp, out): inp.g = (inp>0).float()*out.g",
    "def lin_grad(inp, out, w, b):\n    inp.g = out.g @ w.t()\n    w.g = inp.t() @ out.g\n    b.g = out.g.sum(0)",
    "def forward_and_backward(inp, targ):\n    l1 = inp@w1 + b1\n    l2 = relu(l1)\n    out = l2@w2 + b2\n"
    "    loss = mse(out, targ)\n    mse_grad(out, targ)\n    lin_grad(l2, out, w2, b2)\n    relu_grad(l1, l2)\n"
    "    lin_grad(inp, l1, w1, b1)",
    "class relu():\n    def __call__(self, inp):\n        self.inp = inp\n        self.out = inp.clamp_min(0.)\n"
    "        return self.out\n    def backward(self): self.inp.g = (self.inp>0).float()*self.out.g",
    "class linear():\n    def __init__(self, w, b): self.w,self.b = w,b\n    def __call__(self, inp):\n"
    "        self.inp = inp\n        self.out = inp@self.w + self.b\n        return self.out\n"
    "    def backward(self):\n        self.inp.g = self.out.g @ self.w.t()\n"
    "        self.w.g = self.inp.t() @ self.out.g\n        self.b.g = self.out.g.sum(0)",
    "class mse():\n    def __call__(self, inp, targ):\n        self.inp,self.targ = inp,targ\n"
    "        self.out = (inp.squeeze(-1)-targ).pow(2).mean()\n        return self.out\n"
    "    def backward(self): self.inp.g = 2.*(self.inp.squeeze(-1)-self.targ).unsqueeze(-1)/self.targ.shape[0]",
    "class model():\n    def __init__(self, w1, b1, w2, b2):\n        self.layers = [linear(w1,b1), relu(), linear(w2,b2)]\n"
    "        self.loss = mse()\n    def __call__(self, x, targ):\n        for l in self.layers: x = l(x)\n"
    "        return self.loss(x, targ)\n    def backward(self):\n        self.loss.backward()\n"
    "        for l in reversed(self.layers): l.backward()",
    "class Module():\n    def __call__(self, *args):\n        self.args = args\n        self.out = self.forward(*args)\n"
    "        return self.out\n    def forward(self): raise Exception('not implemented')\n"
    "    def backward(self): self.bwd(self.out, *self.args)",
    "class Lin(Module):\n    def __init__(self, w, b): self.w,self.b = w,b\n    def forward(self, inp): return inp@self.w + self.b\n"
    "    def bwd(self, out, inp):\n        inp.g = out.g @ self.w.t()\n"
    "        self.w.g = (inp.unsqueeze(-1)*out.g.unsqueeze(1)).sum(0)\n        self.b.g = out.g.sum(0)",
    "class Relu(Module):\n    def forward(self, inp): return inp.clamp_min(0.)\n"
    "    def bwd(self, out, inp): inp.g = (inp>0).float()*out.g",
    "class Mse(Module):\n    def forward(self, inp, targ): return (inp.squeeze(-1)-targ).pow(2).mean()\n"
    "    def bwd(self, out, inp, targ): inp.g = 2*(inp.squeeze(-1)-targ).unsqueeze(-1)/targ.shape[0]",
    "class Model():\n    def __init__(self):\n        self.layers = [Lin(w1,b1), Relu(), Lin(w2,b2)]\n        self.loss = Mse()\n"
    "    def __call__(self, x, targ):\n        for l in self.layers: x = l(x)\n        return self.loss(x, targ)\n"
    "    def backward(self):\n        self.loss.backward()\n        for l in reversed(self.layers): l.backward()",
    "class Lin(Module):\n    def __init__(self, w, b): self.w,self.b = w,b\n    def forward(self, inp): return inp@self.w + self.b\n"
    "    def bwd(self, out, inp):\n        inp.g = out.g @ self.w.t()\n        self.w.g = torch.einsum('bi,bj->ij', inp, out.g)\n"
    "        self.b.g = out.g.sum(0)",
]
NOT_IN_FILL_IN = {"1.1": "reading MNIST inline", "1.3": "the Frobenius norm inline",
                  "1.5": "`test_near`", "1.8": "the PyTorch matmul inline", "2.3": "He init inline",
                  "2.6": "kaiming init inline"}


@pytest.fixture(scope="module")
def fill_in(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fill_in")
    return grade(write_notebook(folder / "dl_foundations_homework.ipynb", FILL_IN), seed=5, task_ids=LESSONS_00_02)


LESSONS_00_02 = [t.id for t in TASKS.values() if t.lesson in ("l00_exports", "l01_matmul", "l02_fully_connected")]


def by_id(result):
    return {t.id: t for t in result.tasks}


def test_the_fill_in_notebook_under_its_own_name_passes_all_it_defines(fill_in):
    tasks = by_id(fill_in)
    failing = {t.id: t.message for t in fill_in.tasks if t.status != PASSED}
    assert set(failing) == set(NOT_IN_FILL_IN), failing
    assert fill_in.score == 21 and fill_in.max_score == 27


@pytest.mark.parametrize("task_id", sorted(NOT_IN_FILL_IN))
def test_each_task_the_fill_in_leaves_out_says_what_the_kit_expects(fill_in, task_id):
    message = by_id(fill_in)[task_id].message
    words = NOT_IN_FILL_IN[task_id].replace(" inline", "").split("`")[-2 if "`" in NOT_IN_FILL_IN[task_id] else 0]
    assert "Traceback" not in message
    if task_id == "1.5":
        assert "test_near" in message and "found none" in message, message
    else:
        assert "inline" in message and words.split()[-1] in message, message
        assert "dl_foundations_homework.ipynb, cell" in message, message


def test_where_each_task_was_found_is_reported(fill_in):
    tasks = by_id(fill_in)
    assert tasks["1.2"].location.startswith("dl_foundations_homework.ipynb, cell ")
    # the lowercase classes of the fill-in notebook are 2.13 and 2.14; the Module ones 2.16, 2.17
    cells = {t: int(tasks[t].location.rsplit(" ", 1)[1]) for t in ("2.13", "2.14", "2.15", "2.16", "2.17")}
    assert cells["2.13"] < cells["2.14"] < cells["2.15"] < cells["2.16"] < cells["2.17"], cells


def test_a_failing_import_is_a_note_not_a_failure(fill_in):
    # fastai and IPython are stood in for when missing; nothing else failed to import
    assert not any("fastai" in note for note in fill_in.notes), fill_in.notes


def test_functions_on_globals_say_so(fill_in):
    tasks = by_id(fill_in)
    assert "reads w1, b1, w2, b2 as globals" in tasks["2.7"].message
    assert "reads w1, b1, w2, b2 as globals" in tasks["2.12"].message


def test_plot_settings_are_not_flagged(fill_in):
    assert not any("rcParams" in flag for flag in fill_in.flags), fill_in.flags
    import ast
    assert suspicious_constructs(ast.parse("import torch\ntorch.allclose = lambda *a: True")) == [
        "line 2: assigns to torch.allclose"]


# --- the course's conventions across several notebooks ------------------------------------

EXPORTS = ["#export\nTEST = 'test'"]
MATMUL = [
    "%load_ext autoreload\n%autoreload 2",
    "#export\nfrom exp.nb_00 import *\nimport operator\n\ndef test(a,b,cmp,cname=None):\n"
    "    if cname is None: cname=cmp.__name__\n    assert cmp(a,b),f\"{cname}:\\n{a}\\n{b}\"\n\n"
    "def test_eq(a,b): test(a,b,operator.eq,'==')",
    "test_eq(TEST,'test')",
    "#export\nfrom nosuch_helpers import show_image\n" + IMPORTS.replace("import operator\n", ""),
    "def matmul(a,b):\n    ar,ac = a.shape\n    br,bc = b.shape\n    assert ac==br\n"
    "    c = torch.zeros(ac, bc)\n    for i in range(ar):\n        for j in range(bc):\n"
    "            for k in range(ac): c[i,j] += a[i,k] * b[k,j]\n    return c",
    "#export\ndef near(a,b): return torch.allclose(a, b, rtol=1e-3, atol=1e-5)\ndef test_near(a,b): test(a,b,near)",
    "def matmul(a,b): torch.einsum('ik,kj->ij', a, b)",
]
FULLY_CONNECTED = [
    "#export\nfrom exp.nb_01 import *\n\ndef get_data():\n"
    "    path = datasets.download_data(MNIST_URL, ext='.gz')\n    with gzip.open(path, 'rb') as f:\n"
    "        ((x_train, y_train), (x_valid, y_valid), _) = pickle.load(f, encoding='latin-1')\n"
    "    return map(tensor, (x_train,y_train,x_valid,y_valid))\n\ndef normalize(x, m, s): return (x-m)/s",
    "x_train,y_train,x_valid,y_valid = get_data()",
    "def relu(x): return x.clamp_min(0.)",
    "# what if...?\ndef relu(x): return x.clamp_min(0.) - 0.5",
    "def mse_grad(inp, targ):\n    inp.g = 2. * (inp.squeeze() - targ).unsqueeze(-1)",
    "def lin_grad(inp, out, w, b):\n    inp.g = out.g @ w.t()\n    w.g = torch.einsum('bi,bj->ij', out.g, inp)\n"
    "    b.g = out.g.sum(0)",
    "class Relu():\n    def __call__(self, inp):\n        self.inp = inp\n        self.out = inp.clamp_min(0.)-0.5\n"
    "        return self.out\n    def backward(self): self.inp.g = (self.inp>0).float() * self.out.g",
    "class Lin():\n    def __init__(self, w, b): self.w,self.b = w,b\n    def __call__(self, inp):\n"
    "        self.inp = inp\n        self.out = inp@self.w + self.b\n        return self.out\n"
    "    def backward(self):\n        self.inp.g = self.out.g @ self.w.t()\n"
    "        self.w.g = self.inp.t() @ self.out.g\n        self.b.g = self.out.g.sum(0)",
    "class Mse():\n    def __call__(self, inp, targ):\n        self.inp,self.targ = inp,targ\n"
    "        self.out = (inp.squeeze(-1)-targ).pow(2).mean()\n        return self.out\n"
    "    def backward(self): self.inp.g = 2.*(self.inp.squeeze(-1)-self.targ).unsqueeze(-1)/self.targ.shape[0]",
]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    folder = tmp_path_factory.mktemp("course")
    write_notebook(folder / "00_exports.ipynb", EXPORTS)
    write_notebook(folder / "01_matmul.ipynb", MATMUL)
    write_notebook(folder / "02_fully_connected.ipynb", FULLY_CONNECTED)
    (folder / "notebook2script.py").write_text("import fire\ndef notebook2script(fname): pass\n")
    return grade(folder, seed=11, task_ids=["0.1", "0.2", "1.1", "1.2", "1.4", "1.5", "1.7", "2.1", "2.4",
                                            "2.9", "2.11", "2.13"])


def test_exp_imports_resolve_to_the_submissions_own_exports(course):
    tasks = by_id(course)
    for task_id in ("0.1", "0.2", "1.5", "2.1"):
        assert tasks[task_id].status == PASSED, tasks[task_id].message
    assert tasks["1.1"].status == PASSED, tasks["1.1"].message  # get_data() through download_data
    assert tasks["1.1"].location == "02_fully_connected.ipynb, cell 1"


def test_a_failing_import_is_reported_once_and_the_cell_goes_on(course):
    (note,) = [n for n in course.notes if "nosuch_helpers" in n]
    assert note.startswith("01_matmul.ipynb, cell 4, line 2: `from nosuch_helpers import show_image` failed")
    assert "ModuleNotFoundError" in note
    assert by_id(course)["1.5"].status == PASSED  # torch was imported by the lines after it


def test_a_ladder_rung_is_found_by_what_the_code_is_not_by_its_place(course):
    # the 2nd `def matmul` is an einsum: graded as 1.7, and 1.4 says where both definitions went
    message = by_id(course)["1.4"].message
    assert "two loops" in message and "cell 5 is Task 1.2" in message and "cell 7 is Task 1.7" in message, message


def test_the_first_relu_is_the_task_not_the_what_if(course):
    assert by_id(course)["2.4"].status == PASSED, by_id(course)["2.4"].message


@pytest.mark.parametrize("task_id, words", [
    ("1.2", "torch.zeros(ar, bc)"),  # the result allocated as torch.zeros(ac, bc)
    ("1.7", "return"),  # an einsum matmul without return (the 2nd def matmul here: einsum is 1.7)
    ("2.9", "divides by n"),  # mse_grad without the / n
    ("2.11", "transpose"),  # einsum weight gradient with its subscripts swapped
    ("2.13", "shifted ReLU"),
])
def test_students_real_bugs_fail_naming_the_bug(course, task_id, words):
    task = by_id(course)[task_id]
    assert task.status == "failed", task.message
    assert words in task.message, task.message
    assert "Hint:" in task.message


# --- exp.nb_XX is what the student exported, never the kit's answer -------------------------

# Notebook 01 exports a wrong matmul and fixes it later in a cell it does not export; notebook
# 02 imports the export, as the course does, and builds lin on it. Python would give lin the
# exported, wrong matmul: so must the grader (the kit's answer, or the notebook's later fix,
# would pass lin).
OWN_EXPORT = [
    "#export\nimport torch\n\ndef matmul(a, b):\n    return a @ b + 1",
    "# tried later, not exported\ndef matmul(a, b):\n    return a @ b",
]
USES_EXPORT = ["#export\nfrom exp.nb_01 import *", "def lin(x, w, b):\n    return matmul(x, w) + b"]


@pytest.fixture(scope="module")
def own_export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("own-export")
    write_notebook(folder / "01_matmul.ipynb", OWN_EXPORT)
    write_notebook(folder / "02_fully_connected.ipynb", USES_EXPORT)
    return grade(folder, seed=5, task_ids=["2.5"])


def test_exp_imports_are_the_students_export_even_where_the_kit_answers_otherwise(own_export):
    task = by_id(own_export)["2.5"]
    assert task.status == "failed" and task.checks[-1].name == "values", task.message
    assert task.location == "02_fully_connected.ipynb, cell 2", task.location
    assert not [note for note in own_export.notes if "exp.nb_01" in note], own_export.notes  # the import worked


# --- any file name, a module of one's own, renamed functions, aliases ----------------------

MY_TESTING = "import operator\n\ndef test(a, b, cmp, cname=None):\n    assert cmp(a, b), f'{cname}: {a} {b}'\n"
MY_MATMUL = ("from my_testing import *\nimport torch\n\n"
             "def test_eq(a, b): test(a, b, operator.eq, '==')\n\n"
             "def three_loop_matmul(a, b):\n    ar, ac = a.shape\n    br, bc = b.shape\n    assert ac == br\n"
             "    c = torch.zeros(ar, bc)\n    for i in range(ar):\n        for j in range(bc):\n"
             "            for k in range(ac):\n                c[i, j] += a[i, k] * b[k, j]\n    return c\n")


def test_a_file_of_any_name_with_a_module_of_its_own(tmp_path):
    (tmp_path / "my_testing.py").write_text(MY_TESTING)
    path = tmp_path / "my_matmul.py"
    path.write_text(MY_MATMUL)
    result = by_id(grade(path, seed=3, task_ids=["0.2", "1.2"]))
    assert result["0.2"].status == PASSED, result["0.2"].message  # `test` from my_testing.py
    # a name with `matmul` in it is found by what it does, and says so
    assert result["1.2"].status == PASSED, result["1.2"].message
    assert "graded `three_loop_matmul` (my_matmul.py, line 6) as Task 1.2, by what it does: three loops" \
        in result["1.2"].message
    # a name that is not: the message points at it and at the alias, and the alias grades it
    path.write_text(MY_MATMUL.replace("three_loop_matmul", "mat_product"))
    message = by_id(grade(path, seed=3, task_ids=["1.2"]))["1.2"].message
    assert "mat_product" in message and "--alias 1.2=mat_product" in message, message
    aliased = by_id(grade(path, seed=3, task_ids=["1.2"], aliases=parse_aliases(["1.2=mat_product"])))
    assert aliased["1.2"].status == PASSED, aliased["1.2"].message
    assert aliased["1.2"].location == "my_matmul.py, line 6"


def test_aliases_come_from_the_command_line_and_a_config_file(tmp_path):
    path = tmp_path / "student.py"
    path.write_text(MY_MATMUL.replace("from my_testing import *\n", "import operator\n" + MY_TESTING))
    (tmp_path / "autograder.toml").write_text('[aliases]\n"1.2" = "three_loop_matmul"\n')
    out = tmp_path / "result.json"
    completed = subprocess.run([sys.executable, "-m", "autograder", "grade", str(path), "--json", str(out),
                                "--task", "1.2", "--seed", "1"], capture_output=True, text=True, timeout=300)
    assert json.loads(out.read_text())["tasks"][0]["status"] == PASSED, completed.stderr
    with pytest.raises(ValueError, match="Task 2.13 defines Relu, Lin, Mse"):
        parse_aliases(["2.13:Linear=MyLinear"])
    assert parse_aliases(["2.13:Lin=Linear", "1.4=matmul2"]) == {"2.13": {"Lin": "Linear"}, "1.4": {"matmul": "matmul2"}}
