"""Lesson 03: cross entropy from scratch, the optimizer and the data pipeline.

Losses are compared with ``F.log_softmax``, ``F.nll_loss`` and ``Tensor.logsumexp``, the
optimizer with ``torch.optim.SGD``'s update. The two ``fit`` tasks are in ``training``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from autograder import messages
from autograder.checking import close
from autograder.checks import check

def large_rows(t) -> torch.Tensor:
    """Rows near +1000 and near -1000, where exp overflows (or underflows) in float32."""
    x = t.randn(4, 10, scale=3.0) + 1000
    x[2:] -= 2000
    return x


def check_log_softmax(t, standins=(), large=False):
    for shape in [(5, 10), (1, 4), (3, 1)]:
        x = t.randn(*shape, scale=3.0)
        got = t.call("log_softmax", x, standins=standins)["result"]
        t.expect_tensor(got, F.log_softmax(x, -1), f"log_softmax(x) for x {shape}")
    if large:
        x = large_rows(t)
        got = t.call("log_softmax", x, standins=standins)["result"]
        # NOTE: float32 holds 1000 to about 6e-5, so x - logsumexp(x) is off by as much
        t.expect_tensor(got, F.log_softmax(x, -1), "log_softmax(x) for rows near 1000 and -1000", atol=1e-3,
                        hints=[("overflow", lambda g: not torch.isfinite(g).all())])


@check("3.1")
def check_log_softmax_naive(t):
    check_log_softmax(t)


@check("3.3")
def check_log_softmax_quotient(t):
    check_log_softmax(t)


@check("3.5")
def check_log_softmax_logsumexp(t):
    check_log_softmax(t, standins=["logsumexp"], large=True)


@check("3.2")
def check_nll(t):
    for n, c in [(5, 10), (1, 4), (16, 3)]:
        inp, target = F.log_softmax(t.randn(n, c), -1), t.randint(0, c, (n,))
        got = t.call("nll", inp, target)["result"]
        expected = F.nll_loss(inp, target)
        t.expect_tensor(got, expected, f"nll(input, target) for input {(n, c)}",
                        hints=[("nll_sign", lambda g: close(-g, expected)),
                               ("nll_sum", lambda g: n > 1 and close(g / n, expected))])
    counts = [t.call("nll", F.log_softmax(t.randn(n, 5), -1), t.randint(0, 5, (n,)), trace=True)["trace"]["count"]
              for n in (4, 32)]
    t.expect(counts[1] <= counts[0], "speed", (
        f"nll made {counts[0]} torch calls for 4 rows and {counts[1]} for 32: it loops over the rows"),
        messages.HINTS["nll_loop"])


@check("3.4")
def check_logsumexp(t):
    for shape in [(5, 10), (1, 4), (3, 1)]:
        x = t.randn(*shape, scale=3.0)
        t.expect_tensor(t.call("logsumexp", x)["result"], x.logsumexp(-1), f"logsumexp(x) for x {shape}")
    x = large_rows(t)
    t.expect_tensor(t.call("logsumexp", x)["result"], x.logsumexp(-1),
                    "logsumexp(x) for rows near 1000 and -1000",
                    hints=[("overflow", lambda g: not torch.isfinite(g).all())])


@check("3.6")
def check_accuracy(t):
    for n, c in [(8, 10), (1, 3), (7, 4)]:
        out, yb = t.randn(n, c), t.randint(0, c, (n,))
        yb[: n // 2] = out.argmax(1)[: n // 2]  # some right, some wrong
        expected = (out.argmax(1) == yb).float().mean()
        got = t.call("accuracy", out, yb)["result"]
        t.expect_tensor(got, expected, f"accuracy(out, yb) for out {(n, c)}",
                        hints=[("accuracy_count", lambda g: n > 1 and close(g.float() / n, expected))])


@check("3.8")
def check_dummy_module(t):
    reply = t.scenario("dummy_module", "DummyModule", n_in=6, nh=4, n_out=3)
    if reply["raised"]:
        raise t.raised(f"DummyModule ({reply['stage']})", reply["raised"])
    t.expect(not reply["is_module"], "rules", "DummyModule must not subclass nn.Module; this task is "
             "about registering sub-modules yourself, in __setattr__")
    for key, when in [("first", "DummyModule(6, 4, 3)"), ("later", "setting self.extra = nn.Linear(3, 2) after")]:
        found = reply[key]
        t.expect(found["same"], "parameters", (
            f"parameters() after {when} gave tensors of shapes {found['got']}; expected the parameters "
            f"of its layers, in the order they were set: {found['expected']}"))
    t.expect("Linear" in reply["repr"], "repr", f"repr(DummyModule(6, 4, 3)) should show its layers; got {reply['repr'][:200]!r}")


def sgd(params, grads, lr):
    """One step of ``torch.optim.SGD`` without momentum: ``p.add_(grad, alpha=-lr)``, as it
    does it. (Building a torch.optim optimizer first imports torch._dynamo: seconds.)"""
    return [p.add(grad, alpha=-lr) for p, grad in zip(params, grads)]


@check("3.9")
def check_optimizer(t):
    for lr in (None, 0.1):
        params, grads = [t.randn(4, 3), t.randn(3)], [t.randn(4, 3), t.randn(3)]
        call = "Optimizer(params)" if lr is None else f"Optimizer(params, lr={lr})"
        reply = t.scenario("optimizer_steps", "Optimizer", params=params, grads=grads, lr=lr)
        if reply["raised"]:
            raise t.raised(f"{call}.{reply['stage']}", reply["raised"])
        rate = 0.5 if lr is None else lr
        first = sgd(params, grads, rate)
        for index, (got, expected) in enumerate(zip(reply["first"], first)):
            t.expect_tensor(got, expected, f"parameter {index} after one step of {call}",
                            hints=[("sgd_sign", lambda g, p=params[index], d=grads[index]: close(g, p + rate * d))])
        for index, grad in enumerate(reply["zeroed"]):
            t.expect(grad is None or not grad.any(), "zero_grad",
                     f"after {call}.zero_grad(), parameter {index}'s gradient is not zero",
                     messages.HINTS["generator_used_up"])
        for index, (got, expected) in enumerate(zip(reply["second"], sgd(first, grads, rate))):
            t.expect_tensor(got, expected, f"parameter {index} after a second step of {call}",
                            hints=[("generator_used_up", lambda g, f=first[index]: close(g, f))])


@check("3.10")
def check_dataset(t):
    x, y = t.randn(7, 3), t.randint(0, 5, (7,))
    reply = t.scenario("dataset_items", "Dataset", x=x, y=y, index=2, start=1, stop=4)
    if reply["raised"]:
        raise t.raised("Dataset", reply["raised"])
    t.expect(reply["len"] == 7, "len", f"len(Dataset(x, y)) with 7 rows is {reply['len']!r}")
    for key, (xs, ys), what in [("item", (x[2], y[2]), "ds[2]"), ("slice", (x[1:4], y[1:4]), "ds[1:4]")]:
        got = reply[key]
        t.expect(isinstance(got, list) and len(got) == 2, "type", f"{what} should be a pair (x, y); got {got!r:.80}")
        t.expect_tensor(got[0], xs, f"the x of {what}")
        t.expect_tensor(got[1], ys, f"the y of {what}")


def batches(n, bs, order=None):
    order = torch.arange(n) if order is None else order
    return [order[i:i + bs] for i in range(0, n, bs)]


def sampled(t, reply, call) -> list:
    if reply["raised"]:
        raise t.raised(call, reply["raised"])
    return reply["passes"]


@check("3.11")
def check_sampler(t):
    for n, bs in [(50, 8), (24, 8)]:
        for shuffle in (None, False):
            call = f"Sampler(ds, {bs}{'' if shuffle is None else ', shuffle=False'}) over {n} items"
            passes = sampled(t, t.scenario("sampler_passes", "Sampler", n=n, bs=bs, shuffle=shuffle), call)
            expected = batches(n, bs)
            got = passes[0]
            hint = messages.HINTS["drops_last_batch"] if len(got) == len(expected) - 1 else ""
            t.expect(len(got) == len(expected), "batches",
                     f"{call} gave {len(got)} batches; expected {len(expected)}", hint)
            for index, (batch, want) in enumerate(zip(got, expected)):
                t.expect(torch.equal(batch, want), "batches",
                         f"batch {index} of {call} is {batch.tolist()}; expected {want.tolist()}")
    n, bs = 50, 8
    call = f"Sampler(ds, {bs}, shuffle=True) over {n} items"
    passes = sampled(t, t.scenario("sampler_passes", "Sampler", n=n, bs=bs, shuffle=True), call)
    for got in passes:
        sizes = [len(b) for b in got]
        hint = messages.HINTS["drops_last_batch"] if sizes == [bs] * (n // bs) else ""
        t.expect(sizes == [len(b) for b in batches(n, bs)], "batches",
                 f"{call} gave batches of sizes {sizes}", hint)
        every = torch.cat(got).sort().values if got else torch.tensor([])
        t.expect(torch.equal(every, torch.arange(n)), "shuffle",
                 f"{call} should give every index exactly once per pass")
        t.expect(not torch.equal(torch.cat(got), torch.arange(n)), "shuffle", f"{call} did not shuffle")
    t.expect(not torch.equal(torch.cat(passes[0]), torch.cat(passes[1])), "shuffle",
             f"{call} gave the same order in two passes", messages.HINTS["same_shuffle"])


@check("3.12")
def check_collate(t):
    xs, ys = [t.randn(3) for _ in range(4)], [t.randint(0, 9) for _ in range(4)]
    reply = t.scenario("collate_pairs", "collate", xs=xs, ys=ys)
    if reply["raised"]:
        raise t.raised("collate", reply["raised"])
    got = reply["result"]
    t.expect(isinstance(got, list) and len(got) == 2, "type", f"collate should return (xb, yb); got {got!r:.80}")
    t.expect_tensor(got[0], torch.stack(xs), "xb of collate([(x0, y0), ..., (x3, y3)])")
    t.expect_tensor(got[1], torch.stack(ys), "yb of collate([(x0, y0), ..., (x3, y3)])")


@check("3.13")
def check_dataloader(t):
    x, y = t.randn(10, 3), t.randint(0, 5, (10,))
    batches = [[3, 1, 4], [0, 2], [9, 8, 7, 6, 5]]
    reply = t.scenario("dataloader_passes", "DataLoader", x=x, y=y, batches=batches)
    if reply["raised"]:
        raise t.raised("DataLoader", reply["raised"])
    for number, got in enumerate(reply["passes"], 1):
        t.expect(len(got) == len(batches), "batches", (
            f"pass {number} over DataLoader(ds, sampler, collate_fn) gave {len(got)} batches; "
            f"the sampler gives {len(batches)}"))
        for index, (batch, indices) in enumerate(zip(got, batches)):
            what = f"batch {index} (the sampler's indices {indices}), pass {number}"
            t.expect(isinstance(batch, list) and len(batch) == 2, "type", f"{what} should be (xb, yb)")
            t.expect_tensor(batch[0], x[indices], f"xb of {what}")
            t.expect_tensor(batch[1], y[indices], f"yb of {what}")
    t.expect(reply["collate_calls"] == 2 * len(batches), "collate", (
        f"collate_fn was called {reply['collate_calls']} times for {2 * len(batches)} batches: "
        "the loader should hand each batch's list of items to collate_fn"))


@check("3.15")
def check_get_dls(t):
    n, bs = 40, 8
    reply = t.scenario("get_dls_passes", "get_dls", n_train=n, n_valid=n, bs=bs)
    if reply["raised"]:
        raise t.raised("get_dls", reply["raised"])
    for number_, got in enumerate(reply["valid"], 1):
        expected = batches(n, 2 * bs)
        t.expect(len(got) == len(expected) and all(torch.equal(a, b) for a, b in zip(got, expected)),
                 "valid", (f"pass {number_} over the validation loader gave the items "
                           f"{[b.tolist() for b in got]}; expected batches of {2 * bs} in order"))
    for got in reply["train"]:
        sizes = [len(b) for b in got]
        t.expect(sizes == [bs] * (n // bs), "train", f"the training loader gave batches of sizes {sizes}; expected {bs}")
        t.expect(torch.equal(torch.cat(got).sort().values, torch.arange(n)), "train",
                 "the training loader should give every item once per pass")
    orders = [torch.cat(got) for got in reply["train"]]
    t.expect(not torch.equal(orders[0], torch.arange(n)) and not torch.equal(orders[0], orders[1]),
             "train", "the training loader does not shuffle: its order should change every pass")
