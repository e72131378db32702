"""Lesson 04: the Learner's parts, callbacks and the Runner.

The Runner is graded by the exact sequence of events a probe callback of the grader's
receives; statistics against the exact values over the whole data set.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from autograder import learnable, messages, standins
from autograder.checks import check
from autograder.checks.training import BS, expect_learned, measure, number, trained_weights

# The metric the grader hands to AvgStats (``standins.target_probability``: not accuracy, whose
# code is task 3.6's answer); the mean over all rows after training is above TRAINED_PROBABILITY.
METRIC = "mean target probability"
TRAINED_PROBABILITY = 0.5
TRAIN_EVENTS = ["begin_batch", "after_pred", "after_loss", "after_backward", "after_step", "after_batch"]
VALID_EVENTS = ["begin_batch", "after_pred", "after_loss", "after_batch"]


def staged(t, reply, function):
    if reply["raised"]:
        raise t.raised(f"{function} ({reply['stage']})", reply["raised"])
    return reply


@check("4.1")
def check_databunch(t):
    reply = staged(t, t.scenario("databunch", "DataBunch", c=10), "DataBunch")
    t.expect(reply["train_dl"] and reply["valid_dl"], "holds", "DataBunch should keep train_dl and valid_dl as given")
    t.expect(reply["c"] == 10, "holds", f"DataBunch(train_dl, valid_dl, 10).c is {reply['c']!r}")
    t.expect(reply["train_ds"] and reply["valid_ds"], "data sets",
             "train_ds and valid_ds should be the data sets of train_dl and valid_dl")
    t.expect(reply["default_c"] is None, "holds", f"c should default to None; got {reply['default_c']!r}")


@check("4.2")
def check_learner(t):
    reply = staged(t, t.scenario("learner", "Learner"), "Learner")
    wrong = [name for name, held in reply["held"].items() if not held]
    t.expect(not wrong, "holds", f"Learner(model, opt, loss_func, data) should keep each as an attribute "
             f"of that name; wrong: {', '.join(wrong)}")


# The course's camel2snake on these names (its two substitutions, in order): expected values
# as data, so no working camel2snake ships with the grader.
CAMEL_CASES = {
    "TrainEvalCallback": "train_eval_callback", "AvgStatsCallback": "avg_stats_callback",
    "Callback": "callback", "LR_Find": "lr__find", "HTTPServer": "http_server",
    "Conv2dLayer": "conv2d_layer", "already_snake": "already_snake",
    "getHTTPResponse2Code": "get_http_response2_code", "ABC": "abc",
}
# A callback's name: its class name without "Callback" (all of "Callback" is "callback"), in snake case.
CALLBACK_NAMES = {"Callback": "callback", "TrainEvalCallback": "train_eval", "AvgStatsCallback": "avg_stats",
                  "Recorder": "recorder", "LR_Find": "lr__find"}


@check("4.3")
def check_camel2snake(t):
    for name, expected in CAMEL_CASES.items():
        got = t.call("camel2snake", name)["result"]
        t.expect(got == expected, "values", f"camel2snake({name!r}) is {got!r}; expected {expected!r}")


@check("4.4")
def check_callback(t):
    reply = staged(t, t.scenario("callback_protocol", "Callback", value=42), "Callback")
    t.expect(reply["order"] == 0, "_order", f"Callback._order should be 0; it is {reply['order']!r}")
    t.expect(reply["run"], "runner", "set_runner(run) should keep the runner as self.run")
    t.expect(reply["value"] == 42, "runner", "an attribute the callback lacks should be read from its runner")
    t.expect(reply["own"] == "callback's", "runner", "the callback's own attributes should come before the runner's")
    t.expect(reply["missing"], "runner", (
        "an attribute neither the callback nor its runner has should raise AttributeError "
        "(getattr(cb, 'begin_fit', None) must be None)"))
    for (class_name, expected), got in zip(CALLBACK_NAMES.items(), reply["names"]):
        t.expect(got == expected, "name", f"the name of a {class_name} is {got!r}; expected {expected!r}")


def train_eval_expected(epochs, train_batches, valid_batches):
    notes, n_epochs, n_iter = [["begin_fit", 0.0, 0, None, None]], 0.0, 0
    for epoch in range(epochs):
        n_epochs = float(epoch)
        notes.append(["begin_epoch", n_epochs, n_iter, True, True])
        for _ in range(train_batches):
            n_epochs, n_iter = n_epochs + 1 / train_batches, n_iter + 1
            notes.append(["after_batch", n_epochs, n_iter, True, True])
        notes.append(["begin_validate", n_epochs, n_iter, False, False])
        notes += [["after_batch", n_epochs, n_iter, False, False]] * valid_batches
    return notes


@check("4.5")
def check_train_eval_callback(t):
    sizes = {"epochs": 2, "train_batches": 4, "valid_batches": 3}
    reply = staged(t, t.scenario("train_eval_protocol", "TrainEvalCallback", **sizes), "TrainEvalCallback")
    expected = train_eval_expected(*sizes.values())
    for step, (got, want) in enumerate(zip(reply["notes"], expected)):
        event = f"{want[0]} (call {step + 1}: 2 epochs of 4 training and 3 validation batches)"
        n_epochs = number(got[1])
        t.expect(n_epochs is not None and abs(n_epochs - want[1]) < 1e-6, "counts",
                 f"after {event}, run.n_epochs is {got[1]!r}; expected {want[1]:g}")
        t.expect(got[2] == want[2], "counts", f"after {event}, run.n_iter is {got[2]!r}; expected {want[2]}")
        if want[3] is not None:
            mode = "training" if want[3] else "evaluation"
            t.expect(got[3] == want[3] and got[4] == want[4], "modes",
                     f"after {event}, the model should be in {mode} mode and run.in_train {want[4]}")


@check("4.6")
def check_listify(t):
    reply = staged(t, t.scenario("listify_cases", "listify"), "listify")
    cases = ["None", "[1, 2]", "'abc'", "(1, 2)", "range(3)", "a generator of 0, 1", "5", "2.5", "{'a': 1}"]
    expected = [[], [1, 2], ["abc"], [1, 2], [0, 1, 2], [0, 1], [5], [2.5], ["a"]]
    for case, (got, is_list), want in zip(cases, reply["results"], expected):
        t.expect(is_list and got == want, "values", f"listify({case}) is {got!r}; expected {want!r}")
    t.expect(reply["same_list"], "values", "listify of a list should return that list itself")


def runner_expected(epochs, train_batches, valid_batches, train_events=TRAIN_EVENTS, valid_events=VALID_EVENTS):
    events = ["begin_fit"]
    for _ in range(epochs):
        events += ["begin_epoch"] + train_events * train_batches
        events += ["begin_validate"] + valid_events * valid_batches + ["after_epoch"]
    return events + ["after_fit"]


def expect_events(t, got, expected, what, hint=""):
    events = [note[1] for note in got]
    first = next((i for i, (a, b) in enumerate(zip(events, expected)) if a != b), min(len(events), len(expected)))
    t.expect(events == expected, "events", (
        f"{what}: the events differ from event {first + 1} on: got {events[first:first + 6]}, "
        f"expected {expected[first:first + 6]}"), hint)


@check("4.7")
def check_runner(t):
    epochs, train_batches, valid_batches = 2, 3, 2  # 10 and 6 rows in batches of 4
    reply = staged(t, t.scenario("runner_events", "Runner", seed=int(t.randint(0, 2**31)), epochs=epochs,
                                 answers=("TrainEvalCallback",)), "Runner")
    expected = runner_expected(epochs, train_batches, valid_batches)
    expect_events(t, reply["events"], expected, f"Runner.fit({epochs}, learn) with a callback noting its events")
    in_validation = False
    for tag, event, in_train, grad in reply["events"]:
        in_validation = (in_validation or event == "begin_validate") and event != "begin_epoch"
        if event in VALID_EVENTS and in_validation:
            t.expect(not grad, "validation", f"{event} during validation ran with gradients enabled",
                     messages.HINTS["no_grad_validation"])
    steps = epochs * train_batches
    t.expect(reply["steps"] == steps and reply["zeroed"] == steps, "steps", (
        f"the optimizer stepped {reply['steps']} times and was zeroed {reply['zeroed']} times; "
        f"expected {steps} each (once per training batch, never in validation)"))
    order = [tag for tag, event, _, _ in reply["ordered"] if event == "begin_fit"]
    t.expect(order == ["first", "second"], "order", (
        f"callbacks with _order 1 and 2, given in reverse, received begin_fit in the order {order}: "
        "sort them by _order"))
    skipped = runner_expected(1, train_batches, valid_batches, ["begin_batch", "after_pred", "after_batch"],
                              ["begin_batch", "after_pred", "after_batch"])
    expect_events(t, reply["stopped"], skipped, "a callback returning True at after_pred should skip the rest "
                  "of that batch (loss, backward, step) and go on with after_batch")
    t.expect(reply["stopped_steps"] == 0, "steps", "the optimizer stepped although after_pred returned True")
    t.expect(reply["made"], "cb_funcs", (
        "Runner(cb_funcs=[f]) should call f, add the callback it makes to run.cbs and keep it as "
        "an attribute named by the callback's name"))


@check("4.8")
def check_avg_stats(t):
    sizes, classes = [5, 5, 2], 4
    preds = [t.randn(size, classes) for size in sizes]
    ys = [t.randint(0, classes, (size,)) for size in sizes]
    for index, yb in enumerate(ys):
        yb[:2] = preds[index].argmax(1)[:2]
    reply = staged(t, t.scenario("avg_stats", "AvgStats", preds=preds, ys=ys, in_train=False), "AvgStats")
    pred, y = torch.cat(preds), torch.cat(ys)
    expected = [float(F.cross_entropy(pred, y)), float(standins.target_probability(pred, y))]
    means = [sum(float(F.cross_entropy(p, yb)) for p, yb in zip(preds, ys)) / len(sizes),
             sum(float(standins.target_probability(p, yb)) for p, yb in zip(preds, ys)) / len(sizes)]
    got = reply["avg"]
    values = [number(v) for v in got] if isinstance(got, list) and len(got) == 2 else [None]
    t.expect(None not in values, "values", f"avg_stats should be [loss, {METRIC}]; got {got!r:.80}")
    for value, want, mean, what in zip(values, expected, means, ["loss", METRIC]):
        hint = messages.HINTS["batch_mean"] if abs(value - mean) < 1e-5 else ""
        t.expect(abs(value - want) < 1e-5, "values", (
            f"the average {what} over batches of {sizes} rows is {value:.6g}; over all rows it is {want:.6g}"), hint)
    t.expect(number(reply["count"]) == sum(sizes), "values", f"count is {reply['count']!r}; expected {sum(sizes)}")
    t.expect(reply["in_train"] is False, "holds", "AvgStats(metrics, False).in_train should be False")
    t.expect(number(reply["after_reset"]) == 0, "values", "reset() should set count back to 0")


@check("4.9")
def check_avg_stats_callback(t):
    seed, epochs = int(t.randint(0, 2**31)), 2
    reply = staged(t, t.scenario("avg_stats_callback", "AvgStatsCallback", seed=seed, epochs=epochs, bs=BS,
                                 answers=("Runner", "AvgStats")), "AvgStatsCallback")
    weights, data = trained_weights(t, reply, "training"), learnable.draw_data(seed)
    for phase in ("train", "valid"):
        got = reply[phase]
        values = [number(v) for v in got] if isinstance(got, list) and len(got) == 2 else [None]
        t.expect(None not in values and all(v == v for v in values), "reports",
                 f"{phase}_stats.avg_stats should be [loss, {METRIC}] for the last epoch; got {got!r:.80}")
    loss, _ = measure(weights, data.x_valid, data.y_valid)
    probability = float(standins.target_probability(learnable.network(weights)(data.x_valid).detach(),
                                                    data.y_valid))
    got = [number(v) for v in reply["valid"]]
    t.expect(abs(got[0] - loss) <= 1e-4 * max(1.0, loss) and abs(got[1] - probability) <= 1e-4, "values", (
        f"valid_stats reports loss {got[0]:.6g} and {METRIC} {got[1]:.6g}; over the whole validation "
        f"set they are {loss:.6g} and {probability:.6g}"))
    train_probability = number(reply["train"][1])
    t.expect(TRAINED_PROBABILITY < train_probability <= 1, "reports", (
        f"train_stats reports a {METRIC} of {train_probability:.4g} in the last epoch; after training "
        f"it should be above {TRAINED_PROBABILITY}"))
    expect_learned(t, weights, data, "training with AvgStatsCallback", epochs)
