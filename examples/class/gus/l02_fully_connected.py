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
# *Generated from `solutions/l02_fully_connected.py` by `autograder release`;
# instructors edit that file and regenerate this one.*
#
# Replace each `raise NotImplementedError("Task ...")` with your code,
# then run `autograder check` to see which tasks pass.

# %% [markdown]
# # Lesson 02: a fully connected network, forward and backward
#
# With matmul in hand we build a two-layer network (linear, ReLU, linear), a loss, and
# the gradients of that loss by hand, then check every gradient against PyTorch's
# autograd. Our weights are laid out `(n_in, n_out)`, so a layer is `x @ w + b`.

# %%
import math
import time
import timeit

import torch
from torch.nn import init

from l00_exports import test_eq
from l01_matmul import get_data, near, test_near

# %% [markdown]
# ## Normalizing the inputs
#
# Pixel values sit in [0, 1] with a mean around 0.13. We shift and scale them to mean 0,
# std 1, using statistics of the **training** set only, for both sets. The validation
# set stands in for data the model has never seen: it must go through the very same
# transformation the model was trained on (and real new data may come one image at a
# time, with no statistics of its own). Its mean and std land near 0 and 1, not exactly.

# %% task="2.1"
def normalize(x, m, s):
    "Shift x by m and scale it by s."
    raise NotImplementedError("Task 2.1: implement normalize")


# %% task="2.2"
def test_near_zero(a, tol=1e-3):
    "Assert that abs(a) is below tol."
    raise NotImplementedError("Task 2.2: implement test_near_zero")


# %%
if __name__ == "__main__":
    from autograder.data import download_mnist

    x_train, y_train, x_valid, y_valid = get_data(download_mnist())
    train_mean, train_std = x_train.mean(), x_train.std()
    print(train_mean, train_std)
    x_train = normalize(x_train, train_mean, train_std)
    x_valid = normalize(x_valid, train_mean, train_std)
    test_near_zero(x_train.mean())
    test_near_zero(1 - x_train.std())
    print(x_valid.mean(), x_valid.std())

# %% [markdown]
# ## Initialization
#
# One hidden layer of `nh = 50` units and, to keep the loss simple for now, a single
# output that we regress onto the digit's value with mean squared error (a poor loss
# for classification; a proper one comes in lesson 03).
#
# A layer's output sums `n_in` products, so with unit-variance inputs and weights its
# variance grows like `n_in`. Scaling the weights by `1/sqrt(n_in)` keeps it at 1 after
# a linear layer. ReLU then zeroes half of the values, and the std drops well below 1;
# stack many such layers and the activations fade to nothing. He et al. (2015) fix this
# with `sqrt(2/n_in)`: the 2 puts back what ReLU takes away.

# %% task="2.3"
def he_init(n_in, n_out):
    "An (n_in, n_out) weight drawn from a normal with std sqrt(2/n_in)."
    raise NotImplementedError("Task 2.3: implement he_init")


# %% task="2.4"
def relu(x):
    "Replace the negative entries of x by 0."
    raise NotImplementedError("Task 2.4: implement relu")


# %% task="2.5"
def lin(x, w, b):
    "The linear layer x @ w + b."
    raise NotImplementedError("Task 2.5: implement lin")


# %%
if __name__ == "__main__":
    n, m = x_train.shape
    nh = 50
    b1 = torch.zeros(nh)
    w1 = torch.randn(m, nh) / math.sqrt(m)
    t = relu(lin(x_valid, w1, b1))
    print(f"1/sqrt(n_in): w std {w1.std():.4f}; relu out mean {t.mean():.3f}, std {t.std():.3f}")
    w1 = he_init(m, nh)
    test_near_zero(w1.mean())
    test_near_zero(w1.std() - math.sqrt(2 / m))
    t = relu(lin(x_valid, w1, b1))
    print(f"He:           w std {w1.std():.4f}; relu out mean {t.mean():.3f}, std {t.std():.3f}")

# %% [markdown]
# PyTorch has this as `init.kaiming_normal_`, which fills a tensor in place. Its
# `mode` says which dimension is the layer's input size, and here the layout matters.
# `nn.Linear` stores its weight as `(n_out, n_in)` and computes `x @ w.t()`, so for a
# 2-d tensor PyTorch takes "fan_in" from dim 1 and "fan_out" from dim 0. Our weight is
# the transpose, `(n_in, n_out)`: our `n_in` is dim 0, which PyTorch calls fan_out.
# So `mode="fan_out"` gives us std `sqrt(2/n_in)`; the default `fan_in` would wrongly
# use `n_out`.

