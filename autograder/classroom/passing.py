"""The pass score: the lowest score that passes, in points or as a fraction of the points.

``--pass-score 20`` is 20 points; ``--pass-score 0.7`` or ``70%`` is 70% of the student's
maximum score (hidden checks included). One submission's exit status, and in a class run
the gradebook's ``passed`` column, the report and the exit status, are decided here.
"""
from __future__ import annotations

from dataclasses import dataclass

from autograder.results import SubmissionResult

BAD = ("--pass-score takes points (20), or a fraction of the points (0.7 or 70%), "
       "not {text!r}")
TOLERANCE = 1e-9  # 0.7 of 30 points is 20.999999999999996 in floating point


@dataclass(frozen=True)
class PassScore:
    points: float | None = None  # a number of points, or
    fraction: float | None = None  # a fraction of the maximum score

    def threshold(self, max_score: float) -> float:
        return self.points if self.points is not None else self.fraction * max_score

    def passed(self, result: SubmissionResult | None) -> bool:
        """A result that could not be graded never passes."""
        if result is None or result.crashed:
            return False
        return result.score >= self.threshold(result.max_score) - TOLERANCE

    def __str__(self) -> str:
        if self.points is not None:
            return f"{self.points:g} points"
        return f"{100 * self.fraction:g}% of the points"


FULL_MARKS = PassScore(fraction=1.0)


def parse(text: str) -> PassScore:
    """``"20"`` (points, 1 or more), ``"0.7"`` (a fraction, below 1) or ``"70%"``."""
    raw = str(text).strip()
    try:
        if raw.endswith("%"):
            value = float(raw[:-1]) / 100
            if not 0 <= value <= 1:
                raise ValueError
            return PassScore(fraction=value)
        value = float(raw)
    except ValueError:
        raise ValueError(BAD.format(text=text)) from None
    if value != value or value < 0 or value == float("inf"):
        raise ValueError(BAD.format(text=text))
    return PassScore(fraction=value) if value < 1 else PassScore(points=value)
