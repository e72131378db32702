"""One unit of a class run: grade one ``Job`` with the one-submission engine.

Runs in a worker (a local pool process or a Dask worker), never in the process that
writes the class's outputs. The job's files are written to a folder of their own and
graded exactly as ``autograder grade`` grades them alone, with the job's seed. Whatever
goes wrong becomes a record with ``error`` set: one submission never stops the batch.
The pictures of the student's ``feedback.html`` are drawn here too, beside the record, so
that the process writing the class's files only embeds them.
"""
from __future__ import annotations

import os
import tempfile
import time
import traceback
from pathlib import Path, PurePosixPath

from autograder.classroom.entries import Job
from autograder.classroom.record import StudentRecord

GRADER_FAILED = "the grader failed on this submission ({reason}); grade it alone to see more"


def grade_job(job: Job) -> dict:
    """The student's record, as JSON data (the same on every executor)."""
    record = StudentRecord(student=job.student, source=job.source, content_hash=job.content_hash,
                           seed=job.seed, error=job.problem, name=job.name)
    if job.problem:
        return record.to_json()
    from autograder.reading.submission import SubmissionError

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="autograder-class-") as folder:
        root = Path(folder) / "submission"
        try:
            write_files(root, job.files)
            target = root / job.single if job.single else root
            record.result, record.seconds = _grade_timed(target, job)
            record.result.path = record.source
            record.result.notes = [*job.notes, *getattr(record.result, "notes", [])]
        except SubmissionError as exc:
            record.result, record.error = None, f"{job.source}: {exc}"
        except Exception as exc:  # noqa: BLE001 - a grader bug on one submission is that student's
            last = traceback.extract_tb(exc.__traceback__)[-1:]
            where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last else ""
            record.result = None
            record.error = GRADER_FAILED.format(reason=f"{type(exc).__name__}: {exc}{where}")
        data = as_handed_in(record.to_json(), root, job.source)
    if record.graded:  # drawn here, in parallel, not one student after another where files are written
        from autograder.outputs import feedback_pictures

        data["pictures"] = feedback_pictures.as_data(StudentRecord.from_json(data))
    data["seconds"]["total"] = round(time.perf_counter() - started, 3)
    return data


def write_files(root: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts:  # entries.read_job refuses these already
            raise ValueError(f"unsafe file name {name!r}")
        path = root.joinpath(*relative.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def _grade_timed(target: Path, job: Job):
    from autograder import runner
    from autograder.grading import grade
    marks = {"start": time.perf_counter(), "first": None}
    waited_before = runner.waited["seconds"]

    def progress(_task) -> None:
        if marks["first"] is None:
            marks["first"] = time.perf_counter()
            marks["waited"] = runner.waited["seconds"]

    result = grade(target, task_ids=job.task_ids, seed=job.seed, progress=progress, aliases=job.aliases,
                   hidden=True, time_limit=job.time_limit)
    end = time.perf_counter()
    first = marks["first"] or end
    run = runner.waited["seconds"] - marks.get("waited", waited_before)
    seconds = {"load": first - marks["start"], "run": run, "check": max(0.0, end - first - run)}
    return result, {phase: round(value, 3) for phase, value in seconds.items()}


def as_handed_in(data, root: Path, source: str):
    """Every text in the record names the student's files as handed in ("l01_matmul.py", or
    the entry "alice.zip" for the whole submission), never the worker's folder."""
    if isinstance(data, str):
        return _clean(data, root, source)
    if isinstance(data, list):
        return [as_handed_in(item, root, source) for item in data]
    if isinstance(data, dict):
        return {key: as_handed_in(value, root, source) for key, value in data.items()}
    return data


def _clean(text: str, root: Path, source: str) -> str:
    forms = {str(root), os.path.realpath(root), os.path.relpath(root)}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form + os.sep, "").replace(form, source)
    return text
