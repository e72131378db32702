"""The rules of the game, read from the source: forbidden calls caught, honest code passes.

Each case is a small lesson module; the task's definitions are its top-level ``def``
and ``class`` statements (or those named), as the grader passes them. Line numbers are
the module's own.
"""
from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest

from autograder.rules import RULES, Violation, static_violations, suspicious_constructs, traced_violations
from autograder.tasks import TASKS

ROOT = Path(__file__).parent.parent
_TASK_CELL = re.compile(r'^# %% task="(?P<task>[\d.]+)"')
_ANY_CELL = re.compile(r"^# ?%%")


def found(task: str, source: str, names: tuple[str, ...] = ()) -> list[tuple[str, int, str]]:
    module = ast.parse(textwrap.dedent(source).lstrip("\n"))  # line 1: the snippet's first line
    definitions = [n for n in module.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))
                   and (not names or n.name in names)]
    return [(v.call, v.line, v.kind) for v in static_violations(task, definitions, module)]


def task_cells(text: str) -> dict[str, tuple[int, int]]:
    """Task id -> (first line, last line) of its cell in a jupytext lesson."""
    lines = text.split("\n")
    starts = [i + 1 for i, line in enumerate(lines) if _ANY_CELL.match(line)] + [len(lines) + 1]
    cells = {}
    for start, end in zip(starts, starts[1:]):
        match = _TASK_CELL.match(lines[start - 1])
        if match:
            cells[match["task"]] = (start, end - 1)
    return cells


def definitions_in(module: ast.Module, first: int, last: int) -> list[ast.AST]:
    return [n for n in module.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Assign))
            and first <= n.lineno <= last]


# --- the reference solutions never break a rule --------------------------------------


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("l*.py")), ids=lambda p: p.stem)
def test_reference_solutions_break_no_rule(path):
    text = path.read_text()
    module = ast.parse(text)
    cells = task_cells(text)
    assert set(cells) == {t.id for t in TASKS.values() if t.lesson == path.stem}
    for task, (first, last) in cells.items():
        definitions = definitions_in(module, first, last)
        assert definitions, task
        assert static_violations(task, definitions, module) == [], task
    assert suspicious_constructs(module) == []


def test_every_rule_is_for_a_known_task():
    assert set(RULES) <= set(TASKS)
    assert all(rule.topic.startswith("this task is about ") for rule in RULES.values())


# --- lesson 01: matmul by hand ---------------------------------------------------------


def test_honest_broadcasting_matmul_passes():
    assert found("1.6", """
        import torch
        def matmul(a, b):
            c = torch.zeros(a.shape[0], b.shape[1])
            for i in range(a.shape[0]):
                c[i] = (a[i].unsqueeze(-1) * b).sum(dim=0)
            return c
        """) == []


@pytest.mark.parametrize("source, expected", [
    ("""
     from torch import einsum as e
     def matmul(a, b):
         return e("ik,kj->ij", a, b)
     """, [("torch.einsum", 3, "forbidden")]),
    ("""
     import torch as T
     def matmul(a, b):
         return T.matmul(a, b)
     """, [("torch.matmul", 3, "forbidden")]),
    ("""
     import torch
     mm = torch.matmul
     def matmul(a, b):
         c = torch.zeros(a.shape[0], b.shape[1])
         return mm(a, b)
     """, [("torch.matmul", 5, "forbidden")]),
    ("""
     def matmul(a, b):
         return a.mm(b)
     """, [("Tensor.mm", 2, "forbidden")]),
    ("""
     def matmul(a, b):
         c = a
         c @= b
         return a[0] @ b
     """, [("@", 3, "forbidden"), ("@", 4, "forbidden")]),
    ("""
     import torch
     def matmul(a, b):
         mm = getattr(torch, "matmul")
         return mm(a, b)
     """, [("torch.matmul", 3, "forbidden"), ("torch.matmul", 4, "forbidden")]),
    ("""
     import torch
     def matmul(a, b):
         return torch.Tensor.__matmul__(a, b) + b.T.__rmatmul__(a.T).T
     """, [("Tensor.__rmatmul__", 3, "forbidden"), ("torch.Tensor.__matmul__", 3, "forbidden")]),
    ("""
     from functools import partial
     import torch
     def matmul(a, b):
         dot = partial(torch.tensordot, dims=1)
         return dot(a, b)
     """, [("torch.tensordot", 4, "forbidden"), ("torch.tensordot", 5, "forbidden")]),
    ("""
     import numpy as np
     def matmul(a, b):
         return np.dot(a, b)
     """, [("numpy.dot", 3, "forbidden")]),
])
def test_forbidden_matmul_is_caught_however_it_is_reached(source, expected):
    assert found("1.6", source) == expected
    assert found("1.2", source) == expected
    assert found("1.4", source) == expected


