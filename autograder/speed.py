"""Speed: "make it fast by removing Python loops", checked two ways, never flaky.

1. Work, deterministic: the torch calls a task makes (counted in the child by the
   tracer) on inputs of several sizes must grow only the way the task allows, and
   2.17 must not build a ``(batch, n_in, n_out)`` temporary. Machine load cannot flip it.
2. Wall clock, relative: the grader times rounds of the submission (in its child) and
   of the reference (in a child of its own, started the same way) with its own clock,
   with fresh inputs every round (each staged with one untimed call first: the warm-up)
   and one thread each, against a generous limit.
   Load only ever slows a round down, so the least times count: the reference's least
   time per task is measured once per grader process and re-checked now and then
   (``REFERENCE_REFRESH``), and a submission passes with a round under the limit (timing
   stops at one under half of it).
   A submission with no round under it is timed again, interleaved with the reference
   round by round, and fails only if the medians of that agree.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch

from autograder import baselines, reference
from autograder.checking import CheckFailed, TaskError
from autograder.runner import ChildFailure
from autograder.speed_limits import SPEED, Speed  # noqa: F401 - the table, read here and by callers

BASE = {"rows": 4, "inner": 8, "cols": 6}
SCALE = 4
ROUNDS = 5
ROUND_SECONDS = 0.01  # of the reference's work per round: long beside a wake-up on a busy machine
MAX_CALLS = 48
CLEAR_PASS = 0.5  # of the limit: a round this fast ends the timing (slower ones keep going, for the report)
REFERENCE_REFRESH = 20  # uses of a reference's least time between two more rounds of it
MEASURE = {  # kind, name, shapes of one call's inputs (drawn on both sides from one seed)
    "1.6": ("call", "matmul", [(32, 784), (784, 10)]),
    "1.7": ("call", "matmul", [(256, 784), (784, 256)]),
    "1.8": ("call", "matmul", [(256, 784), (784, 256)]),
    "2.17": ("layer", "Lin", [(784, 50), (50,), (256, 784), (256, 50)]),
}


def check(t) -> None:
    speed = SPEED.get(t.task.id)
    if speed is None:
        return
    if speed.grows_with is not None:
        check_growth(t, speed.grows_with)
    if speed.no_temporary:
        check_no_temporary(t)
    if speed.ratio is not None:
        check_ratio(t, speed.ratio)


def _calls(t, rows, inner, cols) -> int:
    reply = t.call("matmul", t.randn(rows, inner), t.randn(inner, cols), trace=True)
    return reply["trace"]["count"]


def check_growth(t, allowed: tuple[str, ...]) -> None:
    base = _calls(t, **BASE)
    for dimension in ("rows", "inner", "cols"):
        if dimension in allowed:
            continue
        sizes = {**BASE, dimension: BASE[dimension] * SCALE}
        scaled = _calls(t, **sizes)
        if scaled > base:
            shape = f"{sizes['rows']}×{sizes['inner']} @ {sizes['inner']}×{sizes['cols']}"
            base_shape = f"{BASE['rows']}×{BASE['inner']} @ {BASE['inner']}×{BASE['cols']}"
            loops = {"rows": "rows", "inner": "the inner dimension", "cols": "columns"}[dimension]
            raise CheckFailed("speed (work)", (
                f"matmul made {base} torch calls for {base_shape} and {scaled} for {shape}: "
                f"it still loops over {loops}"), _GROWTH_HINTS[t.task.id])
    t.passed.append("speed (work)")


_GROWTH_HINTS = {
    "1.4": "Hint: compute each c[i, j] as one vectorized (a[i, :] * b[:, j]).sum(), not a loop over k.",
    "1.6": "Hint: broadcast a whole row against b: (a[i].unsqueeze(-1) * b).sum(0), one loop over rows.",
    "1.7": "Hint: one torch.einsum call does it all; no Python loop.",
    "1.8": "Hint: one call to PyTorch's matmul does it all; no Python loop.",
}


def check_no_temporary(t) -> None:
    batch, n_in, n_out = 64, 32, 16
    args = [t.randn(n_in, n_out), t.randn(n_out)], [t.randn(batch, n_in)], t.randn(batch, n_out)
    reply = t.scenario("layer", "Lin", cls="Lin", init_args=args[0], call_args=args[1], out_g=args[2],
                       standins=[], trace=True)
    if reply["raised"]:
        raise t.raised("Lin.backward", reply["raised"])
    largest = reply["trace"]["max_numel"]
    if largest >= batch * n_in * n_out:
        raise CheckFailed("speed (memory)", (
            f"Lin's forward and backward built a tensor of {largest} elements for batch {batch}, "
            f"n_in {n_in}, n_out {n_out}: that is a (batch, n_in, n_out) temporary"),
            "Hint: the weight gradient is inp.t() @ out.g (or an einsum), with no outer product per row.")
    t.passed.append("speed (memory)")


def check_ratio(t, limit: float) -> None:
    try:
        baseline = reference.session()
    except Exception as exc:  # noqa: BLE001 - a broken reference is the instructor's to fix
        t.notes.append(f"speed against the reference not measured: {exc}")
        return
    if baseline is None:
        recorded = baselines.load().get(t.task.id)
        if recorded is None:
            t.notes.append("speed against the reference not measured: no reference solutions here")
            return
        ratio = _ratio_to_recorded(t, recorded, *MEASURE[t.task.id])
    else:
        with reference.lock:  # one timing at a time per reference child
            ratio = _ratio(t, baseline, *MEASURE[t.task.id])
    t.measures["speed_ratio"] = round(ratio, 3)
    if ratio > limit:
        raise CheckFailed("speed (time)", f"median {ratio:.1f}× the reference's time (limit {limit:g}×)")
    t.passed.append("speed (time)")


@dataclass
class ReferenceTime:
    """The reference's least time for one task's round in this grader process."""

    calls: int  # calls of the task per round: about ROUND_SECONDS of the reference's work
    least: float = float("inf")
    uses: int = 0

    def add(self, seconds: float) -> None:
        self.least = min(self.least, seconds)


_REFERENCE_TIMES: dict[str, ReferenceTime] = {}


def reference_time(task, baseline, kind, name, shapes, seed) -> ReferenceTime:
    """Measured at the first use in this process, then ``ROUNDS // 2`` more rounds every
    ``REFERENCE_REFRESH`` uses: a first measure taken under load gets corrected."""
    known = _REFERENCE_TIMES.get(task.id)
    if known is None:
        known = _REFERENCE_TIMES[task.id] = ReferenceTime(_calls_per_round(task, baseline, kind, name, shapes, seed))
        for _ in range(ROUNDS):
            known.add(_time_round(task, baseline, kind, name, shapes, known.calls, seed()))
    elif known.uses % REFERENCE_REFRESH == 0:
        for _ in range(ROUNDS // 2):
            known.add(_time_round(task, baseline, kind, name, shapes, known.calls, seed()))
    known.uses += 1
    return known


def _ratio(t, baseline, kind, name, shapes) -> float:
    """The submission's least round against the reference's least time: timing stops at a
    round under half the limit; a least round under the limit passes; with none, the
    interleaved medians decide (``_interleaved_ratio``)."""
    limit = SPEED[t.task.id].ratio
    known = reference_time(t.task, baseline, kind, name, shapes, lambda: _seed(t))
    least = float("inf")
    for _ in range(ROUNDS):
        least = min(least, _time_round(t.task, t.session, kind, name, shapes, known.calls, _seed(t)))
        if least <= CLEAR_PASS * limit * known.least:
            break  # clearly fast: more rounds would not change the verdict
    if least <= limit * known.least:
        return least / known.least
    return _interleaved_ratio(t, baseline, kind, name, shapes, known)


def _interleaved_ratio(t, baseline, kind, name, shapes, known: ReferenceTime) -> float:
    """median(submission) / median(reference): interleaved rounds of fresh inputs, both
    timed by this process's clock around a child's round, so both pay the same costs."""
    times = {"submission": [], "reference": []}
    for round_number in range(ROUNDS):
        seed = _seed(t)  # fresh inputs every round: nothing to cache
        order = [("submission", t.session), ("reference", baseline)]
        for who, session in (order if round_number % 2 == 0 else order[::-1]):  # alternate
            times[who].append(_time_round(t.task, session, kind, name, shapes, known.calls, seed))
    for elapsed in times["reference"]:
        known.add(elapsed)
    return statistics.median(times["submission"]) / statistics.median(times["reference"])


def _ratio_to_recorded(t, relative: float, kind, name, shapes) -> float:
    """The submission's time per call over the calibration's, over the reference's recorded
    quotient. Each round is paired with a calibration timed just after it, and the least
    disturbed round counts on both sides: load only ever slows a round down."""
    quotients = _relative_rounds(t.task, t.session, kind, name, shapes, lambda: _seed(t), ROUNDS)
    return min(quotients) / relative


def relative_time(task, session, generator) -> float:
    """The reference's least time per call over the calibration's, as ``baselines`` records it
    (measured once per release, so with more rounds)."""
    return min(_relative_rounds(task, session, *MEASURE[task.id],
                                lambda: int(torch.randint(0, 2**62, (), generator=generator)), 3 * ROUNDS))


def _calls_per_round(task, session, kind, name, shapes, seed) -> int:
    """Calls of the task that make about ROUND_SECONDS of ``session``'s work (two probes)."""
    one_call = min(_time_round(task, session, kind, name, shapes, 1, seed()) for _ in range(2))
    return max(1, min(MAX_CALLS, round(ROUND_SECONDS / max(one_call, 1e-6))))


