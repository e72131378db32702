"""What grading each lesson costs (run: python benchmarks/lesson_time.py [--grades N]).

Grades the reference solutions ``--grades`` times in a row in one process (after one
grade to warm up, which also starts the reference's child), as an instructor's batch
does, and prints
1. per task, the median time from the previous task's result to this one's (the first
   task of a grade also pays for loading the submission into its child);
2. per lesson, the median of the summed task times, and the whole grade's median.

3. the grading *work* of each task of lessons 03-06 in CPU seconds, which machine load
   hardly changes: the child's side runs in this process (``child.Child`` behind an
   in-process wire, messages encoded and decoded as over the pipe), so the CPU time of
   ``grade_task`` is the grader's and the child's work together, median of the grades.

The training tasks of lessons 03-04 (3.7, 3.14, 4.9) train for real; the goal for the
24 tasks of lessons 03-04 together is at most 1.5 s per submission, for lesson 05's (which
train on scripted problems) at most 0.5 s; lesson 06's CNN trains too (6.4), and its 14
tasks' goal is at most 1.0 s. ``--seeds N`` first
shows the margin of their accuracy threshold: the lowest validation accuracy that one
epoch of the lesson's plain SGD loop reaches on ``learnable``'s data over N seeds.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from autograder import learnable  # noqa: E402
from autograder.checks.training import ACCURACY_THRESHOLD  # noqa: E402
from autograder import child, wire  # noqa: E402
from autograder.reading import submission  # noqa: E402
from autograder.grading import _task_seed, grade, grade_task  # noqa: E402
from autograder.runner import Session  # noqa: E402
from autograder.tasks import TASKS, tasks_of  # noqa: E402

NEW_LESSONS = ("l03_minibatch_training", "l04_callbacks", "l05_anneal", "l06_cnn_hooks")
GOALS = {("l03_minibatch_training", "l04_callbacks"): 1.5, ("l05_anneal",): 0.5,
         ("l06_cnn_hooks",): 1.0}  # CPU s per submission


class InProcessChild:
    """The child's side in this process, behind the same encoding as the pipe."""

    scratch = tempfile.mkdtemp(prefix="autograder-bench-")  # 1.1 writes its data file here, not in the kit

    def __init__(self):
        self.child = child.Child()

    def request(self, message: dict, timeout: float = 0.0) -> dict:
        decoded = wire.decode(wire.encode(message)[8:])
        return wire.decode(wire.encode(self.child.handle(decoded))[8:])

    def close(self) -> None:
        pass

    stop = close


def work(path: Path, grades: int) -> dict[str, list[float]]:
    """CPU seconds of grade_task per task of lessons 03-06, ``grades`` times each."""
    loaded = submission.load(path)
    session = Session(loaded)
    session.child = InProcessChild()
    session.load()
    seconds: dict[str, list[float]] = {}
    for round_number in range(grades + 1):  # the first round warms up
        for stem in NEW_LESSONS:
            for task in tasks_of(stem):
                started = time.process_time()
                result = grade_task(task, session, _task_seed(round_number, task), {}, instructor=True)
                assert result.status == "passed", result.message
                if round_number:
                    seconds.setdefault(task.id, []).append(time.process_time() - started)
    return seconds


def timed_grade(path: Path) -> tuple[float, dict[str, float], int]:
    """Seconds for the whole grade, seconds per task, and the score."""
    per_task: dict[str, float] = {}
    started = last = time.perf_counter()

    def progress(result):
        nonlocal last
        now = time.perf_counter()
        per_task[result.id] = now - last
        last = now

    result = grade(path, seed=20190301, progress=progress)
    return time.perf_counter() - started, per_task, int(result.score)


def lowest_accuracy(seeds: int) -> float:
    """One epoch of SGD (lr 0.5, batches of 64), as lesson 03's fit, on each seed's data."""
    lowest = 1.0
    for seed in range(seeds):
        data, model = learnable.draw_data(seed), learnable.network(learnable.draw_weights(seed))
        for xb, yb in zip(data.x_train.split(64), data.y_train.split(64)):
            F.cross_entropy(model(xb), yb).backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= p.grad * 0.5
                model.zero_grad()
        with torch.no_grad():
            accuracy = float((model(data.x_valid).argmax(1) == data.y_valid).float().mean())
        lowest = min(lowest, accuracy)
    return lowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grades", type=int, default=5, help="grades measured (default 5)")
    parser.add_argument("--path", type=Path, default=REPO / "solutions", help="submission (default solutions/)")
    parser.add_argument("--work-only", action="store_true", help="skip the wall-clock grades (1. and 2.)")
    parser.add_argument("--seeds", type=int, default=200, help="seeds for the accuracy margin (default 200)")
    arguments = parser.parse_args()
    if arguments.seeds:
        print(f"lowest validation accuracy after one epoch over {arguments.seeds} seeds: "
              f"{lowest_accuracy(arguments.seeds):.1%} (threshold {ACCURACY_THRESHOLD:.0%})")
    torch.set_num_threads(1)  # as the child runs
    with contextlib.redirect_stdout(io.StringIO()):  # what the lessons print
        cpu = work(arguments.path, arguments.grades)
    print(f"grading work of lessons 03-06 (CPU seconds, median of {arguments.grades}):")
    for task_id, times in cpu.items():
        print(f"  {task_id:>5} {statistics.median(times):7.3f}  {TASKS[task_id].name}")
    for stems, goal in GOALS.items():
        ids = [task_id for task_id in cpu if TASKS[task_id].lesson in stems]
        total = statistics.median([sum(cpu[task_id][i] for task_id in ids) for i in range(arguments.grades)])
        print(f"  the {len(ids)} tasks of {', '.join(stems)}: {total:.3f} CPU s per submission "
              f"(goal: at most {goal} s)")
    print()
    if arguments.work_only:
        return
    timed_grade(arguments.path)  # warm-up
    totals, tasks, scores = [], {}, set()
    for _ in range(arguments.grades):
        total, per_task, score = timed_grade(arguments.path)
        totals.append(total)
        scores.add(score)
        for task_id, seconds in per_task.items():
            tasks.setdefault(task_id, []).append(seconds)
    print(f"{arguments.grades} grades of {arguments.path.name}/ (score {sorted(scores)} of {len(TASKS)}), "
          "median seconds:")
    for task_id, times in tasks.items():
        print(f"  {task_id:>5} {statistics.median(times):7.3f}  {TASKS[task_id].name}")
    lessons: dict[str, list[float]] = {}
    for index in range(arguments.grades):
        for task_id, times in tasks.items():
            lesson = TASKS[task_id].lesson
            sums = lessons.setdefault(lesson, [0.0] * arguments.grades)
            sums[index] += times[index]
    for lesson, sums in lessons.items():
        print(f"  {lesson:<24} {statistics.median(sums):7.3f} s")
    new = [sum(lessons.get(stem, [0.0] * arguments.grades)[i] for stem in ("l03_minibatch_training", "l04_callbacks"))
           for i in range(arguments.grades)]
    print(f"  lessons 03-04 together   {statistics.median(new):7.3f} s (goal: at most 1.5 s)")
    print(f"  whole grade, every lesson {statistics.median(totals):5.3f} s")


if __name__ == "__main__":
    main()
