"""Scenarios of lesson 04: the Learner's parts, callbacks and the Runner.

The Runner is graded with a probe: a callback of the grader's that notes every event it
receives, in order, and can answer True at one of them. Tasks built on earlier ones run
with stand-ins for those (``TrainEvalCallback`` in the Runner, ``AvgStats`` and the
Runner itself for ``AvgStatsCallback``); in a student release, which has no answers,
with the student's own, reported back as ``own_standins``.
"""
from __future__ import annotations

import types

import torch
import torch.nn.functional as F

from autograder import learnable, standins
from autograder.scenarios import _install, _lookup, describe_exception, plain, scenario, standin
from autograder.training_scenarios import Batches, CountingSGD, NotingModel, weights_of

EVENTS = ("begin_fit", "begin_epoch", "begin_batch", "after_pred", "after_loss", "after_backward",
          "after_step", "after_batch", "begin_validate", "after_epoch", "after_fit")
MAX_NOTES = 512


def _staged(report: dict, steps) -> dict:
    """Run ``(stage, function)`` pairs in order; the first exception ends the report."""
    report.setdefault("raised", None)
    for stage, step in steps:
        report["stage"] = stage
        try:
            step()
        except BaseException as exc:  # noqa: BLE001
            report["raised"] = describe_exception(exc)
            return report
    report["stage"] = "done"
    return report


@scenario
def databunch(namespace, *, c):
    cls = _lookup(namespace, "DataBunch")
    train_dl = Batches(torch.zeros(6, 2), torch.zeros(6), 4)
    valid_dl = Batches(torch.ones(4, 2), torch.ones(4), 4)
    report: dict = {}

    def build():
        data = cls(train_dl, valid_dl, c)
        report.update(train_dl=data.train_dl is train_dl, valid_dl=data.valid_dl is valid_dl,
                      c=plain(data.c))

    def data_sets():
        data = cls(train_dl, valid_dl, c)
        report.update(train_ds=data.train_ds is train_dl.ds, valid_ds=data.valid_ds is valid_dl.ds)

    def default_c():
        report["default_c"] = plain(cls(train_dl, valid_dl).c)

    return _staged(report, [("__init__", build), ("train_ds and valid_ds", data_sets),
                            ("__init__ without c", default_c)])


@scenario
def learner(namespace):
    cls = _lookup(namespace, "Learner")
    parts = {"model": torch.nn.Linear(2, 2), "opt": object(), "loss_func": F.cross_entropy,
             "data": object()}
    report: dict = {}

    def build():
        learn = cls(*parts.values())
        report["held"] = {name: getattr(learn, name, None) is part for name, part in parts.items()}

    return _staged(report, [("__init__", build)])


@scenario
def callback_protocol(namespace, *, value):
    base = _lookup(namespace, "Callback")
    report: dict = {"own_standins": _install(namespace, ["camel2snake"])}
    classes = [base, type("TrainEvalCallback", (base,), {}), type("AvgStatsCallback", (base,), {}),
               type("Recorder", (base,), {}), type("LR_Find", (base,), {})]
    run = types.SimpleNamespace(value=value, shared="runner's")

    def names():
        report["names"] = [str(cls().name) for cls in classes]

    def order():
        report["order"] = plain(getattr(base, "_order", None))

    def runner():
        callback = base()
        callback.set_runner(run)
        callback.shared = "callback's"
        report.update(run=getattr(callback, "run", None) is run, value=plain(callback.value),
                      own=plain(callback.shared), missing=getattr(callback, "begin_fit", None) is None)

    return _staged(report, [("_order", order), ("set_runner and attribute lookup", runner),
                            ("name", names)])


@scenario
def train_eval_protocol(namespace, *, epochs, train_batches, valid_batches):
    """Drive ``TrainEvalCallback`` through epochs as a Runner would; note the state after
    every call: ``[event, n_epochs, n_iter, model.training, run.in_train]``."""
    cls = _lookup(namespace, "TrainEvalCallback")
    model = torch.nn.Linear(2, 2)
    run = types.SimpleNamespace(model=model, in_train=None, iters=None, epoch=0)
    report: dict = {"notes": []}

    def note(event):
        report["notes"].append([event, plain(getattr(run, "n_epochs", None)),
                                plain(getattr(run, "n_iter", None)), model.training, plain(run.in_train)])

    def drive():
        callback = cls()
        callback.set_runner(run)
        callback.begin_fit()
        note("begin_fit")
        for epoch in range(epochs):
            run.epoch = epoch
            model.train(False)  # the callback, not the driver, must switch the mode
            callback.begin_epoch()
            note("begin_epoch")
            run.iters = train_batches
            for _ in range(train_batches):
                callback.after_batch()
                note("after_batch")
            model.train(True)
            callback.begin_validate()
            note("begin_validate")
            run.iters = valid_batches
            for _ in range(valid_batches):
                callback.after_batch()
                note("after_batch")

    return _staged(report, [("driving it", drive)])


@scenario
def listify_cases(namespace):
    listify = _lookup(namespace, "listify")
    same = [1, 2]
    cases = [None, same, "abc", (1, 2), range(3), (i for i in range(2)), 5, 2.5, {"a": 1}]
    report: dict = {"results": []}

    def run_all():
        for case in cases:
            result = listify(case)
            report["results"].append([plain(result), type(result) is list])
        report["same_list"] = listify(same) is same

    return _staged(report, [("listify", run_all)])


