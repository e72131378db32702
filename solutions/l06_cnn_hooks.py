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
# # Lesson 06: a CNN, hooks and initialization
#
# The fully connected network sees a digit as 784 unrelated numbers. A convolutional
# network sees it as an image: the same small filter slides over every position. We
# build one from PyTorch's layers and two tiny helpers of our own, move the reshaping
# into the training loop, and then look inside the model while it trains: PyTorch
# *hooks* let us record what every layer produced without rewriting the model. What we
# see leads to a better activation and a better initialization.

# %%
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn import init

from l02_fully_connected import normalize
from l03_minibatch_training import Dataset, Optimizer, accuracy, get_dls
from l04_callbacks import AvgStatsCallback, Callback, DataBunch, Learner, Runner, listify

# %% [markdown]
# ## Normalizing with the training statistics
#
# Validation data is normalized with the *training* set's mean and standard deviation:
# the model must see both through the same lens.

# %% task="6.1"
def normalize_to(train, valid):
    "train and valid normalized with train's mean and std."
    ### BEGIN SOLUTION
    m, s = train.mean(), train.std()
    return normalize(train, m, s), normalize(valid, m, s)
    ### END SOLUTION


# %% [markdown]
# ## Layers from functions
#
# `nn.Sequential` takes modules. `Lambda` wraps any function as one, so a reshaping
# step can sit between layers. Give the function a name (like `flatten`) rather than
# writing a `lambda`: a model holding a lambda cannot be pickled, so it cannot be saved.
# `flatten` keeps the batch dimension and lays out everything else in one row.

# %% task="6.2"
class Lambda(nn.Module):
    "A module whose forward is func."

    def __init__(self, func):
        "Keep func."
        ### BEGIN SOLUTION
        super().__init__()
        self.func = func
        ### END SOLUTION

    def forward(self, x):
        "func(x)."
        ### BEGIN SOLUTION
        return self.func(x)
        ### END SOLUTION


def flatten(x):
    "A batch of anything as a batch of rows: (bs, ...) -> (bs, n)."
    ### BEGIN SOLUTION
    return x.view(x.shape[0], -1)
    ### END SOLUTION


# %% [markdown]
# The data set holds each digit as a row of 784 pixels; a convolution wants a batch of
# one-channel 28x28 images.

# %% task="6.3"
def mnist_resize(x):
    "Rows of 784 pixels as (bs, 1, 28, 28) images."
    ### BEGIN SOLUTION
    return x.view(-1, 1, 28, 28)
    ### END SOLUTION


# %% [markdown]
# ## A first CNN
#
# Four convolutions of stride 2 halve the image each time (28, 14, 7, 4, 2) while the
# channels grow (8, 16, 32, 32); each is followed by a ReLU. The first uses a 5x5
# kernel, the others 3x3, padded by half the kernel. `nn.AdaptiveAvgPool2d(1)` averages
# what is left of each channel to one number, so the model works on any image size;
# `flatten` and a linear layer give one score per class (`data.c`).

# %% task="6.4"
def get_cnn_model(data):
    "resize, 4 conv+ReLU (8, 16, 32, 32 channels), average pool, flatten, linear to data.c."
    ### BEGIN SOLUTION
    return nn.Sequential(
        Lambda(mnist_resize),
        nn.Conv2d(1, 8, 5, padding=2, stride=2), nn.ReLU(),  # 14
        nn.Conv2d(8, 16, 3, padding=1, stride=2), nn.ReLU(),  # 7
        nn.Conv2d(16, 32, 3, padding=1, stride=2), nn.ReLU(),  # 4
        nn.Conv2d(32, 32, 3, padding=1, stride=2), nn.ReLU(),  # 2
        nn.AdaptiveAvgPool2d(1),
        Lambda(flatten),
        nn.Linear(32, data.c),
    )
    ### END SOLUTION


# %%
def get_runner(model, data, lr=0.6, cbs=None, opt_func=None, loss_func=F.cross_entropy):
    "A Learner for model and a Runner with the callbacks cbs."
    opt = (opt_func or Optimizer)(model.parameters(), lr=lr)
    return Learner(model, opt, loss_func, data), Runner(cb_funcs=listify(cbs))


