"""A class at scale (run: python benchmarks/class_run.py [--students 200] [--jobs 2]).

Builds a class of ``--students`` submissions of ``--lessons`` from the reference lessons (solution markers
taken out) and the kit's mutants (one in three students carries one), grades it with
``--jobs`` processes, then a sample of ``--baseline`` of them with one process, and prints
submissions per minute, seconds per submission amortized, the mean time of each phase
(load: child start and the cells; run: waiting on children's replies during the checks;
check: the grader's own work; report: writing the student's outputs) and the speed-up.
It grades in the machine's sandbox mode: where the warm start is off (``autograder
doctor``), every submission's child imports torch itself; ``AUTOGRADER_SANDBOX=off``
shows what the warm start and its reuse across submissions save.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from autograder.classroom import grade_class  # noqa: E402
from autograder.classroom.progress import ClassProgress  # noqa: E402
from autograder.classroom.record import PHASES  # noqa: E402
from autograder.tasks import LESSONS, TASKS  # noqa: E402
from builders import replace_task_cell  # noqa: E402

MUTANTS = REPO / "tests" / "mutants"


def student_files(folder: Path, lessons: list[str]) -> None:
    folder.mkdir(parents=True)
    for lesson in LESSONS.values():
        if lesson.number not in lessons:
            continue
        text = (REPO / "solutions" / lesson.filename).read_text()
        kept = [line for line in text.split("\n") if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line]
        (folder / lesson.filename).write_text("\n".join(kept))


def _mutant_lesson(mutant: Path) -> str:
    task_id = mutant.read_text().split("\n")[0].split(": ")[1]
    return LESSONS[TASKS[task_id].lesson].number


def apply_mutant(folder: Path, mutant: Path) -> None:
    lines = mutant.read_text().split("\n")
    task_id = lines[0].split(": ")[1]
    body = "\n".join(line for line in lines if not line.startswith("# "))
    replace_task_cell(folder / LESSONS[TASKS[task_id].lesson].filename, task_id, body)


def build_class(root: Path, count: int, lessons: list[str]) -> None:
    mutants = [m for m in sorted(MUTANTS.glob("*.py")) if _mutant_lesson(m) in lessons]
    for number in range(count):
        folder = root / f"student{number:03d}"
        student_files(folder, lessons)
        if number % 3 == 2:
            apply_mutant(folder, mutants[(number // 3) % len(mutants)])


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(class_dir: Path, jobs: int) -> tuple[float, list]:
    with tempfile.TemporaryDirectory(prefix="autograder-bench-out-") as out:
        started, cpu = time.perf_counter(), _cpu_of_children()
        report = grade_class(class_dir, out=Path(out), jobs=jobs, seed=1, progress=ClassProgress())
        elapsed = time.perf_counter() - started
        # the pool's processes have ended: their CPU time and their children's is counted
        print(f"  CPU time of the graders and their children: {(_cpu_of_children() - cpu) / len(report.records):.2f} s "
              f"per submission (on an idle machine, about the amortized time times the jobs)")
        return elapsed, report.records


def describe(label: str, seconds: float, records: list) -> None:
    count = len(records)
    graded = [r for r in records if r.graded]
    print(f"{label}: {count} submissions in {seconds:.1f} s: {60 * count / seconds:.1f} per minute, "
          f"{seconds / count:.2f} s each amortized ({len(graded)} graded)")
    phases = {phase: statistics.mean(r.seconds.get(phase, 0.0) for r in graded) for phase in (*PHASES, "total")}
    print("  mean per submission, in its worker: " + ", ".join(f"{p} {v:.2f} s" for p, v in phases.items()))


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--students", type=int, default=200)
    options.add_argument("--jobs", type=int, default=2)
    options.add_argument("--lessons", nargs="+", default=["00", "01", "02"],
                         help="the assignment's lessons (the goal is set for 00 to 02)")
    options.add_argument("--baseline", type=int, default=20, help="students graded with one job for the speed-up")
    arguments = options.parse_args()
    root = Path(tempfile.mkdtemp(prefix="autograder-bench-class-"))
    try:
        build_class(root / "class", arguments.students, arguments.lessons)
        sample = root / "sample"
        sample.mkdir()
        for folder in sorted((root / "class").iterdir())[: arguments.baseline]:
            shutil.copytree(folder, sample / folder.name)
        many_seconds, many = run(root / "class", arguments.jobs)
        describe(f"{arguments.jobs} jobs", many_seconds, many)
        one_seconds, one = run(sample, 1)
        describe("1 job", one_seconds, one)
        speedup = (one_seconds / len(one)) / (many_seconds / len(many))
        print(f"speed-up of {arguments.jobs} jobs over 1: {speedup:.2f}x; "
              f"goal 1.0 s per submission amortized: {many_seconds / len(many):.2f} s")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
