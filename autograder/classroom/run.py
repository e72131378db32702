"""A class run: every entry of the class folder accounted for, graded once, resumably.

OUT holds the class's files (``gradebook.csv``, ``report.html``, ``class.json``) and, under
``students/``, one folder per entry (``grade.json``, ``results.json``, ``feedback.md``,
``feedback.html``, ``junit.xml``), so no student's name can take a class file's place.
Each student's folder is written whole, as soon as that student is done, and put in place
by a rename: a folder that exists is complete. A run that is killed and started again keeps
every result whose submission has not changed (same content hash, same seed, same tasks)
and grades the rest. The class seed is chosen once and kept in ``class.json``; each
student's seed is derived from it and their folder name, so their score equals grading
them alone with that seed. The class files are written at the end from every entry's
record, graded or not. One run at a time: ``lock`` holds OUT for the run's life.
"""
from __future__ import annotations

import json
import random
import signal
import threading
import time
from pathlib import Path

from autograder.classroom import entries
from autograder.classroom.executors import DaskCluster, LocalPool
from autograder.classroom.lock import OutLock
from autograder.classroom.progress import ClassProgress
from autograder.classroom.record import ClassReport, StudentRecord
from autograder.outputs import class_report, feedback, files, gradebook, gradescope, junit, kit_json

CLASS_FILE = "class.json"
STUDENTS = "students"  # OUT/students/<folder>/: one per entry
EXECUTORS = ("local", "dask")
NO_SCHEDULER = "--executor dask needs --scheduler ADDRESS (a running Dask scheduler, e.g. tcp://127.0.0.1:8786)"
NO_STUDENTS = "{folder} holds no submissions (folders, .py, .ipynb or .zip files, one per student)"


class RunInterrupted(Exception):
    """SIGTERM reached the run: the workers are stopped, what was graded is kept."""


def grade_class(class_dir: Path, *, out: Path, jobs: int | None = None, seed: int | None = None,
                task_ids: list[str] | None = None, aliases: dict | None = None,
                executor: str = "local", scheduler: str | None = None,
                progress: ClassProgress | None = None, time_limit: float | None = None) -> ClassReport:
    """Grade every entry of ``class_dir`` into ``out``; returns the class's records.

    ``time_limit``: seconds for each submission (``grading.grade``): one that hangs in
    every task holds its grading slot that long at most."""
    class_dir, out = Path(class_dir), Path(out)
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}: choose one of {', '.join(EXECUTORS)}")
    if executor == "dask" and not scheduler:
        raise ValueError(NO_SCHEDULER)
    found = entries.find_entries(class_dir, exclude=out)
    if not found:
        raise ValueError(NO_STUDENTS.format(folder=class_dir))
    with OutLock(out), _sigterm_interrupts():
        return _run(found, out, jobs=jobs, seed=seed, task_ids=task_ids, aliases=aliases, executor=executor,
                    scheduler=scheduler, progress=progress or ClassProgress(), time_limit=time_limit)


def _run(found, out: Path, *, jobs, seed, task_ids, aliases, executor, scheduler, progress, time_limit):
    files.remove_partials(out)
    files.remove_partials(out / STUDENTS)
    class_seed = _class_seed(out, seed)
    work = []
    for entry in found:
        job = entries.read_job(entry)
        job.seed, job.task_ids = entries.student_seed(class_seed, entry.student), task_ids
        job.aliases, job.time_limit = aliases or {}, time_limit
        work.append(job)
    records = {}
    for job in work:
        kept = read_record(out, job.student)
        if kept is not None and kept.content_hash == job.content_hash and kept.source == job.source:
            records[job.student] = kept
    todo = [job for job in work if job.student not in records]
    progress.start(len(work), len(records))
    try:
        for job in [j for j in todo if j.problem]:  # unreadable entries: nothing to send to a worker
            records[job.student] = _finish(out, StudentRecord(job.student, job.source, job.content_hash,
                                                              job.seed, error=job.problem, name=job.name), progress)
        graded = [j for j in todo if not j.problem]
        if graded:
            runner = DaskCluster(scheduler) if executor == "dask" else LocalPool(jobs)
            for data in runner.run(graded):
                pictures = data.pop("pictures", None)  # feedback.html's, drawn by the worker
                record = StudentRecord.from_json(data)
                records[record.student] = _finish(out, record, progress, pictures)
    finally:
        progress.close()
    report = ClassReport(class_seed, [records[job.student] for job in work])
    write_class_files(out, report)
    return report


class _sigterm_interrupts:
    """SIGTERM raises ``RunInterrupted`` in the run (as Ctrl-C raises KeyboardInterrupt), so that
    the pool's workers are stopped before the run ends; only from the main thread."""

    def __enter__(self):
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(number, frame):
        raise RunInterrupted("stopped by SIGTERM")

    def __exit__(self, *exc_info):
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
        return False


def _class_seed(out: Path, seed: int | None) -> int:
    stored = out / CLASS_FILE
    if seed is None and stored.is_file():
        try:
            seed = int(json.loads(stored.read_text())["class_seed"])
        except (ValueError, KeyError, TypeError, OSError):
            seed = None
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    files.write_text(stored, json.dumps({"class_seed": seed}, indent=2) + "\n")
    return seed


def student_folder(out: Path, student: str) -> Path:
    return Path(out) / STUDENTS / student


def read_record(out: Path, student: str) -> StudentRecord | None:
    path = student_folder(out, student) / kit_json.FILENAME
    try:
        record = kit_json.parse(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if record.student == student else None


def _finish(out: Path, record: StudentRecord, progress: ClassProgress, pictures=None) -> StudentRecord:
    write_student(out, record, pictures)
    progress.advance(record)
    return record


def write_student(out: Path, record: StudentRecord, pictures: list[dict] | None = None) -> None:
    """The student's folder, whole: filled beside its place, then renamed into it.
    ``pictures``: feedback.html's, drawn where the student was graded (else drawn here)."""
    started = time.perf_counter()
    final = student_folder(out, record.student)
    staging = files.staging_folder(final)
    try:
        (staging / gradescope.FILENAME).write_text(gradescope.render(record), encoding="utf-8")
        (staging / feedback.MARKDOWN).write_text(feedback.markdown(record), encoding="utf-8")
        (staging / feedback.HTML).write_text(feedback.render_html(record, pictures), encoding="utf-8")
        (staging / junit.FILENAME).write_text(junit.render(record), encoding="utf-8")
        record.seconds["report"] = round(time.perf_counter() - started, 3)
        (staging / kit_json.FILENAME).write_text(kit_json.render(record), encoding="utf-8")
        files.replace_folder(staging, final)
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_class_files(out: Path, report: ClassReport) -> None:
    from autograder.speed import SPEED

    limits = {task_id: speed.ratio for task_id, speed in SPEED.items() if speed.ratio}
    files.write_text(out / gradebook.FILENAME, gradebook.render(report))
    files.write_text(out / class_report.FILENAME, class_report.render(report, limits))
