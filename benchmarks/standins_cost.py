"""What keeping the answers out of the child costs (run: python benchmarks/standins_cost.py
[--before KIT] [--rounds N] [--grades N] [--with-ratio]).

1. The stand-ins themselves: for each request that gets some (3.14, 4.7, 4.9), the bytes of
   source sent and the time to compile them in a child (``scenarios.given``), median of 200;
   and what the grader pays once per process (reading ``instructor/``: the answers parsed,
   the hidden checks loaded, both folders checked to be out of the child's reach).
2. Grading time of lessons 00-04 per submission: the reference solutions graded as an
   instructor grades (hidden checks run, answers stand in), ``--grades`` times in a fresh
   process after one warm-up grade. With ``--before KIT`` (another checkout of the kit, say
   the one before this change) the same runs there too, rounds interleaved between the two
   kits so that load on the machine falls on both alike; the least and the median time per
   grade are printed for each, and the difference. Each kit runs with ``PYTHONPATH`` at its
   own checkout, so its child imports its own code. The wall-clock speed ratio is off
   (``AUTOGRADER_SOLUTIONS`` at an empty folder: its timing rounds vary with load and this
   change does not touch them) unless ``--with-ratio``.
3. The same grading *work* in CPU seconds, steadier than wall time on a loaded machine: every
   task of lessons 00-04 through ``grade_task`` with the child's side in the same process
   (``lesson_time.InProcessChild``), ``--grades`` times per round, rounds interleaved; the
   least per kit.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LESSONS = ("l00_exports", "l01_matmul", "l02_fully_connected", "l03_minibatch_training", "l04_callbacks")
REQUESTS = {"3.14": ("accuracy",), "4.7": ("TrainEvalCallback",), "4.9": ("Runner", "AvgStats")}

GRADES = """
import json, sys, time
kit, grades = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, kit)
from autograder.grading import grade
solutions = kit + "/solutions"
grade(solutions, seed=0, hidden=True)  # warm-up: imports, the first server
times = []
for number in range(grades):
    started = time.perf_counter()
    result = grade(solutions, seed=number + 1, hidden=True)
    times.append(time.perf_counter() - started)
    assert result.score == result.max_score, [(t.id, t.message) for t in result.tasks if t.status != "passed"]
print(json.dumps({"times": times, "graded": len(result.tasks)}))
"""
WORK = """
import importlib.util, inspect, json, sys, time
kit, grades = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, kit)
sys.argv = sys.argv[:1]
spec = importlib.util.spec_from_file_location("lesson_time", kit + "/benchmarks/lesson_time.py")
lesson_time = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lesson_time)
from autograder.reading import submission
from autograder.grading import _task_seed, grade_task
from autograder.runner import Session
from autograder.tasks import tasks_of
# instructor grading: the answers stand in (before this change they always did)
options = {"instructor": True} if "instructor" in inspect.signature(grade_task).parameters else {}
session = Session(submission.load(lesson_time.REPO / "solutions"))
session.child = lesson_time.InProcessChild()
session.load()
seconds = []
for number in range(grades + 1):  # the first warms up
    started = time.process_time()
    for lesson in LESSONS:
        for task in tasks_of(lesson):
            result = grade_task(task, session, _task_seed(number, task), {}, **options)
            assert result.status == "passed", result.message
    if number:
        seconds.append(time.process_time() - started)
print(json.dumps(seconds))
""".replace("LESSONS", repr(LESSONS))


def standins_alone() -> None:
    sys.path.insert(0, str(REPO))
    from autograder import grader_only, scenarios

    print("1. stand-ins sent as data, per request (instructor grading only)")
    total_bytes, total_seconds = 0, 0.0
    for task, names in REQUESTS.items():
        source = grader_only.standin_source(names)
        runs = []
        for _ in range(200):
            started = time.perf_counter()
            with scenarios.given(source):
                pass
            runs.append(time.perf_counter() - started)
        seconds = statistics.median(runs)
        total_bytes, total_seconds = total_bytes + len(source.encode()), total_seconds + seconds
        print(f"   {task} {', '.join(names):<24} {len(source.encode()):>5} bytes, compiled in {seconds * 1e3:.2f} ms")
    print(f"   per submission: {total_bytes} bytes, {total_seconds * 1e3:.2f} ms of compiling in the child")
    from autograder.sandbox import filesystem

    filesystem._python_trees.cache_clear()
    started = time.perf_counter()
    grader_only._answers.cache_clear()
    grader_only.standin_source.cache_clear()
    for names in REQUESTS.values():
        grader_only.standin_source(names)
    grader_only.out_of_reach(grader_only.folder())
    print(f"   once per grader process: {(time.perf_counter() - started) * 1e3:.2f} ms to read, parse and "
          f"check instructor/answers.py")


def run(script: str, kit: Path, grades: int, env: dict) -> list[float]:
    done = subprocess.run([sys.executable, "-c", script, str(kit), str(grades)], env={**env, "PYTHONPATH": str(kit)},
                          capture_output=True, text=True, timeout=3600)
    if done.returncode:
        raise SystemExit(f"grading in {kit} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(title: str, script: str, kits: dict[str, Path], args, env: dict, pick=lambda reply: reply) -> None:
    print(title)
    values: dict[str, list[float]] = {name: [] for name in kits}
    for number in range(args.rounds):
        order = list(kits) if number % 2 == 0 else list(reversed(kits))
        for name in order:
            values[name] += pick(run(script, kits[name], args.grades, env))
            print(f"   round {number + 1}, {name}: {', '.join(f'{t:.2f}' for t in values[name][-args.grades:])} s")
    for name, seconds in values.items():
        print(f"   {name:<9} least {min(seconds):.3f} s, median {statistics.median(seconds):.3f} s per grade")
    if len(kits) == 2:
        least = min(values["this kit"]) - min(values["before"])
        median = statistics.median(values["this kit"]) - statistics.median(values["before"])
        print(f"   difference (this kit - before): least {least:+.3f} s, median {median:+.3f} s per submission")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, help="another checkout of the kit to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--grades", type=int, default=3, help="grades per round, after a warm-up grade")
    parser.add_argument("--with-ratio", action="store_true", help="keep the wall-clock speed ratio on")
    args = parser.parse_args()
    standins_alone()

    env = dict(os.environ)
    empty = tempfile.mkdtemp(prefix="no-solutions-")
    if not args.with_ratio:
        env["AUTOGRADER_SOLUTIONS"] = empty
    kits = {"this kit": REPO, **({"before": args.before.resolve()} if args.before else {})}
    compare(f"2. lessons 00-04 graded as an instructor grades, wall time, {args.rounds} rounds of {args.grades} "
            f"grades{'' if args.with_ratio else ' (speed ratio off)'}", GRADES, kits, args, env,
            pick=lambda reply: reply["times"])
    compare(f"3. the same grading work in CPU seconds (child in process), {args.rounds} rounds of {args.grades}",
            WORK, kits, args, env)


if __name__ == "__main__":
    main()
