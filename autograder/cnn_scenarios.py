"""Scenarios of lesson 06: a CNN from PyTorch's layers, batch transforms, GeneralRelu and init.

Models are the student's, built in the child and run on ``learnable``'s images; what
comes back is shapes, parameters and outputs, never a verdict. The GPU callback runs on
the CPU: the grader's model and batch note what was moved, and how. The hooks' scenarios
are in ``hook_scenarios``.
"""
from __future__ import annotations

import types

import torch
import torch.nn.functional as F

from autograder import learnable
from autograder.callback_scenarios import _staged
from autograder.scenarios import _install, _lookup, plain, scenario
from autograder.training_scenarios import CountingSGD

MAX_LAYERS = 32


def _sizes(value) -> list | None:
    return list(value.shape) if isinstance(value, torch.Tensor) else None


def _layer_shapes(model, x) -> list:
    """The output shape of each layer of ``model`` (iterated as a Sequential) on ``x``."""
    shapes = []
    with torch.set_grad_enabled(False):
        for module in list(model)[:MAX_LAYERS]:
            x = module(x)
            shapes.append(_sizes(x))
    return shapes


def _parameters(model) -> list:
    return [p.detach().clone() for p in list(model.parameters())[:64]]


def _data(c):
    return types.SimpleNamespace(c=c)


@scenario
def normalize_to_case(namespace, *, train, valid):
    function = _lookup(namespace, "normalize_to")
    report: dict = {"own_standins": _install(namespace, ["normalize"])}
    inputs = (train.clone(), valid.clone())

    def run():
        result = function(*inputs)
        report.update(result=plain(result), untouched=[torch.equal(a, b) for a, b in zip(inputs, (train, valid))])

    return _staged(report, [("normalize_to(train, valid)", run)])


@scenario
def lambda_flatten(namespace, *, x, images):
    cls, flatten = _lookup(namespace, "Lambda"), _lookup(namespace, "flatten")
    report: dict = {}

    def wrap():
        layer = cls(lambda t: t * 3 + 1)
        report.update(module=isinstance(layer, torch.nn.Module), out=plain(layer(x)),
                      parameters=len(list(layer.parameters())) if isinstance(layer, torch.nn.Module) else None)
        chain = torch.nn.Sequential(cls(torch.neg), torch.nn.Identity())
        report["in_sequential"] = plain(chain(x))

    def flat():
        report["flat"] = [plain(flatten(t)) for t in images]

    return _staged(report, [("Lambda", wrap), ("flatten", flat)])


@scenario
def cnn_first(namespace, *, seed, c, bs):
    """Build ``get_cnn_model(data)``; the output shape of each layer; then ten SGD steps on
    one batch of images. Returns the parameters before and after."""
    function = _lookup(namespace, "get_cnn_model")
    report: dict = {"own_standins": _install(namespace, ["Lambda", "flatten", "mnist_resize"])}
    x, y = learnable.draw_images(seed, learnable.CNN_BATCH, c)
    state: dict = {}

    def build():
        torch.manual_seed(seed)
        state["model"] = model = function(_data(c))
        report["before"] = _parameters(model)

    def shapes():
        report["shapes"] = _layer_shapes(state["model"], x[:bs])

    def train():
        model = state["model"]
        opt = CountingSGD(model.parameters(), lr=learnable.CNN_LR)
        for _ in range(learnable.CNN_STEPS):
            F.cross_entropy(model(x), y).backward()
            opt.step()
            opt.zero_grad()
        report["after"] = _parameters(model)

    return _staged(report, [("get_cnn_model(data)", build), ("a forward pass, layer by layer", shapes),
                            ("training", train)])


class _Moved(torch.Tensor):
    """A batch tensor that notes how it is moved: ``.cuda()`` or ``.to(<a cuda device>)``."""

    def cuda(self, device=None, non_blocking=False, **kwargs):  # noqa: ARG002
        return _moved(self, "cuda()")

    def to(self, *args, **kwargs):
        targets = [a for a in (*args, *kwargs.values()) if isinstance(a, (str, torch.device))]
        if any(torch.device(t).type == "cuda" for t in targets):
            return _moved(self, "to(cuda)")
        return self

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        with torch._C.DisableTorchFunctionSubclass():
            return func(*args, **(kwargs or {}))


_MOVES: dict[int, str] = {}


def _moved(tensor, how):
    out = tensor.as_subclass(torch.Tensor).clone()
    _MOVES[id(out)] = how
    return out


class _MovableModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer, self.moves = torch.nn.Linear(2, 2), []

    def cuda(self, device=None):
        self.moves.append("cuda()")
        return self

    def to(self, *args, **kwargs):
        targets = [a for a in (*args, *kwargs.values()) if isinstance(a, (str, torch.device))]
        self.moves.append("to(cuda)" if any(torch.device(t).type == "cuda" for t in targets) else "to")
        return self


@scenario
def cuda_callback(namespace, *, x, y):
    cls = _lookup(namespace, "CudaCallback")
    model = _MovableModel()
    xb, yb = x.clone().as_subclass(_Moved), y.clone().as_subclass(_Moved)
    run = types.SimpleNamespace(model=model, xb=xb, yb=yb)
    report: dict = {}
    state: dict = {}

    def build():
        try:
            state["callback"] = cls()
        except TypeError:  # the course's first version takes the device
            state["callback"] = cls(torch.device("cuda", 0))
        state["callback"].set_runner(run)

    def begin_fit():
        state["callback"].begin_fit()
        report["model_moves"] = list(model.moves)

    def begin_batch():
        _MOVES.clear()
        state["callback"].begin_batch()
        report.update(xb=_MOVES.get(id(run.xb)), yb=_MOVES.get(id(run.yb)),
                      x_values=plain(run.xb.as_subclass(torch.Tensor)),
                      y_values=plain(run.yb.as_subclass(torch.Tensor)))

    return _staged(report, [("CudaCallback()", build), ("begin_fit", begin_fit), ("begin_batch", begin_batch)])


