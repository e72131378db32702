"""Lesson 02: the fully connected network, forward and backward by hand.

Weights are laid out ``(n_in, n_out)`` (``x @ w``). Gradients are compared with
``torch.autograd``; tasks built on earlier ones run with stand-ins for those (see
``standins``), so each mistake costs the points of its own task only.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from autograder import messages
from autograder.checking import CheckFailed, close
from autograder.checks import check


def autograd(function, *inputs, upstream=None):
    """Gradients of ``function(*inputs)`` with respect to every input, by autograd."""
    leaves = [x.detach().clone().requires_grad_() for x in inputs]
    out = function(*leaves)
    # NOTE: the vector-Jacobian product as the gradient of one scalar, with no grad_outputs:
    # given grad_outputs, autograd.grad imports sympy the first time (about 3 s).
    return torch.autograd.grad(out.sum() if upstream is None else (out * upstream).sum(), leaves)


def mse(output, targ):
    return F.mse_loss(output.squeeze(-1), targ)


def net(x, w1, b1, w2, b2):
    return F.relu(x @ w1 + b1) @ w2 + b2


def expect_grad(t, got, expected, what, hints=()):
    """A hand-computed gradient against autograd's: any mismatch fails the "gradients" check."""
    if got is None:
        raise CheckFailed("gradients", messages.NOT_SET.format(
            what=what, hint="set it as an attribute, e.g. `inp.g = ...`"))
    try:
        t.expect_tensor(got, expected, what, rtol=1e-4, atol=1e-5, hints=hints)
    except CheckFailed as failure:
        raise CheckFailed("gradients", failure.message, failure.hint) from None


def expect_untouched(t, function, names, before, after):
    for name, old, new in zip(names, before, after):
        if isinstance(old, torch.Tensor) and not (isinstance(new, torch.Tensor) and torch.equal(old, new)):
            raise CheckFailed("side effects", messages.MUTATED.format(function=function, argument=name),
                              messages.HINTS["relu_in_place"] if function == "relu" else "")


def SHIFTED_RELU(x):  # noqa: N802 - reads as a constant hint
    """The course's "what if" ReLU, ``clamp_min(0.) - 0.5``."""
    return ("shifted_relu", lambda got: close(got, torch.relu(x) - 0.5))


def scale_hints(n):
    return (("missing_factor_2", lambda g, e: close(g * 2, e)), ("extra_factor_2", lambda g, e: close(g / 2, e)),
            ("missing_mean", lambda g, e: n > 1 and close(g / n, e)),
            ("grad_shape_squeezed", lambda g, e: g.shape == e.shape[:-1]))


def bind(hints, expected):
    return [(key, lambda got, p=predicate: p(got, expected)) for key, predicate in hints]


def network(t, n, n_in=6, n_hidden=4):
    return (t.randn(n, n_in), t.randn(n), t.randn(n_in, n_hidden) / math.sqrt(n_in), t.randn(n_hidden),
            t.randn(n_hidden, 1) / math.sqrt(n_hidden), t.randn(1))


@check("2.1")
def check_normalize(t):
    x = t.randn(5, 7, scale=3.0) + 2
    cases = [(float(x.mean()), float(x.std()), "scalar m and s"), (x.mean(), x.std(), "0-d tensors m and s"),
             (x.mean(0), x.std(0), "per-feature m and s of shape (7,)")]
    for m, s, what in cases:
        got = t.call("normalize", x, m, s)["result"]
        t.expect_tensor(got, (x - m) / s, f"normalize(x, m, s) with {what}")


@check("2.2")
def check_test_near_zero(t):
    small, large = float(t.randint(1, 9)) * 1e-4, float(t.randint(2, 9)) * 1e-3
    cases = [((torch.tensor(small),), {}, False), ((torch.tensor(-small),), {}, False),
             ((torch.tensor(large),), {}, True), ((torch.tensor(-large),), {}, True),
             ((torch.tensor(0.5),), {"tol": 0.5}, True), ((torch.tensor(0.05),), {"tol": 0.1}, False)]
    for args, kwargs, should_raise in cases:
        reply = t.call("test_near_zero", *args, kwargs=kwargs, expect_raise=True)
        call = f"test_near_zero({float(args[0]):g}{', tol=' + str(kwargs['tol']) if kwargs else ''})"
        if should_raise:
            t.expect(reply["raised"] is not None, "raises", messages.SHOULD_RAISE.format(
                function=call, expected="AssertionError", when="since abs(a) >= tol"))
        elif reply["raised"] is not None:
            raise t.raised(call, reply["raised"])


