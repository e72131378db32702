"""The ``autograder`` command: a thin shell over the Python API.

Each command parses its arguments and calls one function; the docstrings are the help.
"""
from __future__ import annotations

import argparse
import atexit
import os
import sys
from pathlib import Path

from rich.console import Console

from autograder import report
from autograder.submission import SubmissionError
from autograder.tasks import TASKS


def check(args) -> int:
    """Grade lessons and show, task by task, what passes and why not.

    Example: autograder check exercises/ --task 2.11
    """
    result = _grade(args)
    report.print_table(result)
    if args.json:
        report.write_json(result, args.json)
    return 0 if result.passed else 1


def grade(args) -> int:
    """Grade one submission (a lesson file or a folder) and write the JSON result.

The hidden checks run too, each a row of its own (`autograder check` only counts them).

    Exits non-zero when the score is below --pass-score (default: full marks), so CI
    can fail the build on a failing grade.
    Example: autograder grade submissions/alice --json results/alice.json
    """
    result = _grade(args, hidden=True)
    report.write_json(result, args.json)
    threshold = result.max_score if args.pass_score is None else args.pass_score
    Console(stderr=True).print(f"{result.path}: {result.score:g}/{result.max_score:g} -> {args.json}")
    return 0 if result.score >= threshold else 1


def release(args) -> int:
    """Regenerate exercises/ (.py and .ipynb) from solutions/, or build a release.

    With --check, change nothing: list the exercise files that differ from a fresh
    release and exit non-zero if there are any.
      autograder release student DIR      a student repository (exercises, grader, public
                                          checks, README, GitHub Classroom workflow)
      autograder release gradescope ZIP   a Gradescope autograder zip
      autograder release nbgrader DIR     nbgrader source notebooks
    Example: autograder release --check
    """
    from autograder.releases.exercises import ReleaseError, release_diff
    from autograder.releases.exercises import release as write_release

    try:
        if args.kind:
            return _release_to(args)
        if args.check:
            stale = release_diff(solutions=args.solutions, exercises=args.exercises)
            for name in stale:
                print(f"out of date: {args.exercises / name}")
            return 1 if stale else 0
        for path in write_release(solutions=args.solutions, exercises=args.exercises):
            print(f"wrote {path}")
    except ReleaseError as exc:
        print(f"autograder release: {exc}", file=sys.stderr)
        return 2
    return 0


def _release_to(args) -> int:
    if args.target is None:
        raise ValueError(f"autograder release {args.kind} needs a destination")
    if args.kind == "student":
        from autograder.releases.student import release_student

        written = release_student(solutions=args.solutions, destination=args.target)
    elif args.kind == "gradescope":
        from autograder.releases.gradescope import release_gradescope

        written = [release_gradescope(solutions=args.solutions, destination=args.target)]
    else:
        from autograder.releases.nbgrader import release_nbgrader

        written = release_nbgrader(solutions=args.solutions, destination=args.target)
    print(f"wrote {len(written)} files under {args.target}" if len(written) > 1 else f"wrote {written[0]}")
    return 0


def list_tasks(args) -> int:
    """List every task: id, lesson and what the student implements.

    Example: autograder tasks
    """
    for task in TASKS.values():
        print(f"{task.id:>5}  {task.lesson:<22} {task.name}")
    return 0


def doctor(args) -> int:
    """Show which sandbox layers protect grading on this machine, and why any is off.

    Example: autograder doctor
    """
    from autograder.sandbox import doctor_lines

    print("\n".join(doctor_lines()))
    return 0


def _grade(args, hidden: bool = False):
    from rich.progress import Progress

    from autograder import reference, warm

    warm.prestart(1 + (reference.solutions_dir() is not None))  # their torch imports overlap ours
    from autograder.grading import grade as grade_submission

    with Progress(transient=True, console=Console(stderr=True)) as progress:
        bar = progress.add_task(f"grading {args.path}", total=None)
        return grade_submission(args.path, task_ids=args.task, seed=args.seed, aliases=_aliases(args), hidden=hidden,
                                progress=lambda task: progress.update(bar, description=f"Task {task.id}"))


def _aliases(args) -> dict:
    """``--alias`` entries over those of an ``autograder.toml`` beside the submission."""
    from autograder.locate import config_aliases, parse_aliases

    return parse_aliases([*config_aliases(args.path), *(args.alias or [])])


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="autograder", description=__doc__.splitlines()[0])
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, function, **kwargs):
        sub = commands.add_parser(name, help=function.__doc__.splitlines()[0], description=function.__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)
        sub.set_defaults(run=function)
        return sub

    def grading_options(sub, path_default=None):
        if path_default:
            sub.add_argument("path", nargs="?", type=Path, default=Path(path_default),
                             help=f"lesson file or folder (default: {path_default}/)")
        else:
            sub.add_argument("path", type=Path, help="lesson file or folder")
        sub.add_argument("--task", action="append", metavar="ID", help="grade only this task (repeatable)")
        sub.add_argument("--seed", type=int, help="seed for the inputs (default: a fresh one, shown)")
        sub.add_argument("--alias", action="append", metavar="TASK=NAME",
                         help="grade the definition NAME as the task (repeatable): 1.4=matmul2, "
                              "2.13:Lin=Linear; also read from [aliases] in an autograder.toml "
                              "beside the submission")

    sub = command("check", check)
    grading_options(sub, "exercises")
    sub.add_argument("--json", type=Path, help="also write the JSON result here")
    sub = command("grade", grade)
    grading_options(sub)
    sub.add_argument("--json", type=Path, required=True, help="where to write the JSON result")
    sub.add_argument("--pass-score", type=float, help="lowest passing score (default: full marks)")
    sub = command("release", release)
    sub.add_argument("kind", nargs="?", choices=["student", "gradescope", "nbgrader"],
                     help="build this release instead of regenerating exercises/")
    sub.add_argument("target", nargs="?", type=Path, help="where the release goes (a folder, or the zip)")
    sub.add_argument("--solutions", type=Path, default=Path("solutions"))
    sub.add_argument("--exercises", type=Path, default=Path("exercises"))
    sub.add_argument("--check", action="store_true", help="only report exercise files that are out of date")
    command("tasks", list_tasks)
    command("doctor", doctor)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (SubmissionError, ValueError, FileNotFoundError) as exc:
        print(f"autograder {args.command}: {exc}", file=sys.stderr)
        return 2


def run() -> None:
    """The console script: ``main``, then a quick exit.

    Tearing down an interpreter that imported torch takes about a second; everything that
    must happen at exit (children and their boxes stopped, scratch folders removed, output
    flushed) is done first, and then the process ends without that teardown."""
    code = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
