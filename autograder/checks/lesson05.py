"""Lesson 05: schedules, the Recorder and ParamScheduler, cancelling, the LR finder.

Schedules are compared with their closed forms at positions drawn here, the ends and the
joins included. The callbacks run in a loop on a scripted problem (the grader chooses
every batch's loss) and are judged by what the grader's optimizer saw at every step. The
Runner is judged by the exact events a probe callback receives when it raises each Cancel
exception at a chosen moment; the expected events come from ``expected_events`` below.
"""
from __future__ import annotations

import math

import torch

from autograder.checks import check, lesson04
from autograder.checks.training import number

TOLERANCE = 1e-5
CLOSED_FORMS = {
    "sched_lin": lambda start, end, pos: start + pos * (end - start),
    "sched_cos": lambda start, end, pos: start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2,
    "sched_no": lambda start, end, pos: start,
    "sched_exp": lambda start, end, pos: start * (end / start) ** pos,
}
HINTS = {
    "sched_cos": "Hint: half a cosine wave: at pos 0, cos(pi * (1 - pos)) is -1, so the value is start.",
    "schedule_list": ("Hint: sched_funcs is one schedule or a list of one per parameter group: in begin_fit, "
                      "make one schedule a list of it for every group."),
    "combine_last": ("Hint: with three phases or more, every phase runs on its own schedule, the last one up to "
                     "pos 1: the course's `if idx == 2: idx = 1` only fits two phases."),
}


def close(got, want) -> bool:
    value = number(got)
    return value is not None and abs(value - want) <= TOLERANCE * max(1.0, abs(want))


def shown(value) -> str:
    """A number as a student reads it; anything else as it came back."""
    got = number(value)
    return f"{got:.6g}" if got is not None else f"{value!r:.40}"


def staged(t, reply, function):
    """Lesson 04's ``staged``, and a schedule that fails in the annealer stub says so."""
    raised = reply["raised"] or {}
    if (raised.get("type") == "NotImplementedError" and "Task 5.1:" in str(raised.get("message"))
            and t.task.id != "5.1"):
        t.expect(False, "implemented", f"{function} goes through annealer, which is not implemented yet (Task 5.1)")
    return lesson04.staged(t, reply, function)


def positions(t, count=6) -> list[float]:
    """0, 1, a half, and random positions in between."""
    return [0.0, 1.0, 0.5, *(round(float(v), 6) for v in t.randn(count).sigmoid())]


@check("5.1")
def check_annealer(t):
    start, end = round(float(t.randn(1)), 4), round(float(t.randn(1)) + 3, 4)
    spots = positions(t, 3)
    reply = staged(t, t.scenario("annealed", "annealer", start=start, end=end, positions=spots), "annealer")
    for pos, got in zip(spots, reply["values"]):
        want = [start, end, pos]
        t.expect(isinstance(got, list) and len(got) == 3 and all(close(g, w) for g, w in zip(got, want)), "values", (
            f"annealer(f)({start}, {end})({pos:g}) should call f({start}, {end}, {pos:g}); "
            f"f was called with {got!r:.80}"))


def schedule_check(name):
    def check_schedule(t):
        start = round(float(t.randn(1).abs()) * 2 + 0.1, 4)
        end = round(float(t.randn(1).abs()) * 2 + 0.01, 4)
        spots = positions(t)
        reply = staged(t, t.scenario("schedule_values", name, name=name, start=start, end=end, positions=spots), name)
        expected = [(pos, CLOSED_FORMS[name](start, end, pos)) for pos in spots]
        hint = HINTS.get(name, "")
        values = reply["values"] if isinstance(reply["values"], list) else []
        t.expect(len(values) == len(spots), "values", f"{name}({start}, {end}) gave no value per position")
        for (pos, want), value in zip(expected, values):
            t.expect(close(value, want), "values",
                     f"{name}({start}, {end})({pos:g}) is {shown(value)}; expected {want:.6g}", hint)
    return check_schedule


for _task_id, _name in [("5.2", "sched_lin"), ("5.3", "sched_cos"), ("5.4", "sched_no"), ("5.5", "sched_exp")]:
    check(_task_id)(schedule_check(_name))