if __name__ == "__main__":
    from autograder.data import download_mnist
    from l01_matmul import get_data

    x_train, y_train, x_valid, y_valid = get_data(download_mnist())
    x_train, x_valid = normalize_to(x_train, x_valid)
    train_ds, valid_ds = Dataset(x_train, y_train), Dataset(x_valid, y_valid)
    data = DataBunch(*get_dls(train_ds, valid_ds, 512), c=int(y_train.max()) + 1)
    cbfs = [partial(AvgStatsCallback, [accuracy])]
    learn, run = get_runner(get_cnn_model(data), data, lr=0.4, cbs=cbfs)
    run.fit(1, learn)

# %% [markdown]
# ## On the GPU
#
# Convolutions are slow on a CPU. A callback can put the model on the GPU when fitting
# begins, and each batch (inputs and targets) before it is used. (Without a GPU,
# `.cuda()` raises: use this callback only where one is present. The grader checks what
# it moves, not where.)

# %% task="6.5"
class CudaCallback(Callback):
    "Moves the model, then every batch, to the GPU."

    def begin_fit(self):
        "The model to the GPU."
        ### BEGIN SOLUTION
        self.model.cuda()
        ### END SOLUTION

    def begin_batch(self):
        "xb and yb to the GPU, stored back on the runner."
        ### BEGIN SOLUTION
        self.run.xb, self.run.yb = self.xb.cuda(), self.yb.cuda()
        ### END SOLUTION


# %% [markdown]
# ## Reshaping as a batch transform
#
# The resize need not be part of the model: a callback can transform every batch before
# the model sees it. `_order = 2` runs it after the callbacks that move the batch.
# `view_tfm(1, 28, 28)` makes the transform: a function viewing a batch as
# `(-1, 1, 28, 28)`.

# %% task="6.6"
class BatchTransformXCallback(Callback):
    "Applies tfm to every batch's inputs."
    _order = 2

    def __init__(self, tfm):
        "Keep tfm."
        ### BEGIN SOLUTION
        self.tfm = tfm
        ### END SOLUTION

    def begin_batch(self):
        "run.xb becomes tfm(xb)."
        ### BEGIN SOLUTION
        self.run.xb = self.tfm(self.xb)
        ### END SOLUTION


def view_tfm(*size):
    "A function that views a batch as (-1, *size)."
    ### BEGIN SOLUTION
    def _inner(x):
        return x.view(*((-1,) + size))
    return _inner
    ### END SOLUTION


# %% [markdown]
# With the resize gone from the model, the model is a list of layers we can build from
# the numbers of filters `nfs`: a conv+ReLU block per entry (5x5 for the first, 3x3 for
# the rest), then pool, flatten and linear, as before.

