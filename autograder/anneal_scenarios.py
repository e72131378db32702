"""Scenarios of lesson 05: schedules, the callbacks that record and schedule, cancelling.

Schedules are evaluated at positions the grader draws; the grader compares with closed
forms. The callbacks run in a real loop on a scripted problem: the loss of the n-th
training batch is the grader's n-th number, and an optimizer of the grader's (two
parameter groups, as ``optim.SGD`` keeps them) notes its hyperparameters at every step.
The Runner is graded with a probe callback that notes every event and raises one of the
student's Cancel exceptions (or answers True) at one chosen moment. Callbacks built on a
Runner run with the stand-in Runner in instructor grading, elsewhere with the student's.
"""
from __future__ import annotations

import types

import torch
import torch.nn.functional as F

from autograder.callback_scenarios import _staged
from autograder.scenarios import _install, _lookup, describe_exception, plain, scenario, standin
from autograder.training_scenarios import Batches, CountingSGD

EVENTS = ("begin_fit", "begin_epoch", "begin_batch", "after_pred", "after_loss", "after_backward",
          "after_step", "after_batch", "begin_validate", "after_epoch", "after_fit",
          "after_cancel_batch", "after_cancel_epoch", "after_cancel_train")
CANCELS = ("CancelBatchException", "CancelEpochException", "CancelTrainException")
MAX_NOTES = 512


# ---- schedules -------------------------------------------------------------------------------

def _values(function, positions) -> list:
    return [plain(function(pos)) for pos in positions]


def _arguments(start, end, pos):
    """The grader's f(start, end, pos): what it was called with, so a wrong order shows."""
    return [start, end, pos]


@scenario
def annealed(namespace, *, start, end, positions):
    annealer = _lookup(namespace, "annealer")
    report: dict = {}

    def run():
        report["values"] = _values(annealer(_arguments)(start, end), positions)

    return _staged(report, [("annealer(f)(start, end)(pos)", run)])


@scenario
def schedule_values(namespace, *, name, start, end, positions):
    schedule = _lookup(namespace, name)
    report: dict = {}

    def run():
        report["values"] = _values(schedule(start, end), positions)

    return _staged(report, [(f"{name}(start, end)(pos)", run)])


class Line:
    """A schedule of the grader's: a straight line from ``a`` to ``b`` (not the student's sched_lin)."""

    def __init__(self, a, b):
        self.a, self.b = a, b

    def __call__(self, pos):
        return self.a + float(pos) * (self.b - self.a)


@scenario
def combined(namespace, *, cases, refused):
    """``combine_scheds(pcts, lines)`` at the positions of each case; then pcts that must be refused."""
    combine = _lookup(namespace, "combine_scheds")
    _install(namespace, ["listify"])
    report: dict = {"values": [], "refused": []}

    def run():
        for case in cases:
            function = combine(list(case["pcts"]), [Line(a, b) for a, b in case["phases"]])
            report["values"].append(_values(function, case["positions"]))

    def refuse():
        for case in refused:
            try:
                combine(list(case["pcts"]), [Line(a, b) for a, b in case["phases"]])
                report["refused"].append(None)
            except Exception as exc:  # noqa: BLE001 - refusing is the answer
                report["refused"].append(type(exc).__name__)

    return _staged(report, [("combine_scheds", run), ("combine_scheds with fractions that do not add up to 1", refuse)])


# ---- a scripted problem ------------------------------------------------------------------------

class GraderCallback:
    """The callback protocol both Runners use: ``set_runner``, events as methods or ``cb(event)``."""
    _order = 0

    def set_runner(self, run):
        self.runner = run

    def __call__(self, cb_name):
        method = getattr(self, cb_name, None)
        return bool(method and method())

    @property
    def name(self):
        return type(self).__name__.lower()


class GroupSGD:
    """SGD with two parameter groups; notes every group's ``lr`` and ``mom`` at every step."""

    def __init__(self, model, lr=0.1):
        weight, bias = model.parameters()
        self.param_groups = [{"params": [weight], "lr": lr, "mom": 0.9}, {"params": [bias], "lr": lr, "mom": 0.9}]
        self.steps, self.zeroed, self.noted = 0, 0, []

    @torch.no_grad()
    def step(self):
        self.steps += 1
        if len(self.noted) < 64:
            self.noted.append([[plain(group.get("lr")), plain(group.get("mom"))] for group in self.param_groups])
        for group in self.param_groups:
            for parameter in group["params"]:
                if parameter.grad is not None:
                    parameter.sub_(parameter.grad * float(group["lr"]) * 1e-3)

    def zero_grad(self):
        self.zeroed += 1
        for group in self.param_groups:
            for parameter in group["params"]:
                parameter.grad = None


