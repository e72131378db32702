"""The rules of the game: calls a task must not make, and calls it must make.

CURRICULUM.md's "rules" column as one table, and the static half of enforcing it
(DESIGN.md, "Rules of the game"): the trusted grader reads the submission's source as
an AST and never runs it. The dynamic half is ``tracing``, run in the child;
``traced_violations`` judges what it recorded with the same table.

A rule names calls by pattern:

- ``"@"``: the matrix-multiply operator, ``a @ b`` and ``c @= b``;
- dotted, ``"torch.nn.init"``: that module or function and everything under it;
- bare, ``"einsum"``: that name anywhere in a reference, however it was reached:
  ``torch.einsum``, ``a.einsum``, ``T.einsum`` after ``import torch as T``,
  ``e`` after ``from torch import einsum as e`` or ``e = torch.einsum``
  (``source_names`` resolves the names).
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from autograder.reading import cells
from autograder.reading.source_names import DEFS, Chain, Names, getattr_literal, literal, references


@dataclass(frozen=True)
class Rule:
    forbidden: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    topic: str = ""  # why, for the student: "this task is about broadcasting"
    # judge the source before running the task: its forbidden calls are slow to run (the
    # first torch.optim optimizer imports torch._dynamo, seconds that would time a request out)
    source_first: bool = False


# NOTE: `outer` stays allowed: it is an elementwise product, and a matmul built from
# outer products loops over the inner dimension, which the speed check catches.
_MATMUL = ("@", "matmul", "__matmul__", "__rmatmul__", "__imatmul__", "imatmul", "mm", "bmm",
           "mv", "addmm", "addmv", "addbmm", "baddbmm", "einsum", "dot", "vdot", "inner",
           "tensordot", "multi_dot", "chain_matmul", "vecdot", "linear")
_NORM = ("norm", "frobenius_norm", "vector_norm", "matrix_norm", "nuclear_norm", "dist")
_RELU = ("relu", "relu_", "relu6", "ReLU", "threshold", "threshold_", "hardtanh", "hardtanh_")
_AUTOGRAD = ("torch.autograd", "torch.func", "functorch", "backward", "grad", "requires_grad",
             "requires_grad_", "retain_grad", "enable_grad")
_BY_HAND = Rule(_AUTOGRAD, topic="this task is about computing gradients by hand")
_SOFTMAX = ("log_softmax", "softmax", "logsumexp", "cross_entropy", "nll_loss", "LogSoftmax", "Softmax",
            "CrossEntropyLoss", "NLLLoss")
_CROSS_ENTROPY = Rule(_SOFTMAX, topic="this task is about building cross entropy yourself")
# NOTE: 3.5 may use PyTorch's logsumexp: the student built it in 3.4 (the course does so).
_AFTER_LOGSUMEXP = Rule(tuple(c for c in _SOFTMAX if c != "logsumexp"), topic=_CROSS_ENTROPY.topic)
_OWN_OPTIMIZER = Rule(("torch.optim",), topic="this task is about updating the parameters yourself",
                      source_first=True)
_OWN_SCHEDULE = Rule(("torch.optim.lr_scheduler",), topic="this task is about scheduling the hyperparameters "
                     "yourself", source_first=True)

# a library's hooks, or PyTorch's global ones, instead of a module's own register_forward_hook
_OWN_HOOKS = Rule(("fastai", "fastcore", "torchvision", "register_module_forward_hook"),
                  topic="this task is about building hooks yourself on a module's register_forward_hook")

RULES: dict[str, Rule] = {
    "1.2": Rule(_MATMUL, topic="this task is about three plain Python loops"),
    "1.3": Rule(_NORM, topic="this task is about elementwise operations"),
    "1.4": Rule(_MATMUL, topic="this task is about elementwise operations"),
    "1.6": Rule(_MATMUL, topic="this task is about broadcasting"),
    "1.7": Rule(tuple(c for c in _MATMUL if c != "einsum"), ("einsum",), "this task is about einsum"),
    "2.3": Rule(("torch.nn.init", "kaiming_normal_", "kaiming_uniform_"),
                topic="this task is about writing He initialization yourself"),
    "2.4": Rule(_RELU, ("clamp_min",), "this task is about writing relu yourself, with clamp_min"),
    "2.6": Rule(required=("kaiming_normal_",), topic="this task is about using PyTorch's own init"),
    "2.8": Rule(("mse_loss", "MSELoss"), topic="this task is about writing mse yourself"),
    **{f"2.{n}": _BY_HAND for n in range(9, 18)},
    **{f"3.{n}": _CROSS_ENTROPY for n in range(1, 5)},
    "3.5": _AFTER_LOGSUMEXP,
    "3.7": _OWN_OPTIMIZER,
    "3.9": _OWN_OPTIMIZER,
    "3.13": Rule(("torch.utils.data",), topic="this task is about writing the data loader yourself"),
    # the two callbacks that set hyperparameters as training goes; PyTorch's own schedulers do that
    "5.8": _OWN_SCHEDULE,
    "5.10": _OWN_SCHEDULE,
    "6.2": Rule(("Flatten", "flatten", "Unflatten"), topic="this task is about writing flatten yourself, with view"),
    "6.8": _OWN_HOOKS,
    "6.11": _OWN_HOOKS,
}

_REQUIRED_NAMES = {"einsum": "torch.einsum", "clamp_min": "Tensor.clamp_min",
                   "kaiming_normal_": "torch.nn.init.kaiming_normal_"}
_A_CALL = re.compile(r"^[A-Za-z_][\w.]*$")


@dataclass(frozen=True)
class Violation:
    task: str
    call: str  # as the student would recognise it: "torch.einsum", "Tensor.mm", ".grad", "@"
    line: int
    kind: str  # "forbidden" | "required"

    def message(self, function: str, filename: str) -> str:
        topic = RULES[self.task].topic if self.task in RULES else ""
        if self.kind == "required":
            text = f"{function} must call {self.call}"
        elif self.call == "@":
            text = f"{function} must not use the @ operator ({filename}, line {self.line})"
        else:
            verb = "call" if _A_CALL.match(self.call) else "use"
            text = f"{function} must not {verb} {self.call} ({filename}, line {self.line})"
        return f"{text}; {topic}" if topic else text


def _match(pattern: str, chain: Chain) -> int | None:
    """Index of the part of ``chain`` that ``pattern`` names, or None."""
    if "." in pattern:
        parts = tuple(pattern.split("."))
        return len(chain) - 1 if chain[:len(parts)] == parts else None
    return next((i for i, part in enumerate(chain) if i and part == pattern), None)


def _satisfies(required: str, chain: Chain) -> bool:
    """The in-place twin counts too: ``x.clamp_min_(0.)`` uses clamp_min."""
    return _match(required, chain) is not None or _match(required + "_", chain) is not None


def _display(chain: Chain, index: int, called: bool) -> str:
    if not chain[0].startswith("?"):
        return ".".join(chain[:index + 1])
    return f"Tensor.{chain[index]}" if called and index == len(chain) - 1 else f".{chain[index]}"


_TENSOR_METHODS = {"sum", "mean", "pow", "sqrt", "exp", "log", "abs", "square", "clamp", "clamp_min",
                   "squeeze", "unsqueeze", "view", "reshape", "float", "double", "t", "mul", "add",
                   "sub", "div", "neg", "prod", "std", "var", "max", "min", "norm", "matmul", "mm",
                   "clone", "detach", "flatten", "relu", "sigmoid", "tanh", "logsumexp"}


def _clearly_a_tensor(node: ast.AST, names: Names) -> bool:
    """``(x * 2)``, ``out.sum()``, ``torch.mean(x)``: not a student's own layer object."""
    if isinstance(node, ast.BinOp):
        return True
    if isinstance(node, ast.Call):
        chain = names.chain(node.func) or ()
        return chain[:1] == ("torch",) or (chain[:1] != () and chain[-1] in _TENSOR_METHODS
                                           and isinstance(node.func, ast.Attribute))
    return False


