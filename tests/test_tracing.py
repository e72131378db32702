"""Tracing a task's torch calls in the child: what is recorded, and whose call it is.

Student code here is a real file in a temporary folder, compiled with its own filename
as the child does; grader code is compiled with a filename inside the autograder
package, where scenarios and stand-ins live.
"""
from __future__ import annotations

import ast
import json
import re
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import autograder
from autograder import scenarios
from autograder.reading import cells
from autograder.rules import Violation, traced_violations
from autograder.tasks import TASKS
from autograder.tracing import CallRecorder, call_name
from test_rules_static import ROOT, RULE_MUTANTS, task_cells

GRADER_FILE = str(Path(autograder.__file__).parent / "scenarios.py")
# "# traced: invisible" marks the rule mutants only the source shows (a branch never taken)
TRACED_RULE_MUTANTS = {name for name in RULE_MUTANTS
                       if "# traced: invisible" not in (ROOT / "tests" / "mutants" / f"{name}.py").read_text()}


def load(folder: Path, source: str, filename: str = "l01_matmul.py") -> tuple[dict, str]:
    """Run a student module; line 1 is the snippet's first line."""
    path = folder / filename
    path.write_text(textwrap.dedent(source).lstrip("\n"))
    namespace = {"__name__": path.stem}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace, str(path)


def grader_code(source: str) -> dict:
    namespace: dict = {}
    exec(compile(textwrap.dedent(source).lstrip("\n"), GRADER_FILE, "exec"), namespace)
    return namespace


@pytest.fixture
def student(tmp_path):
    return lambda source, filename="l01_matmul.py": load(tmp_path, source, filename)


def test_the_matmul_operator_is_recorded_as_matmul_with_its_line(student):
    code, path = student("""
        def matmul(a, b):
            c = a[:1]
            return a @ b
        """)
    with CallRecorder({path}) as recorder:
        code["matmul"](torch.randn(3, 4), torch.randn(4, 2))
    assert recorder.calls == [("__getitem__", path, 2), ("matmul", path, 3)]
    assert recorder.count == 2


def test_a_computed_getattr_is_caught(student):
    code, path = student("""
        import torch
        def matmul(a, b):
            return getattr(torch, "mat" + "mul")(a, b)
        """)
    with CallRecorder({path}) as recorder:
        code["matmul"](torch.randn(3, 4), torch.randn(4, 2))
    assert recorder.calls == [("matmul", path, 3)]
    assert traced_violations("1.6", recorder.calls) == [Violation("1.6", "torch.matmul", 3, "forbidden")]


def test_a_helper_functions_call_is_attributed_to_the_helpers_line(student):
    code, path = student("""
        import torch
        def _row(r, b):
            return torch.einsum("k,kj->j", r, b)

        def matmul(a, b):
            return torch.stack([_row(r, b) for r in a])
        """)
    with CallRecorder({path}) as recorder:
        code["matmul"](torch.randn(2, 4), torch.randn(4, 3))
    assert ("einsum", path, 3) in recorder.calls
    assert recorder.times[("einsum", path, 3)] == 2
    assert [v.line for v in traced_violations("1.6", recorder.calls)] == [3]


def test_calls_made_by_grader_code_are_not_the_students(student):
    grader = grader_code("""
        import torch
        def lin(x, w, b):  # a stand-in
            return torch.einsum("ik,kj->ij", x, w) + b

        def scenario(function, *args):
            return function(*args).detach().clone()
        """)
    code, path = student("""
        def model(x, w, b):
            return lin(x, w, b).clamp_min(0.)
        """, "l02_fully_connected.py")
    code["lin"] = grader["lin"]
    with CallRecorder({path}) as recorder:
        grader["scenario"](code["model"], torch.randn(2, 4), torch.randn(4, 3), torch.zeros(3))
    assert recorder.calls == [("clamp_min", path, 2)]


def test_kaiming_normal_is_recorded_however_it_is_imported(student):
    code, path = student("""
        import torch
        from torch.nn import init
        from torch.nn.init import kaiming_normal_ as k

        def kaiming_torch(n_in, n_out):
            w = torch.zeros(n_in, n_out)
            init.kaiming_normal_(w, mode="fan_out")
            return w

        def aliased(n_in, n_out):
            return k(torch.zeros(n_in, n_out), mode="fan_out")
        """, "l02_fully_connected.py")
    with CallRecorder({path}) as recorder:
        code["kaiming_torch"](8, 4)
        code["aliased"](8, 4)
    names = {(name, line) for name, _, line in recorder.calls}
    assert {("torch.nn.init.kaiming_normal_", 7), ("torch.nn.init.kaiming_normal_", 11)} <= names
    assert traced_violations("2.6", recorder.calls) == []
    assert {v.line for v in traced_violations("2.3", recorder.calls)} == {7, 11}


