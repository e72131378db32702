"""Scenarios: small functions that exercise one task inside the child.

They receive the task's namespace (as it stood right after the task's cell ran) and
inputs drawn by the grader, call the student's code, and return plain data only. They
never judge: the grader compares what comes back with its own oracle.
"""
from __future__ import annotations

import builtins
import contextlib
import functools
import itertools
import operator
import traceback
import types

import torch

from autograder import standins
from autograder.reading import importer

SCENARIOS = {}
OPERATORS = {name: getattr(operator, name) for name in ("eq", "ne", "lt", "le", "gt", "ge")}
_SUBMISSION_FILES: set[str] = set()  # filled by the child: frames from these are the student's


class MissingName(Exception):
    """The task's namespace has no such name."""


def scenario(function):
    SCENARIOS[function.__name__] = function
    return function


def plain(value, depth=0):
    """Reduce a value to what may cross the boundary; describe everything else."""
    if type(value) in (torch.Tensor, torch.nn.Parameter):
        return value.detach().clone()
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) in (tuple, list) and depth < 3 and len(value) <= 64:
        return [plain(v, depth + 1) for v in value]
    if type(value) in (map, zip, types.GeneratorType) and depth < 3:  # `return map(tensor, ...)`
        return plain(list(itertools.islice(value, 65)), depth)
    described = {"__type__": f"{type(value).__module__}.{type(value).__qualname__}"}
    if hasattr(value, "shape"):
        described["shape"] = str(tuple(value.shape))
    return described


def describe_exception(exc: BaseException) -> dict:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in _SUBMISSION_FILES]
    where = f"{frames[-1].filename}, line {frames[-1].lineno}" if frames else ""
    text = "".join(traceback.format_list(frames[-5:]))
    return {"type": type(exc).__name__, "message": str(exc)[:500], "where": where, "traceback": text}


def _materialize(value):
    if isinstance(value, dict) and "__operator__" in value:
        return OPERATORS[value["__operator__"]]
    if isinstance(value, torch.Tensor):
        return value.clone()
    return value


def _lookup(namespace: dict, name: str):
    if name not in namespace:
        raise MissingName(name)
    return namespace[name]


def _gradient_of(value):
    return plain(getattr(value, "g", None)) if isinstance(value, torch.Tensor) else None


def _aliases(result, args) -> list[bool]:
    if not isinstance(result, torch.Tensor):
        return [False] * len(args)
    pointer = result.untyped_storage().data_ptr()
    return [isinstance(a, torch.Tensor) and a.untyped_storage().data_ptr() == pointer for a in args]


_given: dict = {}  # stand-ins the grader sent with the request being served (``given``)
GIVEN_FILENAME = "<the grader's stand-ins>"


@contextlib.contextmanager
def given(source: str):
    """Stand-ins the grader sent as source with this one request (working answers, sent only
    in instructor grading, only to the task that builds on them): compiled into a namespace
    of their own, forgotten when the request ends. No file, module or cache holds them."""
    global _given
    namespace: dict = {"__name__": "grader_standins", "__builtins__": builtins}
    if source:
        exec(compile(source, GIVEN_FILENAME, "exec"), namespace)  # noqa: S102 - the grader's own code
    _given = namespace
    try:
        yield
    finally:
        _given = {}


def _grader_standin(name: str):
    """The grader's own stand-in (``standins``), else one sent with this request; None where
    none was sent (``autograder check``, a student release)."""
    if hasattr(standins, name):
        return getattr(standins, name)
    return _given.get(name) if not name.startswith("__") else None


def standin(namespace: dict, name: str) -> tuple[object, bool]:
    """``(stand-in, own)`` for ``name``: the grader's (``_grader_standin``), else the
    student's own definition, with ``own`` True so the grader can say so."""
    found = _grader_standin(name)
    return (found, False) if found is not None else (_lookup(namespace, name), True)


def _install(namespace: dict, names, param_globals=None) -> list[str]:
    """Stand-ins by name (``"Relu"``) or under another name (``["relu", "Relu"]``).

    Returns the names for which the student's own definition stays in place (see
    ``standin``); scenarios report them as ``own_standins``.
    """
    own: list[str] = []
    for entry in names:
        target, source = (entry, entry) if isinstance(entry, str) else entry
        found = _grader_standin(source)
        if found is not None:
            namespace[target] = found
        elif source not in own:
            own.append(source)  # the student's own stays (or its absence shows when it is called)
    namespace.update(param_globals or {})
    return own


def _spy(namespace: dict, name: str | None) -> list:
    """Count calls to ``namespace[name]`` made while the task's code runs."""
    calls: list = []
    if name and callable(namespace.get(name)):
        original = namespace[name]

        @functools.wraps(original)
        def spy(*args, **kwargs):
            calls.append(1)
            return original(*args, **kwargs)

        namespace[name] = spy
    return calls


@scenario
def call(namespace, *, name, args=(), kwargs=None, grads=None, standins=(), param_names=(),
         spy=None, download=None):
    """Call ``name(*args)``; ``grads`` sets ``.g`` on arguments first (``{index: tensor}``).

    ``param_names`` lets a function written the course's way, reading some of its
    inputs from globals (``forward_and_backward(inp, targ)``), still be graded: the
    arguments it does not take become globals under those names.
    """
    function = _lookup(namespace, name)
    args = [_materialize(a) for a in args]
    for index, gradient in (grads or {}).items():
        args[int(index)].g = gradient.clone()
    call_args, extra = _fit_arguments(function, args, param_names)
    own = _install(namespace, standins, extra)
    importer.offer_download(download)  # the course's get_data() downloads: it gets this file
    original = namespace.get(spy) if spy else None
    spied = _spy(namespace, spy)
    if original is not None and getattr(function, "func", None) is original:
        spied.append(1)  # test_eq = partial(test, ...) is built on test too
    result, raised = None, None
    try:
        result = function(*call_args, **{k: _materialize(v) for k, v in (kwargs or {}).items()})
    except BaseException as exc:  # noqa: BLE001 - SystemExit from student code is an answer too
        raised = describe_exception(exc)
    return {"result": plain(result), "raised": raised, "args": [plain(a) for a in args],
            "grads": [_gradient_of(a) for a in args], "aliases": _aliases(result, args),
            "spy_calls": len(spied), "globals_set": _read_of(function, extra),
            "own_standins": own}


