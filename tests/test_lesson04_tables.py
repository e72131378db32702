"""Lesson 04's expected names travel as data (no working camel2snake ships with the grader);
here they are checked once against a working one, the instructor's answer."""
from __future__ import annotations

import importlib.util
import re

from autograder import grader_only
from autograder.checks import lesson04


def _answers():
    path = grader_only.folder() / grader_only.ANSWERS
    spec = importlib.util.spec_from_file_location("answers_for_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


answers = _answers()


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


def test_the_grader_s_camel2snake_is_a_table_of_its_own_callback_names():
    """``standins.camel2snake`` (4.4's stand-in) agrees with a working one on the names the
    grader's callbacks have, and is no answer to 4.3: it fails most of 4.3's cases."""
    from autograder import standins

    names = [re.sub(r"Callback$", "", n) or "callback" for n in lesson04.CALLBACK_NAMES] + list(lesson04.CALLBACK_NAMES)
    assert all(standins.camel2snake(n) == answers.camel2snake(n) for n in names)
    wrong = [n for n, expected in lesson04.CAMEL_CASES.items() if standins.camel2snake(n) != expected]
    assert len(wrong) >= 4, wrong


def test_the_grader_s_listify_is_no_answer_to_4_6():
    """``standins.listify`` does what the grader's scenarios hand it (None, a list, a tuple,
    one object) and fails 4.6's other cases."""
    from autograder import standins

    same = [1]
    assert standins.listify(None) == [] and standins.listify(same) is same and standins.listify((1, 2)) == [1, 2]
    assert standins.listify(standins) == [standins]
    wrong = [case for case in (range(3), (i for i in range(2)), {"a": 1}) if standins.listify(case) != answers.listify(case)]
    assert len(wrong) == 3


def test_a_request_gets_the_answers_it_builds_on_and_no_other():
    from autograder.scenarios import given
    from autograder import scenarios

    source = grader_only.standin_source(("TrainEvalCallback",))
    assert "class TrainEvalCallback" in source and "class Callback" in source
    assert not any(f"{kind} {name}" in source for kind, name in (("def", "accuracy"), ("class", "Runner"),
                                                                 ("class", "AvgStats"), ("def", "listify")))
    assert "import re" not in source and "import torch" not in source  # what it does not use stays home
    with given(source):
        assert scenarios._grader_standin("TrainEvalCallback").__module__ == "grader_standins"
        assert scenarios._grader_standin("Runner") is None
    assert scenarios._grader_standin("TrainEvalCallback") is None  # gone with its request


def test_the_grader_s_normalize_is_no_answer_to_2_1():
    """``standins.normalize`` does what 6.1's scenario hands it (0-d statistics) and refuses the
    per-feature statistics task 2.1 is graded on."""
    import pytest
    import torch

    from autograder import standins

    x = torch.randn(5, 3)
    assert torch.equal(standins.normalize(x, x.mean(), x.std()), (x - x.mean()) / x.std())
    with pytest.raises(TypeError):
        standins.normalize(x, x.mean(0), x.std(0))