def test_only_the_tasks_own_definitions_are_read():
    source = """
        def matmul(a, b):
            return (a[:, :, None] * b[None]).sum(1)

        def matmul(a, b):
            return a.matmul(b)
        """
    module = ast.parse(textwrap.dedent(source).lstrip("\n"))
    first, second = module.body
    assert static_violations("1.6", [first], module) == []
    assert static_violations("1.6", [second], module) == [Violation("1.6", "Tensor.matmul", 5, "forbidden")]


def test_a_students_own_helper_is_not_torchs():
    assert found("1.4", """
        import torch
        def dot(u, v):
            return (u * v).sum()
        def matmul(a, b):
            c = torch.zeros(a.shape[0], b.shape[1])
            for i in range(a.shape[0]):
                for j in range(b.shape[1]):
                    c[i, j] = dot(a[i], b[:, j])
            return c
        """) == []


def test_a_local_name_hides_a_module_alias_as_in_python():
    assert found("1.6", """
        import torch
        from torch import einsum as e
        def matmul(a, b):
            c = torch.zeros(a.shape[0], b.shape[1])
            for i, e in enumerate(a):
                c[i] = (e.unsqueeze(-1) * b).sum(0)
            e = c.t()
            return e.t()
        if __name__ == "__main__":
            dot = torch.dot  # an exploration cell: never runs in the grader
        """) == []


def test_a_helper_in_the_same_cell_is_read_too():
    assert found("1.6", """
        import torch
        def _row(a, b):
            return torch.einsum("k,kj->j", a, b)
        def matmul(a, b):
            return torch.stack([_row(r, b) for r in a])
        """) == [("torch.einsum", 3, "forbidden")]


def test_einsum_task_requires_einsum_and_forbids_matmul():
    honest = """
        import torch
        def matmul(a, b):
            return torch.einsum("ik,kj->ij", a, b)
        """
    aliased = """
        from torch import einsum
        def matmul(a, b):
            return einsum("ik,kj->ij", a, b)
        """
    assert found("1.7", honest) == found("1.7", aliased) == []
    assert found("1.7", """
        def matmul(a, b):
            return a @ b
        """) == [("torch.einsum", 1, "required"), ("@", 2, "forbidden")]


def test_frobenius_may_not_use_a_norm():
    assert found("1.3", """
        import torch
        def frobenius(a):
            return torch.linalg.norm(a) + a.norm() + torch.linalg.matrix_norm(a)
        """) == [("Tensor.norm", 3, "forbidden"), ("torch.linalg.matrix_norm", 3, "forbidden"),
                 ("torch.linalg.norm", 3, "forbidden")]
    assert found("1.3", """
        def frobenius(a):
            return (a * a).sum().sqrt()
        """) == []


# --- lesson 02: init, relu, mse, gradients by hand --------------------------------------


def test_he_init_may_not_use_torch_init():
    assert found("2.3", """
        import torch
        from torch.nn import init as I
        def he_init(n_in, n_out):
            w = torch.zeros(n_in, n_out)
            I.kaiming_normal_(w, mode="fan_out")
            torch.nn.init.normal_(w, std=0.1)
            return w
        """) == [("torch.nn.init.kaiming_normal_", 5, "forbidden"),
                 ("torch.nn.init.normal_", 6, "forbidden")]


@pytest.mark.parametrize("source", [
    """
    import torch
    from torch.nn import init
    def kaiming_torch(n_in, n_out):
        w = torch.zeros(n_in, n_out)
        init.kaiming_normal_(w, mode="fan_out")
        return w
    """,
    """
    import torch
    from torch.nn.init import kaiming_normal_ as k
    def kaiming_torch(n_in, n_out):
        return k(torch.zeros(n_in, n_out), mode="fan_out")
    """,
])
def test_kaiming_torch_requires_kaiming_normal(source):
    assert found("2.6", source) == []


def test_kaiming_torch_by_hand_misses_the_required_call():
    violations = static_violations("2.6", *_definitions_and_module("""
        import math, torch
        def kaiming_torch(n_in, n_out):
            return torch.randn(n_in, n_out) * math.sqrt(2 / n_in)
        """))
    assert violations == [Violation("2.6", "torch.nn.init.kaiming_normal_", 2, "required")]
    assert violations[0].message("kaiming_torch", "l02_fully_connected.py") == (
        "kaiming_torch must call torch.nn.init.kaiming_normal_; "
        "this task is about using PyTorch's own init")