HISTOGRAM_BINS = 40


def weights_histogram(got: torch.Tensor, n_in: int, n_out: int) -> dict:
    """A small summary of the student's draw for their feedback's picture: counts over
    ±4 standard deviations (the expected one or theirs, the wider), plain numbers only."""
    values = got.detach().double().flatten()
    values = values[values.isfinite()]
    spread = 4 * max(math.sqrt(2 / n_in), float(values.std()) if values.numel() > 1 else 0.0)
    counts = torch.histc(values.clamp(-spread, spread), bins=HISTOGRAM_BINS, min=-spread, max=spread)
    return {"weights_n_in": n_in, "weights_n_out": n_out, "weights_low": -spread, "weights_high": spread,
            "weights_counts": [int(count) for count in counts]}


def check_init_statistics(t, function):
    for n_in, n_out in [(784, 50), (100, 300)]:
        got = t.call(function, n_in, n_out)["result"]
        again = t.call(function, n_in, n_out)["result"]
        t.expect_tensor(got, torch.empty(n_in, n_out), f"{function}({n_in}, {n_out})", values=False)
        if "weights_counts" not in t.measures and got.is_floating_point() and got.numel() > 1:
            t.measures.update(weights_histogram(got, n_in, n_out))
        n, target = got.numel(), math.sqrt(2 / n_in)
        mean, std = float(got.double().mean()), float(got.double().std())
        # NOTE: six standard errors of the sampling distribution: a correct init fails ~1e-9 of runs.
        # The std comes first: a wrong scale would otherwise trip the mean check, hintless.
        t.expect(abs(std / target - 1) < 6 / math.sqrt(2 * n), "statistics",
                 f"{function}({n_in}, {n_out}) has std {std:.4g}; expected sqrt(2/n_in) = {target:.4g}",
                 messages.HINTS["fan_in_vs_fan_out"] if abs(std / math.sqrt(2 / n_out) - 1) < 0.05 else "")
        t.expect(abs(mean) < 6 * std / math.sqrt(n), "statistics",
                 f"{function}({n_in}, {n_out}) has mean {mean:.4g}; expected about 0")
        within = float((got.double().abs() < std).double().mean())
        t.expect(abs(within - 0.6827) < 6 * math.sqrt(0.6827 * 0.3173 / n), "statistics",
                 f"{function}'s values are not normally distributed: {within:.1%} lie within one std "
                 "(a normal distribution has 68.3%)")
        t.expect(not torch.equal(got, again), "statistics", f"{function} returns the same values every call")


@check("2.3")
def check_he_init(t):
    check_init_statistics(t, "he_init")


@check("2.6")
def check_kaiming_torch(t):
    check_init_statistics(t, "kaiming_torch")


@check("2.4")
def check_relu(t):
    for shape, positive in [((5, 7), False), ((1, 4), False), ((6,), False), ((3, 4), True)]:
        x = t.randn(*shape).abs() + 0.1 if positive else t.randn(*shape)
        if not positive:
            x.view(-1)[0], x.view(-1)[-1] = 0.0, -0.0
        reply = t.call("relu", x)
        expect_untouched(t, "relu", ["x"], [x], reply["args"])
        t.expect(not reply["aliases"][0], "side effects", messages.ALIASED.format(function="relu", argument="x"))
        t.expect_tensor(reply["result"], torch.relu(x), f"relu(x) for x {shape}", rtol=0, atol=0,
                        hints=[SHIFTED_RELU(x)])


@check("2.5")
def check_lin(t):
    for n, n_in, n_out in [(5, 7, 3), (1, 4, 2), (3, 3, 3)]:
        x, w, b = t.randn(n, n_in), t.randn(n_in, n_out), t.randn(n_out)
        t.expect_tensor(t.call("lin", x, w, b)["result"], x @ w + b, f"lin(x, w, b) for x {(n, n_in)}, w {(n_in, n_out)}")


