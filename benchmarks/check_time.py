"""How long ``autograder check`` makes a student wait (run: python benchmarks/check_time.py).

For lessons 00-02 and 00-04, on the reference solutions and on the stubs, as a student
runs the command line:
1. cold: the first ``autograder check`` (it starts the grader process), wall and CPU
   (the command's own and the grader process's with everything it started);
   and ``--no-server`` for comparison (one process grades and exits);
2. warm: the median of ``--repeat`` later checks, each answered by that grader process,
   wall and CPU (the command's and the grader process's for that check: on a busy
   machine the CPU says what the wall time would be on an idle one);
3. watch: ``autograder check --watch``, from saving a change to one task's cell (0.2) to
   the table printed again, median of ``--saves``.
Prints the load average before and after: the machine is shared, and numbers under load
are slower. Goals (idle 2-core machine): warm <= 0.5 s, watch <= 1.0 s, cold <= 3.0 s
wall and <= 5 s CPU.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
LESSONS = ["l00_exports", "l01_matmul", "l02_fully_connected", "l03_minibatch_training", "l04_callbacks"]
SEED = "7"


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--repeat", type=int, default=10, help="warm checks per case (median)")
    options.add_argument("--saves", type=int, default=5, help="saves under --watch per case (median)")
    options.add_argument("--cases", nargs="*", help="e.g. solutions:02 exercises:04 (default: all four)")
    args = options.parse_args()
    cases = args.cases or [f"{source}:{upto}" for upto in ("02", "04") for source in ("solutions", "exercises")]
    work = Path(tempfile.mkdtemp(prefix="ag-bench-"))
    print(f"load average before: {_load()}; {os.cpu_count()} cores")
    print(f"{'case':<23} {'cold wall':>9} {'CPU':>6} {'no-server wall':>14} {'CPU':>5} "
          f"{'warm wall':>9} {'CPU':>5} {'watch':>6}   (warm and watch: medians)")
    try:
        for case in cases:
            source, upto = case.split(":")
            folder = _lessons(work / f"{source}-{upto}", REPO / source, int(upto))
            runtime = work / f"rt-{source}-{upto}"
            runtime.mkdir(mode=0o700)
            env = {**os.environ, "AUTOGRADER_RUNTIME_DIR": str(runtime)}
            env.pop("AUTOGRADER_SERVER", None)
            env.pop("PYTHONDONTWRITEBYTECODE", None)  # a student's Python keeps its bytecode caches
            try:
                row = _measure(folder, env, args.repeat, args.saves)
            finally:
                subprocess.run([sys.executable, "-m", "autograder", "server", "stop"], env=env,
                               capture_output=True, timeout=60)
            print(f"lessons 00-{upto} {source:<10} {row['cold'][0]:>8.2f}s {row['cold'][1]:>5.2f}s "
                  f"{row['alone'][0]:>13.2f}s {row['alone'][1]:>4.1f}s {row['warm'][0]:>8.2f}s "
                  f"{row['warm'][1]:>4.2f}s {row['watch']:>5.2f}s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average after: {_load()}")


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _lessons(folder: Path, source: Path, upto: int) -> Path:
    folder.mkdir(parents=True)
    for stem in LESSONS[:upto + 1]:
        shutil.copy(source / f"{stem}.py", folder / f"{stem}.py")
    return folder


def _check(folder: Path, env: dict, *extra: str) -> tuple[float, float]:
    """One ``autograder check``: its wall time and the CPU of the command and what it waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "autograder", "check", str(folder), "--seed", SEED, *extra],
                               env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode not in (0, 1):
        raise SystemExit(f"autograder check failed:\n{completed.stdout}\n{completed.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _server_cpu(env: dict) -> float:
    """CPU of the grader process and every process under it, ended ones included."""
    runtime = Path(env["AUTOGRADER_RUNTIME_DIR"])
    total = 0.0
    for state in runtime.glob("*.json"):
        try:
            server = psutil.Process(json.loads(state.read_text())["pid"])
            for process in [server, *server.children(recursive=True)]:
                times = process.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
        except (psutil.Error, OSError, ValueError, KeyError):
            continue
    return total


def _measure(folder: Path, env: dict, repeat: int, saves: int) -> dict:
    alone = _check(folder, env, "--no-server")
    wall, own_cpu = _check(folder, env)
    cold = (wall, own_cpu + _server_cpu(env))
    walls, cpus = [], []
    for _ in range(repeat):
        server_before = _server_cpu(env)
        wall, own_cpu = _check(folder, env)
        walls.append(wall)
        cpus.append(own_cpu + _server_cpu(env) - server_before)
    return {"alone": alone, "cold": cold, "warm": (statistics.median(walls), statistics.median(cpus)),
            "watch": _watch(folder, env, saves)}


def _watch(folder: Path, env: dict, saves: int) -> float:
    watcher = subprocess.Popen([sys.executable, "-m", "autograder", "check", "--watch", str(folder), "--seed", SEED],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in watcher.stdout], daemon=True).start()
    lesson = folder / "l00_exports.py"
    original = lesson.read_text()
    anchor = '    "Assert a == b, using test."\n'
    assert anchor in original
    times = []
    try:
        _table(lines)
        for number in range(saves):
            time.sleep(0.5)
            started = time.perf_counter()
            lesson.write_text(original.replace(anchor, anchor + f"    # save {number}\n"))
            _table(lines)
            times.append(time.perf_counter() - started)
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(timeout=60)
        lesson.write_text(original)
    return statistics.median(times)


def _table(lines: queue.Queue) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if lines.get(timeout=max(0.1, deadline - time.monotonic())).startswith("watching "):
            return
    raise SystemExit("--watch printed no table")


if __name__ == "__main__":
    main()