def test_relu_requires_clamp_min_and_forbids_torchs_relu():
    assert found("2.4", """
        import torch.nn.functional as F
        def relu(x):
            return F.relu(x)
        """) == [("Tensor.clamp_min", 2, "required"), ("torch.nn.functional.relu", 3, "forbidden")]
    assert found("2.4", """
        import torch
        def relu(x):
            return torch.relu(x.clamp_min(0.))
        """) == [("torch.relu", 3, "forbidden")]
    assert found("2.4", """
        def relu(x):
            return x.clamp_min(0.)
        """) == []


def test_mse_may_not_use_mse_loss():
    assert found("2.8", """
        from torch.nn.functional import mse_loss
        def mse(output, targ):
            return mse_loss(output.squeeze(-1), targ)
        """) == [("torch.nn.functional.mse_loss", 3, "forbidden")]


LAYERS = """
    import torch

    class Lin:
        def __init__(self, w, b):
            self.w, self.b = w, b

        def __call__(self, inp):
            self.inp, self.out = inp, inp @ self.w + self.b
            return self.out

        def backward(self):
            self.inp.g = self.out.g @ self.w.t()
            self.w.g = self.inp.t() @ self.out.g
            self.b.g = self.out.g.sum(0)

    class Model:
        def __init__(self, layers, loss):
            self.layers, self.loss = layers, loss

        def backward(self):
            self.loss.backward()
            for l in reversed(self.layers):
                l.backward()
    """


def test_layers_with_their_own_backward_are_not_autograd():
    assert found("2.13", LAYERS) == []
    assert found("2.14", LAYERS) == []


def test_autograd_is_caught_in_gradient_tasks():
    assert found("2.13", """
        import torch
        class Mse:
            def backward(self):
                x = self.inp.detach().clone().requires_grad_()
                out = (x.squeeze(-1) - self.targ).pow(2).mean()
                out.sum().backward()
                (x * 2).backward(torch.ones_like(x))
                self.inp.g = x.grad
                t = torch.tensor([1.], requires_grad=True)
                self.loss.backward()
                return torch.autograd.grad(out, [x])
        """) == [("Tensor.requires_grad_", 4, "forbidden"), ("Tensor.backward", 6, "forbidden"),
                 ("Tensor.backward", 7, "forbidden"), (".grad", 8, "forbidden"),
                 ("requires_grad=", 9, "forbidden"), ("torch.autograd.grad", 11, "forbidden")]


def test_messages_name_the_call_the_file_the_line_and_the_topic():
    message = Violation("1.6", "torch.einsum", 42, "forbidden").message("matmul", "l01_matmul.py")
    assert message == ("matmul must not call torch.einsum (l01_matmul.py, line 42); "
                       "this task is about broadcasting")
    assert Violation("1.7", "torch.einsum", 3, "required").message("matmul", "l01_matmul.py") == (
        "matmul must call torch.einsum; this task is about einsum")
    assert Violation("1.2", "@", 7, "forbidden").message("matmul", "l01_matmul.py") == (
        "matmul must not use the @ operator (l01_matmul.py, line 7); "
        "this task is about three plain Python loops")
    assert Violation("2.9", ".grad", 5, "forbidden").message("mse_grad", "l02.py").startswith(
        "mse_grad must not use .grad (l02.py, line 5)")


# --- the mutants: every rule mutant caught by its task, no other mutant --------------

# mutants whose header says "# check: rules": right answers computed the forbidden way;
# "# static: invisible" marks those only the traced calls can show (a computed name),
# "# traced: invisible" those only the source shows (a branch no scenario takes)
RULE_MUTANTS = {path.stem for path in (ROOT / "tests" / "mutants").glob("*.py")
                if re.search(r"^# check: rules$", path.read_text(), re.MULTILINE)}
STATIC_RULE_MUTANTS = {name for name in RULE_MUTANTS
                       if "# static: invisible" not in (ROOT / "tests" / "mutants" / f"{name}.py").read_text()}


@pytest.mark.parametrize("path", sorted((ROOT / "tests" / "mutants").glob("*.py")), ids=lambda p: p.stem)
def test_mutants_break_a_rule_exactly_when_named_for_it(path):
    text = path.read_text()
    task = re.search(r"^# fails: ([\d.]+)", text, re.MULTILINE)[1]
    lesson = ROOT / "solutions" / f"{TASKS[task].lesson}.py"
    lines = lesson.read_text().split("\n")
    first, last = task_cells("\n".join(lines))[task]
    lines[first:last] = text.split("\n")  # the mutant takes the cell's place
    module = ast.parse("\n".join(lines))
    definitions = definitions_in(module, first + 1, first + len(text.split("\n")))
    violations = static_violations(task, definitions, module)
    assert bool(violations) == (path.stem in STATIC_RULE_MUTANTS), violations


# --- suspicious constructs --------------------------------------------------------------


