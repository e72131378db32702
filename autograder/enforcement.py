"""Rules of the game, enforced twice, after a task's values have passed.

Statically, on the submission's source (``rules.static_violations``: names, attributes,
the ``@`` operator, through aliases); dynamically, on the torch calls the tracer saw the
task's own code make in the child (``getattr(torch, 'mat' + 'mul')`` and helpers
included; calls from the grader's scenarios and from earlier tasks' code excluded).
A violation fails the rule check, not the values, and says so.
"""
from __future__ import annotations

from autograder import rules
from autograder.reading import submission
from autograder.checking import CheckFailed, TaskContext

VALUES_FINE = "(its values are right)"


def wants_trace(task_id: str) -> bool:
    return task_id in rules.RULES


def check_rules(t: TaskContext, loaded: submission.Submission) -> None:
    rule = rules.RULES.get(t.task.id)
    if rule is None:
        return
    function = t.task.names[0]
    check_source(t, loaded, VALUES_FINE)
    calls = [call for trace in t.traces for call in trace["calls"]]
    if t.traces:  # what the task's code really called, however it reached torch
        for violation in _forbidden_first(rules.traced_violations(t.task.id, calls)):
            raise CheckFailed("rules", f"{violation.message(function, loaded.display(t.task.id))} {VALUES_FINE}")
    t.passed.append("rules")


def check_source(t: TaskContext, loaded: submission.Submission, note: str = "") -> None:
    """The static half alone: what the task's source uses, read without running it."""
    function = t.task.names[0]
    for violation in _static_violations(loaded, t.task):
        raise CheckFailed("rules", " ".join(filter(None, [violation.message(function, loaded.display(t.task.id)),
                                                          note])))


def _static_violations(loaded: submission.Submission, task) -> list[rules.Violation]:
    """``rules.static_violations``, a pure function of the stream's cells and of where the task's
    definitions are: kept, as the flags are, for a process that sees the same files again."""
    found = loaded.found.get(task.id)
    key = (task.id, tuple((cell.filename, cell.source, cell.metadata_task) for _, cell in loaded.cells()),
           None if found is None else (found.by_metadata, tuple(sorted(found.definitions))))
    if key not in _STATIC:
        if len(_STATIC) >= _STATIC_KEPT:
            _STATIC.clear()
        definitions, module = submission.task_definitions(loaded, task)
        _STATIC[key] = _forbidden_first(rules.static_violations(task.id, definitions, module))
    return _STATIC[key]


def check_source_first(t: TaskContext, loaded: submission.Submission) -> None:
    """For tasks whose forbidden calls are slow to run (``Rule.source_first``), before the values."""
    rule = rules.RULES.get(t.task.id)
    if rule is not None and rule.source_first:
        check_source(t, loaded)


def _forbidden_first(violations):
    """A forbidden call says more than the missing required one it replaced."""
    return sorted(violations, key=lambda violation: violation.kind != "forbidden")


def flags(loaded: submission.Submission) -> list[str]:
    """Suspicious constructs, for the instructor: they change no score by themselves."""
    found = []
    for source_file in loaded.files:
        if not source_file.cells:
            continue
        key = (source_file.name, tuple(cell.source for cell in source_file.cells))
        if key not in _FLAGS:  # a process that stays (the check's, the notebook's) sees a file again and again
            if len(_FLAGS) >= _FLAGS_KEPT:
                _FLAGS.clear()
            module = submission.whole_module(loaded, source_file)
            _FLAGS[key] = [f"{source_file.name}: {flag}" for flag in rules.suspicious_constructs(module)]
        found += _FLAGS[key]
    return found


_STATIC: dict[tuple, list] = {}  # (task, the stream's cells, where its definitions are) -> violations
_STATIC_KEPT = 256
_FLAGS: dict[tuple, list[str]] = {}  # a file's name and cells -> its flags (a pure function of them)
_FLAGS_KEPT = 64
