# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 04: callbacks
#
# Every experiment wants its own tweak to the training loop: print the loss, stop
# early, change the learning rate, log statistics. Copying the loop for each is how
# code rots. Instead we write the loop once and let small objects, *callbacks*, hook
# into it at named moments. First we bundle what training needs into two objects.

# %%
import re
from functools import partial
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from l03_minibatch_training import Dataset, Optimizer, accuracy, get_dls

# %% [markdown]
# ## DataBunch and Learner
#
# A `DataBunch` holds the two loaders and the number of classes `c`; its data sets are
# read from the loaders, so there is one source of truth for them.

# %% task="4.1"
class DataBunch:
    "The training and validation loaders, and c, the number of classes."

    def __init__(self, train_dl, valid_dl, c=None):
        "Keep both loaders and c."
        ### BEGIN SOLUTION
        self.train_dl, self.valid_dl, self.c = train_dl, valid_dl, c
        ### END SOLUTION

    @property
    def train_ds(self):
        "The training loader's data set."
        ### BEGIN SOLUTION
        return self.train_dl.ds
        ### END SOLUTION

    @property
    def valid_ds(self):
        "The validation loader's data set."
        ### BEGIN SOLUTION
        return self.valid_dl.ds
        ### END SOLUTION


# %% [markdown]
# A `Learner` is nothing but the four things a training loop touches.

# %% task="4.2"
class Learner:
    "A model, its optimizer, its loss function and its data."

    def __init__(self, model, opt, loss_func, data):
        "Keep the four."
        ### BEGIN SOLUTION
        self.model, self.opt, self.loss_func, self.data = model, opt, loss_func, data
        ### END SOLUTION


# %%
def get_model(data, lr=0.5, nh=50):
    n_in = data.train_ds.x.shape[1]
    model = nn.Sequential(nn.Linear(n_in, nh), nn.ReLU(), nn.Linear(nh, data.c))
    return model, Optimizer(model.parameters(), lr=lr)


# %% [markdown]
# ## A first try: a handler
#
# The loop calls a handler at each moment; the handler asks each callback and goes on
# only if all agree (return True). It works, but every moment needs a method in two
# classes, and the handler passes state around by hand.

# %%
class Callback:
    def begin_fit(self, learn):
        self.learn = learn
        return True

    def begin_epoch(self, epoch):
        self.epoch = epoch
        return True

    def after_step(self):
        return True


class CallbackHandler:
    def __init__(self, cbs=None):
        self.cbs = cbs or []

    def begin_fit(self, learn):
        self.learn, learn.stop = learn, False
        return all([cb.begin_fit(learn) for cb in self.cbs])

    def begin_epoch(self, epoch):
        self.learn.model.train()
        return all([cb.begin_epoch(epoch) for cb in self.cbs])

    def after_step(self):
        return all([cb.after_step() for cb in self.cbs])


def fit(epochs, learn, cb):
    if not cb.begin_fit(learn):
        return
    for epoch in range(epochs):
        if not cb.begin_epoch(epoch):
            continue
        for xb, yb in learn.data.train_dl:
            learn.loss_func(learn.model(xb), yb).backward()
            learn.opt.step()
            if cb.after_step():
                learn.opt.zero_grad()
            if learn.stop:
                break


# %% [markdown]
# ## The Runner
#
# Better: the loop lives in a `Runner`, which holds the state (the batch, the
# prediction, the loss, whether we are training) as attributes. At each moment it calls
# the method of that name on every callback, in the order of their `_order`; a
# callback reads what it needs from the runner. A callback that returns True stops
# the current step: the rest of that batch, that epoch's training or validation, or the
# whole fit. A callback's `name` is its class name in snake case, without "Callback".

# %% task="4.3"
def camel2snake(name):
    "'TrainEvalCallback' -> 'train_eval_callback'."
    ### BEGIN SOLUTION
    words = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", words).lower()
    ### END SOLUTION


# %% task="4.4"
class Callback:
    "Base callback: ordered by _order; reads what it lacks from its runner."
    _order = 0

    def set_runner(self, run):
        "Keep the runner as self.run."
        ### BEGIN SOLUTION
        self.run = run
        ### END SOLUTION

    def __getattr__(self, k):
        "Attributes the callback lacks come from the runner."
        ### BEGIN SOLUTION
        return getattr(self.run, k)
        ### END SOLUTION

    @property
    def name(self):
        "The class name in snake case, without 'Callback'."
        ### BEGIN SOLUTION
        name = re.sub(r"Callback$", "", self.__class__.__name__)
        return camel2snake(name or "callback")
        ### END SOLUTION