# %% task="2.6"
def kaiming_torch(n_in, n_out):
    "An (n_in, n_out) He-initialized weight made with init.kaiming_normal_."
    raise NotImplementedError("Task 2.6: implement kaiming_torch")


# %%
if __name__ == "__main__":
    print(torch.nn.Linear(m, nh).weight.shape)
    w1 = kaiming_torch(m, nh)
    t = relu(lin(x_valid, w1, b1))
    print(f"kaiming_normal_: w std {w1.std():.4f}; relu out mean {t.mean():.3f}, std {t.std():.3f}")

# %% [markdown]
# ## The forward pass and the loss

# %% task="2.7"
def model(xb, w1, b1, w2, b2):
    "Two-layer network: lin, relu, lin."
    raise NotImplementedError("Task 2.7: implement model")


# %%
if __name__ == "__main__":
    w1, b1 = he_init(m, nh), torch.zeros(nh)
    w2, b2 = he_init(nh, 1), torch.zeros(1)
    preds = model(x_valid, w1, b1, w2, b2)
    test_eq(preds.shape, torch.Size([x_valid.shape[0], 1]))
    t = timeit.timeit(lambda: model(x_valid, w1, b1, w2, b2), number=10) / 10
    print(f"forward pass on {x_valid.shape[0]} rows: {t * 1e3:.1f} ms")

# %% [markdown]
# The output has shape `(n, 1)` while the targets have shape `(n,)`. Subtracting them
# directly is a trap: by the broadcasting rules, `(n, 1) - (n,)` is `(n, n)`, every
# prediction minus every target. Its mean looks plausible (for an untrained model it is
# even close to the right value), but it stays large when the predictions are perfect.
# Drop the trailing axis first with `squeeze(-1)` (not a bare `squeeze()`, which would
# also eat the batch axis of a one-row batch).

# %% task="2.8"
def mse(output, targ):
    "Mean squared error between output (n, 1) and targ (n,)."
    raise NotImplementedError("Task 2.8: implement mse")


# %%
if __name__ == "__main__":
    y_train, y_valid = y_train.float(), y_valid.float()
    preds = model(x_train, w1, b1, w2, b2)
    print(preds.shape, mse(preds, y_train))
    perfect, targ = y_train[:5, None], y_train[:5]
    print((perfect - targ).shape, mse(perfect, targ), (perfect - targ).pow(2).mean())

# %% [markdown]
# ## Gradients by hand
#
# The loss is a chain of functions, `mse(lin(relu(lin(x))))`, so by the chain rule its
# gradient with respect to any input is the gradient with respect to that layer's
# output times the layer's own derivative. We go backwards: each function gets `inp`
# and `out`, reads `out.g` (the gradient of the loss with respect to its output), and
# stores the gradient with respect to its input in `inp.g`.
#
# - mse: `d/dx mean((x - y)²) = 2(x - y)/n`, reshaped back to `(n, 1)`.
# - relu: the gradient passes where the input was positive and is 0 elsewhere.
# - lin: for `out = inp @ w + b`, `inp.g = out.g @ w.t()`; `w.g` sums, over the batch,
#   the outer product of each input row with its `out.g` row; `b.g` sums `out.g` over
#   the batch.

# %% task="2.9"
def mse_grad(inp, targ):
    "Set inp.g to the gradient of mse(inp, targ) with respect to inp."
    raise NotImplementedError("Task 2.9: implement mse_grad")


# %% task="2.10"
def relu_grad(inp, out):
    "Set inp.g from out.g, for out = relu(inp)."
    raise NotImplementedError("Task 2.10: implement relu_grad")


# %% task="2.11"
def lin_grad(inp, out, w, b):
    "Set inp.g, w.g and b.g from out.g, for out = inp @ w + b."
    raise NotImplementedError("Task 2.11: implement lin_grad")


# %% task="2.12"
def forward_and_backward(inp, targ, w1, b1, w2, b2):
    "Run the model and loss forward, set .g on inp and the parameters, return the loss."
    raise NotImplementedError("Task 2.12: implement forward_and_backward")


