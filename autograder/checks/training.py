"""Lesson 03's training loops (3.7, 3.14), and what lesson 04's training task shares.

Training runs for real, in the child, on ``learnable``'s data set drawn from the
grader's seed; the child sends back the trained weights and the grader measures loss and
accuracy with them here, in its own process.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from autograder import learnable, messages
from autograder.checking import CheckFailed
from autograder.checks import check
from autograder.checks.lesson03 import batches

ACCURACY_THRESHOLD = 0.9  # the reference reaches 98% or more on every seed tried
BS = 64


def _seed(t) -> int:
    return int(t.randint(0, 2**31))


def trained_weights(t, reply: dict, function: str) -> list:
    weights = reply.get("weights")
    shapes = [tuple(w.shape) for w in learnable.draw_weights(0)]
    if not (isinstance(weights, list) and [tuple(getattr(w, "shape", ())) for w in weights] == shapes):
        raise CheckFailed("trains", f"after {function}, the model no longer has its four parameters")
    return weights


def measure(weights, x, y) -> tuple[float, float]:
    """Loss and accuracy of the trained network over all of (x, y), in the grader's process."""
    out = learnable.network(weights)(x).detach()
    return float(F.cross_entropy(out, y)), float((out.argmax(1) == y).float().mean())


def expect_learned(t, weights, data, function, epochs):
    _, accuracy = measure(weights, data.x_valid, data.y_valid)
    t.expect(accuracy > ACCURACY_THRESHOLD, "trains", (
        f"after {function} for {epochs} epoch(s) the model's validation accuracy is {accuracy:.1%}; "
        f"a correct loop reaches more than {ACCURACY_THRESHOLD:.0%} on this data"))


@check("3.7")
def check_fit_plain(t):
    seed = _seed(t)
    reply = t.scenario("train_plain", "fit", seed=seed, epochs=1, lr=0.5, bs=BS)
    if reply["raised"]:
        raise t.raised("fit", reply["raised"])
    weights, data = trained_weights(t, reply, "fit"), learnable.draw_data(seed)
    t.expect(reply["same_objects"], "trains", "fit replaced the model's parameters with new ones",
             messages.HINTS["in_place_update"])
    initial = learnable.draw_weights(seed)
    t.expect(any(not torch.equal(w, w0) for w, w0 in zip(weights, initial)), "trains",
             "fit left the model's parameters unchanged", messages.HINTS["in_place_update"])
    before, _ = measure(initial, data.x_train, data.y_train)
    after, _ = measure(weights, data.x_train, data.y_train)
    t.expect(after < before, "trains", f"fit raised the training loss from {before:.4g} to {after:.4g}",
             messages.HINTS["sgd_sign"])
    expect_learned(t, weights, data, "fit", 1)


def number(value) -> float | None:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value)
    return float(value) if type(value) in (int, float) else None


@check("3.14")
def check_fit_validate(t):
    seed, epochs = _seed(t), 2
    reply = t.scenario("train_validate", "fit", seed=seed, epochs=epochs, bs=BS, answers=("accuracy",))
    if reply["raised"]:
        raise t.raised("fit", reply["raised"])
    result = reply["result"]
    values = [number(v) for v in result] if isinstance(result, list) and len(result) == 2 else [None]
    t.expect(None not in values, "returns", f"fit should return (valid_loss, valid_acc); it returned {result!r:.80}")
    weights, data = trained_weights(t, reply, "fit"), learnable.draw_data(seed)
    notes = reply["notes"]
    valid_sizes = {len(b) for b in batches(len(data.x_valid), 2 * BS)}
    train = [n for n in notes if n[2] not in valid_sizes]
    valid = [n for n in notes if n[2] in valid_sizes]
    t.expect(all(not grad for _, grad, _ in valid), "modes", "validation ran with gradients enabled",
             messages.HINTS["no_grad_validation"])
    t.expect(all(not training for training, _, _ in valid), "modes", "validation ran in training mode",
             messages.HINTS["eval_mode"])
    t.expect(all(training for training, _, _ in train), "modes", "training ran in evaluation mode",
             messages.HINTS["eval_mode"])
    loss, accuracy = measure(weights, data.x_valid, data.y_valid)
    batch_means = _batch_means(weights, data)
    for got, expected, mean, what in [(values[0], loss, batch_means[0], "loss"),
                                      (values[1], accuracy, batch_means[1], "accuracy")]:
        hint = messages.HINTS["batch_mean"] if abs(got - mean) <= 1e-4 * max(1.0, abs(mean)) else ""
        t.expect(abs(got - expected) <= 1e-4 * max(1.0, abs(expected)), "values", (
            f"fit returned a validation {what} of {got:.6g}; over the whole validation set it is "
            f"{expected:.6g}"), hint)
    expect_learned(t, weights, data, "fit", epochs)


def _batch_means(weights, data) -> tuple[float, float]:
    model = learnable.network(weights)
    results = [(float(F.cross_entropy(out, yb)), float((out.argmax(1) == yb).float().mean()))
               for xb, yb in zip(data.x_valid.split(2 * BS), data.y_valid.split(2 * BS))
               for out in [model(xb).detach()]]
    return sum(r[0] for r in results) / len(results), sum(r[1] for r in results) / len(results)