# %% [markdown]
# Switching between training and evaluation, and counting how far training has got,
# is itself a callback, one every runner has. `n_epochs` counts in fractions of an
# epoch (handy for schedules later), `n_iter` counts the training batches.

# %% task="4.5"
class TrainEvalCallback(Callback):
    "Puts the model in train or eval mode and counts training progress."

    def begin_fit(self):
        "Start the counters at 0."
        ### BEGIN SOLUTION
        self.run.n_epochs = 0.
        self.run.n_iter = 0
        ### END SOLUTION

    def after_batch(self):
        "After a training batch, advance n_epochs by 1/iters and n_iter by 1."
        ### BEGIN SOLUTION
        if not self.in_train:
            return
        self.run.n_epochs += 1. / self.iters
        self.run.n_iter += 1
        ### END SOLUTION

    def begin_epoch(self):
        "Training mode; n_epochs is the epoch number."
        ### BEGIN SOLUTION
        self.run.n_epochs = self.epoch
        self.model.train()
        self.run.in_train = True
        ### END SOLUTION

    def begin_validate(self):
        "Evaluation mode."
        ### BEGIN SOLUTION
        self.model.eval()
        self.run.in_train = False
        ### END SOLUTION


# %% task="4.6"
def listify(o):
    "o as a list: [] for None, [o] for a string or a single object."
    ### BEGIN SOLUTION
    if o is None:
        return []
    if isinstance(o, list):
        return o
    if isinstance(o, str):
        return [o]
    if isinstance(o, Iterable):
        return list(o)
    return [o]
    ### END SOLUTION


# %% [markdown]
# The events, in order: `begin_fit`; per epoch `begin_epoch`, then per training batch
# `begin_batch`, `after_pred`, `after_loss`, `after_backward`, `after_step`,
# `after_batch`; then `begin_validate` and per validation batch `begin_batch`,
# `after_pred`, `after_loss`, `after_batch` (no backward, no step); then `after_epoch`;
# and `after_fit` at the very end, even if something failed. `cb_funcs` are callback
# classes (or functions making callbacks): the runner makes one of each and keeps it
# as an attribute under its `name`.

# %% task="4.7"
class Runner:
    "The training loop, calling its callbacks at every event."

    def __init__(self, cbs=None, cb_funcs=None):
        "Callbacks: a TrainEvalCallback, cbs, and one made by each of cb_funcs."
        ### BEGIN SOLUTION
        cbs = listify(cbs)
        for cbf in listify(cb_funcs):
            cb = cbf()
            setattr(self, cb.name, cb)
            cbs.append(cb)
        self.stop, self.cbs = False, [TrainEvalCallback()] + cbs
        ### END SOLUTION

    @property
    def opt(self): return self.learn.opt

    @property
    def model(self): return self.learn.model

    @property
    def loss_func(self): return self.learn.loss_func

    @property
    def data(self): return self.learn.data

    def one_batch(self, xb, yb):
        "Prediction, loss and, when training, backward and step, with their events."
        ### BEGIN SOLUTION
        self.xb, self.yb = xb, yb
        if self("begin_batch"):
            return
        self.pred = self.model(self.xb)
        if self("after_pred"):
            return
        self.loss = self.loss_func(self.pred, self.yb)
        if self("after_loss") or not self.in_train:
            return
        self.loss.backward()
        if self("after_backward"):
            return
        self.opt.step()
        if self("after_step"):
            return
        self.opt.zero_grad()
        ### END SOLUTION

    def all_batches(self, dl):
        "one_batch for every batch of dl, then after_batch."
        ### BEGIN SOLUTION
        self.iters = len(dl)
        for xb, yb in dl:
            if self.stop:
                break
            self.one_batch(xb, yb)
            self("after_batch")
        self.stop = False
        ### END SOLUTION

    def fit(self, epochs, learn):
        "Train learn for epochs epochs, validating after each."
        ### BEGIN SOLUTION
        self.epochs, self.learn = epochs, learn
        try:
            for cb in self.cbs:
                cb.set_runner(self)
            if self("begin_fit"):
                return
            for epoch in range(epochs):
                self.epoch = epoch
                if not self("begin_epoch"):
                    self.all_batches(self.data.train_dl)
                with torch.no_grad():
                    if not self("begin_validate"):
                        self.all_batches(self.data.valid_dl)
                if self("after_epoch"):
                    break
        finally:
            self("after_fit")
            self.learn = None
        ### END SOLUTION

    def __call__(self, cb_name):
        "Call cb_name on every callback in _order; True if one of them returned True."
        ### BEGIN SOLUTION
        for cb in sorted(self.cbs, key=lambda x: x._order):
            f = getattr(cb, cb_name, None)
            if f and f():
                return True
        return False
        ### END SOLUTION


