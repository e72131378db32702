"""What the sandbox costs (run: python benchmarks/sandbox_cost.py [--grades N]).

Prints
1. the layers active on this machine;
2. the sandbox's own start cost: ``python -S -c pass`` started plain and through
   ``sandbox.Box`` (cgroup, uid, private mount view, rlimits, bubblewrap, seccomp), median of 9;
3. child start (``runner.Child.start``: Popen to the first reply, torch imported), plain vs
   sandboxed, median of 5, alternating;
4. the full grade of solutions/ with the sandbox on vs off (median of ``--grades``).
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

from autograder import sandbox  # noqa: E402
from autograder.grading import grade  # noqa: E402
from autograder.runner import Child  # noqa: E402

MODES = {"off": "off", "on": "auto"}


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


def child_start(mode: str) -> float:
    set_mode(mode)
    with tempfile.TemporaryDirectory(prefix="autograder-bench-") as scratch:
        child = Child(scratch)
        child.start()
        child.stop()
    return child.start_seconds


def full_grade(mode: str) -> float:
    set_mode(mode)
    started = time.perf_counter()
    result = grade(REPO / "solutions", seed=1)
    elapsed = time.perf_counter() - started
    print(f"    {mode:>3}: {elapsed:6.1f} s  ({result.score:g}/{result.max_score:g})")
    return elapsed


def alternate(measure, repeat: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"off": [], "on": []}
    for round_ in range(repeat):
        for mode in (("off", "on") if round_ % 2 == 0 else ("on", "off")):
            times[mode].append(measure(mode))
    return times


def show(title: str, times: dict[str, list[float]], unit: float = 1e3, label: str = "ms") -> None:
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    print(f"{title}: plain {off * unit:.0f} {label}, sandboxed {on * unit:.0f} {label} "
          f"(+{(on - off) * unit:.0f} {label}; runs: "
          f"{', '.join(f'{t * unit:.0f}' for t in times['on'])})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grades", type=int, default=1, help="full grades per mode (default 1)")
    arguments = parser.parse_args()
    saved = os.environ.get(sandbox.MODE_ENV)
    try:
        set_mode("on")
        print("\n".join(sandbox.detect().describe()))
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        show("python -S -c pass", alternate(bare_start, 9))
        show("child start (Popen to first reply, torch imported)", alternate(child_start, 5))
        if arguments.grades:
            print("full grade of solutions/:")
            show("full grade", alternate(full_grade, arguments.grades), unit=1, label="s")
    finally:
        if saved is None:
            os.environ.pop(sandbox.MODE_ENV, None)
        else:
            os.environ[sandbox.MODE_ENV] = saved


if __name__ == "__main__":
    main()
