"""How long ``%check`` takes in a real kernel (run: python benchmarks/notebook_check.py [--repeat N]).

Starts an IPython kernel (ipykernel, through jupyter_client) on a lesson-named notebook,
loads the extension, defines tasks 1.2 (three loops) and 1.6 (broadcasting), and times,
from the request to the kernel's reply, as the student waits:
1. the first ``%check 1.2`` (it starts the grader process beside the kernel);
2. the second and later ``%check 1.2``, each after a pause of ``--pause`` seconds, as a
   student takes between checks (the grader has launched the next child meanwhile);
3. the same right after the previous check, with no pause;
4. ``%check 1.6``, whose speed check times the submission against the reference.
Medians of ``--repeat``. Prints the sandbox mode so that runs with and without the warm
start compare.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel
from nbformat.v4 import new_code_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder import sandbox  # noqa: E402

CELLS = [
    "%load_ext autograder",
    "import torch",
    "def matmul(a, b):\n    ar, ac = a.shape\n    br, bc = b.shape\n    assert ac == br\n"
    "    c = torch.zeros(ar, bc)\n    for i in range(ar):\n        for j in range(bc):\n"
    "            for k in range(ac): c[i, j] += a[i, k] * b[k, j]\n    return c",
    "def matmul(a, b):\n    ar, ac = a.shape\n    br, bc = b.shape\n    assert ac == br\n"
    "    c = torch.zeros(ar, bc)\n    for i in range(ar):\n        for j in range(bc): c[i, j] = (a[i, :] * b[:, j]).sum()\n"
    "    return c",
    "def matmul(a, b):\n    ar, ac = a.shape\n    br, bc = b.shape\n    assert ac == br\n"
    "    c = torch.zeros(ar, bc)\n    for i in range(ar): c[i] = (a[i].unsqueeze(-1) * b).sum(dim=0)\n    return c",
]


def run(client, code: str) -> tuple[float, str]:
    started = time.perf_counter()
    message_id = client.execute(code)
    text = ""
    while True:
        message = client.get_iopub_msg(timeout=300)
        if message["parent_header"].get("msg_id") != message_id:
            continue
        content = message["content"]
        if message["msg_type"] == "display_data":
            text += content["data"].get("text/plain", "")
        elif message["msg_type"] == "error":
            text += f"{content['ename']}: {content['evalue']}"
        elif message["msg_type"] == "status" and content["execution_state"] == "idle":
            return time.perf_counter() - started, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pause", type=float, default=5.0)
    args = parser.parse_args()
    layers = sandbox.detect()
    print(f"sandbox: {os.environ.get(sandbox.MODE_ENV, 'auto')}; warm start: {'on' if layers.warm else 'off'}")
    with tempfile.TemporaryDirectory(prefix="autograder-bench-") as folder:
        path = Path(folder) / "l01_matmul.ipynb"
        nbformat.write(new_notebook(cells=[new_code_cell(c) for c in CELLS]), str(path))
        env = {**os.environ, "JPY_SESSION_NAME": str(path),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        manager, client = start_new_kernel(kernel_name="python3", cwd=folder, env=env)
        try:
            for cell in CELLS:
                run(client, cell)
            first, text = run(client, "%check 1.2")
            assert "1.2 passed" in text, text
            print(f"first %check 1.2 (starts the grader): {first:.2f} s")
            paused, quick, speed = [], [], []
            for _ in range(args.repeat):
                time.sleep(args.pause)
                seconds, text = run(client, "%check 1.2")
                assert "1.2 passed" in text, text
                paused.append(seconds)
            for _ in range(args.repeat):
                seconds, text = run(client, "%check 1.2")
                quick.append(seconds)
            for _ in range(args.repeat):
                time.sleep(args.pause)
                seconds, text = run(client, "%check 1.6")
                assert "1.6 passed" in text, text
                speed.append(seconds)
            print(f"second and later %check 1.2, {args.pause:g} s after the last: median "
                  f"{statistics.median(paused):.2f} s (all: {', '.join(f'{s:.2f}' for s in paused)})")
            print(f"%check 1.2 right after the last: median {statistics.median(quick):.2f} s "
                  f"(all: {', '.join(f'{s:.2f}' for s in quick)})")
            print(f"%check 1.6 (with its speed check), {args.pause:g} s after the last: median "
                  f"{statistics.median(speed):.2f} s (all: {', '.join(f'{s:.2f}' for s in speed)})")
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=False)


if __name__ == "__main__":
    main()