def combined_value(pcts, phases, pos):
    """The closed form: the last phase whose left edge is at or before pos, at its own position."""
    edges = [sum(pcts[:i]) for i in range(len(pcts) + 1)]
    index = max(i for i in range(len(pcts)) if pos >= edges[i])
    a, b = phases[index]
    return a + (pos - edges[index]) / (edges[index + 1] - edges[index]) * (b - a)


def _sixteenths(t, parts):
    """Fractions that add up to exactly 1 in floating point (multiples of 1/16)."""
    bounds = [0, *sorted(int(c) + 1 for c in torch.randperm(15, generator=t.generator)[:parts - 1]), 16]
    return [(bounds[i + 1] - bounds[i]) / 16 for i in range(parts)]


@check("5.6")
def check_combine_scheds(t):
    cases = []
    for parts in (2, 3):
        pcts = _sixteenths(t, parts)
        phases = [(round(float(a), 3), round(float(b), 3)) for a, b in (t.randn(parts, 2) * 2 + 3).tolist()]
        edges = [sum(pcts[:i]) for i in range(1, parts)]
        spots = [0.0, 1.0, *edges, *(e - 1 / 64 for e in edges), *(e + 1 / 64 for e in edges),
                 *(round(float(v), 6) for v in t.randn(3).sigmoid())]
        cases.append({"pcts": pcts, "phases": phases, "positions": spots})
    refused = [{"pcts": [0.25, 0.5], "phases": [(1, 2), (2, 1)]}, {"pcts": [0.75, 0.5], "phases": [(1, 2), (2, 1)]}]
    reply = t.scenario("combined", "combine_scheds", cases=cases, refused=refused)
    if reply["raised"] and reply["raised"].get("type") == "IndexError" and len(reply["values"]) == 1:
        failure = t.raised(f"combine_scheds of {len(cases[1]['pcts'])} phases", reply["raised"])
        failure.hint = HINTS["combine_last"]
        raise failure
    staged(t, reply, "combine_scheds")
    for case, values in zip(cases, reply["values"]):
        described = f"combine_scheds({case['pcts']}, straight lines {case['phases']})"
        for pos, value in zip(case["positions"], values):
            want = combined_value(case["pcts"], case["phases"], pos)
            hint = ""
            if len(case["pcts"]) > 2 and pos >= sum(case["pcts"][:2]):
                hint = HINTS["combine_last"]
            t.expect(close(value, want), "values", f"{described} at pos {pos:g} is {shown(value)}; expected {want:.6g}",
                     hint)
    for case, refusal in zip(refused, reply["refused"]):
        t.expect(refusal is not None, "refuses", (
            f"combine_scheds({case['pcts']}, ...) should refuse fractions that add up to {sum(case['pcts']):g}, not 1 "
            "(an assert will do)"))


# ---- the callbacks on a scripted problem ------------------------------------------------------

EPOCHS, TRAIN_BATCHES, VALID_BATCHES = 2, 5, 3


def _loss_script(t, count):
    return [round(float(v), 4) for v in (t.randn(count).abs() + 0.5)]


@check("5.7")
def check_recorder(t):
    steps = EPOCHS * TRAIN_BATCHES
    lrs = [[round(float(v), 5) for v in t.randn(steps).abs() * 0.1 + 0.01] for _ in range(2)]
    losses = _loss_script(t, steps)
    reply = staged(t, t.scenario("recorder_run", "Recorder", answers=("Runner",), lrs=lrs, losses=losses,
                                 valid_loss=100.0, epochs=EPOCHS, train_batches=TRAIN_BATCHES,
                                 valid_batches=VALID_BATCHES), "Recorder")
    run = f"{EPOCHS} epochs of {TRAIN_BATCHES} training and {VALID_BATCHES} validation batches"
    got = reply["losses"]
    held = len(got) if isinstance(got, list) else f"{got!r:.60}"
    extra = " (validation batches are not recorded)" if isinstance(got, list) and len(got) > steps else ""
    t.expect(isinstance(got, list) and len(got) == steps, "losses", (
        f"after {run}, recorder.losses should hold the {steps} training losses; it holds {held}{extra}"))
    for index, (value, want) in enumerate(zip(got, losses)):
        t.expect(close(value, want), "losses",
                 f"recorder.losses[{index}] is {shown(value)}; that batch's loss was {want}")
    t.expect(not any(reply["graphs"]), "detached", (
        "recorder.losses keeps losses that still require grad: detach them (loss.detach()), or every batch's "
        "graph stays in memory"))
    recorded = reply["lrs"]
    per_group = isinstance(recorded, list) and len(recorded) == 2 and all(isinstance(g, list) for g in recorded)
    groups = recorded if per_group else [recorded]  # the course's first Recorder notes the last group only
    wanted = lrs if per_group else lrs[-1:]
    for group, (values, want) in enumerate(zip(groups, wanted)):
        ok = isinstance(values, list) and len(values) == steps and all(close(v, w) for v, w in zip(values, want))
        t.expect(ok, "lrs", (f"recorder.lrs{f'[{group}]' if per_group else ''} should be the learning rate of "
                             f"{'group ' + str(group) if per_group else 'the last group'} at each of the {steps} "
                             f"training batches, {want[:4]}...; got {values!r:.100}"))


