"""Known-wrong submissions: each must lose exactly the points of the task it breaks.

Every file in tests/mutants/ is named for its outcome and replaces one task cell of
the reference solutions. Its first line, ``# fails: 2.8``, names the task it must
fail; the next, ``# check: values``, the check whose failure fails it (the name of the
failing ``CheckResult``: ``shape``, ``dtype``, ``finite``, ``values``, ``side effects``,
``gradients``, ``statistics``, ``rules``, ``speed (work)``, ...; a bare ``speed`` accepts
any of the speed checks); an optional ``# hint: broadcast`` line names a word the
failure's hint (not just its message) must contain. The lesson holding that task is
graded, and every other task of the lesson must still pass.

A grader that fails a mutant for the wrong reason fails this test too: the mutants that
only one check can catch (a forbidden call on a branch no scenario takes, a correct but
slow matmul, an init that repeats itself) prove that check works.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.tasks import TASKS
from builders import (
    Submissions, assert_outcome, by_id, copy_lessons, lesson_path, replace_task_cell, task_ids,
)

MUTANTS_DIR = Path(__file__).parent / "mutants"

GRADER_GAPS: dict[str, str] = {}  # mutant -> why the grader does not pass this test yet
RANDOM_GRADER_GAPS: dict[str, str] = {}


def built_on(task_id: str) -> list[str]:
    """Tasks declared as built on ``task_id`` (2.16 and 2.17 subclass the student's Module)."""
    return [t.id for t in TASKS.values() if task_id in t.depends]


@dataclass(frozen=True)
class Mutant:
    path: Path
    task: str
    check: str  # the name of the check that must fail: "values", "rules", "speed (time)", ...; "" if unsaid
    hint: str = ""  # a word the hint must contain; "" when no hint is promised

    @property
    def name(self) -> str:
        return self.path.stem


def read_mutant(path: Path) -> Mutant:
    lines = path.read_text().split("\n")
    fails = re.fullmatch(r"# fails: (\d+\.\d+)", lines[0])
    assert fails and fails[1] in TASKS, f"{path.name} must start with '# fails: <task id>'"
    hint = next((line[len("# hint: "):] for line in lines[1:3] if line.startswith("# hint: ")), "")
    check = next((line[len("# check: "):] for line in lines[1:3] if line.startswith("# check: ")), "")
    return Mutant(path, fails[1], check, hint)


def is_the_check(name: str, declared: str) -> bool:
    """``speed`` stands for any of its parts: ``speed (work)``, ``speed (memory)``, ``speed (time)``."""
    return name == declared or name.startswith(f"{declared} (")


MUTANTS = [read_mutant(path) for path in sorted(MUTANTS_DIR.glob("*.py"))]
submissions = Submissions()


def _builder(mutant: Mutant):
    def build(folder: Path) -> Path:
        copy_lessons(folder, upto=TASKS[mutant.task].lesson)
        return replace_task_cell(lesson_path(folder, mutant.task), mutant.task, mutant.path.read_text())
    return build


for _mutant in MUTANTS:  # instructor grading: a task built on the broken one runs on the answer for it
    submissions.register(_builder(_mutant), name=_mutant.name, hidden=True)


def _param(mutant: Mutant):
    marks = []
    if mutant.name in GRADER_GAPS:
        marks.append(pytest.mark.xfail(reason=GRADER_GAPS[mutant.name], strict=True))
    if mutant.name in RANDOM_GRADER_GAPS:
        marks.append(pytest.mark.xfail(reason=RANDOM_GRADER_GAPS[mutant.name], strict=False))
    return pytest.param(mutant, marks=marks, id=mutant.name)


@pytest.fixture(scope="module")
def graded(request, tmp_path_factory):
    # only the mutants of the tests that will run: `-k relu` grades a handful, not all
    selected = {item.callspec.params["mutant"].name for item in request.session.items
                if item.module is request.module and hasattr(item, "callspec")}
    with submissions.grading(tmp_path_factory.mktemp("mutants"), only=selected) as result:
        yield result


def test_every_mutant_names_the_check_that_fails_it():
    unsaid = [m.path.name for m in MUTANTS if not m.check]
    assert not unsaid, f"add '# check: <name>' after '# fails: <task id>' in {unsaid}"


def test_the_library_is_big_enough():
    assert len(MUTANTS) >= 30
    assert sum(m.check == "rules" for m in MUTANTS) >= 10
    assert sum(m.check.startswith("speed") for m in MUTANTS) >= 4
    # every check that has a mutant of its own, so switching it off is noticed
    wanted = {"type", "shape", "dtype", "finite", "values", "side effects", "gradients", "statistics",
              "rules", "speed (work)", "speed (memory)", "speed (time)", "raises", "returns"}
    assert wanted <= {m.check for m in MUTANTS}, wanted - {m.check for m in MUTANTS}
    assert set(GRADER_GAPS) | set(RANDOM_GRADER_GAPS) <= {m.name for m in MUTANTS}


def test_every_task_with_a_rule_has_a_mutant_that_breaks_it():
    """A task's forbidden calls emptied (or its required ones dropped) must fail some mutant:
    one that is right in every value and breaks that task's rule."""
    from autograder.rules import RULES

    broken = {m.task for m in MUTANTS if m.check == "rules"}
    assert not [task for task, rule in RULES.items() if (rule.forbidden or rule.required) and task not in broken], \
        "add a '# check: rules' mutant for each of these tasks"


@pytest.mark.parametrize("mutant", [_param(m) for m in MUTANTS])
def test_mutant_fails_its_task_and_only_that(mutant, graded):
    result = graded(mutant.name)
    # a task built on the broken one may fail with it, but must say that is why
    dependents = {t: {"passed", "failed"} for t in built_on(mutant.task)}
    assert_outcome(result, {mutant.task: "failed", **dependents}, task_ids(TASKS[mutant.task].lesson))
    for task_id in dependents:
        dependent = by_id(result)[task_id]
        assert dependent.status == "passed" or f"builds on Task {mutant.task}" in dependent.message, \
            dependent.message
    message = by_id(result)[mutant.task].message
    assert message.startswith(f"Task {mutant.task} ("), message
    assert mutant.check, f"{mutant.path.name} does not say which check must fail it"
    failed_check = by_id(result)[mutant.task].checks[-1]
    assert is_the_check(failed_check.name, mutant.check) and not failed_check.passed, \
        f"expected the {mutant.check!r} check to fail, the {failed_check.name!r} check did: {message}"
    if mutant.hint:
        assert mutant.hint in failed_check.hint, f"hint {failed_check.hint!r}: {message}"
        assert failed_check.hint in message, message
