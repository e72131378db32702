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
    ### BEGIN SOLUTION
    return (x.exp() / x.exp().sum(-1, keepdim=True)).log()
    ### END SOLUTION


# %% [markdown]
# The negative log likelihood of the targets picks, in each row, the log probability of
# the right class and averages them with a minus sign. Integer-array indexing picks
# them all at once: `input[rows, target]` with `rows = range(n)`; no loop, no one-hot
# matrix.

# %% task="3.2"
def nll(input, target):
    "Mean of -input[i, target[i]] over the rows."
    ### BEGIN SOLUTION
    return -input[range(target.shape[0]), target].mean()
    ### END SOLUTION


# %% [markdown]
# Since log(a/b) = log(a) - log(b), the division can go: subtract the log of the row's
# total from the scores themselves.

# %% task="3.3"
def log_softmax(x):
    "log_softmax as x minus the log of the row's sum of exponentials."
    ### BEGIN SOLUTION
    return x - x.exp().sum(-1, keepdim=True).log()
    ### END SOLUTION


# %% [markdown]
# That log of a sum of exponentials overflows: `exp(1000.)` is `inf` in float32, and
# scores that large happen in a network that trains badly. Pull the row's largest value
# `a` out first: log(sum(exp(x))) = a + log(sum(exp(x - a))). Every exponent is then at
# most 0, and the largest term is exactly 1.

# %% task="3.4"
def logsumexp(x):
    "log(sum(exp(x))) over the last dimension, stable for large inputs."
    ### BEGIN SOLUTION
    m = x.max(-1)[0]
    return m + (x - m.unsqueeze(-1)).exp().sum(-1).log()
    ### END SOLUTION


# %% task="3.5"
def log_softmax(x):
    "log_softmax by way of logsumexp: stable for large inputs."
    ### BEGIN SOLUTION
    return x - logsumexp(x).unsqueeze(-1)
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    return (out.argmax(dim=1) == yb).float().mean()
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    n = x.shape[0]
    for epoch in range(epochs):
        for i in range(0, n, bs):
            xb, yb = x[i:i + bs], y[i:i + bs]
            loss = loss_func(model(xb), yb)
            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= p.grad * lr
                model.zero_grad()
    ### END SOLUTION


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
        ### BEGIN SOLUTION
        self._modules = {}
        self.l1 = nn.Linear(n_in, nh)
        self.l2 = nn.Linear(nh, n_out)
        ### END SOLUTION

    def __setattr__(self, k, v):
        "Register v under k unless k starts with an underscore, then set it."
        ### BEGIN SOLUTION
        if not k.startswith("_"):
            self._modules[k] = v
        super().__setattr__(k, v)
        ### END SOLUTION

    def __repr__(self):
        "The registered modules."
        ### BEGIN SOLUTION
        return f"{self._modules}"
        ### END SOLUTION

    def parameters(self):
        "Every parameter of every registered module, in order."
        ### BEGIN SOLUTION
        for layer in self._modules.values():
            yield from layer.parameters()
        ### END SOLUTION


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
        ### BEGIN SOLUTION
        self.params, self.lr = list(params), lr
        ### END SOLUTION

    def step(self):
        "Move every parameter against its gradient."
        ### BEGIN SOLUTION
        with torch.no_grad():
            for p in self.params:
                p -= p.grad * self.lr
        ### END SOLUTION

    def zero_grad(self):
        "Set every gradient to zero."
        ### BEGIN SOLUTION
        for p in self.params:
            p.grad.zero_()
        ### END SOLUTION


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
        ### BEGIN SOLUTION
        self.x, self.y = x, y
        ### END SOLUTION

    def __len__(self):
        "The number of items."
        ### BEGIN SOLUTION
        return len(self.x)
        ### END SOLUTION

    def __getitem__(self, i):
        "The pair (x[i], y[i]); i may be an index or a slice."
        ### BEGIN SOLUTION
        return self.x[i], self.y[i]
        ### END SOLUTION


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
        ### BEGIN SOLUTION
        self.n, self.bs, self.shuffle = len(ds), bs, shuffle
        ### END SOLUTION

    def __iter__(self):
        "One pass: batches of indices."
        ### BEGIN SOLUTION
        idxs = torch.randperm(self.n) if self.shuffle else torch.arange(self.n)
        for i in range(0, self.n, self.bs):
            yield idxs[i:i + self.bs]
        ### END SOLUTION

    def __len__(self):
        return (self.n - 1) // self.bs + 1


# %% [markdown]
# The loader then fetches the items one by one and hands the list to a *collate*
# function, which stacks the inputs into one tensor and the targets into another.

# %% task="3.12"
def collate(b):
    "Stack a list of (x, y) pairs into (xb, yb)."
    ### BEGIN SOLUTION
    xs, ys = zip(*b)
    return torch.stack(xs), torch.stack(ys)
    ### END SOLUTION


# %% task="3.13"
class DataLoader:
    "Batches of ds in the order the sampler gives, put together by collate_fn."

    def __init__(self, ds, sampler, collate_fn=collate):
        "Keep the data set, the sampler and the collate function."
        ### BEGIN SOLUTION
        self.ds, self.sampler, self.collate_fn = ds, sampler, collate_fn
        ### END SOLUTION

    def __iter__(self):
        "One pass over the batches."
        ### BEGIN SOLUTION
        for s in self.sampler:
            yield self.collate_fn([self.ds[i] for i in s])
        ### END SOLUTION

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
    ### BEGIN SOLUTION
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss = loss_func(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
        model.eval()
        with torch.no_grad():
            tot_loss, tot_acc, count = 0., 0., 0
            for xb, yb in valid_dl:
                pred = model(xb)
                tot_loss += loss_func(pred, yb) * len(yb)
                tot_acc += accuracy(pred, yb) * len(yb)
                count += len(yb)
    return tot_loss / count, tot_acc / count
    ### END SOLUTION


# %% [markdown]
# Validation needs no gradients, so it can take batches twice as large for the same
# memory.

# %% task="3.15"
def get_dls(train_ds, valid_ds, bs):
    "Loaders for training (shuffled, bs) and validation (in order, 2 * bs)."
    ### BEGIN SOLUTION
    return (DataLoader(train_ds, Sampler(train_ds, bs, shuffle=True)),
            DataLoader(valid_ds, Sampler(valid_ds, bs * 2)))
    ### END SOLUTION


# %%
if __name__ == "__main__":
    train_ds, valid_ds = Dataset(x_train, y_train), Dataset(x_valid, y_valid)
    train_dl, valid_dl = get_dls(train_ds, valid_ds, 64)
    model = nn.Sequential(nn.Linear(m, nh), nn.ReLU(), nn.Linear(nh, c))
    loss, acc = fit(5, model, F.cross_entropy, Optimizer(model.parameters()), train_dl, valid_dl)
    print(loss, acc)
    assert acc > 0.9
