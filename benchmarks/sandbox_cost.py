"""What the sandbox and the warm start cost (run: python benchmarks/sandbox_cost.py [--grades N]).

Prints
1. the layers active on this machine;
2. the sandbox's own start cost: ``python -S -c pass`` started plain and through
   ``sandbox.Box`` (cgroup, uid, private mount view, rlimits, bubblewrap, seccomp), median of 9;
3. child start (``runner.Child``: from asking for a child to its first reply, torch
   imported), plain vs sandboxed, median of 5 each, alternating:
   - cold: no warm start (``AUTOGRADER_SANDBOX=... -warm``), the child imports torch itself;
   - a warm server's own start (what a spare hides: box, interpreter, torch);
   - warm: a submission's first child, forked from a ready spare server;
   - restart: the next child of the same submission, forked from the same server;
4. a class: ``--grades`` submissions (copies of solutions/) graded one after another in
   this process, as an instructor's batch does, with the sandbox on (warm), off (warm) and
   on without the warm start (cold); the first grade of each, which also starts the
   reference's child, is shown apart.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder import runner, sandbox, warm  # noqa: E402
from autograder.grading import grade  # noqa: E402

MODES = {"off": "off", "on": "auto", "cold": "auto -warm"}


def set_mode(mode: str) -> None:
    os.environ[sandbox.MODE_ENV] = MODES[mode]


def bare_start(mode: str) -> float:
    set_mode(mode)
    with tempfile.TemporaryDirectory(prefix="autograder-bench-") as scratch:
        box = sandbox.Box(scratch)
        started = time.perf_counter()
        process = box.popen([sys.executable, "-S", "-c", "pass"], env={"PATH": "/usr/bin:/bin"})
        process.wait()
        elapsed = time.perf_counter() - started
        box.close()
    return elapsed


def cold_start(mode: str) -> float:
    os.environ[sandbox.MODE_ENV] = MODES[mode] + " -warm"
    child = runner.Child(pooled=False)
    try:
        child.start()
        assert child.process is not None, "expected a cold child"
        return child.start_seconds
    finally:
        child.close()


def warm_starts(mode: str) -> tuple[float, float, float]:
    """(server start, first child from a ready server, median of 5 restarts)."""
    set_mode(mode)
    server = warm.Warm()
    child = runner.Child(pooled=False)
    try:
        server.server.wait_ready(warm.START_TIMEOUT)
        child.warm = server  # a ready spare, as the pool hands it out
        child.start()
        assert child.forked is not None, f"expected a forked child ({child.cold_reason})"
        first, restarts = child.start_seconds, []
        for _ in range(5):
            child.stop()
            child.start()
            restarts.append(child.start_seconds)
        return server.server.start_seconds, first, statistics.median(restarts)
    finally:
        child.close()


def alternate(measure, repeat: int, modes=("off", "on")) -> dict[str, list]:
    times: dict[str, list] = {mode: [] for mode in modes}
    for round_ in range(repeat):
        for mode in (modes if round_ % 2 == 0 else modes[::-1]):
            times[mode].append(measure(mode))
    return times


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1e3:.0f} ms"


def show(title: str, times: dict[str, list[float]]) -> None:
    print(f"{title}: plain {ms(times['off'])}, sandboxed {ms(times['on'])} "
          f"(runs sandboxed: {', '.join(f'{t * 1e3:.0f}' for t in times['on'])})")


def a_class(mode: str, count: int, folder: Path) -> None:
    set_mode(mode)
    warm.pool.close()
    os.environ[warm.SPARES_ENV] = "1"
    seconds, scores = [], []
    for number in range(count):
        if warm.pool.spares:  # the spare's import overlaps the last grade in a real batch
            warm.pool.spares[0].server.wait_ready(warm.START_TIMEOUT)
        started = time.perf_counter()
        result = grade(folder, seed=number)
        seconds.append(time.perf_counter() - started)
        scores.append(f"{result.score:g}/{result.max_score:g}")
    warm.pool.close()
    rest = seconds[1:] or seconds
    print(f"  {mode:>4}: first {seconds[0]:5.1f} s, then median {statistics.median(rest):5.1f} s "
          f"(all: {', '.join(f'{s:.1f}' for s in seconds)}; scores {', '.join(sorted(set(scores)))})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grades", type=int, default=4, help="submissions per class run (default 4; 0: none)")
    arguments = parser.parse_args()
    saved = {name: os.environ.get(name) for name in (sandbox.MODE_ENV, warm.SPARES_ENV)}
    try:
        set_mode("on")
        print("\n".join(sandbox.detect().describe()))
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
        show("python -S -c pass", alternate(bare_start, 9))
        print("child start (asked for to first reply, torch imported), median of 5:")
        show("  cold, no warm start", alternate(cold_start, 5))
        starts = alternate(warm_starts, 5)
        for index, title in enumerate(("  a warm server's own start", "  warm: first child from a ready server",
                                       "  warm: restart, same server")):
            show(title, {mode: [runs[index] for runs in starts[mode]] for mode in starts})
        if arguments.grades:
            print(f"\na class of {arguments.grades} submissions (solutions/), graded in a row in one process:")
            for mode in ("on", "off", "cold"):
                a_class(mode, arguments.grades, REPO / "solutions")
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


if __name__ == "__main__":
    main()