_NOT_REPORTED = {"path"}  # get_data() that downloads: its path is not a global it reads


def _read_of(function, extra: dict) -> list[str]:
    """The globals set for a call that the function (or the class's methods) really read:
    a ``Model()`` that builds its own weights reads none of them."""
    codes = []
    if isinstance(function, type):
        codes = [getattr(v, "__code__", None) for v in vars(function).values()]
    else:
        codes = [getattr(getattr(function, "func", function), "__code__", None)]
    names: set[str] = set()
    while codes:
        code = codes.pop()
        if code is None:
            continue
        names.update(code.co_names)
        codes += [c for c in code.co_consts if hasattr(c, "co_names")]
    return [n for n in extra if n in names and n not in _NOT_REPORTED]


def _fit_arguments(function, args, param_names):
    import inspect

    if not param_names:
        return args, {}
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return args, {}
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in parameters) or len(positional) >= len(args):
        return args, {}
    # a parameter with a default is the student's own (``lr=0.5``), not the next of the kit's inputs
    taken = len([p for p in positional if p.default is p.empty])
    return args[:taken], dict(zip(param_names[taken:], args[taken:]))


@scenario
def layer(namespace, *, cls, init_args=(), call_args=(), out_g=None, standins=(), param_names=()):
    """``obj = cls(*init_args); out = obj(*call_args); out.g = out_g; obj.backward()``.

    ``param_names``: a class written the course's way, whose ``__init__`` takes none of the
    weights (the second ``Model()``), reads them from globals of those names.
    """
    layer_class = _lookup(namespace, cls)
    init_args = [_materialize(a) for a in init_args]
    call_args = [_materialize(a) for a in call_args]
    construct_args, extra = init_args, {}
    if param_names:
        construct_args, extra = _fit_arguments(getattr(layer_class, "__init__", layer_class),
                                               [None, *init_args], ["self", *param_names])
        construct_args = construct_args[1:]
    own = _install(namespace, standins, extra)
    stage, out, raised = "construct", None, None
    try:
        instance = layer_class(*construct_args)
        stage = "call"
        out = instance(*call_args)
        stage = "backward"
        if out_g is not None:
            out.g = out_g.clone()
        instance.backward()
        stage = "done"
    except BaseException as exc:  # noqa: BLE001
        raised = describe_exception(exc)
    return {"out": plain(out), "raised": raised, "stage": stage, "globals_set": _read_of(layer_class, extra),
            "init_grads": [_gradient_of(a) for a in init_args],
            "call_grads": [_gradient_of(a) for a in call_args],
            "call_args": [plain(a) for a in call_args], "own_standins": own}


@scenario
def module_protocol(namespace, *, x, y, out_g):
    """Run the grader's own tiny ``Module`` subclasses through the student's ``Module``."""
    module = _lookup(namespace, "Module")
    stage, report = "subclass", {"raised": None}
    try:
        class Scale(module):
            def forward(self, inp):
                return inp * 3

            def bwd(self, out, inp):
                inp.g = out.g * 3

        class Add(module):
            def forward(self, a, b):
                return a + b

            def bwd(self, out, a, b):
                a.g, b.g = out.g.clone(), out.g.clone()

        stage = "call"
        scale, a, b = Scale(), x.clone(), y.clone()
        out = scale(a)
        report.update(out=plain(out), kept_out=getattr(scale, "out", None) is out,
                      kept_args=list(map(id, getattr(scale, "args", ()))) == [id(a)])
        stage = "backward"
        out.g = out_g.clone()
        scale.backward()
        report["x_g"] = _gradient_of(a)
        stage = "two arguments"
        add, a2 = Add(), x.clone()
        total = add(a2, b)
        total.g = out_g.clone()
        add.backward()
        report.update(sum=plain(total), a_g=_gradient_of(a2), b_g=_gradient_of(b))
        stage = "done"
    except BaseException as exc:  # noqa: BLE001
        report["raised"] = describe_exception(exc)
    report["stage"] = stage
    try:
        module()(x.clone())
        report["base_raises"] = False
    except BaseException:  # noqa: BLE001
        report["base_raises"] = True
    return report


def _timed_call(namespace, name, args):
    namespace[name](*args)


def _timed_layer(namespace, name, args):
    """One forward and backward of ``name(w, b)`` on ``x`` with upstream gradient ``g``."""
    w, b, x, g = args
    layer = namespace[name](w, b)
    out = layer(x)
    out.g = g
    layer.backward()


TIMED = {"call": _timed_call, "layer": _timed_layer}


def draw_inputs(shapes, calls, seed) -> list:
    """A timed round's inputs, identical wherever they are drawn from the same seed."""
    generator = torch.Generator().manual_seed(seed)
    return [[torch.randn(*shape, generator=generator) for shape in shapes] for _ in range(calls)]


def timed_round(namespace, kind, name, inputs):
    """The work the speed check times, the same in the child and for the reference."""
    run = TIMED[kind]
    for args in inputs:
        run(namespace, name, args)


from autograder import (  # noqa: E402,F401  (registration)
    anneal_scenarios, callback_scenarios, cnn_scenarios, hook_scenarios, training_scenarios,
)