class ScriptedLoss:
    """The n-th training batch's loss is ``losses[n]``; a validation batch's is ``valid_loss``."""

    def __init__(self, model, losses, valid_loss):
        self.model, self.losses, self.valid_loss, self.n = model, losses, valid_loss, 0

    def __call__(self, pred, yb):
        tie = (pred * 0).sum()  # a loss with a graph, so backward runs
        if not self.model.training:
            return tie + self.valid_loss
        value = self.losses[min(self.n, len(self.losses) - 1)]
        self.n += 1
        return tie + value


def _learn(losses, valid_loss, train_batches, valid_batches):
    model = torch.nn.Linear(2, 1)
    x = torch.linspace(0, 1, 2 * (train_batches + valid_batches)).reshape(-1, 2)
    y = torch.zeros(len(x))
    data = types.SimpleNamespace(train_dl=Batches(x[:train_batches], y[:train_batches], 1),
                                 valid_dl=Batches(x[train_batches:], y[train_batches:], 1))
    opt = GroupSGD(model)
    learn = types.SimpleNamespace(model=model, opt=opt, loss_func=ScriptedLoss(model, losses, valid_loss), data=data)
    return learn, opt


class LrSetter(GraderCallback):
    """Sets group j's ``lr`` to ``lrs[j][n]`` before the n-th training batch."""
    _order = 1

    def __init__(self, lrs, learn):
        self.lrs, self.learn, self.n = lrs, learn, 0

    def begin_batch(self):
        if not self.learn.model.training:
            return
        for group, lrs in zip(self.learn.opt.param_groups, self.lrs):
            group["lr"] = lrs[min(self.n, len(lrs) - 1)]
        self.n += 1


def _runner(namespace) -> tuple[object, list[str]]:
    runner, own = standin(namespace, "Runner")
    return runner, (["Runner"] if own else [])


@scenario
def recorder_run(namespace, *, lrs, losses, valid_loss, epochs, train_batches, valid_batches):
    cls = _lookup(namespace, "Recorder")
    runner, own = _runner(namespace)
    learn, _ = _learn(losses, valid_loss, train_batches, valid_batches)
    report: dict = {"own_standins": own}
    made: list = []

    def train():
        made.append(cls())
        runner([LrSetter(lrs, learn), made[0]]).fit(epochs, learn)

    def read():
        recorder = made[0]
        report["lrs"] = plain(list(recorder.lrs))
        report["losses"] = plain(list(recorder.losses))
        report["graphs"] = [isinstance(v, torch.Tensor) and v.requires_grad for v in list(recorder.losses)[:64]]

    return _staged(report, [("fit with a Recorder", train), ("reading lrs and losses", read)])


class Quadratic:
    """A schedule of the grader's: a + b*pos + c*pos**2."""

    def __init__(self, a, b, c):
        self.a, self.b, self.c = a, b, c

    def __call__(self, pos):
        pos = float(pos)
        return self.a + self.b * pos + self.c * pos * pos


@scenario
def param_scheduler_run(namespace, *, cases, epochs, train_batches, valid_batches):
    """Each case: ``ParamScheduler(pname, one schedule or a list of two)`` through a fit; the
    optimizer's ``lr`` and ``mom`` of both groups at every step."""
    cls = _lookup(namespace, "ParamScheduler")
    runner, own = _runner(namespace)
    report: dict = {"own_standins": own, "noted": []}

    def train(case):
        schedules = [Quadratic(*coefficients) for coefficients in case["coefficients"]]
        learn, opt = _learn([1.0], 1.0, train_batches, valid_batches)
        runner([cls(case["pname"], schedules if case["as_list"] else schedules[0])]).fit(epochs, learn)
        report["noted"].append(opt.noted)

    given = {False: "one schedule", True: "a list of two schedules, one per parameter group"}
    return _staged(report, [(f"fit with ParamScheduler({case['pname']!r}, {given[bool(case['as_list'])]})",
                             lambda case=case: train(case)) for case in cases])


# ---- cancelling ----------------------------------------------------------------------------------