# %% [markdown]
# That outer product in `lin_grad` builds a `(batch, n_in, n_out)` tensor before
# summing it: for all 50,000 training rows and the 784×50 layer that is about 8 GB. So
# we check on a batch of 1,000 rows. To check, we cheat once: the same forward pass on
# copies that `requires_grad`, then `loss.backward()`, and compare `.grad` with `.g`.

# %%
if __name__ == "__main__":
    xb, yb = x_train[:1000], y_train[:1000]
    loss = forward_and_backward(xb, yb, w1, b1, w2, b2)
    params = [p.clone().requires_grad_(True) for p in (xb, w1, b1, w2, b2)]
    ref_loss = mse(model(*params), yb)
    ref_loss.backward()
    grads = [p.grad for p in params]
    print("near autograd:", [near(p.g, g) for p, g in zip((xb, w1, b1, w2, b2), grads)])
    test_near(loss, ref_loss)
    for got, ref in zip((xb.g, w1.g, b1.g, w2.g, b2.g), grads):
        test_near(got, ref)

# %% [markdown]
# ## Layers as classes
#
# The backward pass needs what the forward pass saw, so each layer becomes an object
# that keeps its input and output in `__call__` and computes the gradients in
# `backward`.

# %% task="2.13"
class Relu:
    "ReLU that remembers its input and output for backward."

    def __call__(self, inp):
        "Apply relu to inp."
        raise NotImplementedError("Task 2.13: implement Relu.__call__")

    def backward(self):
        "Set inp.g from out.g."
        raise NotImplementedError("Task 2.13: implement Relu.backward")


class Lin:
    "Linear layer inp @ w + b that sets inp.g, w.g and b.g in backward."

    def __init__(self, w, b):
        "Keep the weight and bias."
        raise NotImplementedError("Task 2.13: implement Lin.__init__")

    def __call__(self, inp):
        "Apply the layer to inp."
        raise NotImplementedError("Task 2.13: implement Lin.__call__")

    def backward(self):
        "Set inp.g, w.g and b.g from out.g."
        raise NotImplementedError("Task 2.13: implement Lin.backward")


class Mse:
    "Mean squared error that sets inp.g in backward."

    def __call__(self, inp, targ):
        "The loss of inp (n, 1) against targ (n,)."
        raise NotImplementedError("Task 2.13: implement Mse.__call__")

    def backward(self):
        "Set inp.g."
        raise NotImplementedError("Task 2.13: implement Mse.backward")


# %% [markdown]
# The model is now a list of layers and a loss; backward walks the list in reverse.

# %% task="2.14"
class Model:
    "lin, relu, lin and an mse loss, with a backward pass."

    def __init__(self, w1, b1, w2, b2):
        "Build the layers and the loss."
        raise NotImplementedError("Task 2.14: implement Model.__init__")

    def __call__(self, x, targ):
        "Run the layers on x and return the loss against targ."
        raise NotImplementedError("Task 2.14: implement Model.__call__")

    def backward(self):
        "Set .g on the input and every parameter."
        raise NotImplementedError("Task 2.14: implement Model.backward")


# %%
if __name__ == "__main__":
    for p in (xb, w1, b1, w2, b2):
        p.g = None
    net = Model(w1, b1, w2, b2)
    start = time.perf_counter()
    loss = net(xb, yb)
    net.backward()
    print(f"forward + backward: {(time.perf_counter() - start) * 1e3:.1f} ms")
    test_near(loss, ref_loss)
    for got, ref in zip((xb.g, w1.g, b1.g, w2.g, b2.g), grads):
        test_near(got, ref)

# %% [markdown]
# ## A `Module` base class
#
# Every layer repeats the same bookkeeping: store the arguments, store the output. We
# move it into a base class. `Module.__call__` saves the arguments and the output of
# `forward`, and `backward` passes them to `bwd`; a layer only writes `forward` and
# `bwd`, and never overrides `__call__`.

# %% task="2.15"
class Module:
    "Base layer: __call__ keeps args and out of forward; backward calls bwd(out, *args)."

    def __call__(self, *args):
        "Run forward, remembering its arguments and output."
        raise NotImplementedError("Task 2.15: implement Module.__call__")

    def forward(self):
        "The layer's computation; subclasses define it."
        raise NotImplementedError("Task 2.15: implement Module.forward")

    def backward(self):
        "Call bwd with the saved output and arguments."
        raise NotImplementedError("Task 2.15: implement Module.backward")


