"""Pairs of students whose task code is nearly the same.

Each student's code is compared task by task (their 1.6 with the other's 1.6). A k-gram
counts only where it is the student's own: not found in the course's code
(``task_code.course_code``) and not common knowledge, i.e. held by at most
``max(COMMON_MIN, COMMON_SHARE * students)`` students for that task (MOSS's ``-m``). The
winnowed fingerprints that count go into an inverted index, (task, fingerprint) ->
students, so only the pairs that share a fingerprint are looked at (never all n(n-1)/2 of
them); each such pair is then measured exactly on all its counted k-grams, and its shared
lines marked on both sides.

A task is shared when both sides share at least ``MIN_TASK_TOKENS`` tokens of it (more
than a one-liner: two students who wrote the same short line did not need each other), and
a pair is listed when its shared tasks hold ``MIN_PAIR_TOKENS`` tokens in all (a few lines
of code). A side's fraction is its shared tokens over all the tokens of its own code that
count; pairs are ranked by the larger of the two.
"""
from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations

from autograder.similarity import fingerprints
from autograder.similarity.task_code import CourseCode, TaskCode, Unreadable, course_code, given_paths, job_code

MIN_TASK_TOKENS = 25
MIN_PAIR_TOKENS = 40
COMMON_MIN = 10
COMMON_SHARE = 0.1
READER_FAILED = "its task code could not be read ({reason})"


@dataclass(frozen=True)
class SharedTask:
    task_id: str
    location_a: str
    location_b: str
    lines_a: tuple[tuple[int, str, bool], ...]  # (line, text, shared) of the whole task code
    lines_b: tuple[tuple[int, str, bool], ...]
    tokens: int  # shared tokens, the fewer of the two sides'


@dataclass(frozen=True)
class Pair:
    student_a: str  # folders in the results
    student_b: str
    name_a: str  # names as handed in
    name_b: str
    fraction_a: float  # of a's own code, the share found in b's
    fraction_b: float
    tasks: tuple[SharedTask, ...]

    @property
    def fraction(self) -> float:
        return max(self.fraction_a, self.fraction_b)

    @property
    def tokens(self) -> int:
        return sum(task.tokens for task in self.tasks)


@dataclass
class Similarity:
    """What the class report shows: the pairs found, and what was compared."""
    pairs: list[Pair] = field(default_factory=list)
    compared: int = 0  # students whose code was read
    candidates: int = 0  # pairs that share a fingerprint, measured exactly
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, why its code was not read)
    course: tuple[str, ...] = ()  # the course's folders whose code did not count
    problems: list[str] = field(default_factory=list)  # given code that could not be read
    seconds: float = 0.0
    error: str = ""  # the comparison itself failed: why (the rest of the report stands)


@dataclass
class _Side:
    code: TaskCode
    hashes: list[int | None]  # None: a k-gram that spans two statements
    counted: list[bool]  # per k-gram: the student's own (not course code, not common)


def _covered(side: _Side, shared: set[int]) -> set[int]:
    """Positions of the tokens covered by the side's counted k-grams found in ``shared``."""
    positions: set[int] = set()
    for start, (value, counted) in enumerate(zip(side.hashes, side.counted)):
        if counted and value in shared:
            positions.update(range(start, start + fingerprints.K))
    return positions


def _lines(code: TaskCode, positions: set[int]) -> tuple[tuple[int, str, bool], ...]:
    marked = {code.tokens[p][1] for p in positions}
    return tuple((number, text, index in marked) for index, (number, text) in enumerate(code.lines))


def common_limit(students: int) -> int:
    """How many students may hold a k-gram before it is common knowledge."""
    return max(COMMON_MIN, math.ceil(COMMON_SHARE * students))