@check("5.8")
def check_param_scheduler(t):
    cases = [{"pname": "lr", "as_list": False}, {"pname": "mom", "as_list": True}]
    for case in cases:
        case["coefficients"] = [[round(float(v), 4) for v in t.randn(3)] for _ in range(2)]
    reply = t.scenario("param_scheduler_run", "ParamScheduler", answers=("Runner",), cases=cases,
                       epochs=EPOCHS, train_batches=TRAIN_BATCHES, valid_batches=VALID_BATCHES)
    raised = reply["raised"]
    if isinstance(raised, dict) and raised.get("type") == "TypeError" and "not callable" in str(raised.get("message")):
        failure = t.raised(f"ParamScheduler ({reply['stage']})", raised)
        failure.hint = HINTS["schedule_list"]
        raise failure
    staged(t, reply, "ParamScheduler")
    column = {"lr": 0, "mom": 1}
    for case, noted in zip(cases, reply["noted"]):
        schedules = case["coefficients"] if case["as_list"] else case["coefficients"][:1] * 2
        given = "a list of two schedules" if case["as_list"] else "one schedule"
        t.expect(isinstance(noted, list) and len(noted) == EPOCHS * TRAIN_BATCHES, "steps",
                 f"ParamScheduler({case['pname']!r}, {given}): the optimizer should step once per training batch")
        for step, groups in enumerate(noted):
            t.expect(isinstance(groups, list) and len(groups) == 2 and all(isinstance(g, list) and len(g) == 2
                                                                            for g in groups),
                     "steps", "the optimizer's parameter groups were changed: keep the two it has")
            epoch, batch = divmod(step, TRAIN_BATCHES)
            pos = (epoch + batch / TRAIN_BATCHES) / EPOCHS
            for group, (a, b, c) in enumerate(schedules):
                want = a + b * pos + c * pos * pos
                value = groups[group][column[case["pname"]]]
                t.expect(close(value, want), "values", (
                    f"ParamScheduler({case['pname']!r}, {given}): at training batch {batch} of epoch {epoch} "
                    f"(pos {pos:g} = n_epochs / epochs), group {group}'s {case['pname']!r} is {shown(value)}; "
                    f"its schedule gives {want:.6g}"))


# ---- cancelling ---------------------------------------------------------------------------------

TRAIN_STEPS = ["begin_batch", "after_pred", "after_loss", "after_backward", "after_step"]
VALID_STEPS = ["begin_batch", "after_pred", "after_loss"]


class _Cancelled(Exception):
    def __init__(self, level):
        super().__init__(level)
        self.level = level


