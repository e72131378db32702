"""Lesson 06: a CNN, batch transforms, hooks, a generalized ReLU and Kaiming init.

The models are checked by the shape each layer outputs on the grader's images and, for
the first CNN, by training: the child sends back the parameters before and after ten SGD
steps, and the grader measures the loss with its own copy of that CNN. Hooks by what a
forward pass made them record and by how many hooks each module still holds after
``remove()`` or the ``with`` block; the GPU callback by what it moved; ``GeneralRelu``
against its formula; ``init_cnn`` against Kaiming's statistics, layer by layer.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from autograder import learnable, messages
from autograder.checking import CheckFailed, close
from autograder.checks import check
from autograder.checks.lesson04 import staged
from autograder.checks.training import _seed

BS = 5  # rows in a forward pass whose shapes are checked
NFS = [8, 16, 32, 32]
LEAK = 0.1  # init_cnn's negative slope (the course's a=0.1)
SIGMAS = 5  # tolerance of a statistical check, in standard errors


@check("6.1")
def check_normalize_to(t):
    train, valid = t.randn(40, 6) * 3 + 2, t.randn(20, 6) * 5 - 1
    reply = staged(t, t.scenario("normalize_to_case", "normalize_to", train=train, valid=valid), "normalize_to")
    result = reply["result"]
    t.expect(isinstance(result, list) and len(result) == 2, "returns",
             f"normalize_to should return (train, valid) normalized; it returned {result!r:.80}")
    mean, std = train.mean(), train.std()
    t.expect_tensor(result[0], (train - mean) / std, "normalize_to(train, valid)[0]")
    t.expect_tensor(result[1], (valid - mean) / std, "normalize_to(train, valid)[1]",
                    hints=[("valid_own_stats", lambda got: torch.allclose(got, (valid - valid.mean()) / valid.std(),
                                                                          atol=1e-4))])
    t.expect(all(reply["untouched"]), "side effects", "normalize_to changed its inputs in place")


@check("6.2")
def check_lambda_flatten(t):
    x = t.randn(4, 3)
    images = [t.randn(4, 3, 5, 2), t.randn(1, 7), t.randn(3, 1, 28, 28)]
    reply = staged(t, t.scenario("lambda_flatten", "Lambda", x=x, images=images), "Lambda, flatten")
    t.expect(reply["module"], "type", "Lambda(func) should be an nn.Module (subclass it and call super().__init__())")
    t.expect_tensor(reply["out"], x * 3 + 1, "Lambda(lambda t: t * 3 + 1)(x)")
    t.expect(reply["parameters"] == 0, "values", f"a Lambda has no parameters; this one has {reply['parameters']}")
    t.expect_tensor(reply["in_sequential"], -x, "nn.Sequential(Lambda(torch.neg), nn.Identity())(x)")
    for image, got in zip(images, reply["flat"]):
        t.expect_tensor(got, image.reshape(image.shape[0], -1), f"flatten of a {tuple(image.shape)} batch")


@check("6.3")
def check_mnist_resize(t):
    for rows in (5, 1):
        x = t.randn(rows, 784)
        got = t.call("mnist_resize", x)["result"]
        t.expect_tensor(got, x.reshape(-1, 1, 28, 28), f"mnist_resize of a ({rows}, 784) batch")


def expect_shapes(t, got, expected, what):
    if not isinstance(got, list):
        raise CheckFailed("shape", f"{what}: the model's layers could not be run one by one")
    shown = [tuple(s) if isinstance(s, list) else s for s in got]
    t.expect(len(shown) == len(expected), "shape", (
        f"{what} has {len(shown)} layers; expected {len(expected)} (outputs {expected})"))
    for index, (have, want) in enumerate(zip(shown, expected)):
        t.expect(have == want, "shape", (
            f"{what}: layer {index} outputs {have}; expected {want} (all layers: {expected})"))


def _cross_entropy(weights, x, y, c) -> float:
    with torch.set_grad_enabled(False):
        return float(F.cross_entropy(learnable.cnn_network(weights, c)(x), y))


@check("6.4")
def check_cnn_first(t):
    seed, c = _seed(t), 10
    reply = staged(t, t.scenario("cnn_first", "get_cnn_model", seed=seed, c=c, bs=BS,
                                 answers=("Lambda", "flatten", "mnist_resize")), "get_cnn_model")
    expect_shapes(t, reply["shapes"], learnable.cnn_layer_shapes(BS, c), f"get_cnn_model(data) on a ({BS}, 784) batch")
    expected = [tuple(p.shape) for p in learnable.cnn(c).parameters()]
    for when in ("before", "after"):
        got = [tuple(getattr(p, "shape", ())) for p in reply[when]]
        t.expect(got == expected, "parameters", (
            f"the model's parameters have shapes {got}; expected {expected} (4 convolutions, then the linear layer)"))
    x, y = learnable.draw_images(seed, learnable.CNN_BATCH, c)
    before, after = (_cross_entropy(reply[when], x, y, c) for when in ("before", "after"))
    t.expect(after < before, "trains", (
        f"{learnable.CNN_STEPS} SGD steps at lr {learnable.CNN_LR} on one batch took its loss from "
        f"{before:.4f} to {after:.4f}; it should fall"))


@check("6.5")
def check_cuda_callback(t):
    x, y = t.randn(4, 6), t.randint(0, 3, (4,))
    reply = staged(t, t.scenario("cuda_callback", "CudaCallback", x=x, y=y), "CudaCallback")
    moves = reply["model_moves"]
    t.expect(any(m in ("cuda()", "to(cuda)") for m in moves), "moves", (
        f"begin_fit should move the model to the GPU (model.cuda()); it called {moves or 'nothing'} on it"))
    for name, value, got in (("xb", x, reply["xb"]), ("yb", y, reply["yb"])):
        t.expect(got is not None, "moves", (
            f"after begin_batch, run.{name} should be the batch's {name} moved to the GPU "
            f"(self.run.{name} = self.{name}.cuda())"))
    t.expect_tensor(reply["x_values"], x, "run.xb after begin_batch")
    t.expect_tensor(reply["y_values"], y, "run.yb after begin_batch")


@check("6.6")
def check_batch_transform(t):
    x, y, rows = t.randn(4, 6), t.randint(0, 3, (4,)), t.randn(3, 784)
    reply = staged(t, t.scenario("batch_transform", "BatchTransformXCallback", x=x, y=y, rows=rows),
                   "BatchTransformXCallback, view_tfm")
    t.expect(reply["order"] == 2, "_order", f"BatchTransformXCallback._order should be 2; it is {reply['order']!r}")
    t.expect_tensor(reply["xb"], x * 2 - 1, "run.xb after begin_batch with tfm = lambda t: t * 2 - 1")
    t.expect_tensor(reply["yb"], y, "run.yb after begin_batch (only xb is transformed)")
    for size, got in zip([(1, 28, 28), (4, 14, 14), (784,)], reply["views"]):
        t.expect_tensor(got, rows.reshape(-1, *size), f"view_tfm{size} of a (3, 784) batch")


def _block_expected(block, ks=5, stride=1):
    """The output a conv (+ activation) block should give, from the block's own parameters."""
    weight, bias = block["parameters"][:2]
    return F.conv2d(block["inp"], weight, bias, stride=stride, padding=ks // 2)


def expect_block(t, block, activation, what):
    parameters = block["parameters"]
    shapes = [tuple(getattr(p, "shape", ())) for p in parameters]
    t.expect(shapes == [(5, 3, 5, 5), (5,)], "parameters", (
        f"{what} should hold one Conv2d(3, 5, 5) (weight (5, 3, 5, 5) and bias (5,)); its parameters: {shapes}"))
    t.expect_tensor(block["out"], activation(_block_expected(block)), f"{what} on a (2, 3, 9, 9) input")


@check("6.7")
def check_cnn_nfs(t):
    seed, c = _seed(t), 10
    reply = t.scenario("cnn_nfs", "get_cnn_model", seed=seed, nfs=NFS, c=c, bs=BS, answers=("Lambda", "flatten"))
    if "block" in reply:  # the block alone first: a wrong block may break the model built from it
        expect_block(t, reply["block"], torch.relu, "conv2d(3, 5, 5, 1)")
    staged(t, reply, "conv2d, get_cnn_layers, get_cnn_model")
    t.expect(reply["block"]["default"] == [2, 4, 5, 5], "shape", (
        f"conv2d(3, 4) (ks=3, stride=2) on a (2, 3, 9, 9) input outputs {reply['block']['default']}; expected (2, 4, 5, 5)"))
    t.expect(reply["layers_list"], "returns", "get_cnn_layers should return a list of layers")
    shapes = learnable.cnn_layer_shapes(BS, c)
    expected = [shapes[i] for i in (2, 4, 6, 8, 9, 10, 11)]  # the blocks, pool, flatten, linear
    expect_shapes(t, reply["shapes"], expected, f"get_cnn_model(data, {NFS}) on a ({BS}, 1, 28, 28) batch")


@check("6.8")
def check_hook(t):
    x = t.randn(4, 6)
    reply = staged(t, t.scenario("hook_case", "Hook", seed=_seed(t), x=x), "children, Hook")
    t.expect(reply["children"], "children", "children(model) should be the list of the model's direct sub-modules")
    t.expect(reply["registered"] == [1, 0, 0], "registers", (
        f"Hook(model[0], f) should register one forward hook on model[0] alone; hooks per layer: {reply['registered']}"))
    notes = reply["notes"]
    t.expect(len(notes) == 1, "records", f"one forward pass should call f once; it was called {len(notes)} times")
    is_hook, is_module, out = notes[0]
    t.expect(is_hook, "records", "f should receive the Hook itself as its first argument (partial(f, self))")
    t.expect(is_module, "records", "f's second argument should be the module hooked")
    t.expect_tensor(out, reply["expected"], "the output f received")
    t.expect(reply["removed"] == [0, 0, 0], "removes", (
        f"after hook.remove(), hooks per layer: {reply['removed']}; expected none"))
    t.expect(reply["calls_after_remove"] == 0, "removes", "f was still called after hook.remove()")


@check("6.9")
def check_append_stats(t):
    outs = [t.randn(4, 5) * (i + 1) + i for i in range(3)]
    reply = staged(t, t.scenario("append_stats_case", "append_stats", outs=outs), "append_stats")
    t.expect(reply["has_stats"], "records", "append_stats should create hook.stats, (means, stds), at its first call")
    for what, got, function in (("means", reply["means"], torch.mean), ("stds", reply["stds"], torch.std)):
        t.expect(len(got) == len(outs), "records", (
            f"after {len(outs)} calls hook.stats' {what} hold {len(got)} entries; expected {len(outs)}"))
        for index, (value, out) in enumerate(zip(got, outs)):
            value = value if isinstance(value, torch.Tensor) else torch.tensor(value) \
                if type(value) in (int, float) else value
            t.expect_tensor(value, function(out), f"hook.stats' {what}[{index}]")
    t.expect(not reply["graph"], "detached", (
        "the statistics kept their autograd graph (the course reads outp.data): every batch's "
        "graph would stay in memory"))


@check("6.10")
def check_list_container(t):
    reply = staged(t, t.scenario("list_container_case", "ListContainer"), "ListContainer")
    items = list(range(10))
    cases = [("len(t)", reply["length"], 10), ("t[3]", reply["int"], 3), ("t[-1]", reply["negative"], 9),
             ("t[2:5]", reply["slice"], [2, 3, 4]), ("t[[1, 2, 7]]", reply["indices"], [1, 2, 7]),
             ("t[[False] * 8 + [True, False]]", reply["mask"], [8]), ("list(t)", reply["iterated"], items),
             ("t = ListContainer(list(range(5))); t[1] = 10; del t[0]; list(t)", reply["edited"], [10, 2, 3, 4]),
             ("list(ListContainer(7))", reply["single"], [7]), ("len(ListContainer(None))", reply["empty"], 0)]
    for case, got, want in cases:
        setup = "" if case.startswith(("t =", "list(List", "len(List")) else "with t = ListContainer(list(range(10))), "
        t.expect(got == want, "values", f"{setup}{case} is {got!r}; expected {want!r}")
    expected = ["ListContainer (10 items)\n" + str(items),
                "ListContainer (100 items)\n" + str(items)[:-1] + "...]"]
    for got, want in zip(reply["reprs"], expected):
        t.expect(got == want, "repr", f"repr is {got!r}; expected {want!r}")


@check("6.11")
def check_hooks(t):
    x = t.randn(4, 6)
    reply = staged(t, t.scenario("hooks_case", "Hooks", seed=_seed(t), x=x, answers=("Hook",)), "Hooks")
    t.expect(reply["length"] == 3, "registers", f"Hooks(model, f) over 3 layers holds {reply['length']} hooks")
    t.expect(reply["inside"] == [1, 1, 1], "registers", (
        f"inside the with block, hooks per layer: {reply['inside']}; expected one each"))
    notes = reply["notes"]
    t.expect([n[0] for n in notes if len(n) == 2] == [0, 1, 2] and len(notes) == 3, "records", (
        "one forward pass should call f once per layer, in order, with that layer as its module"))
    for (index, out), want in zip(notes, reply["expected"]):
        t.expect_tensor(out, want, f"the output f received from layer {index}")
    for when, got in (("after the with block", reply["after"]),
                      ("after an exception inside the with block", reply["after_raise"]),
                      ("after del hooks[0] then hooks.remove()", reply["after_remove"])):
        t.expect(got == [0, 0, 0], "removes", f"{when}, hooks per layer: {got}; expected none")
    t.expect(reply["after_del"] == [0, 1, 1] and reply["length_after_del"] == 2, "removes", (
        f"del hooks[0] should remove that hook from its layer and from the container: hooks per layer "
        f"{reply['after_del']}, {reply['length_after_del']} left in the container"))


GENERAL_RELU_CASES = [{}, {"leak": 0.1}, {"sub": 0.4}, {"maxv": 1.5}, {"leak": 0.2, "sub": 0.3, "maxv": 2.0}]


def general_relu(x, leak=None, sub=None, maxv=None):
    """The formula: max(x, 0) + leak * min(x, 0) (leak 0 if None), minus sub, at most maxv."""
    out = x.clamp_min(0) + (leak or 0.0) * x.clamp_max(0)
    out = out - (sub or 0.0)
    return out.clamp_max(maxv) if maxv is not None else out


@check("6.12")
def check_general_relu(t):
    x = t.randn(6, 7) * 3
    x[0, :3] = 0.0
    reply = staged(t, t.scenario("general_relu_case", "GeneralRelu", x=x, cases=GENERAL_RELU_CASES), "GeneralRelu")
    t.expect(reply["module"], "type", "GeneralRelu should be an nn.Module")
    for kwargs, (got, untouched) in zip(GENERAL_RELU_CASES, reply["outs"]):
        shown = ", ".join(f"{k}={v}" for k, v in kwargs.items())
        no_leak = {**kwargs, "leak": None}
        capped_first = lambda out: (general_relu(x, kwargs.get("leak")).clamp_max(kwargs["maxv"])  # noqa: E731
                                    - kwargs.get("sub", 0.0))
        t.expect_tensor(got, general_relu(x, **kwargs), f"GeneralRelu({shown})(x)", hints=[
            ("leak_ignored", lambda out: kwargs.get("leak") and close(out, general_relu(x, **no_leak))),
            ("cap_before_sub", lambda out: kwargs.get("maxv") and kwargs.get("sub") and close(out, capped_first(out)))])
        t.expect(untouched, "side effects", f"GeneralRelu({shown})(x) changed x in place")


@check("6.13")
def check_cnn_layer(t):
    seed, c, kwargs = _seed(t), 10, {"leak": 0.1, "sub": 0.4, "maxv": 6.0}
    reply = t.scenario("cnn_layer_case", "get_cnn_model", seed=seed, nfs=NFS, c=c, bs=BS, kwargs=kwargs,
                       answers=("GeneralRelu", "Lambda", "flatten"))
    if "block" in reply:
        expect_block(t, reply["block"], lambda o: general_relu(o, **kwargs),
                     "conv_layer(3, 5, 5, 1, leak=0.1, sub=0.4, maxv=6.)")
    staged(t, reply, "conv_layer, get_cnn_layers, get_cnn_model")
    given = sorted(kwargs.items())
    expected = [[a, b, 5 if i == 0 else 3, [list(kv) for kv in given]]
                for i, (a, b) in enumerate(zip([1] + NFS, NFS))]
    t.expect(reply["calls"] == expected, "layers", (
        f"get_cnn_layers(data, {NFS}, layer, **kwargs) called layer with {reply['calls']}; expected "
        f"(ni, nf, ks, **kwargs) = {expected}"))
    shapes = learnable.cnn_layer_shapes(BS, c)
    expect_shapes(t, reply["shapes"], [shapes[i] for i in (2, 4, 6, 8, 9, 10, 11)],
                  f"get_cnn_model(data, {NFS}, conv_layer, ...) on a ({BS}, 1, 28, 28) batch")


INIT_CHANNELS = [16, 32, 64, 64]


def expect_kaiming(t, weights, biases, uniform):
    gain = math.sqrt(2.0 / (1 + LEAK ** 2))
    how = "init_cnn(model, uniform=True)" if uniform else "init_cnn(model)"
    for index, (weight, bias) in enumerate(zip(weights, biases)):
        fan_in = weight[0].numel()
        std, n = gain / math.sqrt(fan_in), weight.numel()
        got_std, got_mean = float(weight.std()), float(weight.mean())
        what = f"{how}: block {index}'s conv weight {tuple(weight.shape)} (fan-in {fan_in})"
        t.expect(abs(got_mean) < SIGMAS * std / math.sqrt(n), "statistics", (
            f"{what} has mean {got_mean:.4g}; expected 0"))
        tolerance = SIGMAS / math.sqrt(2 * n) + 0.01
        fan_out = weight.shape[0] * weight[0, 0].numel()
        hint = "kaiming_fan_out" if abs(got_std * math.sqrt(fan_out) / gain - 1) < tolerance else ""
        t.expect(abs(got_std / std - 1) < tolerance, "statistics", (
            f"{what} has std {got_std:.4g}; Kaiming with a={LEAK} gives sqrt(2 / (1 + a²)) / sqrt(fan-in) "
            f"= {std:.4g}"), messages.HINTS[hint] if hint else "")
        bound = math.sqrt(3.0) * std
        beyond = float((weight.abs() > bound * 1.0001).float().mean())
        if uniform:
            t.expect(beyond == 0, "statistics", f"{what} has values beyond ±{bound:.4g}: not uniform")
        else:
            t.expect(beyond > 0.03, "statistics", (
                f"{what}: {beyond:.1%} of the values lie beyond ±{bound:.4g}; a normal draw puts 8% there"))
        t.expect(bool((bias == 0).all()), "bias", f"{how}: block {index}'s conv bias should be zeroed")


@check("6.14")
def check_init_cnn(t):
    reply = staged(t, t.scenario("init_cnn_case", "init_cnn", seed=_seed(t), channels=INIT_CHANNELS), "init_cnn")
    for name, uniform in (("normal", False), ("uniform", True)):
        part = reply[name]
        expect_kaiming(t, part["weights"], part["biases"], uniform)
        t.expect(part["linear_kept"], "layers", "init_cnn should change only the conv of each Sequential block")
