"""Scenarios of lesson 03: losses, training loops and the data pipeline.

Like every scenario, these run in the child, call the student's code and return plain
data only; the grader judges. Training runs on ``learnable``'s data set, drawn here from
the grader's seed, and comes back as the trained weights: the grader measures loss and
accuracy with them in its own process. The grader's own pieces (a loader, an
optimizer, a model that notes its mode) are small classes here, so that a task is
graded on its own code only.
"""
from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F

from autograder import learnable
from autograder.scenarios import _fit_arguments, _install, _lookup, describe_exception, plain, scenario

MAX_BATCHES = 64  # a sampler that never stops is cut off here


class Pairs:
    """A data set: ``(x[i], y[i])`` for an index, a slice or a 0-d tensor (as torch's
    ``TensorDataset``, which a student's code must not see here)."""

    def __init__(self, x, y):
        self.tensors = (x, y)

    x = property(lambda self: self.tensors[0])
    y = property(lambda self: self.tensors[1])

    def __len__(self):
        return self.tensors[0].shape[0]

    def __getitem__(self, index):
        return tuple(tensor[index] for tensor in self.tensors)


class Batches:
    """A loader in order, with the data set both as ``.ds`` (ours) and ``.dataset`` (torch's)."""

    def __init__(self, x, y, bs):
        self.ds = self.dataset = Pairs(x, y)
        self.bs = bs

    def __iter__(self):
        for i in range(0, len(self.ds), self.bs):
            yield self.ds[i:i + self.bs]

    def __len__(self):
        return (len(self.ds) - 1) // self.bs + 1


class CountingSGD:
    """Plain SGD that counts its steps and gradient resets."""

    def __init__(self, params, lr=0.5):
        self.params, self.lr, self.steps, self.zeroed = list(params), lr, 0, 0

    @torch.no_grad()
    def step(self):
        self.steps += 1
        for parameter in self.params:
            if parameter.grad is not None:
                parameter.sub_(parameter.grad * self.lr)

    def zero_grad(self):
        self.zeroed += 1
        for parameter in self.params:
            parameter.grad = None


class NotingModel(torch.nn.Module):
    """Wraps a network; notes ``[training, grad enabled, batch size]`` for every call."""

    def __init__(self, network):
        super().__init__()
        self.network, self.notes = network, []

    def forward(self, x):
        self.notes.append([self.training, torch.is_grad_enabled(), int(x.shape[0])])
        return self.network(x)


def weights_of(model) -> list:
    return [p.detach().clone() for p in model.parameters()][:8]


def _run(function, *args, **kwargs):
    try:
        return function(*args, **kwargs), None
    except BaseException as exc:  # noqa: BLE001 - an exception is an answer too
        return None, describe_exception(exc)


@scenario
def train_plain(namespace, *, seed, epochs, lr, bs):
    """3.7: ``fit(epochs, model, loss_func, lr, x, y, bs)`` on the learnable data; the
    course's ``fit()`` reads the same values as globals (``x_train``, ``n``, ...)."""
    fit = _lookup(namespace, "fit")
    data = learnable.draw_data(seed)
    model = learnable.network(learnable.draw_weights(seed))
    before = list(model.parameters())
    args = [epochs, model, F.cross_entropy, lr, data.x_train, data.y_train, bs]
    call_args, extra = _fit_arguments(fit, args, ["epochs", "model", "loss_func", "lr", "x_train",
                                                  "y_train", "bs"])
    if extra:
        extra["n"] = len(data.x_train)
    _install(namespace, [], extra)
    _, raised = _run(fit, *call_args)
    after = list(model.parameters())
    return {"raised": raised, "weights": weights_of(model),
            "same_objects": len(before) == len(after) and all(a is b for a, b in zip(before, after))}


@scenario
def train_validate(namespace, *, seed, epochs, bs):
    """3.14: ``fit(epochs, model, loss_func, opt, train_dl, valid_dl)`` with the grader's
    loaders (short last batches), optimizer and a model that notes its mode."""
    fit = _lookup(namespace, "fit")
    data = learnable.draw_data(seed)
    model = NotingModel(learnable.network(learnable.draw_weights(seed)))
    opt = CountingSGD(model.parameters())
    train_dl = Batches(data.x_train, data.y_train, bs)
    valid_dl = Batches(data.x_valid, data.y_valid, 2 * bs)
    own = _install(namespace, ["accuracy"])
    result, raised = _run(fit, epochs, model, F.cross_entropy, opt, train_dl, valid_dl)
    return {"raised": raised, "result": plain(result), "weights": weights_of(model),
            "notes": model.notes[:256], "steps": opt.steps, "own_standins": own}


@scenario
def dummy_module(namespace, *, n_in, nh, n_out):
    """3.8: the parameters are those of the layers set as attributes, in order, also for a
    layer set after construction."""
    cls = _lookup(namespace, "DummyModule")
    stage, report = "construct", {"raised": None}
    try:
        module = cls(n_in, nh, n_out)
        report["is_module"] = isinstance(module, torch.nn.Module)
        stage = "parameters"
        report["first"] = _same_parameters(module)
        stage = "a layer set later"
        module.extra = torch.nn.Linear(n_out, 2)
        report["later"] = _same_parameters(module)
        stage = "__repr__"
        report["repr"] = repr(module)[:2000]
        stage = "done"
    except BaseException as exc:  # noqa: BLE001
        report["raised"] = describe_exception(exc)
    report["stage"] = stage
    return report