class Probe:
    """A callback of the grader's: notes ``[tag, event, in_train, grad enabled]`` at
    every event; answers True at ``stop_at``."""

    def __init__(self, notes, tag="probe", order=1, stop_at=None):
        self.notes, self.tag, self._order, self.stop_at = notes, tag, order, stop_at

    @property
    def name(self):
        return self.tag

    def set_runner(self, runner):
        self.runner = runner  # (a Runner that sets ``cb.run`` itself is read too)

    def __getattr__(self, event):
        if event not in EVENTS:
            raise AttributeError(event)

        def hit():
            if len(self.notes) < MAX_NOTES:
                runner = self.__dict__.get("runner", self.__dict__.get("run"))
                in_train = getattr(runner, "in_train", None)
                self.notes.append([self.tag, event, plain(in_train), torch.is_grad_enabled()])
            return event == self.stop_at
        return hit


def _learn(seed):
    generator = torch.Generator().manual_seed(seed)
    x, y = torch.randn(16, 8, generator=generator), torch.randint(0, 3, (16,), generator=generator)
    model = NotingModel(torch.nn.Linear(8, 3))
    opt = CountingSGD(model.parameters(), lr=0.1)
    data = types.SimpleNamespace(train_dl=Batches(x[:10], y[:10], 4), valid_dl=Batches(x[10:], y[10:], 4))
    return types.SimpleNamespace(model=model, opt=opt, loss_func=F.cross_entropy, data=data)


@scenario
def runner_events(namespace, *, seed, epochs):
    """Four runs of the student's Runner on a tiny problem: a probe's events; two probes
    added out of ``_order``; a probe answering True at ``after_pred``; ``cb_funcs``."""
    cls = _lookup(namespace, "Runner")
    report: dict = {"own_standins": _install(namespace, ["TrainEvalCallback", "listify"])}

    def events():
        notes, learn = [], _learn(seed)
        cls(cbs=[Probe(notes)]).fit(epochs, learn)
        report.update(events=notes, steps=learn.opt.steps, zeroed=learn.opt.zeroed,
                      model_notes=learn.model.notes[:64])

    def ordered():
        notes = []
        cls(cbs=[Probe(notes, "second", 2), Probe(notes, "first", 1)]).fit(1, _learn(seed))
        report["ordered"] = notes[:8]

    def stopped():
        notes, learn = [], _learn(seed)
        cls(cbs=Probe(notes, stop_at="after_pred")).fit(1, learn)
        report.update(stopped=notes, stopped_steps=learn.opt.steps)

    def made():
        probes = []

        def make():
            probes.append(Probe([], "probe_made"))
            return probes[-1]

        run = cls(cb_funcs=[make])
        report["made"] = bool(probes) and getattr(run, "probe_made", None) is probes[0] \
            and any(cb is probes[0] for cb in getattr(run, "cbs", []))

    return _staged(report, [("fit with a probe callback", events), ("fit with two callbacks", ordered),
                            ("fit with a callback returning True at after_pred", stopped),
                            ("Runner(cb_funcs=...)", made)])


@scenario
def avg_stats(namespace, *, preds, ys, in_train):
    cls = _lookup(namespace, "AvgStats")
    report: dict = {"own_standins": _install(namespace, ["listify"])}

    def accumulate():
        stats = cls([standins.target_probability], in_train)
        stats.reset()
        for pred, yb in zip(preds, ys):
            stats.accumulate(types.SimpleNamespace(xb=torch.zeros(len(yb), 3), yb=yb, pred=pred,
                                                   loss=F.cross_entropy(pred, yb)))
        report.update(avg=plain(stats.avg_stats), count=plain(stats.count),
                      in_train=plain(stats.in_train))
        stats.reset()
        report["after_reset"] = plain(stats.count)

    return _staged(report, [("reset and accumulate", accumulate)])


@scenario
def avg_stats_callback(namespace, *, seed, epochs, bs):
    """Train the learnable data with the stand-in Runner (in a student release, the
    student's own) and the student's callback."""
    cls = _lookup(namespace, "AvgStatsCallback")
    runner, own_runner = standin(namespace, "Runner")
    own = _install(namespace, ["AvgStats", "listify"]) + (["Runner"] if own_runner else [])
    data = learnable.draw_data(seed)
    model = learnable.network(learnable.draw_weights(seed))
    learn = types.SimpleNamespace(
        model=model, opt=CountingSGD(model.parameters()), loss_func=F.cross_entropy,
        data=types.SimpleNamespace(train_dl=Batches(data.x_train, data.y_train, bs),
                                   valid_dl=Batches(data.x_valid, data.y_valid, 2 * bs)))
    report: dict = {"own_standins": own}

    def train():
        callback = cls([standins.target_probability])
        report["callback"] = callback
        runner([callback]).fit(epochs, learn)

    def read():
        callback = report.pop("callback")
        report.update(train=plain(callback.train_stats.avg_stats), valid=plain(callback.valid_stats.avg_stats))

    _staged(report, [("training", train), ("reading train_stats and valid_stats", read)])
    report.pop("callback", None)
    report["weights"] = weights_of(model)
    return report
