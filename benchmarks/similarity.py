"""The class report's similarity step alone (run: python benchmarks/similarity.py [--students 200]).

Builds ``--students`` synthetic submissions of lessons 00-04 from the reference lessons:
each student renames the course's variable names their own way and adds a line of their
own to every function (so that every student has code no one else has), one in three
carries a mutant, and ``--copies`` students hand in another student's files with names
renamed again, comments added and lines reflowed. Prints the time to read every
student's task code, to compare them (the inverted index, then the exact measure of the
candidate pairs), how many pairs the index let through out of n(n-1)/2, and whether the
planted copies (and nothing else) were found. For scale, it also times a naive
all-pairs comparison (difflib on the normalised tokens of a sample of pairs).
"""
from __future__ import annotations

import argparse
import difflib
import random
import re
import sys
import time
from itertools import combinations
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from autograder.classroom.entries import Job  # noqa: E402
from autograder.similarity import fingerprints, pairs, task_code  # noqa: E402
from autograder.tasks import LESSONS  # noqa: E402

NAMES = ["inp", "out", "targ", "xb", "yb", "bs", "nh", "res", "loss", "preds"]
DEF = re.compile(r"^(\s*)def \w+\(.*\):\s*$")


def _lessons() -> dict[str, str]:
    files = {}
    for lesson in LESSONS.values():
        text = (REPO / "solutions" / lesson.filename).read_text()
        files[lesson.filename] = "\n".join(line for line in text.split("\n") if "### " not in line)
    return files


def _rename(text: str, rng: random.Random, tag: str) -> str:
    for name in rng.sample(NAMES, 4):
        text = re.sub(rf"\b{name}\b", f"{name}_{tag}", text)
    return text


def _own_lines(text: str, rng: random.Random) -> str:
    lines = []
    for line in text.split("\n"):
        lines.append(line)
        match = DEF.match(line)
        if match:
            a, b, c = (rng.randint(2, 10**6) for _ in range(3))
            lines.append(f"{match[1]}    check_{a} = [{a} * {b} - {c}, len(str({b})) % {c}]")
    return "\n".join(lines)


def _reflow(text: str) -> str:
    """A copy's disguise: comments and blank lines added, every assignment's spaces changed."""
    out = []
    for line in text.split("\n"):
        out.append(re.sub(r"\s*=\s*", " =  ", line, count=1) if " = " in line and "def " not in line else line)
        if line.strip().startswith("def "):
            out.append("")
            out.append(line[: len(line) - len(line.lstrip())] + "    # my own work")
    return "\n".join(out)


def build(count: int, copies: int, seed: int = 0) -> tuple[list[Job], set[frozenset[str]]]:
    rng = random.Random(seed)
    base = _lessons()
    mutants = sorted((REPO / "tests" / "mutants").glob("*.py"))
    jobs, planted = [], set()
    for number in range(count):
        student = f"student{number:03d}"
        files = {name: _own_lines(_rename(text, rng, f"s{number}"), rng) for name, text in base.items()}
        if number % 3 == 2:
            mutant = mutants[(number // 3) % len(mutants)].read_text()
            files["l99_extra.py"] = "\n".join(line for line in mutant.split("\n") if not line.startswith("# "))
        jobs.append(Job(student=student, source=student, name=student,
                        files={name: text.encode() for name, text in files.items()}))
    for number in rng.sample(range(count), copies):
        source = rng.choice([j for j in range(count) if j != number])
        copied = {name: _reflow(_rename(content.decode(), rng, f"c{number}")).encode()
                  for name, content in jobs[source].files.items()}
        jobs[number] = Job(student=jobs[number].student, source=jobs[number].source, name=jobs[number].name,
                           files=copied)
        planted.add(frozenset({jobs[number].student, jobs[source].student}))
    return jobs, planted


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--students", type=int, default=200)
    options.add_argument("--copies", type=int, default=5)
    options.add_argument("--naive-sample", type=int, default=20, help="pairs timed with difflib")
    arguments = options.parse_args()
    jobs, planted = build(arguments.students, arguments.copies)
    count = len(jobs)
    started = time.perf_counter()
    course = task_code.course_code()
    course_seconds = time.perf_counter() - started
    fingerprints.tokens.cache_clear()
    started = time.perf_counter()
    codes = {job.student: task_code.job_code(job, course.library) for job in jobs}
    read_seconds = time.perf_counter() - started
    started = time.perf_counter()
    counts: dict = {}
    found = pairs.compare(codes, course, counts=counts)
    compare_seconds = time.perf_counter() - started
    fingerprints.tokens.cache_clear()  # the step as a class run meets it: nothing read yet
    started, cpu = time.perf_counter(), time.process_time()
    whole = pairs.compare_jobs(jobs, course)
    step_seconds, step_cpu = time.perf_counter() - started, time.process_time() - cpu
    tokens = sum(len(code.tokens) for tasks in codes.values() for code in tasks.values())
    print(f"{count} students, {tokens} normalised tokens of task code ({tokens // count} each)")
    print(f"course code: {len(course.kgrams)} k-grams in {course_seconds:.2f} s")
    print(f"reading task code: {read_seconds:.2f} s ({1000 * read_seconds / count:.1f} ms per student)")
    print(f"index and compare: {compare_seconds:.2f} s; candidate pairs measured: {counts['candidates']} "
          f"of {count * (count - 1) // 2}")
    print(f"the whole step (compare_jobs): {step_seconds:.2f} s, {step_seconds / count:.3f} s per student "
          f"(CPU {step_cpu:.2f} s: on a busy machine, the time it would take on an idle one)")
    listed = {frozenset({p.student_a, p.student_b}) for p in found}
    print(f"planted copies found: {len(listed & planted)} of {len(planted)}; "
          f"other pairs listed: {len(listed - planted)}; same as compare_jobs: {len(whole.pairs) == len(found)}")
    for pair in found[:8]:
        print(f"  {pair.name_a} ~ {pair.name_b}: {pair.fraction_a:.0%} / {pair.fraction_b:.0%}, "
              f"{pair.tokens} tokens, {len(pair.tasks)} tasks")
    sample = list(combinations(sorted(codes), 2))
    random.Random(1).shuffle(sample)
    sample = sample[: arguments.naive_sample]
    texts = {s: [t for code in codes[s].values() for t, _ in code.tokens] for s in codes}
    started = time.perf_counter()
    for a, b in sample:
        difflib.SequenceMatcher(None, texts[a], texts[b], autojunk=False).ratio()
    naive = (time.perf_counter() - started) / len(sample) * count * (count - 1) / 2
    print(f"naive all pairs (difflib on tokens), extrapolated from {len(sample)} pairs: {naive:.0f} s")


if __name__ == "__main__":
    main()