def _found(pattern: str, node: ast.AST, chain: Chain, names: Names) -> int | None:
    index = _match(pattern, chain)
    if (pattern == "backward" and index is not None and chain[0].startswith("?")
            and not (isinstance(node, ast.Attribute) and _clearly_a_tensor(node.value, names))):
        return None  # `self.loss.backward()` is the student's own layer; tracing sees the rest
    return index


def static_violations(task_id: str, definitions: list[ast.AST], module: ast.Module) -> list[Violation]:
    """What the task's definitions forbiddenly use or fail to use, read from the source."""
    rule = RULES.get(task_id)
    if rule is None:
        return []
    names = Names(cells.runnable(module).body, local=list(definitions))
    found: list[Violation] = []
    seen_required: set[str] = set()
    for node, chain, called in references(definitions, names):
        for pattern in rule.forbidden:
            index = _found(pattern, node, chain, names)
            if index is not None:
                line = node.end_lineno if isinstance(node, ast.Attribute) else node.lineno
                found.append(Violation(task_id, _display(chain, index, called), line, "forbidden"))
                break
        seen_required |= {p for p in rule.required if _satisfies(p, chain)}
    for node in (n for tree in definitions for n in ast.walk(tree)):
        if "@" in rule.forbidden and isinstance(node, (ast.BinOp, ast.AugAssign)) \
                and isinstance(node.op, ast.MatMult):
            found.append(Violation(task_id, "@", node.lineno, "forbidden"))
        if isinstance(node, ast.keyword) and node.arg in rule.forbidden:  # requires_grad=True
            found.append(Violation(task_id, f"{node.arg}=", node.lineno, "forbidden"))
    line = min((d.lineno for d in definitions), default=0)
    found += [Violation(task_id, _REQUIRED_NAMES.get(p, p), line, "required")
              for p in rule.required if p not in seen_required]
    return sorted(set(found), key=lambda v: (v.line, v.call))


