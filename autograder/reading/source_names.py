"""What a name in submitted source refers to, read from the AST without running it.

``F.relu`` after ``import torch.nn.functional as F`` is the chain ``("torch", "nn",
"functional", "relu")``; ``e`` after ``from torch import einsum as e`` or ``e =
torch.einsum`` is ``("torch", "einsum")``; ``getattr(torch, "mm")`` is ``torch.mm``. A
chain whose root is not an import (a local variable, a call's result) starts with
``"?"``: ``a.mm`` is ``("?a", "mm")``, ``a.t().mm`` is ``("?", "mm")``. Used by
``rules`` for the static check and the instructor's flags.
"""
from __future__ import annotations

import ast
import re

Chain = tuple[str, ...]  # ("torch", "nn", "functional", "relu")
LESSON_MODULE = re.compile(r"^(exp(\.|$)|l?\d\d[a-z]?_)")  # the student's own earlier lessons
DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def getattr_literal(node: ast.AST) -> bool:
    """``getattr(x, "name")``: as good as ``x.name``."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "getattr" and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str))


class Names:
    """Names resolved through imports and aliasing assignments.

    ``statements``: the module-level statements that run (the bodies of their functions
    and classes are not read); ``local``: the definitions being read, whose own bindings
    (parameters, loop variables, plain assignments) hide a module-level alias of the same
    name, as they do in Python.
    """

    def __init__(self, statements: list[ast.stmt], local: list[ast.AST] = ()):
        self.aliases: dict[str, Chain] = {"torch": ("torch",)}
        local_nodes = [node for tree in local for node in ast.walk(tree)]
        nodes = [*_outside_definitions(statements), *local_nodes]
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self._bind(alias.asname, tuple(alias.name.split(".")))
                    else:
                        self._bind(alias.name.split(".")[0], (alias.name.split(".")[0],))
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self._bind(alias.asname or alias.name, (*node.module.split("."), alias.name))
        for _ in range(3):  # `T = torch` then `mm = T.matmul`, in any order
            for node in nodes:
                for target, value in assignments(node):
                    if self._alias(value):
                        self.aliases[target] = self._alias(value)
        local_aliases = {target for node in local_nodes for target, value in assignments(node)
                         if self._alias(value)}
        for node in nodes:
            if isinstance(node, DEFS):  # the student's own `def einsum` is not torch's
                self.aliases.pop(node.name, None)
        for node in local_nodes:
            name = node.id if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) \
                else node.arg if isinstance(node, ast.arg) else None
            if name not in local_aliases:
                self.aliases.pop(name, None)

    def _alias(self, value: ast.AST) -> Chain | None:
        chain = self.chain(unpartial(value))
        return chain if chain and not chain[0].startswith("?") else None

    def _bind(self, name: str, chain: Chain) -> None:
        if not LESSON_MODULE.match(chain[0]):
            self.aliases[name] = chain

    def chain(self, node: ast.AST) -> Chain | None:
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            return self.aliases.get(node.id, ("?" + node.id,))
        if isinstance(node, ast.Attribute):
            return (self.chain(node.value) or ("?",)) + (node.attr,)
        if getattr_literal(node):
            return (self.chain(node.args[0]) or ("?",)) + (node.args[1].value,)
        return None


def _outside_definitions(statements: list[ast.stmt]):
    """Every node of the statements, without going into function and class bodies."""
    stack = list(statements)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, DEFS):
            stack.extend(ast.iter_child_nodes(node))


def assignments(node: ast.AST):
    if isinstance(node, ast.Assign):
        pairs = [(target, node.value) for target in node.targets]
    elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
        pairs = [(node.target, node.value)]
    else:
        return
    for target, value in pairs:
        if isinstance(target, ast.Name):
            yield target.id, value
        elif (isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List))
              and len(target.elts) == len(value.elts)):
            yield from ((t.id, v) for t, v in zip(target.elts, value.elts) if isinstance(t, ast.Name))


def unpartial(value: ast.AST) -> ast.AST:
    if (isinstance(value, ast.Call) and value.args
            and ast.unparse(value.func) in ("partial", "functools.partial")):
        return value.args[0]
    return value


def references(trees: list[ast.AST], names: Names):
    """``(node, chain, called)`` for each whole reference in the trees, each once."""
    inner, called = set(), set()
    for node in (n for tree in trees for n in ast.walk(tree)):
        if isinstance(node, ast.Attribute):
            inner.add(id(node.value))
        elif isinstance(node, ast.Call):
            called.add(id(node.func))
            if getattr_literal(node):
                inner.add(id(node.args[0]))
    for node in (n for tree in trees for n in ast.walk(tree)):
        chain = None if id(node) in inner else names.chain(node)
        if chain:
            yield node, chain, id(node) in called


def literal(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)