def test_suspicious_constructs_are_flagged_with_their_lines():
    flags = suspicious_constructs(ast.parse(textwrap.dedent("""\
        import sys, builtins, ctypes
        import torch
        from torch.overrides import TorchFunctionMode
        torch.allclose = lambda a, b, **kwargs: True

        def matmul(a, b):
            torch.Tensor.__eq__ = lambda self, other: True
            setattr(torch, "equal", lambda a, b: True)
            sys.modules["torch"].matmul(a, b)
            name = "mat" + "mul"
            getattr(torch, name)(a, b)
            __import__(name)
            builtins.print = None
            sys.setprofile(None)
            frame = sys._getframe(1).f_back
            open("/etc/passwd")
            return torch._C._VariableFunctions.mm(a, b)

        if __name__ == "__main__":
            import subprocess  # an exploration cell: never runs in the grader
        """)))
    assert flags == [
        "line 1: imports builtins", "line 1: imports ctypes",
        "line 3: imports torch.overrides",
        "line 4: assigns to torch.allclose",
        "line 7: assigns to torch.Tensor.__eq__",
        "line 8: assigns to torch.equal",
        "line 9: uses sys.modules",
        "line 11: gets an attribute of torch by a computed name",
        "line 12: imports a module by a computed name",
        "line 13: assigns to builtins.print",
        "line 14: calls sys.setprofile",
        "line 15: calls sys._getframe", "line 15: uses .f_back",
        "line 16: opens /etc/passwd",
        "line 17: calls torch._C._VariableFunctions.mm",
    ]


def test_an_honest_lesson_raises_no_flag():
    assert suspicious_constructs(ast.parse(textwrap.dedent(LAYERS))) == []


# --- the same table judges what tracing recorded ------------------------------------------


def test_traced_calls_are_judged_by_the_same_table():
    rows = [["getitem", "l01.py", 3], ["einsum", "l01.py", 4], ["mul", "l01.py", 5]]
    assert traced_violations("1.6", rows) == [Violation("1.6", "torch.einsum", 4, "forbidden")]
    assert traced_violations("1.7", rows) == []
    assert traced_violations("1.3", [["linalg.norm", "l01.py", 9]]) == [
        Violation("1.3", "torch.linalg.norm", 9, "forbidden")]
    assert traced_violations("2.6", [["torch.nn.init.kaiming_normal_", "l02.py", 8]]) == []
    assert traced_violations("2.3", [["torch.nn.init.kaiming_normal_", "l02.py", 8]]) == [
        Violation("2.3", "torch.nn.init.kaiming_normal_", 8, "forbidden")]
    assert traced_violations("2.6", []) == [
        Violation("2.6", "torch.nn.init.kaiming_normal_", 0, "required")]
    assert traced_violations("2.9", [["backward", "l02.py", 3], [".grad", "l02.py", 4]]) == [
        Violation("2.9", "Tensor.backward", 3, "forbidden"), Violation("2.9", ".grad", 4, "forbidden")]


def _definitions_and_module(source: str):
    module = ast.parse(textwrap.dedent(source).lstrip("\n"))
    return [n for n in module.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))], module


def test_the_static_verdict_kept_for_a_stream_is_never_served_for_an_edited_one(tmp_path):
    """A process that stays (the check's server) keeps each task's static verdict per stream of
    cells: the same files again reuse it, an edited file (or a cell moved to another task) is read anew."""
    import types

    from autograder import enforcement
    from autograder.checking import CheckFailed
    from autograder.reading import submission

    solution = (ROOT / "solutions" / "l01_matmul.py").read_text()
    start, end = task_cells(solution)["1.3"]
    lines = solution.split("\n")
    honest = tmp_path / "honest" / "l01_matmul.py"
    cheat = tmp_path / "cheat" / "l01_matmul.py"
    for path, body in ((honest, lines[start:end]), (cheat, ["def frobenius(a):", "    return torch.linalg.norm(a)"])):
        path.parent.mkdir()
        path.write_text("\n".join(lines[:start] + body + lines[end:]))

    def verdict(path):
        loaded = submission.load(path, ["1.3"], {})
        context = types.SimpleNamespace(task=TASKS["1.3"])
        try:
            enforcement.check_source(context, loaded)
        except CheckFailed as failed:
            return failed.message
        return "fine"

    enforcement._STATIC.clear()
    assert verdict(honest) == "fine"
    assert "norm" in verdict(cheat)
    assert len(enforcement._STATIC) == 2
    assert verdict(honest) == "fine" and "norm" in verdict(cheat)  # kept
    assert len(enforcement._STATIC) == 2
    honest.write_text(cheat.read_text())  # the honest file edited to cheat: read anew
    assert "norm" in verdict(honest)