BROADCASTING = """
    import torch
    def matmul(a, b):
        ar, ac = a.shape
        br, bc = b.shape
        c = torch.zeros(ar, bc)
        for i in range(ar):
            c[i] = (a[i].unsqueeze(-1) * b).sum(dim=0)
        return c

    def elementwise(a, b):
        c = torch.zeros(a.shape[0], b.shape[1])
        for i in range(a.shape[0]):
            for j in range(b.shape[1]):
                c[i, j] = (a[i, :] * b[:, j]).sum()
        return c

    def einsum(a, b):
        return torch.einsum("ik,kj->ij", a, b)
    """


def count(path: str, function, rows: int, inner: int, columns: int) -> int:
    with CallRecorder({path}) as recorder:
        function(torch.randn(rows, inner), torch.randn(inner, columns))
    return recorder.count


def test_broadcasting_work_grows_with_rows_and_not_with_columns(student):
    code, path = student(BROADCASTING)
    small, more_rows, more_columns = (count(path, code["matmul"], *size)
                                      for size in [(5, 10, 20), (50, 10, 20), (5, 10, 200)])
    assert more_columns == small
    assert more_rows - small == 45 * 5  # five calls a row: a[i], unsqueeze, *, sum, c[i] =


def test_elementwise_work_grows_with_rows_times_columns(student):
    code, path = student(BROADCASTING)
    small, more_columns = (count(path, code["elementwise"], *size) for size in [(5, 10, 20), (5, 10, 40)])
    assert more_columns - small >= 5 * 20 * 4


def test_einsum_work_is_the_same_at_every_size(student):
    code, path = student(BROADCASTING)
    counts = {count(path, code["einsum"], *size) for size in [(5, 10, 20), (50, 10, 20), (5, 100, 200)]}
    assert counts == {1}


def test_an_outer_product_weight_gradient_shows_its_batch_sized_temporary(student):
    code, path = student("""
        def outer(inp, g):
            return (inp.unsqueeze(-1) * g.unsqueeze(1)).sum(0)

        def fast(inp, g):
            return inp.t() @ g
        """, "l02_fully_connected.py")
    batch, n_in, n_out = 64, 32, 16
    inp, g = torch.randn(batch, n_in), torch.randn(batch, n_out)
    for name, expected in [("outer", batch * n_in * n_out), ("fast", n_in * n_out)]:
        with CallRecorder({path}) as recorder:
            code[name](inp, g)
        assert recorder.max_numel == expected, name


def test_ignored_lines_are_left_out(student):
    code, path = student("""
        def lin(x, w, b):  # an earlier task's cell: its `@` is allowed there
            return x @ w + b

        def model(x, w, b):
            return lin(x, w, b).clamp_min(0.) @ w.t()
        """, "l02_fully_connected.py")
    asked = []

    def earlier_cells(filename, line):
        asked.append((filename, line))
        return filename == path and line <= 2

    with CallRecorder({path}, ignore=earlier_cells) as recorder:
        for _ in range(3):
            code["model"](torch.randn(2, 4), torch.randn(4, 3), torch.zeros(3))
    assert recorder.calls == [("clamp_min", path, 5), ("t", path, 5), ("matmul", path, 5)]
    assert recorder.count == 9
    assert sorted(set(asked)) == asked == [(path, 2), (path, 5)]  # asked once per line


def test_the_previous_profile_function_keeps_working_and_comes_back(student):
    code, path = student("""
        from torch.nn import init
        def kaiming_torch(w):
            return init.kaiming_normal_(w, mode="fan_out")
        """, "l02_fully_connected.py")
    events = []

    def previous(frame, event, arg):
        events.append(event)

    sys.setprofile(previous)
    try:
        with CallRecorder({path}) as recorder:
            code["kaiming_torch"](torch.zeros(4, 3))
        assert sys.getprofile() is previous
    finally:
        sys.setprofile(None)
    assert "call" in events
    assert ("torch.nn.init.kaiming_normal_", path, 3) in recorder.calls


