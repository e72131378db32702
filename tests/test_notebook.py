"""``%check`` in a real kernel gives what ``autograder check`` gives on the same notebook.

A course-style notebook runs headless (nbclient with ipykernel), with ``%check`` cells
after some tasks: a correct task, a wrong one, a missing one, a rule breaker, and a bare
``%check`` that grades every task defined above it. Each cell's output is compared, line
by line, with ``autograder check`` run on the saved notebook with the same seed.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from notebook_kernel import HEADING, ROOT, Kernel, execute, shown, task_lines, write

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

IMPORTS = "import gzip, pickle\nimport torch\nfrom torch import tensor"
GET_DATA = ("def get_data(path):\n    with gzip.open(path, 'rb') as f:\n"
            "        ((x_train, y_train), (x_valid, y_valid), _) = pickle.load(f, encoding='latin-1')\n"
            "    return map(tensor, (x_train, y_train, x_valid, y_valid))")
THREE_LOOPS = ("def matmul(a,b):\n    ar,ac = a.shape\n    br,bc = b.shape\n    assert ac==br\n"
               "    c = torch.zeros(ar, bc)\n    for i in range(ar):\n        for j in range(bc):\n"
               "            for k in range(ac): c[i,j] += a[i,k] * b[k,j]\n    return c")
FROBENIUS_NO_SQRT = "def frobenius(a): return (a*a).sum()"
ELEMENTWISE = ("def matmul(a,b):\n    ar,ac = a.shape\n    br,bc = b.shape\n    assert ac==br\n"
               "    c = torch.zeros(ar, bc)\n    for i in range(ar):\n"
               "        for j in range(bc): c[i,j] = (a[i,:] * b[:,j]).sum()\n    return c")
BROADCAST_WITH_AT = "def matmul(a,b): return a @ b"
EINSUM = "def matmul(a,b): return torch.einsum('ik,kj->ij', a, b)"

CELLS = [
    "%load_ext autograder", IMPORTS, GET_DATA, THREE_LOOPS,
    "%check 1.2 --seed 11",            # correct
    FROBENIUS_NO_SQRT,
    "%check frobenius --seed 11",      # wrong, asked for by name
    "%check 1.5 --seed 11",            # missing: near and test_near are never defined
    ELEMENTWISE, BROADCAST_WITH_AT,
    "%check 1.6 --seed 11",            # breaks the rule: no @ in 1.6
    "%check",                          # everything defined above, with a fresh seed
    EINSUM,                            # below the bare %check: not graded by it
]


def _autograder_check(folder, name, tasks, seed) -> list[str]:
    arguments = [a for t in tasks for a in ("--task", t)]
    completed = subprocess.run([sys.executable, "-m", "autograder", "check", name, "--seed", str(seed), *arguments],
                               cwd=folder, capture_output=True, text=True, timeout=600,
                               env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert completed.returncode in (0, 1), completed.stderr
    return completed.stdout.splitlines()


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notebook")
    path = write(folder / "l01_matmul.ipynb", CELLS)
    return folder, execute(path)


def _output(notebook, source):
    cell = next(c for c in notebook.cells if c.source == source)
    data = shown(cell)
    lines = data["text/plain"].splitlines()
    match = HEADING.match(lines[0])
    assert match, lines
    return data, lines, match


def test_each_check_cell_shows_what_autograder_check_says(ran):
    folder, notebook = ran
    expected = _autograder_check(folder, "l01_matmul.ipynb", ["1.2", "1.3", "1.5", "1.6"], 11)
    by_task = task_lines(expected)
    for source, task, status in [("%check 1.2 --seed 11", "1.2", "passed"),
                                 ("%check frobenius --seed 11", "1.3", "failed"),
                                 ("%check 1.5 --seed 11", "1.5", "error"),
                                 ("%check 1.6 --seed 11", "1.6", "failed")]:
        data, lines, match = _output(notebook, source)
        assert match["graded"].startswith("l01_matmul.ipynb as saved at "), lines[0]
        assert match["seed"] == "11"
        assert task_lines(lines) == {task: by_task[task]}, (lines, expected)
        assert f" {status} " in by_task[task]
        score = "Score 1/1: 1 of 1 tasks passed" if status == "passed" else "Score 0/1: 0 of 1 tasks passed"
        hidden = [line for line in lines if "hidden check" in line]
        assert lines[-1 - len(hidden)] == score  # then, for 1.2, the line announcing its hidden check
        assert bool(hidden) == (task == "1.2"), lines
        assert f">{status}</td>" in data["text/html"]
    assert "expected 16.8819, got 285" in by_task["1.3"]
    assert "near" in by_task["1.5"] and "(found none)" in by_task["1.5"]
    assert "matmul must not use the @ operator" in by_task["1.6"]


def test_a_bare_check_grades_the_tasks_defined_above_it(ran):
    folder, notebook = ran
    _, lines, match = _output(notebook, "%check")
    graded = task_lines(lines)
    assert list(graded) == ["1.1", "1.2", "1.3", "1.4", "1.6"]  # not 1.5 (missing), not 1.7 (below)
    expected = _autograder_check(folder, "l01_matmul.ipynb", list(graded), match["seed"])
    assert lines[1:] == expected[1:]


def test_without_a_notebook_the_cells_this_kernel_ran_are_graded(tmp_path):
    wrong_test_eq = "def test_eq(a,b): pass"
    sources = ["%load_ext autograder",
               "import operator\ndef test(a,b,cmp,cname=None):\n    if cname is None: cname=cmp.__name__\n"
               "    assert cmp(a,b),f\"{cname}:\\n{a}\\n{b}\"",
               wrong_test_eq, "%check", "import sys\nprint('torch' in sys.modules)"]
    path = write(tmp_path / "scratch.ipynb", sources)
    notebook = execute(path, attach=False)
    lines = shown(notebook.cells[3])["text/plain"].splitlines()
    assert lines[0].startswith("Checked the 2 cells this kernel ran, in the order they ran, as l00_exports.ipynb")
    assert lines[-1].startswith("Note: no notebook file found (this kernel is not attached to a saved notebook"), lines
    graded = task_lines(lines)
    assert list(graded) == ["0.1", "0.2"]
    assert " passed " in graded["0.1"] and " failed " in graded["0.2"], lines
    stream = [o.text.strip() for o in notebook.cells[4].outputs if o.output_type == "stream"]
    assert stream == ["False"]  # the grading ran beside the kernel, never in it


def test_a_cell_run_since_the_last_save_is_graded_as_it_ran(tmp_path):
    """The saved file still has the wrong frobenius; the student fixed the cell and ran it
    (JupyterLab sends the cell's id), then asked: the check grades the fix, while
    ``autograder check`` on the file, which cannot know of it, still fails it."""
    path = write(tmp_path / "l01_matmul.ipynb", ["%load_ext autograder", IMPORTS, FROBENIUS_NO_SQRT, "%check 1.3"])
    ids = [cell.id for cell in __import__("nbformat").read(str(path), as_version=4).cells]
    kernel = Kernel(path)
    try:
        for source, cell_id in zip(["%load_ext autograder", IMPORTS], ids):
            kernel.run(source, cell_id)
        kernel.run("def frobenius(a): return (a*a).sum().sqrt()", ids[2])
        outputs = [o for o in kernel.run("%check 1.3", ids[3]) if "data" in o]
    finally:
        kernel.close()
    lines = outputs[-1]["data"]["text/plain"].splitlines()
    assert " passed " in task_lines(lines)["1.3"], lines
    seed = HEADING.match(lines[0])["seed"]
    assert " failed " in task_lines(_autograder_check(tmp_path, path.name, ["1.3"], seed))["1.3"]