@check("2.7")
def check_model(t):
    for n in (5, 1):
        x, _, *params = network(t, n)
        got = t.call("model", x, *params, standins=["lin", "relu"],
                     param_names=["xb", "w1", "b1", "w2", "b2"])["result"]
        t.expect_tensor(got, net(x, *params), f"model(xb, w1, b1, w2, b2) for xb {(n, x.shape[1])}")


@check("2.8")
def check_mse(t):
    for n in (5, 8, 1):
        output, targ = t.randn(n, 1), t.randn(n)
        got = t.call("mse", output, targ)["result"]
        t.expect_tensor(got, mse(output, targ), f"mse(output, targ) for output {(n, 1)} and targ {(n,)}",
                        hints=[("mse_broadcast", lambda g: close(g, (output - targ).pow(2).mean()))])


@check("2.9")
def check_mse_grad(t):
    for n in (5, 1):
        inp, targ = t.randn(n, 1), t.randn(n)
        reply = t.call("mse_grad", inp, targ)
        (expected,) = autograd(lambda i: mse(i, targ), inp)
        expect_grad(t, reply["grads"][0], expected, f"inp.g after mse_grad(inp, targ) for inp {(n, 1)}",
                    bind(scale_hints(n), expected))
        expect_untouched(t, "mse_grad", ["inp", "targ"], [inp, targ], reply["args"])


@check("2.10")
def check_relu_grad(t):
    for shape in [(5, 4), (1, 3)]:
        inp, out_g = t.randn(*shape), t.randn(*shape)
        inp.view(-1)[0] = 0.0  # NOTE: relu's gradient at exactly 0 is 0, as autograd takes it
        reply = t.call("relu_grad", inp, torch.relu(inp), grads={1: out_g})
        (expected,) = autograd(torch.relu, inp, upstream=out_g)
        at_zero = ("relu_grad_at_zero", lambda g: close(g[inp != 0], expected[inp != 0]))
        expect_grad(t, reply["grads"][0], expected, f"inp.g after relu_grad(inp, out) for inp {shape}", [at_zero])


@check("2.11")
def check_lin_grad(t):
    for n, n_in, n_out in [(5, 7, 3), (1, 4, 2), (4, 4, 4)]:
        inp, w, b, out_g = t.randn(n, n_in), t.randn(n_in, n_out), t.randn(n_out), t.randn(n, n_out)
        reply = t.call("lin_grad", inp, inp @ w + b, w, b, grads={1: out_g})
        expected = autograd(lambda *a: a[0] @ a[1] + a[2], inp, w, b, upstream=out_g)
        shapes = f"for inp {(n, n_in)}, w {(n_in, n_out)}"
        hints = {2: [("transposed_weight_grad", lambda g, e=expected[1]: close(g, e.t()))],
                 3: [("bias_grad_mean", lambda g, e=expected[2]: close(g * n, e))]}
        for index, name in [(0, "inp"), (2, "w"), (3, "b")]:
            expect_grad(t, reply["grads"][index], expected[[0, 0, 1, 2][index]],
                        f"{name}.g after lin_grad(inp, out, w, b) {shapes}", hints.get(index, ()))
        expect_untouched(t, "lin_grad", ["inp", "out", "w", "b"], [inp, inp @ w + b, w, b], reply["args"])


@check("2.12")
def check_forward_and_backward(t):
    for n in (5, 1):
        inp, targ, *params = network(t, n)
        reply = t.call("forward_and_backward", inp, targ, *params,
                       standins=["lin", "relu", "mse", "mse_grad", "relu_grad", "lin_grad"],
                       param_names=["inp", "targ", "w1", "b1", "w2", "b2"])
        if reply["result"] is not None:  # the course's returns nothing; a returned value is the loss
            t.expect_tensor(reply["result"], mse(net(inp, *params), targ),
                            f"the loss forward_and_backward returned for inp {(n, inp.shape[1])}")
        expected = autograd(lambda x, *p: mse(net(x, *p), targ), inp, *params)
        names = ["inp", "targ", "w1", "b1", "w2", "b2"]
        for index, name in [(0, "inp"), (2, "w1"), (3, "b1"), (4, "w2"), (5, "b2")]:
            expect_grad(t, reply["grads"][index], expected[[0, 0, 1, 2, 3, 4][index]],
                        f"{name}.g after forward_and_backward")
        expect_untouched(t, "forward_and_backward", names, [inp, targ, *params], reply["args"])


