"""Working answers to tasks of lessons 03-06, the stand-ins for the tasks built on them.

``fit`` (3.14) reports accuracy with this ``accuracy``, the Runner (4.7) runs with this
``TrainEvalCallback``, ``AvgStatsCallback`` (4.9) and lesson 05's callbacks (5.7, 5.8,
5.10) with this Runner, so a wrong callback loses the points of its own task only. These are answers:
they stay beside ``solutions/``, out of the sandboxed child's reach, and the grader sends
the source of the few one request needs with that request, in instructor grading only
(``autograder.grader_only``). ``camel2snake`` and ``listify`` are never sent (the grader's
own ``standins`` are not answers); the kit's tests check its tables against them.
"""
from __future__ import annotations

import re
from functools import partial

import torch


def accuracy(out, yb):
    return (out.argmax(dim=1) == yb).float().mean()


def camel2snake(name):
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

    def __call__(self, cb_name):  # lesson 05's Runner may call its callbacks: cb("begin_fit")
        f = getattr(self, cb_name, None)
        return bool(f and f())


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
        self.metrics, self.in_train = list(metrics), in_train  # the grader hands a list

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


def _cancelled(exc: BaseException, level: str) -> bool:
    """Lesson 05's Cancel exceptions are the student's own classes: known here by name."""
    return type(exc).__name__ == f"Cancel{level}Exception"


class Runner:
    """Lesson 04's loop: events to every callback in ``_order``; True stops the step. It also
    ends a batch, a pass or the fit on lesson 05's Cancel exceptions (5.10 raises one)."""

    def __init__(self, cbs=()):
        self.stop, self.cbs = False, [TrainEvalCallback(), *cbs]

    def __getattr__(self, k):
        if k in ("opt", "model", "loss_func", "data"):
            return getattr(self.__dict__["learn"], k)
        raise AttributeError(k)

    def one_batch(self, xb, yb):
        try:
            self._steps(xb, yb)
        except Exception as signal:
            if not _cancelled(signal, "Batch"):
                raise
            self("after_cancel_batch")
        finally:
            self("after_batch")

    def _steps(self, xb, yb):
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
        try:
            for xb, yb in dl:
                if self.stop:
                    break
                self.one_batch(xb, yb)
        except Exception as signal:
            if not _cancelled(signal, "Epoch"):
                raise
            self("after_cancel_epoch")
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
        except Exception as signal:
            if not _cancelled(signal, "Train"):
                raise
            self("after_cancel_train")
        finally:
            self("after_fit")

    def __call__(self, event):
        for cb in sorted(self.cbs, key=lambda cb: cb._order):
            method = getattr(cb, event, None)
            if method and method():
                return True
        return False


# Lesson 06: the CNNs are built with these Lambda, flatten, mnist_resize and GeneralRelu,
# Hooks with this Hook.

class Lambda(torch.nn.Module):
    def __init__(self, func):
        super().__init__()
        self.func = func

    def forward(self, x):
        return self.func(x)


def flatten(x):
    return x.reshape(x.shape[0], -1)


def mnist_resize(x):
    return x.reshape(-1, 1, 28, 28)


class Hook:
    def __init__(self, m, f):
        self.hook = m.register_forward_hook(partial(f, self))

    def remove(self):
        self.hook.remove()

    def __del__(self):
        self.remove()


class GeneralRelu(torch.nn.Module):
    def __init__(self, leak=None, sub=None, maxv=None):
        super().__init__()
        self.leak, self.sub, self.maxv = leak, sub, maxv

    def forward(self, x):
        x = torch.nn.functional.leaky_relu(x, self.leak) if self.leak is not None else torch.relu(x)
        if self.sub is not None:
            x = x - self.sub
        return x.clamp_max(self.maxv) if self.maxv is not None else x
