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
# *Generated from `solutions/l03_minibatch_training.py` by `autograder release`;
# instructors edit that file and regenerate this one.*
#
# Replace each `raise NotImplementedError("Task ...")` with your code,
# then run `autograder check` to see which tasks pass.

# %% [markdown]
# # Lesson 03: minibatch training
#
# Lesson 02 regressed the digit's value with mean squared error. Now the network gets
# ten outputs, one score per digit, and a loss made for classification: cross entropy.
# We build it from `exp`, `sum` and `log`, make it numerically safe, then train in
# minibatches and rebuild, one piece at a time, the tools PyTorch offers for that:
# `nn.Module`'s bookkeeping, an optimizer, `Dataset`, `Sampler` and `DataLoader`.
# From here on we use PyTorch's `nn.Linear` and autograd: we wrote both by hand already.

# %%
import torch
import torch.nn.functional as F
from torch import nn

from l00_exports import test_eq
from l01_matmul import get_data, test_near
from l02_fully_connected import normalize

# %%
if __name__ == "__main__":
    from autograder.data import download_mnist

    x_train, y_train, x_valid, y_valid = get_data(download_mnist())
    train_mean, train_std = x_train.mean(), x_train.std()
    x_train = normalize(x_train, train_mean, train_std)
    x_valid = normalize(x_valid, train_mean, train_std)
    n, m = x_train.shape
    nh, c = 50, int(y_train.max()) + 1
    model = nn.Sequential(nn.Linear(m, nh), nn.ReLU(), nn.Linear(nh, c))
    pred = model(x_train)

# %% [markdown]
# ## Cross entropy, from scratch
#
# Softmax turns ten scores into probabilities: exponentiate, divide by the row's total.
# We keep its logarithm, which is what the loss needs and is better behaved.

# %% task="3.1"
def log_softmax(x):
    "log of softmax over the last dimension, written as exp, sum and log."
    raise NotImplementedError("Task 3.1: implement log_softmax")


# %% [markdown]
# The negative log likelihood of the targets picks, in each row, the log probability of
# the right class and averages them with a minus sign. Integer-array indexing picks
# them all at once: `input[rows, target]` with `rows = range(n)`; no loop, no one-hot
# matrix.

# %% task="3.2"
def nll(input, target):
    "Mean of -input[i, target[i]] over the rows."
    raise NotImplementedError("Task 3.2: implement nll")


# %% [markdown]
# Since log(a/b) = log(a) - log(b), the division can go: subtract the log of the row's
# total from the scores themselves.

# %% task="3.3"
def log_softmax(x):
    "log_softmax as x minus the log of the row's sum of exponentials."
    raise NotImplementedError("Task 3.3: implement log_softmax")


# %% [markdown]
# That log of a sum of exponentials overflows: `exp(1000.)` is `inf` in float32, and
# scores that large happen in a network that trains badly. Pull the row's largest value
# `a` out first: log(sum(exp(x))) = a + log(sum(exp(x - a))). Every exponent is then at
# most 0, and the largest term is exactly 1.

# %% task="3.4"
def logsumexp(x):
    "log(sum(exp(x))) over the last dimension, stable for large inputs."
    raise NotImplementedError("Task 3.4: implement logsumexp")


# %% task="3.5"
def log_softmax(x):
    "log_softmax by way of logsumexp: stable for large inputs."
    raise NotImplementedError("Task 3.5: implement log_softmax")


# %%
if __name__ == "__main__":
    loss = nll(log_softmax(pred), y_train)
    test_near(logsumexp(pred), pred.logsumexp(-1))
    test_near(F.nll_loss(F.log_softmax(pred, -1), y_train), loss)
    test_near(F.cross_entropy(pred, y_train), loss)  # the two steps in one
    print(log_softmax(torch.tensor([[1000., 0.]])))  # finite

# %% [markdown]
# PyTorch's `F.cross_entropy` is `log_softmax` followed by `nll_loss`; we use it from
# now on. Loss is what we minimize; accuracy is what we report: the share of rows whose
# highest score is the target.

# %% task="3.6"
def accuracy(out, yb):
    "Fraction of rows of out whose argmax equals yb, as a float tensor."
    raise NotImplementedError("Task 3.6: implement accuracy")


# %% [markdown]
# ## A training loop
#
# One epoch walks through the training set in batches of `bs` rows. For each batch:
# predictions, loss, `loss.backward()` for the gradients, then a step against them. The
# step changes the parameters themselves, in place, and must not be recorded by
# autograd, hence `torch.no_grad()`. Gradients add up across `backward` calls, so each
# step ends by zeroing them.

# %% task="3.7"
def fit(epochs, model, loss_func, lr, x, y, bs):
    "Train model on (x, y) with plain SGD, batches of bs rows, for epochs epochs."
    raise NotImplementedError("Task 3.7: implement fit")


# %%
if __name__ == "__main__":
    model = nn.Sequential(nn.Linear(m, nh), nn.ReLU(), nn.Linear(nh, c))
    fit(1, model, F.cross_entropy, 0.5, x_train, y_train, 64)
    print(F.cross_entropy(model(x_valid), y_valid), accuracy(model(x_valid), y_valid))

# %% [markdown]
# ## What `nn.Module` does for us
#
# `model.parameters()` finds the weights of every layer stored as an attribute. The
# trick is `__setattr__`, which Python calls on every `self.name = value`: the module
# notes the value as a sub-module on the way. Names starting with `_` are the class's
# own bookkeeping and are not registered.