def expected_events(epochs, train_batches, valid_batches, trigger=None) -> dict:
    """The events a probe notes, the optimizer's steps and zero_grads, and what escapes fit, when
    it raises (or answers True) at ``trigger``: lesson 05's protocol, event by event."""
    events, counts = [], {"steps": 0, "zeroed": 0}
    where = {"epoch": -1, "phase": None, "batch": -1}

    def emit(event):
        if event == "begin_epoch":
            where.update(epoch=where["epoch"] + 1, phase="train", batch=-1)
        elif event == "begin_validate":
            where.update(phase="valid", batch=-1)
        elif event == "begin_batch":
            where["batch"] += 1
        events.append(event)
        if not trigger or trigger["event"] != event:
            return False
        if trigger.get("epoch") is not None and trigger["epoch"] != where["epoch"]:
            return False
        if trigger.get("phase") and (trigger["phase"], trigger["batch"]) != (where["phase"], where["batch"]):
            return False
        if trigger.get("raise"):
            raise _Cancelled(trigger["raise"].replace("Cancel", "").replace("Exception", ""))
        return True

    def one_batch(train):
        try:
            for event in TRAIN_STEPS if train else VALID_STEPS:
                emit(event)
                if event == "after_backward":
                    counts["steps"] += 1
            if train:
                counts["zeroed"] += 1
        except _Cancelled as cancel:
            if cancel.level != "Batch":
                raise
            emit("after_cancel_batch")
        finally:
            emit("after_batch")

    def all_batches(n, train):
        try:
            for _ in range(n):
                one_batch(train)
        except _Cancelled as cancel:
            if cancel.level != "Epoch":
                raise
            emit("after_cancel_epoch")

    escaped = None
    try:
        try:
            emit("begin_fit")
            for _ in range(epochs):
                if not emit("begin_epoch"):
                    all_batches(train_batches, True)
                if not emit("begin_validate"):
                    all_batches(valid_batches, False)
                emit("after_epoch")
        except _Cancelled as cancel:
            if cancel.level != "Train":
                raise
            emit("after_cancel_train")
        finally:
            emit("after_fit")
    except _Cancelled as cancel:
        escaped = f"Cancel{cancel.level}Exception"
    return {"events": events, **counts, "escaped": escaped}


def describe(trigger) -> str:
    what = f"raising {trigger['raise']}" if trigger.get("raise") else "returning True"
    at = trigger["event"]
    if trigger.get("phase"):
        phase = "training" if trigger["phase"] == "train" else "validation"
        at += f" of {phase} batch {trigger['batch']} in epoch {trigger['epoch']}"
    elif trigger.get("epoch") is not None:
        at += f" of epoch {trigger['epoch']}"
    return f"a callback {what} at {at}"


def draw_triggers(t, epochs, train_batches, valid_batches) -> list[dict]:
    def at(event, exception=None, phase=None):
        epoch = int(t.randint(0, epochs))
        trigger = {"event": event, "epoch": epoch, "raise": exception}
        if phase:
            trigger.update(phase=phase, batch=int(t.randint(0, train_batches if phase == "train" else valid_batches)))
        return trigger

    batch, epoch, train = "CancelBatchException", "CancelEpochException", "CancelTrainException"
    return [*(at(event, batch, "train") for event in TRAIN_STEPS), at("after_pred", batch, "valid"),
            at("after_loss", epoch, "train"), at("begin_batch", epoch, "valid"), at("after_step", epoch, "train"),
            {"event": "begin_fit", "raise": train}, at("begin_epoch", train), at("after_backward", train, "train"),
            at("after_pred", train, "valid"), at("begin_validate", train), at("after_epoch", train),
            at("begin_epoch"), at("begin_validate")]


def expect_events(t, got, expected, what):
    first = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
    t.expect(got == expected, "events", (
        f"{what}: the events differ from event {first + 1} on: got {got[first:first + 5]}, "
        f"expected {expected[first:first + 5]}"))


