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
# # Lesson 01: matrix multiplication
#
# A neural network layer is mostly one matrix multiply. Here we write matmul
# ourselves, starting from three plain Python loops, and remove one loop at a time
# until we reach what PyTorch does. Once we have built something, we are allowed to use
# PyTorch's version of it from then on.

# %%
import gzip
import pickle
import time
import timeit

import matplotlib.pyplot as plt
import torch
from torch import tensor

from l00_exports import test, test_eq

# %% [markdown]
# ## The data
#
# MNIST comes as a gzipped pickle holding three `(x, y)` pairs of numpy arrays:
# training, validation and test. Each image is a flattened 28×28 grid of floats
# in [0, 1]; each label is a digit. We keep training and validation and turn them
# into tensors: images as float32, labels as int64.

# %% task="1.1"
def get_data(path):
    "Load MNIST from a gzipped pickle; return x_train, y_train, x_valid, y_valid as tensors."
    with gzip.open(path, "rb") as f:
        ((x_train, y_train), (x_valid, y_valid), _) = pickle.load(f, encoding="latin-1")
    x_train, x_valid = (torch.tensor(x, dtype=torch.float32) for x in (x_train, x_valid))
    y_train, y_valid = (torch.tensor(y, dtype=torch.int64) for y in (y_train, y_valid))
    return x_train, y_train, x_valid, y_valid


# %%
if __name__ == "__main__":
    from autograder.data import download_mnist

    x_train, y_train, x_valid, y_valid = get_data(download_mnist())
    n, c = x_train.shape
    print(x_train.shape, y_train.shape, x_valid.shape, y_train.min(), y_train.max())
    test_eq(c, 28 * 28)
    test_eq(y_train.min().item(), 0)
    test_eq(y_train.max().item(), 9)

# %% [markdown]
# A row is only 784 numbers; reshaped to 28×28 it is a handwritten digit again.

# %%
if __name__ == "__main__":
    plt.imshow(x_train[0].view(28, 28), cmap="gray")
    plt.title(f"label: {y_train[0].item()}")

# %% [markdown]
# ## Three loops
#
# Our stand-in for a linear model is a random 784×10 weight matrix (one column per
# digit). For `c = a @ b`, each `c[i, j]` is the sum over `k` of `a[i, k] * b[k, j]`,
# which is three nested loops. The inner dimensions have to agree.

# %% task="1.2"
def matmul(a, b):
    "Multiply a by b with three Python loops."
    ar, ac = a.shape
    br, bc = b.shape
    assert ac == br
    c = torch.zeros(ar, bc)
    for i in range(ar):
        for j in range(bc):
            for k in range(ac):
                c[i, j] += a[i, k] * b[k, j]
    return c


# %% [markdown]
# We time it on just 5 validation rows. Every `a[i, k] * b[k, j]` is a Python-level
# operation on one number, 5·10·784 of them, and it already takes a good fraction of a
# second. The full validation set (10,000 rows) would take minutes.

# %%
if __name__ == "__main__":
    weights = torch.randn(784, 10)
    m1, m2 = x_valid[:5], weights
    start = time.perf_counter()
    t1 = matmul(m1, m2)
    t_loops = time.perf_counter() - start
    print(t1.shape, f"three loops: {t_loops * 1e3:.0f} ms")

# %% [markdown]
# ## Elementwise operations
#
# The cure is to hand whole tensors to PyTorch, whose operators run in C over every
# element. `+`, `*`, `<` and friends work element by element on tensors of the same
# shape. A first use: the Frobenius norm of a matrix, the square root of the sum of its
# squared entries (it will come up again when we look at initialization).

# %%
if __name__ == "__main__":
    a, b = tensor([10., 6, -4]), tensor([2., 8, 7])
    print(a + b, (a < b).float().mean())

# %% task="1.3"
def frobenius(a):
    "The Frobenius norm of a: square root of the sum of squared entries."
    return (a * a).sum().sqrt()


# %%
if __name__ == "__main__":
    m = tensor([[1., 2, 3], [4, 5, 6], [7, 8, 9]])
    print(frobenius(m))

# %% [markdown]
# The innermost loop of matmul is a sum of products of row `i` of `a` and column `j` of
# `b`: exactly an elementwise product followed by `.sum()`.

# %% task="1.4"
def matmul(a, b):
    "Multiply a by b: two loops, each entry an elementwise product summed."
    ar, ac = a.shape
    br, bc = b.shape
    assert ac == br
    c = torch.zeros(ar, bc)
    for i in range(ar):
        for j in range(bc):
            c[i, j] = (a[i, :] * b[:, j]).sum()
    return c


# %%
if __name__ == "__main__":
    t = timeit.timeit(lambda: matmul(m1, m2), number=10) / 10
    print(f"elementwise: {t * 1e3:.2f} ms, {t_loops / t:.0f}x faster than three loops")

# %% [markdown]
# Several hundred times faster. But is the answer the same? Floating point sums in a
# different order give slightly different results, so we compare with a tolerance
# instead of `==`.