def check_layer_classes(t, classes, model=True):
    n, n_in, n_out = 5, 6, 3
    if "Relu" in classes:
        x, out_g = t.randn(n, n_in), t.randn(n, n_in)
        x[0, 0] = 0.0
        reply = t.layer("Relu", call_args=[x], out_g=out_g)
        t.expect_tensor(reply["out"], torch.relu(x), "Relu()(x)", hints=[SHIFTED_RELU(x)])
        expect_grad(t, reply["call_grads"][0], autograd(torch.relu, x, upstream=out_g)[0], "x.g after Relu's backward")
    if "Lin" in classes:
        x, w, b, out_g = t.randn(n, n_in), t.randn(n_in, n_out), t.randn(n_out), t.randn(n, n_out)
        reply = t.layer("Lin", init_args=[w, b], call_args=[x], out_g=out_g)
        t.expect_tensor(reply["out"], x @ w + b, "Lin(w, b)(x)")
        expected = autograd(lambda *a: a[0] @ a[1] + a[2], x, w, b, upstream=out_g)
        expect_grad(t, reply["call_grads"][0], expected[0], "x.g after Lin's backward")
        expect_grad(t, reply["init_grads"][0], expected[1], "w.g after Lin's backward",
                    [("transposed_weight_grad", lambda g: close(g, expected[1].t()))])
        expect_grad(t, reply["init_grads"][1], expected[2], "b.g after Lin's backward",
                    [("bias_grad_mean", lambda g: close(g * n, expected[2]))])
    if "Mse" in classes:
        inp, targ = t.randn(n, 1), t.randn(n)
        reply = t.layer("Mse", call_args=[inp, targ])
        t.expect_tensor(reply["out"], mse(inp, targ), "Mse()(inp, targ)",
                        hints=[("mse_broadcast", lambda g: close(g, (inp - targ).pow(2).mean()))])
        (expected,) = autograd(lambda i: mse(i, targ), inp)
        expect_grad(t, reply["call_grads"][0], expected, "inp.g after Mse's backward", bind(scale_hints(n), expected))
    if model:
        x, targ, *params = network(t, n)
        reply = t.layer("Model", init_args=params, call_args=[x, targ], standins=["Relu", "Lin", "Mse"],
                        param_names=["w1", "b1", "w2", "b2"])
        t.expect_tensor(reply["out"], mse(net(x, *params), targ), "the loss of Model(w1, b1, w2, b2)(x, targ)")
        expected = autograd(lambda x, *p: mse(net(x, *p), targ), x, *params)
        expect_grad(t, reply["call_grads"][0], expected[0], "x.g after Model's backward")
        for index, name in enumerate(["w1", "b1", "w2", "b2"]):
            expect_grad(t, reply["init_grads"][index], expected[index + 1], f"{name}.g after Model's backward")


@check("2.13")
def check_layers(t):
    check_layer_classes(t, ["Relu", "Lin", "Mse"], model=False)


@check("2.14")
def check_model_class(t):
    check_layer_classes(t, [], model=True)


@check("2.16")
def check_module_layers(t):
    check_layer_classes(t, ["Relu", "Lin", "Mse"], model=True)


@check("2.17")
def check_fast_lin(t):
    check_layer_classes(t, ["Lin"], model=False)


@check("2.15")
def check_module(t):
    x, y, out_g = t.randn(4, 3), t.randn(4, 3), t.randn(4, 3)
    report = t.scenario("module_protocol", "Module", x=x, y=y, out_g=out_g)
    if report["raised"]:
        raise t.raised(f"Module ({report['stage']}, with a grader-defined subclass)", report["raised"])
    t.expect_tensor(report["out"], x * 3, "calling a Module subclass whose forward is x * 3")
    t.expect(report["kept_out"], "stores", "Module.__call__ should keep the result as self.out")
    t.expect(report["kept_args"], "stores", "Module.__call__ should keep its arguments as self.args")
    expect_grad(t, report["x_g"], out_g * 3, "x.g after backward() (backward should call self.bwd(self.out, *self.args))")
    t.expect_tensor(report["sum"], x + y, "a Module subclass with two arguments")
    expect_grad(t, report["a_g"], out_g, "a.g after backward() with two arguments")
    expect_grad(t, report["b_g"], out_g, "b.g after backward() with two arguments")
    t.expect(report["base_raises"], "forward", "Module.forward should raise: subclasses must define forward")
