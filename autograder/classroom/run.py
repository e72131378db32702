"""A class run: every entry of the class folder accounted for, graded once, resumably.

OUT holds the class's files (``gradebook.csv``, ``gradebook-lms.csv``, ``report.html``,
``similarity.csv``, ``class.json``) and, under ``students/``, one folder per entry (``grade.json``,
``results.json``, ``feedback.md``, ``feedback.html``, ``junit.xml``), so no student's name
can take a class file's place.
Each student's folder is written whole, as soon as that student is done, and put in place
by a rename: a folder that exists is complete. A run that is killed and started again keeps
every result whose submission has not changed (same content hash, same seed, same tasks)
and grades the rest. The class seed is chosen once and kept in ``class.json``; each
student's seed is derived from it and their folder name, so their score equals grading
them alone with that seed. The class files are written at the end from every entry's
record, graded or not, and from every entry's task code, compared in this process
(``similarity``: the child never sees it). One run at a time: ``lock`` holds OUT for the run's life.
"""
from __future__ import annotations

import json
import random
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.classroom import entries
from autograder.classroom.executors import DaskCluster, LocalPool
from autograder.classroom.lock import OutLock
from autograder.classroom.passing import PassScore
from autograder.classroom.progress import ClassProgress
from autograder.classroom.record import ClassReport, StudentRecord
from autograder.outputs import class_report, feedback, files, gradebook, gradescope, junit, kit_json, similarity
from autograder.similarity.pairs import Similarity, compare_jobs

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
                progress: ClassProgress | None = None, time_limit: float | None = None,
                pass_score: PassScore | None = None, publish_hidden: bool = False,
                assignment: str | None = None) -> ClassReport:
    """Grade every entry of ``class_dir`` into ``out``; returns the class's records.

    ``time_limit``: seconds for each submission (``grading.grade``): one that hangs in
    every task holds its grading slot that long at most. ``pass_score``: adds whether each
    student passes to the gradebook and the report. ``publish_hidden``: the students' files
    show the hidden checks' messages (grades are published); without it they say the
    messages are hidden until then. Neither grades anyone again: a kept result's files are
    rewritten when they would read otherwise. ``assignment``: the points column's name in
    ``gradebook-lms.csv`` (default: the class folder's name)."""
    class_dir, out = Path(class_dir), Path(out)
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}: choose one of {', '.join(EXECUTORS)}")
    if executor == "dask" and not scheduler:
        raise ValueError(NO_SCHEDULER)
    found = entries.find_entries(class_dir, exclude=out)
    if not found:
        raise ValueError(NO_STUDENTS.format(folder=class_dir))
    shown = Shown(publish_hidden, pass_score, assignment or class_dir.resolve().name)
    with OutLock(out), _sigterm_interrupts():
        return _run(found, out, jobs=jobs, seed=seed, task_ids=task_ids, aliases=aliases, executor=executor,
                    scheduler=scheduler, progress=progress or ClassProgress(), time_limit=time_limit, shown=shown,
                    class_dir=class_dir)


@dataclass(frozen=True)
class Shown:
    """How the outputs present the grades; nothing here changes a grade."""
    publish_hidden: bool = False
    pass_score: PassScore | None = None
    assignment: str = "autograder"


def _run(found, out: Path, *, jobs, seed, task_ids, aliases, executor, scheduler, progress, time_limit,
         shown: Shown = Shown(), class_dir: Path | None = None):
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
            refresh_student(out, kept, shown.publish_hidden)
    todo = [job for job in work if job.student not in records]
    progress.start(len(work), len(records))
    try:
        for job in [j for j in todo if j.problem]:  # unreadable entries: nothing to send to a worker
            records[job.student] = _finish(out, StudentRecord(job.student, job.source, job.content_hash,
                                                              job.seed, error=job.problem, name=job.name),
                                               progress, shown.publish_hidden)
        graded = [j for j in todo if not j.problem]
        if graded:
            runner = DaskCluster(scheduler) if executor == "dask" else LocalPool(jobs)
            for data in runner.run(graded):
                pictures = data.pop("pictures", None)  # feedback.html's, drawn by the worker
                record = StudentRecord.from_json(data)
                records[record.student] = _finish(out, record, progress, shown.publish_hidden, pictures)
    finally:
        progress.close()
    report = ClassReport(class_seed, [records[job.student] for job in work])
    write_class_files(out, report, shown, similar=compare_jobs(work, class_dir=class_dir))  # every entry, kept ones too
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


def _finish(out: Path, record: StudentRecord, progress: ClassProgress, published: bool,
            pictures: list[dict] | None = None) -> StudentRecord:
    write_student(out, record, published, pictures=pictures)
    progress.advance(record)
    return record


def student_files(record: StudentRecord, published: bool = False, pictures: list[dict] | None = None,
                  html: bool = True) -> dict[str, str]:
    """What a student's folder holds (but ``grade.json``, the whole record): every text by name.
    ``pictures``: feedback.html's, drawn where the student was graded (else drawn here)."""
    texts = {gradescope.FILENAME: gradescope.render(record, published),
             feedback.MARKDOWN: feedback.markdown(record, published),
             junit.FILENAME: junit.render(record, published)}
    if html:
        texts[feedback.HTML] = feedback.render_html(record, published, pictures)
    return texts


def write_student(out: Path, record: StudentRecord, published: bool = False, timed: bool = True,
                  pictures: list[dict] | None = None) -> None:
    """The student's folder, whole: filled beside its place, then renamed into it."""
    started = time.perf_counter()
    final = student_folder(out, record.student)
    staging = files.staging_folder(final)
    try:
        for name, text in student_files(record, published, pictures).items():
            (staging / name).write_text(text, encoding="utf-8")
        if timed:
            record.seconds["report"] = round(time.perf_counter() - started, 3)
        (staging / kit_json.FILENAME).write_text(kit_json.render(record), encoding="utf-8")
        files.replace_folder(staging, final)
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise


def refresh_student(out: Path, record: StudentRecord, published: bool) -> None:
    """A kept result's folder, written again (not graded again) when its files would read otherwise:
    grades published since, or written by an older kit. Unchanged, it is left alone. feedback.html
    says what feedback.md says, with pictures drawn when the student was graded: the other files
    tell (drawing every kept student's pictures again would cost a run 0.2 s a student)."""
    folder = student_folder(out, record.student)
    for name, text in student_files(record, published, html=False).items():
        try:
            if (folder / name).read_text(encoding="utf-8") != text:
                break
        except (OSError, UnicodeDecodeError):
            break
    else:
        return
    write_student(out, record, published, timed=False)


def write_class_files(out: Path, report: ClassReport, shown: Shown = Shown(),
                      similar: Similarity | None = None) -> None:
    from autograder.speed import SPEED

    limits = {task_id: speed.ratio for task_id, speed in SPEED.items() if speed.ratio}
    files.write_text(out / gradebook.FILENAME, gradebook.render(report, pass_score=shown.pass_score))
    files.write_text(out / gradebook.LMS_FILENAME, gradebook.render_lms(report, shown.assignment))
    if similar is not None:
        files.write_text(out / similarity.FILENAME, similarity.render_csv(similar))
    files.write_text(out / class_report.FILENAME, class_report.render(report, limits, pass_score=shown.pass_score,
                                                                      similar=similar))
