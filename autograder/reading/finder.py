"""Which definition *is* a task: ladders of definitions matched by what the code is.

Several tasks are successive versions of one name: the five ``matmul`` of lesson 01
(three loops, two loops, broadcasting, einsum, PyTorch), the three ``log_softmax`` of
lesson 03, the ``fit``, ``DataLoader`` and ``Callback`` that lessons 03 and 04 write
again. Such a *ladder* has one rung per version, and a rung may be a task or not (the
2nd ``fit`` is not graded). Students do not always write one definition per rung: they
fix a bug by writing a function again, skip a rung, write only the final version, or
name the versions ``mat_mul_1 … mat_mul_4``. So each rung says what its code looks like
(``evidence``), and the definitions are laid on the rungs in stream order, the layout
that agrees best with what each definition is:

- a definition is *final* on a rung (graded for it), *replaced* by a later one on the
  same rung (a fix), or *set aside* (not this ladder: a later lesson's own ``fit``);
- a final definition scores ``MATCH`` where its code is that rung's, ``MISMATCH`` where it
  is another rung's, 0 where nothing can be told; a task rung that gets a final definition
  adds ``COVER``. So the course's ladder (one definition per rung) maps rung by rung, a
  version whose code cannot be told stays on its place, and a definition whose code is
  plainly an earlier rung's is that rung's fix (the later one counts), not the next rung;
- a replaced definition costs ``MISMATCH`` where its code is another rung's; setting aside
  a definition under the kit's name costs ``SET_ASIDE`` (under another name, nothing).

Nothing here runs code: evidence is read from the syntax tree.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import lru_cache

MATCH, MISMATCH, COVER, SET_ASIDE = 2, -3, 2, -1


def squash(name: str) -> str:
    """``Mat_Mul_2`` -> ``matmul``: letters only, lower case."""
    return re.sub(r"[^a-z]", "", name.lower())


# ---- what a definition's code is ---------------------------------------------------------

def _loop_depth(node: ast.AST) -> int:
    """The deepest nest of ``for``/``while`` loops and comprehensions in a function."""
    def depth(n: ast.AST) -> int:
        own = 0
        if isinstance(n, (ast.For, ast.While, ast.AsyncFor)):
            own = 1
        elif isinstance(n, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            own = len(n.generators)
        inner = max((depth(c) for c in ast.iter_child_nodes(n)
                     if not isinstance(c, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))), default=0)
        return own + inner
    return max((depth(s) for s in getattr(node, "body", [])), default=0)


def _called(node: ast.AST) -> set[str]:
    """Last parts of the names called or attributes read: ``torch.einsum(...)`` -> ``einsum``."""
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Attribute):
            names.add(n.attr)
        elif isinstance(n, ast.Name):
            names.add(n.id)
    return names


def _ops(node: ast.AST) -> set[type]:
    return {type(n.op) for n in ast.walk(node) if isinstance(n, ast.BinOp)}


def params(node: ast.AST) -> tuple[str, ...]:
    """A function's parameters, without ``self``/``cls`` of a method; a class's ``__init__``'s."""
    if isinstance(node, ast.ClassDef):
        init = next((s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
        return params(init)[1:] if init is not None else ()
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return ()
    return tuple(a.arg for a in node.args.posonlyargs + node.args.args)


def raises_not_implemented(node: ast.AST) -> bool:
    """A stub: a function (or every method of a class) whose body only raises NotImplementedError."""
    if isinstance(node, ast.ClassDef):
        methods = [s for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
        return bool(methods) and all(raises_not_implemented(m) for m in methods)
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    body = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    return len(body) == 1 and isinstance(body[0], ast.Raise) and "NotImplementedError" in ast.unparse(body[0])


def _matmul_rung(node) -> int | None:
    """1 three loops, 2 two loops, 3 one loop (broadcasting), 4 einsum, 5 PyTorch's matmul."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or raises_not_implemented(node):
        return None
    depth, called = _loop_depth(node), _called(node)
    if depth >= 3:
        return 1
    if depth == 2:
        return 2
    if depth == 1:
        return 3
    if "einsum" in called:
        return 4
    if ast.MatMult in _ops(node) or called & {"matmul", "mm"}:
        return 5
    return None


def _log_softmax_rung(node) -> int | None:
    """1 the log of a quotient, 2 ``x - log(sum(exp(x)))``, 3 through ``logsumexp``."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or raises_not_implemented(node):
        return None
    called, ops = _called(node), _ops(node)
    if "logsumexp" in called:
        return 3
    if "exp" in called and ast.Div in ops:
        return 1
    if "exp" in called and ast.Sub in ops:
        return 2
    return None


def _fit_rung(node) -> int | None:
    """Told apart by what they take: 1 (…, lr, x, y, bs), 2 (…, opt, train_dl), 3 (…, valid_dl)."""
    names = params(node)
    if not names or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    if any("valid" in n for n in names):
        return 3
    if "lr" in names or "bs" in names:
        return 1
    if any("dl" in n or "loader" in n for n in names):
        return 2
    return 0  # another fit (lesson 04's takes a learner): on no rung of lesson 03's ladder


def _dataloader_rung(node) -> int | None:
    """1 ``DataLoader(ds, bs)``, 2 ``DataLoader(ds, sampler, collate_fn)``."""
    names = params(node)
    if not isinstance(node, ast.ClassDef) or not names:
        return None
    if any("sampl" in n or "collate" in n for n in names):
        return 2
    if "bs" in names or any("batch" in n for n in names):
        return 1
    return None


def _callback_rung(node) -> int | None:
    """1 a callback of ``begin_fit(learn)``; 2 the runner's (``set_runner``, falls back to it)."""
    if not isinstance(node, ast.ClassDef):
        return None
    methods = {s.name for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if methods & {"set_runner", "__getattr__", "name"}:
        return 2
    if methods:
        return 1
    return None


def _module_class_rung(node) -> int | None:
    """Lesson 02's layers after ``class Module`` subclass it; an ``nn.Module`` one is another lesson's."""
    if not isinstance(node, ast.ClassDef) or not node.bases:
        return None
    if any(isinstance(b, ast.Name) and b.id == "Module" for b in node.bases):
        return None  # rung 1 or 2: order tells
    if any(isinstance(b, ast.Attribute) and b.attr == "Module" for b in node.bases):
        return 0
    return None


def _cnn_model_rung(node) -> int | None:
    """Lesson 06's ``get_cnn_model``: 1 ``(data)``, 2 ``(data, nfs)``, 3 ``(data, nfs, layer, **kwargs)``."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or raises_not_implemented(node):
        return None
    count = len(params(node))
    return 3 if count >= 3 or node.args.kwarg else count or None


def _cnn_layers_rung(node) -> int | None:
    """Lesson 06's ``get_cnn_layers``: 1 ``(data, nfs)``, 2 ``(data, nfs, layer, **kwargs)``."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or raises_not_implemented(node):
        return None
    return 2 if len(params(node)) >= 3 or node.args.kwarg else 1


def _append_stats_rung(node) -> int | None:
    """Lesson 06's ``append_stats``: 1 into lists by layer index, 2 onto the hook (``hook.stats``)."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or raises_not_implemented(node):
        return None
    return 2 if "stats" in _called(node) else 1


# kit name -> the rung a definition's code is (None: cannot tell; 0: on no rung of this ladder)
EVIDENCE = {
    "matmul": _matmul_rung,
    "log_softmax": _log_softmax_rung,
    "fit": _fit_rung,
    "DataLoader": _dataloader_rung,
    "Callback": _callback_rung,
    "get_cnn_model": _cnn_model_rung,
    "get_cnn_layers": _cnn_layers_rung,
    "append_stats": _append_stats_rung,
}
AFTER_MODULE_EVIDENCE = _module_class_rung
# what each rung of a ladder is, for notes
RUNG_WORDS = {
    "matmul": {1: "three loops", 2: "two loops and an elementwise product", 3: "one loop and broadcasting",
               4: "einsum", 5: "PyTorch's matmul"},
    "log_softmax": {1: "the log of a quotient", 2: "x minus the log of the sum of exponentials",
                    3: "logsumexp"},
}


def evidence(kit_name: str, phase: str, node) -> int | None:
    if node is None:
        return None
    if kit_name in EVIDENCE:
        return EVIDENCE[kit_name](node)
    if phase == "after Module":
        return AFTER_MODULE_EVIDENCE(node)
    return None


# ---- laying definitions on the rungs ---------------------------------------------------------

@dataclass
class Layout:
    final: dict[int, object] = field(default_factory=dict)  # rung -> the definition graded for it
    replaced: dict[int, list] = field(default_factory=dict)  # rung -> earlier definitions it replaced
    set_aside: list = field(default_factory=list)
    score: float = 0.0


def lay(candidates: list, rungs: int, task_rungs: set[int], what, kit_named) -> Layout:
    """Lay ``candidates`` (in stream order) on rungs ``1..rungs`` as the module docstring says.

    ``what(candidate)`` is the rung its code is (or None/0); ``kit_named(candidate)`` whether
    it carries the kit's name (setting it aside costs). Ties keep the stream's order: fewer
    replacements and set-asides win.
    """
    kinds = [what(c) for c in candidates]
    n = len(candidates)

    def final_score(i: int, rung: int) -> float:
        kind = kinds[i]
        base = 0 if kind is None else MATCH if kind == rung else MISMATCH
        return base + (COVER if rung in task_rungs else 0)

    def replaced_score(i: int, rung: int) -> float:
        kind = kinds[i]
        return MISMATCH if kind is not None and kind != rung else 0

    @lru_cache(maxsize=None)
    def best(i: int, rung: int, pending: int) -> tuple[float, int, tuple]:
        """From candidate i on, the last laid on ``rung`` being ``pending`` (-1: none yet).

        Returns (score, -changes, moves) with moves a tuple of (candidate, rung or 0)."""
        if i == n:
            return (final_score(pending, rung) if pending >= 0 else 0.0), 0, ()
        options = []
        # set aside
        cost = SET_ASIDE if kit_named(candidates[i]) else 0
        score, changes, moves = best(i + 1, rung, pending)
        options.append((score + cost, changes - 1, ((i, 0),) + moves))
        # on the same rung, replacing the pending one
        if pending >= 0:
            score, changes, moves = best(i + 1, rung, i)
            options.append((score + replaced_score(pending, rung), changes - 1, ((i, rung),) + moves))
        # on a higher rung
        closed = final_score(pending, rung) if pending >= 0 else 0.0
        for higher in range(rung + 1, rungs + 1):
            score, changes, moves = best(i + 1, higher, i)
            options.append((score + closed, changes, ((i, higher),) + moves))
        return max(options, key=lambda o: (o[0], o[1]))

    score, _, moves = best(0, 0, -1)
    layout = Layout(score=score)
    for i, rung in moves:
        if rung == 0:
            layout.set_aside.append(candidates[i])
            continue
        if rung in layout.final:
            layout.replaced.setdefault(rung, []).append(layout.final[rung])
        layout.final[rung] = candidates[i]
    return layout
