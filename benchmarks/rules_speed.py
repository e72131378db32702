"""Benchmark for the rules and speed checks (run: python benchmarks/rules_speed.py).

Prints
1. the matmul ladder of the reference on 5×784 @ 784×10, with ratios;
2. the false-fail rate: the reference's speed checks run N times while two other
   processes keep both cores busy (goal 0/N);
3. the catch rate: slow-but-correct submissions graded N times each, under the same
   load (goal N/N);
4. the time the rules and speed checks add to grading one submission (goal < 1 s).
"""
from __future__ import annotations

import argparse
import multiprocessing
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder import enforcement, speed  # noqa: E402
from autograder.reading import submission  # noqa: E402
from autograder.child import Child  # noqa: E402
from autograder.grading import grade, grade_task  # noqa: E402
from autograder.runner import Session  # noqa: E402
from autograder.tasks import TASKS  # noqa: E402

SPEED_TASKS = ["1.4", "1.6", "1.7", "1.8", "2.17"]
SLOW = {  # correct values, slow by design: the kit's own speed mutants (tests/mutants/)
    "elementwise posing as broadcasting": "matmul_broadcast_still_two_loops",
    "einsum called per row": "matmul_einsum_per_row",
    "outer-product weight gradient posing as 2.17": "fast_lin_still_outer_product",
    "einsum beside pure-Python busy work": "matmul_einsum_with_python_busy_work",
    "matmul, slow only on large inputs": "pytorch_matmul_slow_only_when_large",
}


def slow_mutant(name: str) -> tuple[str, str]:
    """(task id, replacement cell) of a mutant file, whose first line is ``# fails: X``."""
    text = (REPO / "tests" / "mutants" / f"{name}.py").read_text()
    return re.match(r"# fails: ([\d.]+)", text)[1], text


def reference_here() -> Child:
    """The reference lessons loaded into this process, for the ladder."""
    runner = Child()
    loaded = submission.load(REPO / "solutions")
    runner.set_modules(modules=loaded.modules)
    for _, cell in loaded.cells():
        runner.exec_cell(source=cell.source, filename=cell.filename, tasks=cell.tasks)
    return runner


def ladder() -> None:
    runner = reference_here()
    a, b = torch.randn(5, 784), torch.randn(784, 10)
    rows = []
    for task in ["1.2", "1.4", "1.6", "1.7", "1.8"]:
        matmul = runner.restore(task)["matmul"]
        number = 1 if task == "1.2" else 200
        start = time.perf_counter()
        for _ in range(number):
            matmul(a, b)
        rows.append((task, TASKS[task].name, (time.perf_counter() - start) / number))
    start = time.perf_counter()
    for _ in range(1000):
        a @ b
    rows.append(("@", "a @ b", (time.perf_counter() - start) / 1000))
    loops = rows[0][2]
    print("1. matmul ladder of the reference, 5×784 @ 784×10")
    for task, name, seconds in rows:
        print(f"   {task:>4} {name:<24} {seconds * 1e3:10.3f} ms   {loops / seconds:10.0f}× faster than loops")


def spin(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def with_load(function):
    stop = multiprocessing.Event()
    workers = [multiprocessing.Process(target=spin, args=(stop,)) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        return function()
    finally:
        stop.set()
        for worker in workers:
            worker.join()


def repeated(folder: Path, task_ids: list[str], repeats: int) -> dict[str, int]:
    """Grade the tasks ``repeats`` times in one session; count speed-check failures."""
    loaded = submission.load(folder)
    failures = {task: 0 for task in task_ids}
    with Session(loaded) as session:
        session.load()
        for round_number in range(repeats):
            for task_id in task_ids:
                task = TASKS[task_id]
                result = grade_task(task, session, round_number, {})
                failed_check = result.checks[-1].name if result.status != "passed" and result.checks else ""
                failures[task_id] += failed_check.startswith("speed")
    return failures


def mutant_folder(task_id: str, cell: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="slow-"))
    for path in (REPO / "solutions").glob("l*.py"):
        shutil.copy(path, folder / path.name)
    lesson = folder / f"{TASKS[task_id].lesson}.py"
    text = lesson.read_text()
    header = f'# %% task="{task_id}"\n'
    start = text.index(header) + len(header)
    end = text.index("\n# %%", start)
    lesson.write_text(text[:start] + cell + text[end:])
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    repeats = parser.parse_args().repeats
    ladder()

    start = time.perf_counter()
    failures = with_load(lambda: repeated(REPO / "solutions", SPEED_TASKS, repeats))
    print(f"\n2. false-fail rate, reference under load (2 busy processes), {repeats} runs "
          f"({time.perf_counter() - start:.0f} s)")
    for task_id, count in failures.items():
        print(f"   {task_id:>4}: {count}/{repeats} speed-check failures")

    print(f"\n3. catch rate, slow-but-correct submissions under load (2 busy processes), {repeats} runs each")
    for name, mutant in SLOW.items():
        task_id, cell = slow_mutant(mutant)
        folder = mutant_folder(task_id, cell)
        caught = with_load(lambda: repeated(folder, [task_id], repeats)[task_id])
        shutil.rmtree(folder)
        print(f"   {name:<48} {caught}/{repeats} caught")

    timings = {}
    for label in ("with", "without"):
        if label == "without":
            enforcement.check_rules = lambda *args: None
            speed.check = lambda *args: None
        samples = []
        for _ in range(3):
            begin = time.perf_counter()
            grade(REPO / "solutions", seed=1)
            samples.append(time.perf_counter() - begin)
        timings[label] = statistics.median(samples)
    print(f"\n4. grading the solutions: {timings['with']:.2f} s with rules and speed checks, "
          f"{timings['without']:.2f} s without: they add {timings['with'] - timings['without']:.2f} s")


if __name__ == "__main__":
    main()
