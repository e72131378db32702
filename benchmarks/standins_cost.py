"""What keeping the answers out of the child costs (run: python benchmarks/standins_cost.py
[--before KIT] [--rounds N] [--grades N] [--with-ratio]).

1. The stand-ins themselves: for each request that gets some (3.14, 4.7, 4.9), the bytes of
   source sent and the time to compile them in a child (``scenarios.given``), median of 200.
2. Grading time of lessons 00-04 per submission: the reference solutions graded as an
   instructor grades (hidden checks run, answers stand in), ``--grades`` times in a fresh
   process after one warm-up grade. With ``--before KIT`` (another checkout of the kit, say
   the one before this change) the same runs there too, rounds interleaved between the two
   kits so that load on the machine falls on both alike; the least and the median time per
   grade are printed for each, and the difference. Each kit runs with ``PYTHONPATH`` at its
   own checkout, so its child imports its own code. The wall-clock speed ratio is off
   (``AUTOGRADER_SOLUTIONS`` at an empty folder: its timing rounds vary with load and this
   change does not touch them) unless ``--with-ratio``.
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


def grade_round(kit: Path, grades: int, env: dict) -> list[float]:
    done = subprocess.run([sys.executable, "-c", GRADES, str(kit), str(grades)], env={**env, "PYTHONPATH": str(kit)},
                          capture_output=True, text=True, timeout=3600)
    if done.returncode:
        raise SystemExit(f"grading in {kit} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["times"]


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
    times: dict[str, list[float]] = {name: [] for name in kits}
    print(f"2. lessons 00-04 graded as an instructor grades, {args.rounds} rounds of {args.grades} grades"
          f"{'' if args.with_ratio else ' (speed ratio off)'}")
    for number in range(args.rounds):
        order = list(kits) if number % 2 == 0 else list(reversed(kits))
        for name in order:
            times[name] += grade_round(kits[name], args.grades, env)
            print(f"   round {number + 1}, {name}: {', '.join(f'{t:.2f}' for t in times[name][-args.grades:])} s")
    for name, values in times.items():
        print(f"   {name:<9} least {min(values):.3f} s, median {statistics.median(values):.3f} s per grade")
    if args.before:
        least = min(times["this kit"]) - min(times["before"])
        median = statistics.median(times["this kit"]) - statistics.median(times["before"])
        print(f"   difference (this kit - before): least {least:+.3f} s, median {median:+.3f} s per submission")


if __name__ == "__main__":
    main()
