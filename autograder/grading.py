"""Grading one submission: load it into a child, run every task's checks, score.

This is the trusted side: it draws the inputs, holds the oracle and decides every
score. Nothing from the child counts unless it came back as plain data and matched.
"""
from __future__ import annotations

import os
import random
import zlib
from pathlib import Path
from typing import Callable

import torch

from autograder import enforcement, messages, reference, speed
from autograder.reading import submission
from autograder.checking import CheckFailed, TaskContext, TaskError
from autograder.checks import CHECKS, HIDDEN, HiddenCheck, hidden_counts
from autograder.results import ERROR, FAILED, PASSED, CheckResult, SubmissionResult, TaskResult
from autograder.runner import Child, ChildFailure, Session
from autograder.tasks import Task


def one_thread() -> None:
    """The grading process computes with one torch thread, as its children do: its tensors are
    small, and on a busy machine a second thread only spins waiting for a core (a warm check
    of lessons 00-04 took 0.2-0.7 s of this process's CPU with two threads, 0.12 s with one)."""
    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def grade(path: Path, *, task_ids: list[str] | None = None, seed: int | None = None,
          progress: Callable[[TaskResult], None] | None = None,
          aliases: dict[str, dict[str, str]] | None = None, child: Child | None = None,
          hidden: bool = False, time_limit: float | None = None) -> SubmissionResult:
    """Grade a submission: a folder, or a single notebook or ``.py`` of any name.

    A file named for a lesson (``l02_fully_connected.py``, ``01_matmul.ipynb``) is graded
    for that lesson's tasks, with the files beside it importable (lesson 02 imports lesson
    01). Any other file, and a folder, is a whole submission: every task is looked for in
    it. ``aliases`` maps tasks to the names a submission uses (``locate.parse_aliases``).
    ``child``: a child launched ahead that never ran code (the notebook's grader keeps one ready).
    ``hidden``: instructor grading (``autograder grade``, a class run, Gradescope). The hidden
    checks run, each a row of its own, and a task built on an earlier one runs with the
    instructor's answer for it (``grader_only``); without it (``autograder check``) the result
    counts the hidden checks in ``hidden_pending`` and such a task runs on the student's own.
    ``time_limit``: seconds for the whole submission, from its first cell; the tasks not
    reached by then are errors that say so (the ones before keep their grades).
    """
    path = Path(path)
    seed = random.SystemRandom().randrange(2**31) if seed is None else seed
    one_thread()
    loaded = submission.load(path, task_ids, aliases)
    results: dict[str, TaskResult] = {}
    hidden_results: list[TaskResult] = []
    if reference.solutions_dir() is not None and reference.wanted(loaded):
        reference.warm_up()  # its child starts while the submission loads
    with Session(loaded, child=child) as session:
        if time_limit:
            _start(session)  # a slow start on a busy machine is not the submission's time
        session.limit_time(time_limit)
        session.load()
        last: Task | None = None  # the last task graded: where the time ran out, if it did
        for task in loaded.tasks:
            if session.out_of_time:
                result = _out_of_time(task, session, last)
            else:
                result, last = grade_task(task, session, _task_seed(seed, task), results, instructor=hidden), task
            results[task.id] = result
            if progress:
                progress(result)
            if hidden:
                hidden_results += [
                    _out_of_time(task, session, last, extra) if session.out_of_time
                    else grade_hidden(task, extra, session, _task_seed(seed, task) + number + 1)
                    for number, extra in enumerate(HIDDEN.get(task.id, []))]
    pending = 0 if hidden else sum(hidden_counts().get(task.id, 0) for task in loaded.tasks)
    return SubmissionResult(tasks=list(results.values()), path=str(path), seed=seed,
                            flags=enforcement.flags(loaded), notes=list(dict.fromkeys(loaded.notes + session.notes)),
                            hidden=hidden_results, hidden_pending=pending)


def _start(session: Session) -> None:
    try:
        session.child.start()
    except ChildFailure:
        pass  # the load says so, task by task


def _out_of_time(task: Task, session: Session, last: Task | None, extra: HiddenCheck | None = None) -> TaskResult:
    """A task the submission's time limit did not reach: no EDIT line, as the time went elsewhere
    (to ``last``, the task graded when it ran out, or to the cells)."""
    loaded = session.submission
    if last is None:
        during = messages.OUT_OF_TIME_IN_CELLS
    else:
        where = loaded.location(last.id)
        during = messages.OUT_OF_TIME_IN_TASK.format(task=last.id, name=last.name, where=f" ({where})" if where else "")
    problem = messages.OUT_OF_TIME.format(limit=session.time_limit, during=during)
    return TaskResult(id=task.id, name=_hidden_name(task, extra) if extra else task.name,
                      max_score=extra.points if extra else task.points, status=ERROR,
                      location=loaded.location(task.id), message=f"Task {task.id} ({task.name}): {problem}.")