# %% task="1.5"
def near(a, b):
    "True when a and b are equal up to float rounding (rtol 1e-3, atol 1e-5)."
    return torch.allclose(a, b, rtol=1e-3, atol=1e-5)


def test_near(a, b):
    "Assert that a and b are near, using test."
    test(a, b, near)


# %%
if __name__ == "__main__":
    test_near(t1, matmul(m1, m2))

# %% [markdown]
# ## Broadcasting
#
# Broadcasting lets tensors of different shapes meet in one operation. The simplest case
# is a scalar: `a > 0` or `m * 2` acts on every element. A vector meets a matrix the
# same way: `m + c` adds `c` to every row of `m`.

# %%
if __name__ == "__main__":
    c = tensor([10., 20, 30])
    print(a > 0, m * 2, m + c, sep="\n")

# %% [markdown]
# No copies are made. `expand_as` shows what PyTorch pretends: `c` viewed as a 3×3
# matrix whose rows all share `c`'s memory, because the stride along the first
# dimension is 0 (moving down a row does not move in memory).

# %%
if __name__ == "__main__":
    t = c.expand_as(m)
    print(t, t.shape, t.stride(), t.data_ptr() == c.data_ptr(), sep="\n")

# %% [markdown]
# To choose the direction, add a unit axis. `c.unsqueeze(0)` is a 1×3 row and
# `c.unsqueeze(1)` a 3×1 column. Indexing with `None` does the same, and reads more
# easily: `c[None]` (or `c[None, :]`) is the row, `c[:, None]` (or `c[..., None]`, which
# adds the axis last whatever the rank) the column. Adding the column to `m` adds
# `c[i]` to every entry of row `i`.

# %%
if __name__ == "__main__":
    print(c.unsqueeze(0).shape, c.unsqueeze(1).shape, c[None].shape, c[:, None].shape)
    print(c[:, None].expand_as(m), m + c[:, None], sep="\n")

# %% [markdown]
# Now the two inner loops can go. Row `i` of `a`, made a column with
# `unsqueeze(-1)` (shape 784×1), broadcasts against all of `b` (784×10): the product
# holds `a[i, k] * b[k, j]` for every `k` and `j` at once, and summing over `k`
# (dim 0) gives the whole row `c[i]`.

# %% task="1.6"
def matmul(a, b):
    "Multiply a by b: one loop over rows, broadcasting for the rest."
    ar, ac = a.shape
    br, bc = b.shape
    assert ac == br
    c = torch.zeros(ar, bc)
    for i in range(ar):
        c[i] = (a[i].unsqueeze(-1) * b).sum(dim=0)
    return c


# %%
if __name__ == "__main__":
    test_near(t1, matmul(m1, m2))
    t = timeit.timeit(lambda: matmul(m1, m2), number=100) / 100
    print(f"broadcasting: {t * 1e3:.3f} ms, {t_loops / t:.0f}x faster than three loops")

# %% [markdown]
# ### The rules
#
# Shapes are compared from the **last** dimension backwards. Two dimensions fit when
# they are equal or one of them is 1; a 1 is stretched to match the other. A tensor
# with fewer dimensions is treated as having leading 1s. So 3 against 3×3 reads as
# 1×3 against 3×3 (added to every row), 3×1 against 3×3 is added to every column, and
# 1×3 against 3×1 gives a 3×3 table of every pair: an outer product.
#
# ```
# a      (5, 784,  1)       c[None, :] (1, 3)
# b      (   784, 10)       c[:, None] (3, 1)
# result (5, 784, 10)       result     (3, 3)
# ```

# %%
if __name__ == "__main__":
    print(c[None, :] * c[:, None], c[None] > c[:, None], sep="\n")

# %% [markdown]
# ## Einstein summation
#
# `einsum` names each dimension with a letter. `"ik,kj->ij"` says: multiply the
# entries that share `k`, and since `k` is missing from the output, sum it away. That
# is the definition of matmul, with no Python loops left.

# %% task="1.7"
def matmul(a, b):
    "Multiply a by b with einsum."
    return torch.einsum("ik,kj->ij", a, b)


# %%
if __name__ == "__main__":
    test_near(t1, matmul(m1, m2))
    t = timeit.timeit(lambda: matmul(m1, m2), number=1000) / 1000
    print(f"einsum: {t * 1e6:.1f} µs, {t_loops / t:.0f}x faster than three loops")

# %% [markdown]
# ## The PyTorch way
#
# Finally, the built-in. `a.matmul(b)` (or `a @ b`) hands the job to an optimized BLAS
# routine that splits the matrices into cache-sized blocks and uses vector
# instructions. It is usually the quickest rung, thousands to tens of thousands of times
# faster than where we started. Timings jump around on a busy machine; the orders of
# magnitude are the point.

# %% task="1.8"
def matmul(a, b):
    "Multiply a by b with PyTorch's matmul."
    return a.matmul(b)


# %%
if __name__ == "__main__":
    test_near(t1, matmul(m1, m2))
    test_near(t1, m1 @ m2)
    t = timeit.timeit(lambda: matmul(m1, m2), number=1000) / 1000
    print(f"pytorch: {t * 1e6:.1f} µs, {t_loops / t:.0f}x faster than three loops")
