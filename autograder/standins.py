"""Stand-ins for earlier tasks, used while grading the tasks built on them.

``model`` (2.7) calls ``lin`` and ``relu``; ``Model`` (2.14) builds ``Lin``, ``Relu``
and ``Mse``. To grade the later task on its own, the grader swaps these names for
stand-ins while it runs, so a wrong ``lin_grad`` loses the points of 2.11 only, not
those of every task that calls it. Gradients here come from autograd, so the
stand-ins give away nothing a student writes by hand.
"""
from __future__ import annotations

import torch


def _grads(function, inputs, upstream):
    leaves = [t.detach().clone().requires_grad_() for t in inputs]
    with torch.enable_grad():
        # NOTE: no grad_outputs (they make autograd import sympy, seconds in a fresh child)
        return torch.autograd.grad((function(*leaves) * upstream).sum(), leaves)


def relu(x):
    return torch.relu(x)


def lin(x, w, b):
    return torch.nn.functional.linear(x, w.t(), b)  # weights laid out (n_in, n_out)


def mse(output, targ):
    return torch.nn.functional.mse_loss(output.squeeze(-1), targ)


def mse_grad(inp, targ):
    (inp.g,) = _grads(lambda i: mse(i, targ), [inp], torch.tensor(1.0))


def relu_grad(inp, out):
    (inp.g,) = _grads(relu, [inp], out.g)


def lin_grad(inp, out, w, b):
    inp.g, w.g, b.g = _grads(lin, [inp, w, b], out.g)


class Relu:
    def __call__(self, inp):
        self.inp, self.out = inp, relu(inp)
        return self.out

    def backward(self):
        relu_grad(self.inp, self.out)


class Lin:
    def __init__(self, w, b):
        self.w, self.b = w, b

    def __call__(self, inp):
        self.inp, self.out = inp, lin(inp, self.w, self.b)
        return self.out

    def backward(self):
        lin_grad(self.inp, self.out, self.w, self.b)


class Mse:
    def __call__(self, inp, targ):
        self.inp, self.targ, self.out = inp, targ, mse(inp, targ)
        return self.out

    def backward(self):
        mse_grad(self.inp, self.targ)


# Lessons 03-04: the tasks a later one builds on (log_softmax on logsumexp, fit on
# accuracy, the Runner on TrainEvalCallback, AvgStatsCallback on AvgStats and a Runner).

def logsumexp(x):
    return x.logsumexp(-1)


def accuracy(out, yb):
    return (out.argmax(dim=1) == yb).float().mean()


def camel2snake(name):
    import re

    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)).lower()


def listify(o):
    if o is None:
        return []
    if isinstance(o, list):
        return o
    if isinstance(o, str):
        return [o]
    try:
        return list(o)
    except TypeError:
        return [o]


class Callback:
    _order = 0

    def set_runner(self, run):
        self.run = run

    def __getattr__(self, k):
        if k == "run":
            raise AttributeError(k)
        return getattr(self.run, k)


class TrainEvalCallback(Callback):
    def begin_fit(self):
        self.run.n_epochs, self.run.n_iter = 0., 0

    def after_batch(self):
        if self.in_train:
            self.run.n_epochs += 1. / self.iters
            self.run.n_iter += 1

    def begin_epoch(self):
        self.run.n_epochs, self.run.in_train = self.epoch, True
        self.model.train()

    def begin_validate(self):
        self.run.in_train = False
        self.model.eval()


class AvgStats:
    def __init__(self, metrics, in_train):
        self.metrics, self.in_train = listify(metrics), in_train

    def reset(self):
        self.tot_loss, self.count, self.tot_mets = 0., 0, [0.] * len(self.metrics)

    @property
    def all_stats(self):
        return [float(self.tot_loss)] + [float(m) for m in self.tot_mets]

    @property
    def avg_stats(self):
        return [o / self.count for o in self.all_stats]

    def accumulate(self, run):
        size = run.xb.shape[0]
        self.tot_loss += run.loss * size
        self.count += size
        for i, metric in enumerate(self.metrics):
            self.tot_mets[i] += metric(run.pred, run.yb) * size


class Runner:
    """Lesson 04's loop: events to every callback in ``_order``; True stops the step."""

    def __init__(self, cbs=()):
        self.stop, self.cbs = False, [TrainEvalCallback(), *cbs]

    def __getattr__(self, k):
        if k in ("opt", "model", "loss_func", "data"):
            return getattr(self.__dict__["learn"], k)
        raise AttributeError(k)

    def one_batch(self, xb, yb):
        self.xb, self.yb = xb, yb
        if self("begin_batch"):
            return
        self.pred = self.model(xb)
        if self("after_pred"):
            return
        self.loss = self.loss_func(self.pred, yb)
        if self("after_loss") or not self.in_train:
            return
        self.loss.backward()
        if self("after_backward"):
            return
        self.opt.step()
        if self("after_step"):
            return
        self.opt.zero_grad()

    def all_batches(self, dl):
        self.iters = len(dl)
        for xb, yb in dl:
            if self.stop:
                break
            self.one_batch(xb, yb)
            self("after_batch")
        self.stop = False

    def fit(self, epochs, learn):
        self.epochs, self.learn = epochs, learn
        try:
            for cb in self.cbs:
                cb.set_runner(self)
            if self("begin_fit"):
                return
            for epoch in range(epochs):
                self.epoch = epoch
                if not self("begin_epoch"):
                    self.all_batches(learn.data.train_dl)
                with torch.no_grad():
                    if not self("begin_validate"):
                        self.all_batches(learn.data.valid_dl)
                if self("after_epoch"):
                    break
        finally:
            self("after_fit")

    def __call__(self, event):
        for cb in sorted(self.cbs, key=lambda cb: cb._order):
            method = getattr(cb, event, None)
            if method and method():
                return True
        return False
