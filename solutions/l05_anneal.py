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
# # Lesson 05: annealing and early stopping
#
# A fixed learning rate is rarely the best one: training goes better when the rate
# starts low, climbs, then comes down again. A *schedule* is a function of how far
# training has got, `pos`, from 0 at the start to 1 at the end. We write a few, glue
# them together, and let callbacks apply them and record what happened. Then we give
# callbacks a way to stop the loop cleanly, with exceptions, and use it to find a good
# learning rate.

# %%
import math
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn, optim

from l03_minibatch_training import Dataset, accuracy, get_dls
from l04_callbacks import AvgStatsCallback, Callback, DataBunch, Learner, Runner, TrainEvalCallback, listify

# %% [markdown]
# From here on the optimizer is PyTorch's `optim.SGD`: it keeps its hyperparameters in
# `param_groups`, a list of dicts (one per group of parameters, each with its `'lr'`),
# which is where a scheduler changes them.

# %%
def get_model(data, lr=0.5, nh=50):
    n_in = data.train_ds.x.shape[1]
    model = nn.Sequential(nn.Linear(n_in, nh), nn.ReLU(), nn.Linear(nh, data.c))
    return model, optim.SGD(model.parameters(), lr=lr)


def create_learner(model_func, loss_func, data):
    return Learner(*model_func(data), loss_func, data)


# %% [markdown]
# ## Schedules
#
# Every schedule goes from `start` to `end`; only the shape of the curve changes. So we
# write each as `f(start, end, pos)` and let a decorator, `annealer`, turn it into a
# function of `(start, end)` that returns the schedule itself, a function of `pos` alone
# (`functools.partial` fills in the first arguments of a function).

# %% task="5.1"
def annealer(f):
    "Decorator: f(start, end, pos) becomes annealed(start, end), which returns the function of pos."
    # NOTE: only annealed's body is yours to write, so that the @annealer cells below run
    # before it is done; calling a schedule says then that this task is not done yet.
    def annealed(start, end):
        "The schedule from start to end: f with start and end filled in, a function of pos alone."
        ### BEGIN SOLUTION
        return partial(f, start, end)
        ### END SOLUTION
    return annealed


# %% task="5.2"
@annealer
def sched_lin(start, end, pos):
    "A straight line from start (pos 0) to end (pos 1)."
    ### BEGIN SOLUTION
    return start + pos * (end - start)
    ### END SOLUTION


# %% [markdown]
# A cosine half-wave leaves `start` slowly, moves fastest in the middle and settles
# gently on `end`. `sched_no` stays at `start`. `sched_exp` multiplies by the same factor
# over equal stretches: a straight line on a log scale (so `start` and `end` must be
# positive).

# %% task="5.3"
@annealer
def sched_cos(start, end, pos):
    "Half a cosine wave from start (pos 0) to end (pos 1)."
    ### BEGIN SOLUTION
    return start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2
    ### END SOLUTION


# %% task="5.4"
@annealer
def sched_no(start, end, pos):
    "Always start."
    ### BEGIN SOLUTION
    return start
    ### END SOLUTION


# %% task="5.5"
@annealer
def sched_exp(start, end, pos):
    "Exponential from start (pos 0) to end (pos 1)."
    ### BEGIN SOLUTION
    return start * (end / start) ** pos
    ### END SOLUTION


# %%
def cos_1cycle_anneal(start, high, end):
    return [sched_cos(start, high), sched_cos(high, end)]


# %% [markdown]
# Real schedules are made of phases: warm up for 30% of training, cool down for the rest.
# `combine_scheds(pcts, scheds)` spends the fraction `pcts[i]` of training on
# `scheds[i]`, handing each phase its own `pos`, from 0 to 1 over that phase. The
# fractions must add up to 1 (refuse them otherwise). A phase starts exactly at its
# left edge: at the join, the later phase runs, from its own `pos` 0; at `pos` 1, the
# last phase runs at its own `pos` 1.

# %% task="5.6"
def combine_scheds(pcts, scheds):
    "One schedule that runs scheds[i] for the fraction pcts[i] of training."
    ### BEGIN SOLUTION
    pcts = listify(pcts)
    assert len(pcts) == len(scheds), "one fraction per schedule"
    assert abs(sum(pcts) - 1) < 1e-6, f"the fractions add up to {sum(pcts)}, not 1"
    assert all(p >= 0 for p in pcts), "fractions cannot be negative"
    edges = [0.]
    for p in pcts:
        edges.append(edges[-1] + p)

    def _inner(pos):
        idx = max(i for i in range(len(scheds)) if pos >= edges[i])
        width = edges[idx + 1] - edges[idx]
        return scheds[idx]((pos - edges[idx]) / width if width else 1.)
    return _inner
    ### END SOLUTION