@check("5.9")
def check_runner_cancel(t):
    epochs, train_batches, valid_batches = 2, 3, 2  # 12 and 8 rows in batches of 4
    triggers = draw_triggers(t, epochs, train_batches, valid_batches)
    reply = staged(t, t.scenario("runner_cancel", "Runner", answers=("TrainEvalCallback",),
                                 seed=int(t.randint(0, 2**31)), epochs=epochs, train_batches=train_batches,
                                 valid_batches=valid_batches, triggers=triggers), "Runner")
    plain_run, expected = reply["plain"], expected_events(epochs, train_batches, valid_batches)
    if plain_run["escaped"] is not None:
        raise t.raised("Runner.fit", plain_run["escaped"])
    notes = [note for note in plain_run["events"] if isinstance(note, list) and len(note) == 4]
    expect_events(t, [note[1] for note in notes], expected["events"],
                  f"Runner.fit({epochs}, learn) with a callback noting its events")
    in_validation = False
    for _, event, _, grad in notes:
        in_validation = (in_validation or event == "begin_validate") and event != "begin_epoch"
        t.expect(not (in_validation and event in VALID_STEPS and grad), "validation",
                 f"{event} during validation ran with gradients enabled: validate under torch.no_grad()")
    t.expect(plain_run["steps"] == expected["steps"] == plain_run["zeroed"], "steps", (
        f"the optimizer stepped {plain_run['steps']} times and was zeroed {plain_run['zeroed']} times; expected "
        f"{expected['steps']} each"))
    t.expect(reply["ordered"] == ["first", "second"], "order", (
        f"callbacks with _order 1 and 2, given in reverse, received begin_fit in the order {reply['ordered']}: "
        "sort them by _order"))
    for trigger, run in zip(triggers, reply["runs"]):
        want = expected_events(epochs, train_batches, valid_batches, trigger)
        what = f"Runner.fit({epochs}, learn) with {describe(trigger)}"
        escaped = run["escaped"]["type"] if isinstance(run["escaped"], dict) else None
        t.expect(escaped == want["escaped"], "cancels", (
            f"{what}: {escaped} escaped fit" if escaped else f"{what}: {want['escaped']} should escape fit"))
        expect_events(t, run["events"], want["events"], what)
        t.expect((run["steps"], run["zeroed"]) == (want["steps"], want["zeroed"]), "steps", (
            f"{what}: the optimizer stepped {run['steps']} times and was zeroed {run['zeroed']} times; expected "
            f"{want['steps']} and {want['zeroed']}"))


# ---- the learning rate finder -------------------------------------------------------------------

def lr_find_stop(losses, max_iter) -> int:
    """The index of the training batch after which the finder stops: at max_iter, or where the
    loss exceeds ten times the best loss before it."""
    best = 1e9
    for index, loss in enumerate(losses):
        if index >= max_iter or loss > best * 10:
            return index
        best = min(best, loss)
    return len(losses) - 1


@check("5.10")
def check_lr_find(t):
    explode_at = int(t.randint(4, 20))
    falling = [3.0 * 0.85 ** i + 0.05 * float(v) for i, v in enumerate(t.randn(explode_at).sigmoid())]
    exploding = [*falling, min(falling) * 15, *[100.0] * (24 - explode_at - 1)]
    max_iter = int(t.randint(5, 10))
    steady = [1.0 + 0.01 * i for i in range(18)]
    runs = [{"losses": exploding, "max_iter": 60, "min_lr": 1e-5, "max_lr": 1.0, "epochs": 3, "train_batches": 8},
            {"losses": steady, "max_iter": max_iter, "min_lr": 1e-4, "max_lr": 10.0, "epochs": 3, "train_batches": 6}]
    reply = staged(t, t.scenario("lr_find_run", "LR_Find", answers=("Runner",), runs=runs), "LR_Find")
    for run, noted in zip(runs, reply["noted"]):
        stop = lr_find_stop(run["losses"], run["max_iter"])
        made = f"LR_Find(max_iter={run['max_iter']}, min_lr={run['min_lr']:g}, max_lr={run['max_lr']:g})"
        t.expect(isinstance(noted, list) and all(isinstance(lrs, list) for lrs in noted), "lrs",
                 f"{made}: the optimizer's parameter groups were changed: keep the two it has")
        for step, lrs in enumerate(noted[:stop + 1]):
            want = run["min_lr"] * (run["max_lr"] / run["min_lr"]) ** (step / run["max_iter"])
            t.expect(all(close(lr, want) for lr in lrs), "lrs", (
                f"{made}: at training batch {step} (n_iter {step}) the learning rates are {lrs!r:.60}; expected "
                f"{want:.6g} for every group"))
        if run is runs[0]:
            t.expect(len(noted) == stop + 1, "stops", (
                f"{made}: the losses were {[round(v, 3) for v in run['losses'][:stop + 2]]}...; training should "
                f"stop right after batch {stop}, the first loss above ten times the best before it; it ran "
                f"{len(noted)} training batches"))
        else:
            t.expect(len(noted) in (stop, stop + 1), "stops", (
                f"{made}: the loss never explodes, so training should stop once n_iter reaches max_iter, after "
                f"{stop + 1} batches; it ran {len(noted)}"))