def _relative_rounds(task, session, kind, name, shapes, seed, rounds: int) -> list[float]:
    calls = _calls_per_round(task, session, kind, name, shapes, seed)
    quotients = []
    for _ in range(rounds):
        per_call = _time_round(task, session, kind, name, shapes, calls, seed()) / calls
        quotients.append(per_call / baselines.calibrate(repeats=3))
    return quotients


def _seed(t) -> int:
    return int(t.randint(0, 2**62))


def _time_round(task, session, kind, name, shapes, calls, seed) -> float:
    """The child draws the round's inputs and warms up on one more call, untimed; this
    process's clock times the round."""
    _request(task, session, {"op": "stage", "task": task.id, "kind": kind, "name": name,
                             "shapes": shapes, "calls": calls, "seed": seed})
    start = time.perf_counter()
    _request(task, session, {"op": "time"})
    return time.perf_counter() - start


def _request(task, session, message: dict) -> dict:
    try:
        reply = session.child.request(message, timeout=session.timeout(60.0))
    except ChildFailure as exc:
        session.restart()
        raise TaskError(f"grading stopped: {exc} while timing {task.name}") from None
    if reply.get("ok") is not True:
        raise CheckFailed("speed (time)", f"the timed run failed: {reply.get('crashed') or reply.get('missing')}")
    return reply