def test_state_is_restored_when_the_code_raises(student):
    code, path = student("""
        def matmul(a, b):
            return a @ b
        """)
    before = sys.getprofile()
    with pytest.raises(RuntimeError):
        with CallRecorder({path}) as recorder:
            code["matmul"](torch.randn(3, 4), torch.randn(3, 4))  # mismatched inner sizes
    assert recorder.calls == [("matmul", path, 2)]
    assert sys.getprofile() is before
    assert not torch._C._is_torch_function_mode_enabled()


def test_nested_recorders_each_see_the_students_calls_and_not_each_other(student):
    code, path = student("""
        from torch.nn import init
        def first(a, b):
            return a @ b
        def second(w):
            return init.kaiming_normal_(w)
        """)
    before = sys.getprofile()
    with CallRecorder({path}) as outer:
        with CallRecorder({path}) as inner:
            code["first"](torch.randn(3, 4), torch.randn(4, 2))
            code["second"](torch.zeros(4, 3))
        code["first"](torch.randn(3, 4), torch.randn(4, 2))
    assert ("matmul", path, 3) in inner.calls and ("torch.nn.init.kaiming_normal_", path, 5) in inner.calls
    assert outer.calls == inner.calls
    assert outer.times[("matmul", path, 3)] == 2 and inner.times[("matmul", path, 3)] == 1
    assert outer.max_numel == inner.max_numel == 12
    assert not torch._C._is_torch_function_mode_enabled() and sys.getprofile() is before


def test_autograd_is_recorded_and_a_layers_own_backward_is_not(student):
    code, path = student("""
        class Mse:
            def __call__(self, inp, targ):
                self.inp, self.targ = inp, targ
                return (inp.squeeze(-1) - targ).pow(2).mean()

            def backward(self):
                leaf = self.inp.detach().requires_grad_()
                (leaf.squeeze(-1) - self.targ).pow(2).mean().backward()
                self.inp.g = leaf.grad

        def model(inp, targ):
            loss = Mse()
            out = loss(inp, targ)
            loss.backward()
            return out
        """, "l02_fully_connected.py")
    with CallRecorder({path}) as recorder:
        code["model"](torch.randn(5, 1), torch.randn(5))
    names = {(name, line) for name, _, line in recorder.calls}
    assert {("requires_grad_", 7), ("backward", 8), (".grad", 9)} <= names
    assert "backward" not in {name for name, _, line in recorder.calls if line == 14}
    assert [(v.call, v.line) for v in traced_violations("2.13", recorder.calls)] == [
        ("Tensor.requires_grad_", 7), ("Tensor.backward", 8), (".grad", 9)]


def test_the_summary_is_plain_data(student):
    code, path = student(BROADCASTING)
    with CallRecorder({path}) as recorder:
        code["matmul"](torch.randn(2, 3), torch.randn(3, 4))
    summary = json.loads(json.dumps(recorder.summary()))
    assert summary["count"] == 3 + 2 * 5 and summary["max_numel"] == 12
    assert ["unsqueeze", path, 7] in summary["calls"]
    assert summary["by_name"]["unsqueeze"] == 2


@pytest.mark.parametrize("call, expected", [
    (lambda a: a @ a, "matmul"),
    (lambda a: torch.Tensor.__rmatmul__(a, a), "matmul"),
    (lambda a: torch.linalg.norm(a), "linalg.norm"),
    (lambda a: torch.nn.functional.threshold(a, 0., 0.), "threshold"),
    (lambda a: a.grad, ".grad"),
    (lambda a: torch.tensor([1.], requires_grad=True), ".requires_grad"),
])
def test_call_names(call, expected):
    with CallRecorder({call.__code__.co_filename}) as recorder:  # this file plays the student
        call(torch.randn(3, 3))
    assert expected in {name for name, _, _ in recorder.calls}
    assert call_name(torch.Tensor.__rmatmul__) == "matmul"


# --- end to end: the lessons run through the grader's own scenarios ----------------------