@scenario
def batch_transform(namespace, *, x, y, rows):
    cls, view_tfm = _lookup(namespace, "BatchTransformXCallback"), _lookup(namespace, "view_tfm")
    run = types.SimpleNamespace(xb=x.clone(), yb=y.clone())
    report: dict = {}

    def transform():
        callback = cls(lambda t: t * 2 - 1)
        report["order"] = plain(getattr(callback, "_order", None))
        callback.set_runner(run)
        callback.begin_batch()
        report.update(xb=plain(run.xb), yb=plain(run.yb))

    def views():
        report["views"] = [plain(view_tfm(*size)(rows.reshape(rows.shape[0], -1)))
                           for size in [(1, 28, 28), (4, 14, 14), (784,)]]

    return _staged(report, [("the callback's begin_batch", transform), ("view_tfm", views)])


@scenario
def cnn_nfs(namespace, *, seed, nfs, c, bs):
    """``conv2d`` alone; then the model of ``get_cnn_model(data, nfs)`` on images."""
    conv2d, function = _lookup(namespace, "conv2d"), _lookup(namespace, "get_cnn_model")
    report: dict = {"own_standins": _install(namespace, ["Lambda", "flatten"])}
    x, _ = learnable.draw_images(seed, bs, c)
    x = x.reshape(bs, 1, 28, 28)

    def block():
        torch.manual_seed(seed)
        layer = conv2d(3, 5, 5, 1)
        inp = torch.randn(2, 3, 9, 9)
        out = layer(inp)
        report["block"] = {"out": plain(out), "inp": inp, "parameters": _parameters(layer),
                           "default": _sizes(conv2d(3, 4)(inp))}

    def model():
        torch.manual_seed(seed)
        layers = _lookup(namespace, "get_cnn_layers")(_data(c), list(nfs))
        report["layers_list"] = type(layers) is list
        built = function(_data(c), list(nfs))
        report.update(shapes=_layer_shapes(built, x), parameters=[list(p.shape) for p in built.parameters()])

    return _staged(report, [("conv2d", block), ("get_cnn_model(data, nfs)", model)])


@scenario
def general_relu_case(namespace, *, x, cases):
    cls = _lookup(namespace, "GeneralRelu")
    report: dict = {"outs": []}

    def run():
        for kwargs in cases:
            inp = x.clone()
            layer = cls(**kwargs)
            report["module"] = isinstance(layer, torch.nn.Module)
            report["outs"].append([plain(layer(inp)), torch.equal(inp, x)])

    return _staged(report, [("GeneralRelu(...)(x)", run)])


@scenario
def cnn_layer_case(namespace, *, seed, nfs, c, bs, kwargs):
    conv_layer, function = _lookup(namespace, "conv_layer"), _lookup(namespace, "get_cnn_model")
    report: dict = {"own_standins": _install(namespace, ["GeneralRelu", "Lambda", "flatten"])}
    x, _ = learnable.draw_images(seed, bs, c)
    x = x.reshape(bs, 1, 28, 28)

    def block():
        torch.manual_seed(seed)
        layer = conv_layer(3, 5, 5, 1, **kwargs)
        inp = torch.randn(2, 3, 9, 9)
        report["block"] = {"out": plain(layer(inp)), "inp": inp, "parameters": _parameters(layer)}

    def layers():
        calls = []

        def layer(ni, nf, ks=3, **given):
            calls.append([ni, nf, ks, sorted(given.items())])
            return torch.nn.Sequential(torch.nn.Conv2d(ni, nf, ks, padding=ks // 2, stride=2), torch.nn.ReLU())

        _lookup(namespace, "get_cnn_layers")(_data(c), list(nfs), layer, **kwargs)
        report["calls"] = [[a, b, k, [[name, plain(v)] for name, v in g]] for a, b, k, g in calls]

    def model():
        torch.manual_seed(seed)
        built = function(_data(c), list(nfs), conv_layer, **kwargs)
        report.update(shapes=_layer_shapes(built, x), parameters=[list(p.shape) for p in built.parameters()])

    return _staged(report, [("conv_layer", block), ("get_cnn_layers(data, nfs, layer, **kwargs)", layers),
                            ("get_cnn_model(data, nfs, conv_layer, **kwargs)", model)])


def _blocks(channels, size=3):
    blocks = [torch.nn.Sequential(torch.nn.Conv2d(a, b, size, padding=1), torch.nn.ReLU())
              for a, b in zip(channels, channels[1:])]
    return torch.nn.Sequential(*blocks, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                               torch.nn.Linear(channels[-1], 4))


@scenario
def init_cnn_case(namespace, *, seed, channels):
    function = _lookup(namespace, "init_cnn")
    report: dict = {}

    def run(uniform):
        torch.manual_seed(seed)
        model = _blocks(channels)
        linear = model[-1].weight.detach().clone()
        if uniform is None:
            function(model)
        else:
            function(model, uniform=uniform)
        convs = [block[0] for block in model if isinstance(block, torch.nn.Sequential)]
        return {"weights": [c.weight.detach().clone() for c in convs],
                "biases": [c.bias.detach().clone() for c in convs],
                "linear_kept": torch.equal(linear, model[-1].weight)}

    def normal():
        report["normal"] = run(None)

    def uniform():
        report["uniform"] = run(True)

    return _staged(report, [("init_cnn(model)", normal), ("init_cnn(model, uniform=True)", uniform)])