_TENSOR_ONLY = {"backward", "requires_grad_", "retain_grad"}  # methods with no torch.* twin


def traced_violations(task_id: str, calls) -> list[Violation]:
    """The same judgement on what ``tracing`` recorded: rows of ``[name, filename, line]``."""
    rule = RULES.get(task_id)
    if rule is None:
        return []
    found, seen_required = set(), set()
    for name, _filename, line in calls:
        parts = tuple(name.lstrip(".").split("."))  # "matmul", "linalg.norm", ".grad"
        if name.startswith(".") or name in _TENSOR_ONLY:
            chain, called = ("?", *parts), not name.startswith(".")  # Tensor.backward, .grad
        else:
            chain, called = parts if parts[0] == "torch" else ("torch", *parts), True
        for pattern in rule.forbidden:
            index = _match(pattern, chain)
            if index is not None:
                found.add(Violation(task_id, _display(chain, index, called), line, "forbidden"))
                break
        seen_required |= {p for p in rule.required if _satisfies(p, chain)}
    found |= {Violation(task_id, _REQUIRED_NAMES.get(p, p), 0, "required")
              for p in rule.required if p not in seen_required}
    return sorted(found, key=lambda v: (v.line, v.call))


# Suspicious constructs: not violations, but worth an instructor's look.
_WATCHED_USES = ("torch.overrides", "torch._C", "torch.utils._python_dispatch", "sys.modules",
                 "sys.setprofile", "sys.settrace", "sys._getframe", "sys.meta_path",
                 "threading.setprofile", "threading.settrace", "gc.get_objects", "gc.get_referrers",
                 "gc.get_referents", "inspect.stack", "inspect.currentframe", "os.kill", "os.killpg",
                 "os._exit", "os.system", "os.fork", "os.popen", "os.execv", "os.execve", "os.execvp",
                 "builtins", "ctypes", "subprocess", "socket", "signal", "multiprocessing")
_WATCHED_MODULES = ("torch.overrides", "torch._C", "autograder",
                    *(p for p in _WATCHED_USES if "." not in p))
_INTERNALS = {"f_back", "f_globals", "f_locals", "tb_frame", "gi_frame", "__globals__", "__code__",
              "__subclasses__", "__builtins__"}