def _plans() -> dict[str, tuple[str, dict]]:
    """One scenario per task with a rule, as the grader would run it."""
    torch.manual_seed(0)
    x, targ, out = torch.randn(6, 5), torch.randn(6), torch.randn(6, 1)
    w1, b1, w2, b2 = torch.randn(5, 4), torch.zeros(4), torch.randn(4, 1), torch.zeros(1)
    matmul = ("call", {"name": "matmul", "args": [torch.randn(3, 4), torch.randn(4, 2)]})
    model = ("layer", {"cls": "Model", "init_args": [w1, b1, w2, b2], "call_args": [x, targ],
                       "standins": ["Lin", "Relu", "Mse"]})
    layers = ("layer", {"cls": "Lin", "init_args": [w1, b1], "call_args": [x], "out_g": torch.randn(6, 4)})
    return {
        "1.2": matmul, "1.4": matmul, "1.6": matmul, "1.7": matmul,
        "1.3": ("call", {"name": "frobenius", "args": [torch.randn(3, 3)]}),
        "2.3": ("call", {"name": "he_init", "args": [8, 4]}),
        "2.4": ("call", {"name": "relu", "args": [torch.randn(5)]}),
        "2.6": ("call", {"name": "kaiming_torch", "args": [8, 4]}),
        "2.8": ("call", {"name": "mse", "args": [out, targ]}),
        "2.9": ("call", {"name": "mse_grad", "args": [out, targ]}),
        "2.10": ("call", {"name": "relu_grad", "args": [x, x.clamp_min(0.)], "grads": {1: x}}),
        "2.11": ("call", {"name": "lin_grad", "args": [x, x @ w1 + b1, w1, b1], "grads": {1: x[:, :4]}}),
        "2.12": ("call", {"name": "forward_and_backward", "args": [x, targ, w1, b1, w2, b2],
                          "standins": ["lin", "relu", "mse", "mse_grad", "relu_grad", "lin_grad"]}),
        "2.13": layers, "2.14": model, "2.16": model, "2.17": layers,
        "2.15": ("module_protocol", {"x": torch.randn(3), "y": torch.randn(3), "out_g": torch.randn(3)}),
    }


def _trace_task(text: str, lesson: str, task: str, monkeypatch) -> list:
    """Run the lesson up to the task's cell as the child would, trace the task's scenario."""
    for stem in ("l00_exports", "l01_matmul"):  # what the lessons import
        if stem != lesson:
            module = type(sys)(stem)
            source = (ROOT / "solutions" / f"{stem}.py").read_text()
            exec(compile(cells.runnable(ast.parse(source)), f"{stem}.py", "exec"), module.__dict__)
            monkeypatch.setitem(sys.modules, stem, module)
    first, last = task_cells(text)[task]
    tree = cells.runnable(ast.parse(text))
    tree.body = [s for s in tree.body if s.lineno <= last]
    namespace = {"__name__": lesson}
    exec(compile(tree, f"{lesson}.py", "exec"), namespace)
    name, kwargs = _plans()[task]
    outside_the_cell = lambda filename, line: not first <= line <= last  # noqa: E731
    with CallRecorder({f"{lesson}.py"}, ignore=outside_the_cell) as recorder:
        scenarios.SCENARIOS[name](namespace, **kwargs)
    return recorder.calls


@pytest.mark.parametrize("task", sorted(_plans(), key=lambda t: tuple(map(int, t.split(".")))))
def test_the_reference_breaks_no_rule_when_traced(task, monkeypatch):
    lesson = TASKS[task].lesson
    text = (ROOT / "solutions" / f"{lesson}.py").read_text()
    calls = _trace_task(text, lesson, task, monkeypatch)
    assert traced_violations(task, calls) == []
    # the stand-ins (grader code, using autograd) and the grader's Module subclasses do
    # all the torch work of these: none of it is the student's
    assert bool(calls) == (task not in {"2.12", "2.14", "2.15", "2.16"}), calls


def _fails(path: Path) -> str:
    return re.search(r"^# fails: ([\d.]+)", path.read_text(), re.MULTILINE)[1]


@pytest.mark.parametrize("path", [p for p in sorted((ROOT / "tests" / "mutants").glob("*.py"))
                                  if _fails(p) in _plans()], ids=lambda p: p.stem)
def test_a_mutant_breaks_a_rule_when_traced_exactly_when_named_for_it(path, monkeypatch):
    mutant, task = path.read_text(), _fails(path)
    lesson = TASKS[task].lesson
    lines = (ROOT / "solutions" / f"{lesson}.py").read_text().split("\n")
    first, last = task_cells("\n".join(lines))[task]
    lines[first:last] = mutant.split("\n") + [""]
    calls = _trace_task("\n".join(lines), lesson, task, monkeypatch)
    assert bool(traced_violations(task, calls)) == (path.stem in TRACED_RULE_MUTANTS), calls