# %% [markdown]
# ## Callbacks that record and schedule
#
# The `Recorder` keeps, for every training batch, the learning rate of each parameter
# group (a list per group) and the loss (detached: keeping the graph of every batch
# would keep all of training in memory). `ParamScheduler` sets a hyperparameter `pname`
# of every group before each training batch, from how far training has got:
# `n_epochs / epochs`. It takes one schedule for all groups, or a list with one per
# group. It runs after the `TrainEvalCallback` (`_order` 1), which keeps `n_epochs`.

# %% task="5.7"
class Recorder(Callback):
    "The learning rates (one list per parameter group) and the losses of every training batch."

    def begin_fit(self):
        "Empty lists: one per parameter group for lrs, one for losses."
        ### BEGIN SOLUTION
        self.lrs = [[] for _ in self.opt.param_groups]
        self.losses = []
        ### END SOLUTION

    def after_batch(self):
        "After a training batch, append each group's lr and the detached loss."
        ### BEGIN SOLUTION
        if not self.in_train:
            return
        for pg, lr in zip(self.opt.param_groups, self.lrs):
            lr.append(pg["lr"])
        self.losses.append(self.loss.detach().cpu())
        ### END SOLUTION

    def plot_lr(self, pgid=-1):
        import matplotlib.pyplot as plt
        plt.plot(self.lrs[pgid])

    def plot_loss(self, skip_last=0):
        import matplotlib.pyplot as plt
        plt.plot(self.losses[:len(self.losses) - skip_last])

    def plot(self, skip_last=0, pgid=-1):
        "The loss against the learning rate, on a log scale."
        import matplotlib.pyplot as plt
        losses = [o.item() for o in self.losses]
        n = len(losses) - skip_last
        plt.xscale("log")
        plt.plot(self.lrs[pgid][:n], losses[:n])


# %% task="5.8"
class ParamScheduler(Callback):
    "Sets the hyperparameter pname of every parameter group from its schedule, before each training batch."
    _order = 1

    def __init__(self, pname, sched_funcs):
        "Keep the name and the schedule (or a list of schedules, one per group)."
        ### BEGIN SOLUTION
        self.pname, self.sched_funcs = pname, sched_funcs
        ### END SOLUTION

    def begin_fit(self):
        "One schedule for every group, unless given a list."
        ### BEGIN SOLUTION
        if not isinstance(self.sched_funcs, (list, tuple)):
            self.sched_funcs = [self.sched_funcs] * len(self.opt.param_groups)
        ### END SOLUTION

    def set_param(self):
        "Each group's pname from its schedule at n_epochs / epochs."
        ### BEGIN SOLUTION
        assert len(self.opt.param_groups) == len(self.sched_funcs), "one schedule per parameter group"
        for pg, f in zip(self.opt.param_groups, self.sched_funcs):
            pg[self.pname] = f(self.n_epochs / self.epochs)
        ### END SOLUTION

    def begin_batch(self):
        "Set the parameter, in training only."
        ### BEGIN SOLUTION
        if self.in_train:
            self.set_param()
        ### END SOLUTION


# %% [markdown]
# ## Stopping with exceptions
#
# In lesson 04 a callback stopped things by returning True, and every step of the loop
# had to ask. An exception says more and costs less: a callback raises
# `CancelBatchException` to drop the rest of the batch, `CancelEpochException` to drop
# the rest of the current pass over a loader (training or validation), and
# `CancelTrainException` to end the fit. The runner catches each at its own level, and
# tells the callbacks with an event, `after_cancel_batch`, `after_cancel_epoch` or
# `after_cancel_train`. `after_batch` still follows every batch, however it ended, and
# `after_fit` every fit.

# %%
class CancelTrainException(Exception):
    pass


class CancelEpochException(Exception):
    pass


class CancelBatchException(Exception):
    pass


# %% [markdown]
# The new `Runner` calls every callback at every event, in the order of their `_order`,
# and answers True if any of them did. Only two answers still matter: True at
# `begin_epoch` skips that epoch's training, True at `begin_validate` its validation.