# %% task="2.16"
class Relu(Module):
    "ReLU on Module."

    def forward(self, inp):
        "relu of inp."
        raise NotImplementedError("Task 2.16: implement Relu.forward")

    def bwd(self, out, inp):
        "Set inp.g from out.g."
        raise NotImplementedError("Task 2.16: implement Relu.bwd")


class Lin(Module):
    "Linear layer on Module."

    def __init__(self, w, b):
        "Keep the weight and bias."
        raise NotImplementedError("Task 2.16: implement Lin.__init__")

    def forward(self, inp):
        "inp @ w + b."
        raise NotImplementedError("Task 2.16: implement Lin.forward")

    def bwd(self, out, inp):
        "Set inp.g, w.g and b.g from out.g."
        raise NotImplementedError("Task 2.16: implement Lin.bwd")


class Mse(Module):
    "Mean squared error on Module."

    def forward(self, inp, targ):
        "The loss of inp (n, 1) against targ (n,)."
        raise NotImplementedError("Task 2.16: implement Mse.forward")

    def bwd(self, out, inp, targ):
        "Set inp.g."
        raise NotImplementedError("Task 2.16: implement Mse.bwd")


class Model:
    "lin, relu, lin and an mse loss, built from Module layers."

    def __init__(self, w1, b1, w2, b2):
        "Build the layers and the loss."
        raise NotImplementedError("Task 2.16: implement Model.__init__")

    def __call__(self, x, targ):
        "Run the layers on x and return the loss against targ."
        raise NotImplementedError("Task 2.16: implement Model.__call__")

    def backward(self):
        "Set .g on the input and every parameter."
        raise NotImplementedError("Task 2.16: implement Model.backward")


# %%
if __name__ == "__main__":
    for p in (xb, w1, b1, w2, b2):
        p.g = None
    net = Model(w1, b1, w2, b2)
    loss = net(xb, yb)
    t_outer = timeit.timeit(net.backward, number=5) / 5
    print(f"backward, outer-product weight gradient: {t_outer * 1e3:.1f} ms")
    test_near(loss, ref_loss)
    for got, ref in zip((xb.g, w1.g, b1.g, w2.g, b2.g), grads):
        test_near(got, ref)

# %% [markdown]
# ## A faster `Lin`
#
# Most of that backward time is the weight gradient's `(batch, n_in, n_out)`
# temporary. But summing the outer products of the rows of `inp` and `out.g` over the
# batch is exactly a matrix product: `w.g[i, j] = sum over b of inp[b, i] * out.g[b, j]`,
# which is `inp.t() @ out.g` (or `einsum("bi,bj->ij", inp, out.g)`). Same numbers, no
# temporary, and a fast BLAS call. Since `Model` looks `Lin` up when it is built, the new
# class is all we need to write.

# %% task="2.17"
class Lin(Module):
    "Linear layer on Module, with the weight gradient as one matmul."

    def __init__(self, w, b):
        "Keep the weight and bias."
        raise NotImplementedError("Task 2.17: implement Lin.__init__")

    def forward(self, inp):
        "inp @ w + b."
        raise NotImplementedError("Task 2.17: implement Lin.forward")

    def bwd(self, out, inp):
        "Set inp.g, w.g and b.g from out.g."
        raise NotImplementedError("Task 2.17: implement Lin.bwd")


# %%
if __name__ == "__main__":
    for p in (xb, w1, b1, w2, b2):
        p.g = None
    net = Model(w1, b1, w2, b2)
    loss = net(xb, yb)
    t_fast = timeit.timeit(net.backward, number=5) / 5
    print(f"backward, inp.t() @ out.g: {t_fast * 1e3:.1f} ms, {t_outer / t_fast:.0f}x faster")
    for got, ref in zip((xb.g, w1.g, b1.g, w2.g, b2.g), grads):
        test_near(got, ref)
    net = Model(w1, b1, w2, b2)
    start = time.perf_counter()
    loss = net(x_train, y_train)
    net.backward()
    t = time.perf_counter() - start
    print(f"all {x_train.shape[0]} rows, forward + backward: {t * 1e3:.0f} ms")

# %% [markdown]
# This is the shape of PyTorch's own `nn.Module`, with one difference: there, autograd
# writes `bwd` for us. From the next lesson on we let it.
