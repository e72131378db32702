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
# # Lesson 00: exports and tests
#
# This course builds a small deep learning library one notebook at a time, and each
# notebook leans on what earlier ones built. So every lesson is also a Python module:
# the notebook is paired (by jupytext) with a `.py` file of the same name, and a later
# lesson simply writes `from l00_exports import test`. That is our version of
# "exporting" a notebook.
#
# Three kinds of cells make that work:
#
# - **setup** cells hold only imports;
# - **task** cells hold only definitions (a `def` or a `class`), the pieces you write
#   and the grader checks, each tagged with its task id;
# - **exploration** cells (looking at data, timing, plots, quick checks) sit under
#   `if __name__ == "__main__":`. In Jupyter that condition is true, so they run as
#   usual; when another lesson imports this one they are skipped, and importing stays
#   instant.

# %%
import operator

# %% [markdown]
# ## A tiny test framework
#
# We will check our work constantly: does our matmul agree with PyTorch's, is this mean
# close to zero, and so on. A check is just an `assert` with a message that shows what
# went wrong. `test` compares two values with any comparison function `cmp` (something
# that takes `a` and `b` and returns a bool), and on failure the message names the
# comparison and prints both sides.

# %% task="0.1"
def test(a, b, cmp, cname=None):
    "Assert cmp(a, b); on failure show cname (default: cmp's name) and both values."
    if cname is None:
        cname = cmp.__name__
    assert cmp(a, b), f"{cname}:\n{a}\n{b}"


# %% [markdown]
# The check we need most often is equality. `operator.eq` is the function behind `==`,
# so `test_eq` is `test` with that comparison and a readable name.

# %% task="0.2"
def test_eq(a, b):
    "Assert a == b, using test."
    test(a, b, operator.eq, "==")


# %% [markdown]
# A passing test says nothing; a failing one raises `AssertionError` with both values.

# %%
if __name__ == "__main__":
    test_eq(2 + 2, 4)
    test(1, 2, operator.lt)
    try:
        test_eq("a", "b")
    except AssertionError as e:
        print(f"AssertionError: {e}")