def _same_parameters(module) -> dict:
    layers = [v for v in vars(module).values() if isinstance(v, torch.nn.Module)]
    expected = [p for layer in layers for p in layer.parameters()]
    got = list(itertools.islice(module.parameters(), 64))
    return {"expected": [list(p.shape) for p in expected], "got": [list(p.shape) for p in got],
            "same": len(got) == len(expected) and all(a is b for a, b in zip(got, expected))}


@scenario
def optimizer_steps(namespace, *, params, grads, lr):
    """3.9: ``Optimizer(parameters, lr)`` given a one-pass iterator, as ``model.parameters()``
    is: step, zero_grad, then a second step with fresh gradients."""
    cls = _lookup(namespace, "Optimizer")
    leaves = [p.clone().requires_grad_() for p in params]
    stage, report = "construct", {"raised": None}
    try:
        opt = cls(iter(leaves)) if lr is None else cls(iter(leaves), lr=lr)
        for leaf, grad in zip(leaves, grads):
            leaf.grad = grad.clone()
        stage = "step"
        opt.step()
        report["first"] = [leaf.detach().clone() for leaf in leaves]
        stage = "zero_grad"
        opt.zero_grad()
        report["zeroed"] = [None if leaf.grad is None else leaf.grad.clone() for leaf in leaves]
        for leaf, grad in zip(leaves, grads):
            leaf.grad = grad.clone()
        stage = "a second step"
        opt.step()
        report["second"] = [leaf.detach().clone() for leaf in leaves]
        stage = "done"
    except BaseException as exc:  # noqa: BLE001
        report["raised"] = describe_exception(exc)
    report["stage"] = stage
    return report


@scenario
def dataset_items(namespace, *, x, y, index, start, stop):
    """3.10: ``len``, an item and a slice of ``Dataset(x, y)``."""
    cls = _lookup(namespace, "Dataset")

    def read():
        ds = cls(x, y)
        return {"len": plain(len(ds)), "item": plain(ds[index]), "slice": plain(ds[start:stop])}

    report, raised = _run(read)
    return {**(report or {}), "raised": raised}


def _indices(batch) -> torch.Tensor:
    return torch.tensor([int(i) for i in batch], dtype=torch.int64)


@scenario
def sampler_passes(namespace, *, n, bs, shuffle, passes=2):
    """3.11: the batches of indices of ``passes`` passes over ``Sampler(ds, bs, shuffle)``."""
    cls = _lookup(namespace, "Sampler")
    ds = Pairs(torch.zeros(n, 1), torch.zeros(n))

    def read():
        sampler = cls(ds, bs) if shuffle is None else cls(ds, bs, shuffle)
        return [[_indices(b) for b in itertools.islice(iter(sampler), MAX_BATCHES)] for _ in range(passes)]

    result, raised = _run(read)
    return {"passes": result, "raised": raised}


@scenario
def collate_pairs(namespace, *, xs, ys):
    """3.12: ``collate([(x0, y0), (x1, y1), ...])``."""
    result, raised = _run(_lookup(namespace, "collate"), list(zip(xs, ys)))
    return {"result": plain(result), "raised": raised}


class ListedSampler:
    def __init__(self, batches):
        self.batches = batches

    def __iter__(self):
        yield from (torch.tensor(b) for b in self.batches)

    def __len__(self):
        return len(self.batches)


@scenario
def dataloader_passes(namespace, *, x, y, batches):
    """3.13: two passes over ``DataLoader(ds, sampler, collate_fn)`` with the grader's
    sampler and collate function (which counts its calls)."""
    cls = _lookup(namespace, "DataLoader")
    calls = []

    def collate_fn(b):
        calls.append(len(b))
        return tuple(torch.stack(column) for column in zip(*b))

    def read():
        loader = cls(Pairs(x, y), ListedSampler(batches), collate_fn=collate_fn)
        return [[plain(batch) for batch in itertools.islice(iter(loader), MAX_BATCHES)] for _ in range(2)]

    passes, raised = _run(read)
    return {"passes": passes, "collate_calls": len(calls), "raised": raised}


@scenario
def get_dls_passes(namespace, *, n_train, n_valid, bs):
    """3.15: the targets of two passes over each loader of ``get_dls``; target i is item i."""
    def ds(n):
        return Pairs(torch.arange(n).float().unsqueeze(1).repeat(1, 2), torch.arange(n))

    get_dls = _lookup(namespace, "get_dls")

    def targets(dl):
        return [[_indices(yb) for _, yb in itertools.islice(iter(dl), MAX_BATCHES)] for _ in range(2)]

    def read():
        train_dl, valid_dl = get_dls(ds(n_train), ds(n_valid), bs)
        return {"train": targets(train_dl), "valid": targets(valid_dl)}

    report, raised = _run(read)
    return {**(report or {}), "raised": raised}
