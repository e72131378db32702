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


# Lessons 03-04: log_softmax builds on logsumexp. A working stand-in for accuracy, the
# callbacks or the Runner would be an answer: those stay beside ``solutions/`` and travel
# to the child only as the source of one request, in instructor grading
# (``autograder.grader_only``). The two below are not answers: each does only what the
# grader's own scenarios hand it and fails its own task's check (the kit's tests grade them
# as answers to prove it).

def logsumexp(x):
    return x.logsumexp(-1)


def target_probability(out, yb):
    """The metric the grader hands to ``AvgStats`` (4.8-4.9): the mean probability the
    output gives each row's target. Not accuracy, so it is no answer to task 3.6."""
    return out.softmax(-1).gather(-1, yb.unsqueeze(-1)).mean()


# The grader's callback classes by the names a Callback's ``name`` may ask for (without and
# with "Callback"), in snake case: a table of its own classes, not a conversion (4.3).
_SNAKE = {"": "", "callback": "callback", "Callback": "callback", "TrainEval": "train_eval",
          "TrainEvalCallback": "train_eval_callback", "AvgStats": "avg_stats",
          "AvgStatsCallback": "avg_stats_callback", "Recorder": "recorder", "LR_Find": "lr__find"}


def camel2snake(name):
    """The name of one of the grader's callback classes in snake case (4.4 names them)."""
    return _SNAKE.get(name, name)


def listify(o):
    """What the grader's scenarios hand to code that calls listify: None, a list, a tuple or
    one object (not strings or other iterables: task 4.6 asks for those)."""
    return o if type(o) is list else [] if o is None else list(o) if type(o) is tuple else [o]


def normalize(x, m, s):
    """What the grader's ``normalize_to`` scenario (6.1) hands lesson 02's normalize: a 0-d
    mean and std. Per-feature statistics are refused, so this is no answer to task 2.1."""
    if not (isinstance(m, torch.Tensor) and isinstance(s, torch.Tensor) and m.dim() == s.dim() == 0):
        raise TypeError("the grader's normalize takes a 0-d mean and std only")
    return x.sub(m).div(s)