# %% task="3.8"
class DummyModule:
    "Two linear layers, registered as they are set, without nn.Module."

    def __init__(self, n_in, nh, n_out):
        "Create the registry, then l1 and l2."
        raise NotImplementedError("Task 3.8: implement DummyModule.__init__")

    def __setattr__(self, k, v):
        "Register v under k unless k starts with an underscore, then set it."
        raise NotImplementedError("Task 3.8: implement DummyModule.__setattr__")

    def __repr__(self):
        "The registered modules."
        raise NotImplementedError("Task 3.8: implement DummyModule.__repr__")

    def parameters(self):
        "Every parameter of every registered module, in order."
        raise NotImplementedError("Task 3.8: implement DummyModule.parameters")


# %% [markdown]
# ## An optimizer
#
# The update and the zeroing move into an object that holds the parameters. It keeps
# them as a list: `model.parameters()` is a generator, and a generator is used up after
# one pass.

# %% task="3.9"
class Optimizer:
    "Plain SGD: p -= lr * p.grad."

    def __init__(self, params, lr=0.5):
        "Keep the parameters (as a list) and the learning rate."
        raise NotImplementedError("Task 3.9: implement Optimizer.__init__")

    def step(self):
        "Move every parameter against its gradient."
        raise NotImplementedError("Task 3.9: implement Optimizer.step")

    def zero_grad(self):
        "Set every gradient to zero."
        raise NotImplementedError("Task 3.9: implement Optimizer.zero_grad")


# %% [markdown]
# ## Dataset and DataLoader
#
# A data set pairs inputs with targets and answers two questions: how many items, and
# item `i` (or a slice of items).

# %% task="3.10"
class Dataset:
    "Pairs x[i] with y[i]."

    def __init__(self, x, y):
        "Keep x and y."
        raise NotImplementedError("Task 3.10: implement Dataset.__init__")

    def __len__(self):
        "The number of items."
        raise NotImplementedError("Task 3.10: implement Dataset.__len__")

    def __getitem__(self, i):
        "The pair (x[i], y[i]); i may be an index or a slice."
        raise NotImplementedError("Task 3.10: implement Dataset.__getitem__")


# %% [markdown]
# A first loader cuts the data set into consecutive slices, and the loop no longer
# computes indices. It always serves the rows in the same order, though.

# %%
class DataLoader:
    def __init__(self, ds, bs):
        self.ds, self.bs = ds, bs

    def __iter__(self):
        for i in range(0, len(self.ds), self.bs):
            yield self.ds[i:i + self.bs]


def fit(epochs, model, loss_func, opt, train_dl):
    for epoch in range(epochs):
        for xb, yb in train_dl:
            loss = loss_func(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()


# %% [markdown]
# Training wants a new random order every epoch; validation wants the same order every
# time. A sampler decides the order: it yields the indices of each batch, a permutation
# drawn afresh at the start of every pass when `shuffle` is on. The last batch is
# shorter when `bs` does not divide the length.

# %% task="3.11"
class Sampler:
    "Yields batches of bs indices into ds, shuffled anew each pass if shuffle."

    def __init__(self, ds, bs, shuffle=False):
        "Keep the length of ds, bs and shuffle."
        raise NotImplementedError("Task 3.11: implement Sampler.__init__")

    def __iter__(self):
        "One pass: batches of indices."
        raise NotImplementedError("Task 3.11: implement Sampler.__iter__")

    def __len__(self):
        return (self.n - 1) // self.bs + 1


# %% [markdown]
# The loader then fetches the items one by one and hands the list to a *collate*
# function, which stacks the inputs into one tensor and the targets into another.

# %% task="3.12"
def collate(b):
    "Stack a list of (x, y) pairs into (xb, yb)."
    raise NotImplementedError("Task 3.12: implement collate")


# %% task="3.13"
class DataLoader:
    "Batches of ds in the order the sampler gives, put together by collate_fn."

    def __init__(self, ds, sampler, collate_fn=collate):
        "Keep the data set, the sampler and the collate function."
        raise NotImplementedError("Task 3.13: implement DataLoader.__init__")

    def __iter__(self):
        "One pass over the batches."
        raise NotImplementedError("Task 3.13: implement DataLoader.__iter__")

    def __len__(self):
        return len(self.sampler)


# %% [markdown]
# ## Validation
#
# After each epoch's training we measure the loss and accuracy on the validation set,
# with the model in evaluation mode (layers such as dropout and batchnorm behave
# differently there) and without recording gradients. Batches may differ in size (the
# last is usually shorter), so each batch's mean counts in proportion to its rows: the
# result is then exactly the mean over the whole validation set.

# %% task="3.14"
def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
    "Train for epochs epochs; return the last validation loss and accuracy."
    raise NotImplementedError("Task 3.14: implement fit")


# %% [markdown]
# Validation needs no gradients, so it can take batches twice as large for the same
# memory.

# %% task="3.15"
def get_dls(train_ds, valid_ds, bs):
    "Loaders for training (shuffled, bs) and validation (in order, 2 * bs)."
    raise NotImplementedError("Task 3.15: implement get_dls")


# %%
if __name__ == "__main__":
    train_ds, valid_ds = Dataset(x_train, y_train), Dataset(x_valid, y_valid)
    train_dl, valid_dl = get_dls(train_ds, valid_ds, 64)
    model = nn.Sequential(nn.Linear(m, nh), nn.ReLU(), nn.Linear(nh, c))
    loss, acc = fit(5, model, F.cross_entropy, Optimizer(model.parameters()), train_dl, valid_dl)
    print(loss, acc)
    assert acc > 0.9
