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
from autograder.daemon import GradingFailed
from autograder.limits import DEFAULT_TIME_LIMIT
from autograder.reading.submission import SubmissionError
from autograder.tasks import TASKS


def check(args) -> int:
    """Grade lessons and show, task by task, what passes and why not.

    The first check leaves a grader process running for you (this kit install only; it
    stops after 15 idle minutes), so the next ones answer in under a second: the same
    grading, sandbox and messages. --no-server grades in this process instead.
    --watch grades again, each time a lesson file is saved, the tasks whose cells changed.
    Example: autograder check exercises/ --task 2.11
    Example: autograder check --watch exercises/l01_matmul.py
    """
    _require_path(args)
    if args.watch:
        from autograder.reading.locate import config_tasks
        from autograder.watch import watch

        return watch(args.path, grade=lambda task_ids: _check_result(args, task_ids),
                     task_ids=args.task or config_tasks(args.path), aliases=_aliases(args))
    result = _check_result(args)
    report.print_table(result)
    if args.json:
        report.write_json(result, args.json)
    return 0 if result.passed else 1


def server(args) -> int:
    """Show or stop the grader process that `autograder check` keeps running.

    It serves this user and this kit install only, and stops by itself after 15 idle
    minutes (AUTOGRADER_SERVER_IDLE seconds); a new kit version, an edited grader file or
    another environment starts a fresh one. AUTOGRADER_SERVER=0 turns it off.
    Example: autograder server status
    """
    from autograder import daemon

    if args.action == "stop":
        print(daemon.stop())
        return 0
    state = daemon.status()
    if state is None:
        print("no grader process is running")
        return 0
    import time

    started = time.strftime("%H:%M:%S", time.localtime(state.get("started", 0)))
    print(f"grader process {state.get('pid')}: running since {started}, {state.get('checks', 0)} checks, "
          f"stops after {state.get('idle_seconds', 0) / 60:g} idle minutes; socket {state['socket']}")
    if not state["current"]:
        print("it is stale (the kit, its files or the environment changed): the next check replaces it")
    return 0


def _check_result(args, task_ids: list[str] | None = None):
    """The check's result, from the grader process when there is one (``daemon``), else graded here."""
    from autograder import daemon

    if args.no_server or not daemon.enabled():
        return _grade(args, task_ids=task_ids)
    from rich.progress import Progress

    from autograder.reading.locate import config_tasks

    request = {"cwd": os.getcwd(), "path": str(args.path), "seed": args.seed, "aliases": _aliases(args),
               "task_ids": task_ids or args.task or config_tasks(args.path)}
    try:
        with Progress(transient=True, console=Console(stderr=True)) as progress:
            bar = progress.add_task(f"grading {args.path}", total=None)
            reply = daemon.check(request, progress=lambda task: progress.update(bar, description=f"Task {task}"))
    except daemon.Unavailable as exc:
        print(f"autograder check: {exc}; grading in this process", file=sys.stderr)
        return _grade(args, task_ids=task_ids)
    if not reply.get("ok"):
        if reply.get("usage"):
            raise ValueError(reply.get("error"))
        raise daemon.GradingFailed(reply.get("error"))
    return daemon.from_wire(reply["result"])


def grade(args) -> int:
    """Grade one submission (--json) or a whole class (--out).

    One submission (a lesson file or a folder): write its JSON result; exit non-zero
    when the score is below --pass-score (default: full marks), so CI can fail the build.
    A class (a folder with one entry per student: a folder, a notebook, a .py, a .zip,
    or nbgrader's submitted/<student>/<assignment>/): grade every student in --jobs
    processes and write OUT/gradebook.csv, OUT/gradebook-lms.csv (for Canvas or Moodle),
    OUT/report.html and, per student,
    results.json (Gradescope), feedback.md, feedback.html and junit.xml under
    OUT/students/. Every entry is in the gradebook, graded or with why not. A run started
    again keeps every result whose submission did not change; one run at a time per OUT.
    The hidden checks run too, each a row of its own (`autograder check` only counts them);
    the students' files show their messages with --publish-hidden. --pass-score (points, or
    a fraction of them: 20, 0.7, 70%) adds a passed column to the gradebook and the report,
    and the exit status is non-zero when anyone is below it (or could not be graded).
    Example: autograder grade submissions/alice --json results/alice.json
    Example: autograder grade examples/class --out results --jobs 2 --pass-score 70%
    """
    _require_path(args)
    if args.out is not None:
        return _grade_class(args)
    if args.json is None:
        raise ValueError(NEEDS_OUTPUT)
    if args.publish_hidden:
        raise ValueError(PUBLISH_NEEDS_OUT)
    from autograder.classroom import passing

    pass_score = passing.FULL_MARKS if args.pass_score is None else args.pass_score
    result = _grade(args, hidden=True)
    report.write_json(result, args.json)
    Console(stderr=True).print(f"{result.path}: {result.score:g}/{result.max_score:g} -> {args.json}")
    return 0 if pass_score.passed(result) else 1


NEEDS_OUTPUT = "give --json FILE to grade one submission, or --out FOLDER to grade a class"
PUBLISH_NEEDS_OUT = "--publish-hidden is for a class run (--out): one submission's --json has every message"


def _require_path(args) -> None:
    """A path that does not exist is a one-line error at once, with the command that would work."""
    if not args.path.exists():
        from autograder.suggest import missing

        raise FileNotFoundError(missing(args.path, getattr(args, "argv", None) or [args.command]))