# %% task="5.9"
class Runner:
    "The training loop; callbacks stop it by raising the Cancel exceptions."

    def __init__(self, cbs=None, cb_funcs=None):
        "Callbacks: a TrainEvalCallback, cbs, and one made by each of cb_funcs."
        ### BEGIN SOLUTION
        self.in_train = False
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
        "As before; CancelBatchException ends the batch early; after_batch comes in any case."
        ### BEGIN SOLUTION
        try:
            self.xb, self.yb = xb, yb
            self("begin_batch")
            self.pred = self.model(self.xb)
            self("after_pred")
            self.loss = self.loss_func(self.pred, self.yb)
            self("after_loss")
            if not self.in_train:
                return
            self.loss.backward()
            self("after_backward")
            self.opt.step()
            self("after_step")
            self.opt.zero_grad()
        except CancelBatchException:
            self("after_cancel_batch")
        finally:
            self("after_batch")
        ### END SOLUTION

    def all_batches(self, dl):
        "one_batch for every batch of dl; CancelEpochException ends the pass."
        ### BEGIN SOLUTION
        self.iters = len(dl)
        try:
            for xb, yb in dl:
                self.one_batch(xb, yb)
        except CancelEpochException:
            self("after_cancel_epoch")
        ### END SOLUTION

    def fit(self, epochs, learn):
        "As before; CancelTrainException ends the fit; after_fit comes in any case."
        ### BEGIN SOLUTION
        self.epochs, self.learn, self.loss = epochs, learn, torch.tensor(0.)
        try:
            for cb in self.cbs:
                cb.set_runner(self)
            self("begin_fit")
            for epoch in range(epochs):
                self.epoch = epoch
                if not self("begin_epoch"):
                    self.all_batches(self.data.train_dl)
                with torch.no_grad():
                    if not self("begin_validate"):
                        self.all_batches(self.data.valid_dl)
                self("after_epoch")
        except CancelTrainException:
            self("after_cancel_train")
        finally:
            self("after_fit")
            self.learn = None
        ### END SOLUTION

    def __call__(self, cb_name):
        "Call cb_name on every callback, in _order; True if any returned True."
        ### BEGIN SOLUTION
        res = False
        for cb in sorted(self.cbs, key=lambda x: x._order):
            f = getattr(cb, cb_name, None)
            res = bool(f and f()) or res
        return res
        ### END SOLUTION


# %% [markdown]
# ## The learning rate finder
#
# Train with a learning rate that grows exponentially, from `min_lr` at the first batch
# to `max_lr` after `max_iter` batches, and watch the loss: it falls, then, once the rate
# is too high, explodes. `LR_Find` sets the rate before each training batch (from
# `n_iter`, the batches done so far) and, after each step, ends training when `n_iter`
# has reached `max_iter` or the loss is more than ten times the best loss seen so far
# (and otherwise keeps the best loss).
# NOTE: it trains the model for real; keep a copy of the weights if you want them back.

# %% task="5.10"
class LR_Find(Callback):
    "Exponentially growing learning rates until the loss explodes."
    _order = 1

    def __init__(self, max_iter=100, min_lr=1e-6, max_lr=10):
        "Keep the three; the best loss starts very high."
        ### BEGIN SOLUTION
        self.max_iter, self.min_lr, self.max_lr = max_iter, min_lr, max_lr
        self.best_loss = 1e9
        ### END SOLUTION

    def begin_batch(self):
        "In training, every group's lr: min_lr * (max_lr / min_lr) ** (n_iter / max_iter)."
        ### BEGIN SOLUTION
        if not self.in_train:
            return
        pos = self.n_iter / self.max_iter
        lr = self.min_lr * (self.max_lr / self.min_lr) ** pos
        for pg in self.opt.param_groups:
            pg["lr"] = lr
        ### END SOLUTION

    def after_step(self):
        "Stop at max_iter or when the loss explodes; keep the best loss."
        ### BEGIN SOLUTION
        if self.n_iter >= self.max_iter or self.loss > self.best_loss * 10:
            raise CancelTrainException()
        if self.loss < self.best_loss:
            self.best_loss = self.loss
        ### END SOLUTION


# %%
if __name__ == "__main__":
    from autograder.data import download_mnist
    from l01_matmul import get_data
    from l02_fully_connected import normalize

    x_train, y_train, x_valid, y_valid = get_data(download_mnist())
    x_valid = normalize(x_valid, x_train.mean(), x_train.std())
    x_train = normalize(x_train, x_train.mean(), x_train.std())
    data = DataBunch(*get_dls(Dataset(x_train, y_train), Dataset(x_valid, y_valid), 512), c=10)
    sched = combine_scheds([0.3, 0.7], [sched_cos(0.3, 0.6), sched_cos(0.6, 0.2)])
    run = Runner(cb_funcs=[Recorder, partial(AvgStatsCallback, accuracy), partial(ParamScheduler, "lr", sched)])
    run.fit(3, create_learner(partial(get_model, lr=0.3), F.cross_entropy, data))
    assert run.avg_stats.valid_stats.avg_stats[1] > 0.9
    assert abs(run.recorder.lrs[0][0] - 0.3) < 1e-6
    run = Runner(cb_funcs=[LR_Find, Recorder])
    run.fit(2, create_learner(get_model, F.cross_entropy, data))
    assert len(run.recorder.losses) <= 101
