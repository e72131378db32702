"""Scenarios of lesson 06's hooks: ``Hook``, ``append_stats``, ``ListContainer``, ``Hooks``.

Graded on the grader's own small model: what a forward pass made each hook record (the
hook, the module, its output), and how many hooks each module still holds after
``remove()``, the ``with`` block or ``del hooks[i]``. Plain data only comes back.
"""
from __future__ import annotations

import types

import torch

from autograder.callback_scenarios import _staged
from autograder.scenarios import _install, _lookup, plain, scenario

def _noting(notes):
    def f(hook, module, inp, out):
        if len(notes) < 64:
            notes.append([hook, module, out.detach().clone()])
    return f


def _sequential(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))


def _registered(model) -> list[int]:
    return [len(m._forward_hooks) for m in model]


@scenario
def hook_case(namespace, *, seed, x):
    children, cls = _lookup(namespace, "children"), _lookup(namespace, "Hook")
    model = _sequential(seed)
    report: dict = {}
    notes: list = []

    def listing():
        got = children(model)
        report["children"] = type(got) is list and len(got) == 3 and all(a is b for a, b in zip(got, model))

    def hooked():
        with torch.set_grad_enabled(False):
            report["expected"] = plain(model[0](x))
        hook = cls(model[0], _noting(notes))
        report["registered"] = _registered(model)
        model(x)
        report["notes"] = [[n[0] is hook, n[1] is model[0], n[2]] for n in notes]
        hook.remove()
        report["removed"] = _registered(model)
        model(x)
        report["calls_after_remove"] = len(notes) - len(report["notes"])

    return _staged(report, [("children(model)", listing), ("Hook(model[0], f) and a forward pass", hooked)])


@scenario
def append_stats_case(namespace, *, outs):
    function = _lookup(namespace, "append_stats")
    hook = types.SimpleNamespace()
    report: dict = {}

    def calls():
        module = torch.nn.Identity()
        for out in outs:
            leaf = out.clone().requires_grad_()
            function(hook, module, (leaf,), leaf * 1)
        stats = getattr(hook, "stats", None)
        report["has_stats"] = stats is not None
        if stats is not None:
            means, stds = list(stats[0])[:64], list(stats[1])[:64]
            report.update(means=[plain(m) for m in means], stds=[plain(s) for s in stds],
                          graph=any(getattr(v, "requires_grad", False) for v in means + stds))

    return _staged(report, [("append_stats(hook, module, inp, outp)", calls)])


@scenario
def list_container_case(namespace):
    cls = _lookup(namespace, "ListContainer")
    report: dict = {"own_standins": _install(namespace, ["listify"])}

    def index():
        t = cls(list(range(10)))
        report.update(length=plain(len(t)), int=plain(t[3]), negative=plain(t[-1]), slice=plain(t[2:5]),
                      indices=plain(t[[1, 2, 7]]), mask=plain(t[[False] * 8 + [True, False]]),
                      iterated=plain(list(t)))

    def edit():
        t = cls(list(range(5)))
        t[1] = 10
        del t[0]
        report.update(edited=plain(list(t)), single=plain(list(cls(7))), empty=plain(len(cls(None))))

    def shown():
        report["reprs"] = [repr(cls(list(range(10)))), repr(cls(list(range(100))))]

    return _staged(report, [("indexing", index), ("setting and deleting items", edit), ("repr", shown)])


@scenario
def hooks_case(namespace, *, seed, x):
    cls = _lookup(namespace, "Hooks")
    report: dict = {"own_standins": _install(namespace, ["Hook"])}
    model = _sequential(seed)
    notes: list = []

    def context():
        with cls(model, _noting(notes)) as hooks:
            report.update(length=plain(len(hooks)), inside=_registered(model))
            model(x)
        report["after"] = _registered(model)
        report["notes"] = [[i for i, m in enumerate(model) if m is n[1]][0:1] + [n[2]] for n in notes]
        expected, out = [], x
        with torch.set_grad_enabled(False):
            for module in model:
                out = module(out)
                expected.append(out)
        report["expected"] = expected

    def raising():
        try:
            with cls(model, _noting([])):
                raise KeyError("inside the with block")
        except KeyError:
            pass
        report["after_raise"] = _registered(model)

    def removing():
        hooks = cls(model, _noting([]))
        del hooks[0]
        report["after_del"] = _registered(model)
        report["length_after_del"] = plain(len(hooks))
        hooks.remove()
        report["after_remove"] = _registered(model)

    return _staged(report, [("with Hooks(model, f) as hooks", context), ("an exception in the with block", raising),
                            ("del hooks[0] and remove()", removing)])