def _path_prefix(node) -> str:
    """The literal start of a path argument: ``"/etc/passwd"``, or ``"/proc/"`` of an f-string."""
    if isinstance(node, ast.JoinedStr) and node.values:
        node = node.values[0]
    return node.value if literal(node) else ""


def _suspicious_call(node: ast.Call, names: Names) -> str | None:
    function = names.chain(node.func) or ()
    first = node.args[0] if node.args else None
    target = names.chain(first) if first is not None else None
    imported = bool(target) and not target[0].startswith("?")
    if function in (("?__import__",), ("importlib", "import_module")) and not literal(first):
        return "imports a module by a computed name"
    if function in (("?eval",), ("?exec",), ("?compile",)):
        return f"calls {function[0][1:]}"
    if imported and function in (("?setattr",), ("?delattr",)):  # setattr(torch, "allclose", f)
        name = f".{node.args[1].value}" if len(node.args) > 1 and literal(node.args[1]) else ""
        return f"assigns to {'.'.join(target)}{name or '.<computed>'}"
    if imported and target[0] == "torch" and function == ("?getattr",) and not getattr_literal(node):
        return f"gets an attribute of {'.'.join(target)} by a computed name"
    path = _path_prefix(first)
    if function == ("?open",) and (path.startswith(("/", "~", "\\")) or ".." in path):
        return f"opens {path}"
    return None


# Modules whose patching could change a grade (torch, the grader, the clock, Python itself);
# plot settings such as ``mpl.rcParams[...] = ...`` are not flagged.
_PATCHABLE = {"torch", "autograder", "builtins", "sys", "time", "timeit", "operator", "math",
              "functools", "os", "random", "gc", "inspect", "importlib", "threading", "types",
              "numpy", "ctypes", "signal", "socket", "subprocess", "fastai", "exp"}


def _assigned(node: ast.AST, names: Names):
    """Attributes of imported modules that could change a grade, assigned to or deleted."""
    if not isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
        return
    verb = "deletes" if isinstance(node, ast.Delete) else "assigns to"
    for target in getattr(node, "targets", None) or [node.target]:
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            chain = names.chain(target.value if isinstance(target, ast.Subscript) else target)
            if chain and not chain[0].startswith("?") and chain[0] in _PATCHABLE:
                yield f"{verb} {'.'.join(chain)}"


def suspicious_constructs(module: ast.Module) -> list[str]:
    """Flags for the instructor, ``"line 12: assigns to torch.allclose"``, in line order.

    Only statements the grader runs are read (``cells.runs``): an exploration cell's
    ``if __name__ == "__main__":`` block never runs, whatever it holds.
    """
    module = cells.runnable(module)
    names = Names(module.body, local=[s for s in module.body if isinstance(s, DEFS)])
    flags: dict[int, list[str]] = {}
    for node in ast.walk(module):
        found = list(_assigned(node, names))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imported = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"imports {name}" for name in imported
                      if any(name == m or name.startswith(m + ".") for m in _WATCHED_MODULES)]
        elif isinstance(node, ast.Call) and (what := _suspicious_call(node, names)):
            found.append(what)
        for what in found:
            flags.setdefault(node.lineno, []).append(what)
    for node, chain, called in references([module], names):
        uses = any("." in p and _match(p, chain) is not None for p in _WATCHED_USES)
        uses = uses or (called and chain[0] in _WATCHED_MODULES)  # ctypes.CDLL(...), not socket.AF_INET
        inside = [part for part in (chain[0].lstrip("?"), *chain[1:]) if part in _INTERNALS]
        what = ".".join(chain) if uses else f".{inside[0]}" if inside else None
        line = flags.get(node.lineno, [])
        if what and not any(flag.endswith(" " + what) for flag in line):  # `assigns to sys.modules`
            flags[node.lineno] = [*line, f"{'calls' if called and uses else 'uses'} {what}"]
    return [f"line {line}: {what}" for line in sorted(flags) for what in sorted(set(flags[line]))]
