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

from autograder import enforcement, messages, reference, speed, submission
from autograder.checking import CheckFailed, TaskContext, TaskError
from autograder.checks import CHECKS
from autograder.results import ERROR, FAILED, PASSED, CheckResult, SubmissionResult, TaskResult
from autograder.runner import Session
from autograder.tasks import Task, select


def grade(path: Path, *, task_ids: list[str] | None = None, seed: int | None = None,
          progress: Callable[[TaskResult], None] | None = None) -> SubmissionResult:
    """Grade a lesson file or a folder of them; ``task_ids`` narrows the tasks graded.

    A single file is graded alone, with the other lessons beside it loaded (lesson 02
    imports lesson 01) but not graded. A folder is graded for every lesson; a lesson
    file that is missing fails its tasks with a message saying so.
    """
    path = Path(path)
    seed = random.SystemRandom().randrange(2**31) if seed is None else seed
    given = submission.find_lesson_files(path)
    found = {**submission.find_lesson_files(path.parent), **given} if path.is_file() else given
    lesson_files = [submission.read_lesson(lesson, found.get(stem))
                    for stem, lesson in submission.LESSONS.items()]
    tasks = [t for t in select(task_ids) if path.is_dir() or t.lesson in given]
    results: dict[str, TaskResult] = {}
    if any(speed.SPEED.get(t.id) and speed.SPEED[t.id].ratio for t in tasks):
        reference.warm_up()
    with Session(lesson_files) as session:
        session.load()
        for task in tasks:
            lesson_file = next(f for f in lesson_files if f.lesson.stem == task.lesson)
            result = grade_task(task, session, lesson_file, _task_seed(seed, task), results)
            results[task.id] = result
            if progress:
                progress(result)
    return SubmissionResult(tasks=list(results.values()), path=str(path), seed=seed,
                            flags=enforcement.flags(lesson_files))


def _task_seed(seed: int, task: Task) -> int:
    return zlib.crc32(f"{seed}:{task.id}".encode())


def grade_task(task: Task, session: Session, lesson_file: submission.LessonFile, seed: int,
               earlier: dict[str, TaskResult]) -> TaskResult:
    result = TaskResult(id=task.id, name=task.name, max_score=task.points, status=PASSED)
    if task.id in session.problems:
        missing_file = lesson_file.path is None
        result.status = FAILED if missing_file else ERROR
        result.message = _compose(task, session.problems[task.id], "", lesson_file)
        return result
    context = TaskContext(task, session, seed)
    context.trace_all = enforcement.wants_trace(task.id)
    result.measures = context.measures  # filled by the checks (the speed ratio)
    try:
        CHECKS[task.id](context)  # shape -> dtype -> values -> side effects -> gradients
        enforcement.check_rules(context, lesson_file)
        speed.check(context)
        result.message = " ".join(context.notes)
        result.checks += [CheckResult(name, True) for name in dict.fromkeys(context.passed)]
    except CheckFailed as failure:
        result.checks.append(CheckResult(failure.check, False, failure.message))
        result.status = FAILED
        hint = " ".join(filter(None, [failure.hint, _undefined_note(failure.message, session, task)]))
        result.message = _compose(task, failure.message, hint, lesson_file, earlier)
    except TaskError as error:
        result.status = ERROR
        result.message = _compose(task, str(error), _undefined_note(str(error), session, task),
                                  lesson_file, earlier)
    return result


def _undefined_note(problem: str, session: Session, task: Task) -> str:
    """A name that is not defined often goes back to a cell that failed (an import)."""
    failures = session.cell_failures.get(task.lesson, [])
    return f"Note: {failures[0]}" if failures and "not defined" in problem else ""


def _compose(task: Task, problem: str, hint: str, lesson_file: submission.LessonFile,
             earlier: dict[str, TaskResult] | None = None) -> str:
    parts = [f"Task {task.id} ({task.name}): {problem}."]
    failed_dependencies = [d for d in task.depends if d in (earlier or {}) and earlier[d].status != PASSED]
    if failed_dependencies:
        parts.append(messages.DEPENDS.format(task=", ".join(failed_dependencies)))
    if hint:
        parts.append(hint)
    parts.append(messages.EDIT.format(names=", ".join(task.names), file=_display(lesson_file)))
    return " ".join(parts)


def _display(lesson_file: submission.LessonFile) -> str:
    if lesson_file.path is None:
        return lesson_file.lesson.filename
    try:
        return os.path.relpath(lesson_file.path)
    except ValueError:
        return str(lesson_file.path)
