"""Lesson 04's expected names travel as data (no working camel2snake ships with the grader);
here they are checked once against a working one, the instructor's answer."""
from __future__ import annotations

import re

from autograder.checks import lesson04
from autograder.instructor import answers


def test_the_camel_case_table_is_what_camel2snake_gives():
    assert len(lesson04.CAMEL_CASES) >= 9
    assert lesson04.CAMEL_CASES == {name: answers.camel2snake(name) for name in lesson04.CAMEL_CASES}


def test_the_callback_names_are_the_class_names_without_callback_in_snake_case():
    expected = {name: answers.camel2snake(re.sub(r"Callback$", "", name) or "callback")
                for name in lesson04.CALLBACK_NAMES}
    assert lesson04.CALLBACK_NAMES == expected


def test_the_metric_handed_to_avg_stats_is_not_accuracy():
    import torch

    from autograder import standins

    out, yb = torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0])
    probability = float(standins.target_probability(out, yb))
    assert abs(probability - (torch.softmax(out, -1)[0, 0] + torch.softmax(out, -1)[1, 0]) / 2) < 1e-6
    assert probability != float(answers.accuracy(out, yb))
    assert not hasattr(standins, "accuracy") and not hasattr(standins, "Runner")