# %% [markdown]
# ## Statistics as a callback
#
# Averages over an epoch must weigh each batch by its size: the last batch is short.
# `AvgStats` keeps running totals (each batch's mean loss times its size, and the same
# for every metric) and divides by the count at the end.

# %% task="4.8"
class AvgStats:
    "Running, batch-size-weighted means of the loss and metrics."

    def __init__(self, metrics, in_train):
        "Keep the metrics (as a list) and whether these are training statistics."
        ### BEGIN SOLUTION
        self.metrics, self.in_train = listify(metrics), in_train
        ### END SOLUTION

    def reset(self):
        "Zero the totals and the count."
        ### BEGIN SOLUTION
        self.tot_loss, self.count = 0., 0
        self.tot_mets = [0.] * len(self.metrics)
        ### END SOLUTION

    @property
    def all_stats(self):
        "The totals: loss first, then each metric."
        ### BEGIN SOLUTION
        return [float(self.tot_loss)] + [float(m) for m in self.tot_mets]
        ### END SOLUTION

    @property
    def avg_stats(self):
        "The means: each total divided by the count."
        ### BEGIN SOLUTION
        return [o / self.count for o in self.all_stats]
        ### END SOLUTION

    def __repr__(self):
        if not self.count:
            return ""
        return f"{'train' if self.in_train else 'valid'}: {self.avg_stats}"

    def accumulate(self, run):
        "Add the batch in run (xb, yb, pred, loss), weighted by its size."
        ### BEGIN SOLUTION
        bn = run.xb.shape[0]
        self.tot_loss += run.loss * bn
        self.count += bn
        for i, m in enumerate(self.metrics):
            self.tot_mets[i] += m(run.pred, run.yb) * bn
        ### END SOLUTION


# %% task="4.9"
class AvgStatsCallback(Callback):
    "Training and validation statistics of every epoch."

    def __init__(self, metrics):
        "One AvgStats for training, one for validation."
        ### BEGIN SOLUTION
        self.train_stats, self.valid_stats = AvgStats(metrics, True), AvgStats(metrics, False)
        ### END SOLUTION

    def begin_epoch(self):
        "Reset both."
        ### BEGIN SOLUTION
        self.train_stats.reset()
        self.valid_stats.reset()
        ### END SOLUTION

    def after_loss(self):
        "Add the batch to the statistics of the current phase."
        ### BEGIN SOLUTION
        stats = self.train_stats if self.in_train else self.valid_stats
        with torch.no_grad():
            stats.accumulate(self.run)
        ### END SOLUTION

    def after_epoch(self):
        "Print both."
        ### BEGIN SOLUTION
        print(self.train_stats)
        print(self.valid_stats)
        ### END SOLUTION


# %%
if __name__ == "__main__":
    from autograder.data import download_mnist
    from l01_matmul import get_data
    from l02_fully_connected import normalize

    x_train, y_train, x_valid, y_valid = get_data(download_mnist())
    x_valid = normalize(x_valid, x_train.mean(), x_train.std())
    x_train = normalize(x_train, x_train.mean(), x_train.std())
    train_ds, valid_ds = Dataset(x_train, y_train), Dataset(x_valid, y_valid)
    data = DataBunch(*get_dls(train_ds, valid_ds, 64), c=10)
    learn = Learner(*get_model(data), F.cross_entropy, data)
    run = Runner(cb_funcs=partial(AvgStatsCallback, [accuracy]))
    run.fit(2, learn)
    loss, acc = run.avg_stats.valid_stats.avg_stats
    assert acc > 0.9