def _hidden_name(task: Task, extra: HiddenCheck) -> str:
    return f"{task.name} (hidden: {extra.name})"


def _task_seed(seed: int, task: Task) -> int:
    return zlib.crc32(f"{seed}:{task.id}".encode())


def grade_task(task: Task, session: Session, seed: int, earlier: dict[str, TaskResult], *,
               instructor: bool = False) -> TaskResult:
    """``instructor``: instructor grading, where the answers a task builds on stand in for the
    student's (``grader_only``); a self-check runs it on the student's own."""
    loaded = session.submission
    result = TaskResult(id=task.id, name=task.name, max_score=task.points, status=PASSED,
                        location=loaded.location(task.id))
    if task.id in session.problems:
        result.status = FAILED if task.id in loaded.missing else ERROR
        result.message = _compose(task, session.problems[task.id], "", loaded)
        return result
    context = TaskContext(task, session, seed)
    found = loaded.found.get(task.id)
    if found and found.note:  # how the finder decided: a renamed, replaced or aliased definition
        context.notes.append(found.note)
    context.trace_all = enforcement.wants_trace(task.id)
    context.earlier = earlier
    context.instructor = instructor
    result.measures = context.measures  # filled by the checks (the speed ratio)
    try:
        enforcement.check_source_first(context, loaded)
        CHECKS[task.id](context)  # shape -> dtype -> values -> side effects -> gradients
        enforcement.check_rules(context, loaded)
        speed.check(context)
        result.message = " ".join(dict.fromkeys(context.notes))
        result.checks += [CheckResult(name, True) for name in dict.fromkeys(context.passed)]
    except CheckFailed as failure:
        result.checks.append(CheckResult(failure.check, False, failure.message, failure.hint))
        result.status = FAILED
        hint = " ".join(map(_sentence, filter(None, [failure.hint, *dict.fromkeys(context.notes),
                                                     _undefined_note(failure.message, session, task)])))
        result.message = _compose(task, failure.message, hint, loaded, earlier)
    except TaskError as error:
        result.status = ERROR
        result.message = _compose(task, str(error), _undefined_note(str(error), session, task), loaded, earlier)
    return result


def grade_hidden(task: Task, extra: HiddenCheck, session: Session, seed: int) -> TaskResult:
    """One hidden check of a task, as a row of its own with its own points."""
    loaded = session.submission
    result = TaskResult(id=task.id, name=_hidden_name(task, extra), max_score=extra.points,
                        status=PASSED, location=loaded.location(task.id))
    if task.id in session.problems:
        result.status = FAILED if task.id in loaded.missing else ERROR
        result.message = _compose(task, session.problems[task.id], "", loaded)
        return result
    context = TaskContext(task, session, seed)
    try:
        extra.function(context)
        result.checks += [CheckResult(name, True) for name in dict.fromkeys(context.passed)]
    except CheckFailed as failure:
        result.checks.append(CheckResult(failure.check, False, failure.message))
        result.status = FAILED
        result.message = _compose(task, f"hidden check ({extra.name}): {failure.message}", failure.hint, loaded)
    except TaskError as error:
        result.status = ERROR
        result.message = _compose(task, f"hidden check ({extra.name}): {error}", "", loaded)
    return result


def _undefined_note(problem: str, session: Session, task: Task | None = None) -> str:
    """A name that is not defined often goes back to a failing import or cell, or to a task
    cell that defines the function under another name."""
    if "not defined" not in problem:
        return ""
    found = session.submission.found.get(task.id) if task else None
    if found and found.renamed_in_cell:
        return found.renamed_in_cell
    failures = session.notes + session.cell_failures
    return f"Note: {failures[0]}" if failures else ""


def _sentence(text: str) -> str:
    """A part of a message (a hint, a note) ended as a sentence, so the next reads as one."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _compose(task: Task, problem: str, hint: str, loaded: submission.Submission,
             earlier: dict[str, TaskResult] | None = None) -> str:
    parts = [f"Task {task.id} ({task.name}): {problem}."]
    failed_dependencies = [d for d in task.depends if d in (earlier or {}) and earlier[d].status != PASSED]
    if failed_dependencies:
        parts.append(messages.DEPENDS.format(task=", ".join(failed_dependencies)))
    if hint:
        parts.append(_sentence(hint))
    found = loaded.found.get(task.id)
    names = [found.renames.get(n, n) for n in task.names] if found else list(task.names)
    parts.append(messages.EDIT.format(names=", ".join(names), file=_display(loaded, task)))
    return " ".join(parts)


def _display(loaded: submission.Submission, task: Task) -> str:
    found = loaded.found.get(task.id)
    if found:
        path = loaded.files[found.file_index].path
    elif task.id in loaded.missing:
        return loaded.missing[task.id]
    elif task.id in loaded.nearest:
        path = next((f.path for f in loaded.files if f.name == loaded.nearest[task.id]), loaded.root)
    elif len(loaded.files) == 1:
        path = loaded.files[0].path
    else:
        path = loaded.root
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
