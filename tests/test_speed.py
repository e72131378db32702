"""The wall-clock speed ratio's decisions, with scripted round times instead of children.

Load only ever slows a round down: the reference's least time is measured once per
grader process and re-checked every ``REFERENCE_REFRESH`` uses, a submission passes with
a round under the limit (timing stops at one under half of it), and one with no such
round is timed again interleaved with the reference, whose medians decide.
"""
from __future__ import annotations

import types

import pytest

from autograder import speed
from autograder.checking import TaskContext
from autograder.tasks import TASKS

TASK = TASKS["1.8"]
LIMIT = speed.SPEED["1.8"].ratio
MEASURE = speed.MEASURE["1.8"]


class Clock:
    """Round times by who is timed: each side's list is used in turn, its last value repeats."""

    def __init__(self, reference: list[float], submission: list[float]):
        self.script = {"reference": list(reference), "submission": list(submission)}
        self.rounds = {"reference": 0, "submission": 0}

    def __call__(self, task, session, kind, name, shapes, calls, seed) -> float:
        who = session.who
        times = self.script[who]
        self.rounds[who] += 1
        return times.pop(0) if len(times) > 1 else times[0]


@pytest.fixture
def timed(monkeypatch):
    monkeypatch.setattr(speed, "_REFERENCE_TIMES", {})

    def ratio(clock: Clock) -> float:
        monkeypatch.setattr(speed, "_time_round", clock)
        context = TaskContext(TASK, types.SimpleNamespace(who="submission", scratch=""), seed=1)
        return speed._ratio(context, types.SimpleNamespace(who="reference"), *MEASURE)

    return ratio


def test_a_submission_passes_at_its_first_round_under_the_limit(timed):
    clock = Clock(reference=[0.01], submission=[0.09, 0.02, 0.5])
    assert timed(clock) == pytest.approx(2.0)
    # the reference: two one-call probes and ROUNDS rounds; the submission: 2 rounds (each round
    # is staged with an untimed warm-up call: no warm-up round)
    assert clock.rounds == {"reference": 2 + speed.ROUNDS, "submission": 2}


def test_a_round_under_the_limit_but_not_clearly_lets_later_rounds_lower_the_ratio(timed):
    clock = Clock(reference=[0.01], submission=[0.04, 0.03, 0.015, 0.05, 0.05])
    assert timed(clock) == pytest.approx(1.5)  # 4x and 3x pass, but timing goes on to the clear 1.5x
    assert clock.rounds["submission"] == 3


def test_the_reference_is_timed_once_per_process_then_only_re_checked(timed):
    timed(Clock(reference=[0.01], submission=[0.02]))
    later = Clock(reference=[0.01], submission=[0.02])
    for _ in range(speed.REFERENCE_REFRESH - 1):
        timed(later)
    assert later.rounds["reference"] == 0
    timed(later)  # REFERENCE_REFRESH uses after the first, a re-check
    assert later.rounds["reference"] == speed.ROUNDS // 2


def test_a_reference_first_timed_under_load_is_corrected_by_its_re_check(timed):
    loaded_first = Clock(reference=[0.1, 0.1] + [0.1] * speed.ROUNDS + [0.01], submission=[0.08])
    assert timed(loaded_first) == pytest.approx(0.8)  # a 0.1 s reference hides an 8x slow submission...
    for _ in range(speed.REFERENCE_REFRESH - 1):
        timed(loaded_first)
    assert speed._REFERENCE_TIMES["1.8"].least == pytest.approx(0.1)
    assert timed(loaded_first) == pytest.approx(8.0)  # ...until the re-check finds its real time


def test_a_submission_with_no_round_under_the_limit_is_decided_by_interleaved_medians(timed):
    slow = Clock(reference=[0.01], submission=[0.08])
    assert timed(slow) == pytest.approx(8.0)
    assert slow.rounds["submission"] == 2 * speed.ROUNDS


def test_a_submission_slowed_by_load_is_timed_again_and_passes(timed):
    """Every first round was slowed (a busy machine); interleaved, both sides are equally slow."""
    busy = Clock(reference=[0.01] * (2 + speed.ROUNDS) + [0.03],
                 submission=[0.09] * speed.ROUNDS + [0.06])
    assert timed(busy) == pytest.approx(2.0)