def compare(codes: dict[str, dict[str, TaskCode]], course: CourseCode, names: dict[str, str] | None = None,
            counts: dict | None = None) -> list[Pair]:
    """The pairs of students (by folder) whose task code is shared beyond the thresholds.

    ``counts``, if given, receives ``candidates``: how many pairs the index let through."""
    names = names or {}
    sides: dict[tuple[str, str], _Side] = {}
    for student, tasks in codes.items():
        for task_id, code in tasks.items():
            hashes = fingerprints.kgram_hashes([text for text, _ in code.tokens], starts=code.starts)
            sides[student, task_id] = _Side(code, hashes, [])
    holders = Counter((task_id, value) for (_, task_id), side in sides.items()
                      for value in set(side.hashes) - course.kgrams if value is not None)
    limit = common_limit(len(codes))
    index: dict[tuple[str, int], list[str]] = defaultdict(list)
    for (student, task_id), side in sides.items():
        side.counted = [value is not None and value not in course.kgrams and holders[task_id, value] <= limit
                        for value in side.hashes]
        for position in fingerprints.winnow(side.hashes):
            if side.counted[position]:
                index[task_id, side.hashes[position]].append(student)
    candidates: dict[tuple[str, str], set[str]] = defaultdict(set)
    for (task_id, _), students in index.items():
        for a, b in combinations(sorted(set(students)), 2):
            if names.get(a, a) != names.get(b, b):  # two entries of one name are one student's
                candidates[a, b].add(task_id)
    if counts is not None:
        counts["candidates"] = len(candidates)
    paired = {student for pair in candidates for student in pair}
    own = {student: sum(len(_covered(sides[student, t], set(sides[student, t].hashes))) for t in codes[student])
           for student in paired}  # the tokens of each one's own code: what a fraction is of
    pairs = [_measure(a, b, sorted(tasks, key=_task_key), sides, own, names)
             for (a, b), tasks in candidates.items()]
    listed = [pair for pair in pairs if pair is not None]
    return sorted(listed, key=lambda p: (-p.fraction, -p.tokens, p.name_a, p.name_b))


def _measure(a: str, b: str, task_ids: list[str], sides, own: dict[str, int], names) -> Pair | None:
    shared_tasks, tokens_a, tokens_b = [], 0, 0
    for task_id in task_ids:
        side_a, side_b = sides[a, task_id], sides[b, task_id]
        own_a = {v for v, counted in zip(side_a.hashes, side_a.counted) if counted}
        own_b = {v for v, counted in zip(side_b.hashes, side_b.counted) if counted}
        shared = own_a & own_b
        covered_a, covered_b = _covered(side_a, shared), _covered(side_b, shared)
        if min(len(covered_a), len(covered_b)) < MIN_TASK_TOKENS:
            continue
        tokens_a, tokens_b = tokens_a + len(covered_a), tokens_b + len(covered_b)
        shared_tasks.append(SharedTask(task_id, side_a.code.location, side_b.code.location,
                                       _lines(side_a.code, covered_a), _lines(side_b.code, covered_b),
                                       min(len(covered_a), len(covered_b))))
    if sum(task.tokens for task in shared_tasks) < MIN_PAIR_TOKENS:
        return None
    return Pair(a, b, names.get(a, a), names.get(b, b), tokens_a / max(own[a], 1), tokens_b / max(own[b], 1),
                tuple(shared_tasks))


def _task_key(task_id: str) -> tuple:
    return tuple(int(part) if part.isdigit() else 0 for part in task_id.split("."))


def compare_jobs(jobs, course: CourseCode | None = None, class_dir=None) -> Similarity:
    """The class run's step: read every gradable job's task code and compare them. The
    course's code is the kit's and the given code named in ``class_dir``'s ``autograder.toml``.

    Never raises: a job whose code cannot be read is listed as skipped, and a failure of the
    comparison itself is ``error``, so the rest of the class report is written as ever."""
    started = time.perf_counter()
    result = Similarity()
    try:
        if course is None:
            given, problems = given_paths(class_dir) if class_dir is not None else ([], [])
            course = course_code(given=given, problems=problems)
        result.course, result.problems = course.sources, list(course.problems)
        codes, names = {}, {}
        for job in jobs:
            if job.problem:  # not graded either: the report lists it with the reason
                continue
            try:
                codes[job.student] = job_code(job, course.library)
                names[job.student] = job.name
            except Unreadable as exc:
                result.skipped.append((job.name, str(exc)))
            except Exception as exc:  # noqa: BLE001 - a reader's bug on one submission is that submission's
                result.skipped.append((job.name, READER_FAILED.format(reason=f"{type(exc).__name__}: {exc}")))
        result.compared = len(codes)
        counts: dict = {}
        result.pairs = compare(codes, course, names, counts)
        result.candidates = counts["candidates"]
    except Exception as exc:  # noqa: BLE001 - the grades and the rest of the report come first
        result.error = f"{type(exc).__name__}: {exc}"
    result.seconds = round(time.perf_counter() - started, 3)
    return result