def _pass_score(text: str):
    from autograder.classroom import passing

    try:
        return passing.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _grade_class(args) -> int:
    from autograder.classroom import grade_class

    if args.json is not None:
        raise ValueError("--json grades one submission; a class run (--out) writes OUT/")
    from autograder.reading.locate import config_assignment_name, config_tasks

    from autograder.classroom.run import RunInterrupted

    try:
        report = grade_class(args.path, out=args.out, jobs=args.jobs, seed=args.seed,
                             task_ids=args.task or config_tasks(args.path), aliases=_aliases(args),
                             executor=args.executor, scheduler=args.scheduler, time_limit=_time_limit(args),
                             pass_score=args.pass_score, publish_hidden=args.publish_hidden,
                             assignment=config_assignment_name(args.path))
    except (KeyboardInterrupt, RunInterrupted) as exc:
        print(f"autograder grade: stopped ({str(exc) or 'Ctrl-C'}); every student written so far is kept: "
              f"run the same command again to resume", file=sys.stderr)
        return 130 if isinstance(exc, KeyboardInterrupt) else 143
    console = Console(stderr=True)
    for record in report.ungraded:
        console.print(f"not graded: {record.name} ({record.source}): {record.error}", markup=False,
                      highlight=False, soft_wrap=True)
    print(f"{len(report.graded)} of {len(report.records)} entries graded; gradebook: {args.out / 'gradebook.csv'}")
    failing = []
    if args.pass_score is not None:
        failing = [r.name for r in report.graded if not args.pass_score.passed(r.result)]
        named = ", ".join(failing[:20]) + (f" and {len(failing) - 20} more" if len(failing) > 20 else "")
        print(f"{len(report.graded) - len(failing)} of {len(report.records)} pass ({args.pass_score}); "
              f"below it: {named or 'nobody'}")
    print(f"report: {args.out / 'report.html'}")
    return 0 if not report.ungraded and not failing else 1


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


def _time_limit(args) -> float | None:
    seconds = getattr(args, "time_limit", None)
    if seconds is None:
        return None
    if seconds < 0:
        raise ValueError(f"--time-limit must be 0 (none) or a number of seconds, not {seconds:g}")
    return seconds or None


def _grade(args, hidden: bool = False, task_ids: list[str] | None = None):
    from rich.progress import Progress

    from autograder import reference, warm

    from autograder.reading.locate import config_tasks

    task_ids = task_ids or args.task or config_tasks(args.path)
    aliases = _aliases(args)
    # the servers this grade needs (the reference's only to time a task against it) import torch
    # while this process does
    warm.prestart(1 + reference.needed(args.path, task_ids, aliases))
    from autograder.grading import grade as grade_submission

    with Progress(transient=True, console=Console(stderr=True)) as progress:
        bar = progress.add_task(f"grading {args.path}", total=None)
        return grade_submission(args.path, task_ids=task_ids, seed=args.seed,
                                aliases=aliases, hidden=hidden, time_limit=_time_limit(args),
                                progress=lambda task: progress.update(bar, description=f"Task {task.id}"))


def _aliases(args) -> dict:
    """``--alias`` entries over those of an ``autograder.toml`` beside the submission."""
    from autograder.reading.locate import config_aliases, parse_aliases

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
    sub.add_argument("--no-server", action="store_true",
                     help="grade in this process, without the grader process that later checks reuse")
    sub.add_argument("--watch", action="store_true",
                     help="stay, and grade again the tasks whose cells changed each time a file is saved")
    sub = command("grade", grade)
    grading_options(sub)
    sub.add_argument("--json", type=Path, help="one submission: where to write the JSON result")
    sub.add_argument("--pass-score", type=_pass_score, metavar="SCORE",
                     help="lowest passing score: points (20) or a fraction of them (0.7, 70%%); one submission: "
                          "the exit status (default: full marks); a class: a passed column, and the exit status")
    sub.add_argument("--publish-hidden", action="store_true",
                     help="a class: grades are published; the students' files show the hidden checks' messages")
    sub.add_argument("--out", type=Path, help="a class: the folder for the gradebook, report and feedback")
    sub.add_argument("--jobs", type=int, help="a class: submissions graded at once (default: one per core)")
    sub.add_argument("--executor", choices=("local", "dask"), default="local",
                     help="a class: local processes, or a Dask cluster (needs --scheduler)")
    sub.add_argument("--scheduler", metavar="ADDRESS", help="a class: the Dask scheduler, e.g. tcp://10.0.0.5:8786")
    sub.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, metavar="SECONDS",
                     help=f"seconds for each submission, from its first cell; tasks not reached by then are "
                          f"errors (default {DEFAULT_TIME_LIMIT:g}; 0: none)")
    sub = command("release", release)
    sub.add_argument("kind", nargs="?", choices=["student", "gradescope", "nbgrader"],
                     help="build this release instead of regenerating exercises/")
    sub.add_argument("target", nargs="?", type=Path, help="where the release goes (a folder, or the zip)")
    sub.add_argument("--solutions", type=Path, default=Path("solutions"))
    sub.add_argument("--exercises", type=Path, default=Path("exercises"))
    sub.add_argument("--check", action="store_true", help="only report exercise files that are out of date")
    command("tasks", list_tasks)
    command("doctor", doctor)
    sub = command("server", server)
    sub.add_argument("action", choices=("status", "stop"))
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.run(args)
    except _usage_errors(args.command) as exc:
        print(f"autograder {args.command}: {exc}", file=sys.stderr)
        return 2


def _usage_errors(command: str) -> tuple[type[Exception], ...]:
    """What a command reports in one line (exit status 2) instead of a traceback; evaluated
    only when something was raised, so that a check never imports the class run's modules."""
    errors = (SubmissionError, ValueError, FileNotFoundError, GradingFailed)
    if command == "grade":
        from autograder.classroom.entries import EntryError

        errors += (EntryError,)
    return errors


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
