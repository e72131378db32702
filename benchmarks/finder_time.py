"""What finding the tasks costs (run: python benchmarks/finder_time.py [--repeats N]).

Reading a submission and deciding which definition is each task happens in the grader,
once per grade, before any student code runs. For submissions of lessons 00-05 in the
forms students hand in, prints the median over ``--repeats`` of
1. ``load``: reading the files and finding every task (``submission.load``), in CPU time
   (which the load of a shared machine hardly changes);
2. ``find``: the finder alone (``locate.locate`` on the files already read);
3. the number of definitions the finder weighed, and how many tasks it found.

The goal: finding the tasks adds at most 0.1 s to a grade of lessons 00-05.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from autograder.reading import locate, submission  # noqa: E402
from autograder.tasks import TASKS  # noqa: E402


def _cases(folder: Path) -> dict[str, Path]:
    from course_notebooks import write_course_notebooks
    from test_student_styles import COLAB, EINSUM, PRELUDE, RUNGS, THREE_BUGGY, a_class, fn

    cases = {"kit solutions (.py, lessons 00-05)": REPO / "solutions"}
    pair = folder / "pair"
    pair.mkdir()
    for name in ("l01_matmul.py", "l01_matmul.ipynb", "l02_fully_connected.py", "l02_fully_connected.ipynb"):
        shutil.copy(REPO / "exercises" / name, pair / name)
    cases["exercises, .py and .ipynb side by side"] = pair
    cases["course notebooks 00-05b"] = write_course_notebooks(folder / "course")
    from course_notebooks import write_notebook

    student = folder / "student"
    student.mkdir()
    methods = list(zip(RUNGS, ["three_loops", "two_loops", "broadcast", "einsum", "pytorch"]))
    write_notebook(student / "homework.ipynb", [PRELUDE, fn(THREE_BUGGY, "matmul"), *COLAB[:3],
                                                *[fn(t, f"matmul_v{n}") for n, t in enumerate(RUNGS, 1)],
                                                a_class("MatMul", methods), fn(EINSUM, "matmul")])
    cases["a student's own notebook (versions, a class, a fix)"] = student
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for label, path in _cases(Path(tmp)).items():
            loads, finds = [], []
            for _ in range(args.repeats):
                start = time.process_time()
                loaded = submission.load(path)
                loads.append(time.process_time() - start)
                loaded.found.clear()
                loaded.problems.clear()
                start = time.process_time()
                locate.locate(loaded, {})
                finds.append(time.process_time() - start)
            weighed = len(locate.definitions(loaded))
            print(f"{label}: load {statistics.median(loads) * 1000:.1f} ms, "
                  f"find {statistics.median(finds) * 1000:.1f} ms "
                  f"({weighed} definitions weighed, {len(loaded.found)} of {len(loaded.tasks)} tasks found; "
                  f"{len(TASKS)} in the kit)")


if __name__ == "__main__":
    main()