# %% task="6.7"
def conv2d(ni, nf, ks=3, stride=2):
    "Conv (padded by ks//2) then ReLU, as one Sequential."
    ### BEGIN SOLUTION
    return nn.Sequential(nn.Conv2d(ni, nf, ks, padding=ks // 2, stride=stride), nn.ReLU())
    ### END SOLUTION


def get_cnn_layers(data, nfs):
    "A conv2d block per entry of nfs (starting from 1 channel), pool, flatten, linear."
    ### BEGIN SOLUTION
    nfs = [1] + nfs
    return [conv2d(nfs[i], nfs[i + 1], 5 if i == 0 else 3) for i in range(len(nfs) - 1)] + [
        nn.AdaptiveAvgPool2d(1), Lambda(flatten), nn.Linear(nfs[-1], data.c)]
    ### END SOLUTION


def get_cnn_model(data, nfs):
    "The layers of get_cnn_layers in a Sequential."
    ### BEGIN SOLUTION
    return nn.Sequential(*get_cnn_layers(data, nfs))
    ### END SOLUTION


# %% [markdown]
# ## Hooks
#
# How do the activations of each layer behave while training? A PyTorch *forward hook*
# is a function `f(module, input, output)` that a module calls after each forward pass;
# `register_forward_hook` returns a handle whose `remove()` takes it off again. A hook
# left registered keeps its objects alive and keeps running: always remove it. Our
# `Hook` registers `f` with itself as first argument (so `f` can store what it sees on
# the hook) and removes it on `remove()` and when deleted.

# %% task="6.8"
def children(m):
    "The direct sub-modules of m, as a list."
    ### BEGIN SOLUTION
    return list(m.children())
    ### END SOLUTION


class Hook:
    "A forward hook on m calling f(hook, module, input, output)."

    def __init__(self, m, f):
        "Register partial(f, self) as a forward hook of m."
        ### BEGIN SOLUTION
        self.hook = m.register_forward_hook(partial(f, self))
        ### END SOLUTION

    def remove(self):
        "Take the hook off."
        ### BEGIN SOLUTION
        self.hook.remove()
        ### END SOLUTION

    def __del__(self):
        self.remove()


# %% [markdown]
# A first version of the statistics keeps them in lists outside the model, one per
# layer, and needs the layer's index:

# %%
act_means, act_stds = [[] for _ in range(7)], [[] for _ in range(7)]


def append_stats(i, mod, inp, outp):
    act_means[i].append(outp.data.mean())
    act_stds[i].append(outp.data.std())


# %% [markdown]
# With `Hook` the statistics live on the hook itself: `hook.stats` is a pair of lists,
# the means and the standard deviations of the layer's output, one entry per forward
# pass.

# %% task="6.9"
def append_stats(hook, mod, inp, outp):
    "Append outp's mean and std to hook.stats, a pair of lists made at the first call."
    ### BEGIN SOLUTION
    if not hasattr(hook, "stats"):
        hook.stats = ([], [])
    means, stds = hook.stats
    means.append(outp.data.mean())
    stds.append(outp.data.std())
    ### END SOLUTION


# %% [markdown]
# ## A list that indexes like an array
#
# `ListContainer` holds a list and indexes it with an int, a slice, a list of indices or
# a list of booleans (a mask, as long as the container). Its `repr` shows the class name,
# the count and the first ten items.

# %% task="6.10"
class ListContainer:
    "A list indexed by int, slice, list of indices or boolean mask."

    def __init__(self, items):
        "Keep items as a list."
        ### BEGIN SOLUTION
        self.items = listify(items)
        ### END SOLUTION

    def __getitem__(self, idx):
        "One item for an int; a list for a slice, indices or a mask."
        ### BEGIN SOLUTION
        if isinstance(idx, (int, slice)):
            return self.items[idx]
        if isinstance(idx[0], bool):
            assert len(idx) == len(self)  # a mask
            return [o for m, o in zip(idx, self.items) if m]
        return [self.items[i] for i in idx]
        ### END SOLUTION

    def __len__(self):
        "The number of items."
        ### BEGIN SOLUTION
        return len(self.items)
        ### END SOLUTION

    def __iter__(self):
        "The items in order."
        ### BEGIN SOLUTION
        return iter(self.items)
        ### END SOLUTION

    def __setitem__(self, i, o):
        "Replace item i."
        ### BEGIN SOLUTION
        self.items[i] = o
        ### END SOLUTION

    def __delitem__(self, i):
        "Remove item i."
        ### BEGIN SOLUTION
        del self.items[i]
        ### END SOLUTION

    def __repr__(self):
        "'ListContainer (n items)' and the first ten items."
        ### BEGIN SOLUTION
        res = f"{self.__class__.__name__} ({len(self)} items)\n{self.items[:10]}"
        if len(self) > 10:
            res = res[:-1] + "...]"
        return res
        ### END SOLUTION


# %% [markdown]
# `Hooks` is a `ListContainer` of one `Hook` per module. It is a context manager: the
# hooks are removed when the `with` block ends, however it ends. Deleting one hook from
# the container removes it from its module too.

# %% task="6.11"
class Hooks(ListContainer):
    "A Hook on each of ms; removes them all on exit or remove()."

    def __init__(self, ms, f):
        "A Hook(m, f) for each m."
        ### BEGIN SOLUTION
        super().__init__([Hook(m, f) for m in ms])
        ### END SOLUTION

    def __enter__(self, *args):
        ### BEGIN SOLUTION
        return self
        ### END SOLUTION

    def __exit__(self, *args):
        ### BEGIN SOLUTION
        self.remove()
        ### END SOLUTION

    def __del__(self):
        self.remove()

    def __delitem__(self, i):
        "Remove hook i from its module, then from the container."
        ### BEGIN SOLUTION
        self[i].remove()
        super().__delitem__(i)
        ### END SOLUTION

    def remove(self):
        "Remove every hook."
        ### BEGIN SOLUTION
        for h in self:
            h.remove()
        ### END SOLUTION


# %%
if __name__ == "__main__":
    model = get_cnn_model(data, [8, 16, 32, 32])
    learn, run = get_runner(model, data, lr=0.5,
                            cbs=cbfs + [partial(BatchTransformXCallback, view_tfm(1, 28, 28))])
    with Hooks(model, append_stats) as hooks:
        run.fit(1, learn)
    for h in hooks:
        means, stds = h.stats
        print(f"first means {float(means[0]):.3f}, stds {float(stds[0]):.3f}")

# %% [markdown]
# ## A generalized ReLU
#
# The statistics show activations collapsing towards zero in the first batches. Two
# changes help: a ReLU that lets a little of the negative side through (`leak`, as in
# leaky ReLU), is shifted down by `sub` so that its mean is nearer zero, and is capped
# at `maxv`; and an initialization that knows about that leak. Each of `leak`, `sub`,
# `maxv` is optional (None: plain ReLU, no shift, no cap).

# %% task="6.12"
class GeneralRelu(nn.Module):
    "Leaky (or plain) ReLU, then minus sub, then capped at maxv."

    def __init__(self, leak=None, sub=None, maxv=None):
        "Keep leak, sub and maxv."
        ### BEGIN SOLUTION
        super().__init__()
        self.leak, self.sub, self.maxv = leak, sub, maxv
        ### END SOLUTION

    def forward(self, x):
        "leaky_relu(x, leak) (or relu), minus sub, clamped at maxv."
        ### BEGIN SOLUTION
        x = F.leaky_relu(x, self.leak) if self.leak is not None else F.relu(x)
        if self.sub is not None:
            x = x - self.sub
        if self.maxv is not None:
            x = x.clamp_max(self.maxv)
        return x
        ### END SOLUTION


# %% [markdown]
# The model again, its conv blocks now made by a `layer` function that passes its
# keyword arguments to `GeneralRelu`.

# %% task="6.13"
def conv_layer(ni, nf, ks=3, stride=2, **kwargs):
    "Conv (padded by ks//2) then GeneralRelu(**kwargs), as one Sequential."
    ### BEGIN SOLUTION
    return nn.Sequential(nn.Conv2d(ni, nf, ks, padding=ks // 2, stride=stride), GeneralRelu(**kwargs))
    ### END SOLUTION


def get_cnn_layers(data, nfs, layer, **kwargs):
    "As before, with layer(ni, nf, ks, **kwargs) for each block."
    ### BEGIN SOLUTION
    nfs = [1] + nfs
    return [layer(nfs[i], nfs[i + 1], 5 if i == 0 else 3, **kwargs) for i in range(len(nfs) - 1)] + [
        nn.AdaptiveAvgPool2d(1), Lambda(flatten), nn.Linear(nfs[-1], data.c)]
    ### END SOLUTION


def get_cnn_model(data, nfs, layer, **kwargs):
    "The layers of get_cnn_layers in a Sequential."
    ### BEGIN SOLUTION
    return nn.Sequential(*get_cnn_layers(data, nfs, layer, **kwargs))
    ### END SOLUTION


# %% [markdown]
# ## Kaiming initialization with a leak
#
# He (Kaiming) initialization keeps the variance of activations steady through a ReLU
# network. With a leak `a` the gain is `sqrt(2 / (1 + a**2))`, and the weights of a
# layer with fan-in `n` get std `gain / sqrt(n)`. `init_cnn` initializes the convolution
# (the first module) of every `Sequential` block of the model this way, with `a=0.1`,
# normal or uniform, and zeroes its bias.

# %% task="6.14"
def init_cnn(m, uniform=False):
    "Kaiming init (a=0.1) of each block's conv weight, zero bias."
    ### BEGIN SOLUTION
    f = init.kaiming_uniform_ if uniform else init.kaiming_normal_
    for l in m:
        if isinstance(l, nn.Sequential):
            f(l[0].weight, a=0.1)
            l[0].bias.data.zero_()
    ### END SOLUTION


# %%
def get_learn_run(nfs, data, lr, layer, cbs=None, opt_func=None, uniform=False, **kwargs):
    model = get_cnn_model(data, nfs, layer, **kwargs)
    init_cnn(model, uniform=uniform)
    return get_runner(model, data, lr=lr, cbs=cbs, opt_func=opt_func)


if __name__ == "__main__":
    cbfs = cbfs + [partial(BatchTransformXCallback, view_tfm(1, 28, 28))]
    learn, run = get_learn_run([8, 16, 32, 32], data, 0.6, conv_layer, cbs=cbfs,
                               leak=0.1, sub=0.4, maxv=6.)
    run.fit(1, learn)  # prints the loss and accuracy of each phase