class Probe(GraderCallback):
    """Notes ``[event, in_train, grad enabled]`` at every event. At the moment ``trigger`` names
    (event, epoch, phase, batch), raises the student's exception or answers True."""

    def __init__(self, notes, trigger=None, exceptions=None, tag="probe", order=1):
        self.notes, self.trigger, self.exceptions, self.tag, self._order = notes, trigger, exceptions or {}, tag, order
        self.epoch, self.phase, self.batch = -1, None, -1

    @property
    def name(self):
        return self.tag

    def __getattr__(self, event):
        if event not in EVENTS:
            raise AttributeError(event)
        return lambda: self._hit(event)

    def _hit(self, event):
        if event == "begin_epoch":
            self.epoch, self.phase, self.batch = self.epoch + 1, "train", -1
        elif event == "begin_validate":
            self.phase, self.batch = "valid", -1
        elif event == "begin_batch":
            self.batch += 1
        if len(self.notes) < MAX_NOTES:
            runner = self.__dict__.get("runner")
            self.notes.append([self.tag, event, plain(getattr(runner, "in_train", None)), torch.is_grad_enabled()])
        trigger = self.trigger
        if not trigger or trigger["event"] != event:
            return False
        batch_event = event not in ("begin_fit", "begin_epoch", "begin_validate", "after_epoch", "after_fit")
        if trigger.get("epoch") is not None and trigger["epoch"] != self.epoch:
            return False
        if batch_event and (trigger.get("phase"), trigger.get("batch")) != (self.phase, self.batch):
            return False
        if trigger.get("raise"):
            raise self.exceptions[trigger["raise"]]()
        return True


def _cancel_learn(seed, train_batches, valid_batches):
    generator = torch.Generator().manual_seed(seed)
    n_train, n_valid = 4 * train_batches, 4 * valid_batches
    x = torch.randn(n_train + n_valid, 6, generator=generator)
    y = torch.randint(0, 3, (n_train + n_valid,), generator=generator)
    model = torch.nn.Linear(6, 3)
    opt = CountingSGD(model.parameters(), lr=0.1)
    data = types.SimpleNamespace(train_dl=Batches(x[:n_train], y[:n_train], 4),
                                 valid_dl=Batches(x[n_train:], y[n_train:], 4))
    return types.SimpleNamespace(model=model, opt=opt, loss_func=F.cross_entropy, data=data)


@scenario
def runner_cancel(namespace, *, seed, epochs, train_batches, valid_batches, triggers):
    """The student's Runner: a fit with a probe, two probes out of ``_order``, then one fit per
    trigger. Each run reports its events, the optimizer's steps and zero_grads, and what
    escaped ``fit``."""
    cls = _lookup(namespace, "Runner")
    exceptions = {name: _lookup(namespace, name) for name in CANCELS}
    report: dict = {"own_standins": _install(namespace, ["TrainEvalCallback", "listify"]), "runs": []}

    def fit(probes, learn):
        try:
            cls(cbs=probes).fit(epochs, learn)
            return None
        except Exception as exc:  # noqa: BLE001 - what escaped is part of the answer
            return describe_exception(exc)

    def plain_run():
        notes, learn = [], _cancel_learn(seed, train_batches, valid_batches)
        escaped = fit([Probe(notes)], learn)
        report["plain"] = {"events": notes, "steps": learn.opt.steps, "zeroed": learn.opt.zeroed, "escaped": escaped}

    def ordered():
        notes = []
        fit([Probe(notes, tag="second", order=2), Probe(notes, tag="first", order=1)],
            _cancel_learn(seed, train_batches, valid_batches))
        report["ordered"] = [tag for tag, event, _, _ in notes if event == "begin_fit"]

    def triggered():
        for trigger in triggers:
            notes, learn = [], _cancel_learn(seed, train_batches, valid_batches)
            escaped = fit([Probe(notes, trigger, exceptions)], learn)
            report["runs"].append({"events": [note[1] for note in notes], "steps": learn.opt.steps,
                                   "zeroed": learn.opt.zeroed, "escaped": escaped})

    return _staged(report, [("fit with a probe callback", plain_run), ("fit with two callbacks", ordered),
                            ("fit with a callback that cancels", triggered)])


@scenario
def lr_find_run(namespace, *, runs):
    """Each run: ``LR_Find(max_iter, min_lr, max_lr)`` through a fit on scripted losses; the
    learning rate of both groups at every step."""
    cls = _lookup(namespace, "LR_Find")
    runner, own = _runner(namespace)
    report: dict = {"own_standins": own, "noted": []}

    def train():
        for run in runs:
            learn, opt = _learn(run["losses"], 1.0, run["train_batches"], 1)
            callback = cls(max_iter=run["max_iter"], min_lr=run["min_lr"], max_lr=run["max_lr"])
            runner([callback]).fit(run["epochs"], learn)
            report["noted"].append([[group[0] for group in step] for step in opt.noted])

    return _staged(report, [("fit with LR_Find", train)])
