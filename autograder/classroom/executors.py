"""Where the jobs run: a local pool of grader processes, or an existing Dask cluster.

Both take the same ``Job``s, call the same ``work.grade_job`` and yield the same records
as they finish, in any order. The local pool's processes each grade one submission at a
time and keep what they started between submissions (the reference's child, spare warm
servers). A pool process that dies takes the submissions it was grading with it: they are
graded again in a fresh pool, and a submission that kills its grader twice is recorded
as ungraded. No scheduler is written here: Dask distributed places work across machines.

No worker outlives the run: each asks the kernel for SIGKILL when the run's process dies
(``PR_SET_PDEATHSIG``, however it dies, ``kill -9`` too), and a run that stops early
(Ctrl-C, SIGTERM, an error) kills its workers before it returns. A worker's fork servers
and children end in turn when their worker dies (``sandbox``).
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Iterator

from autograder.classroom.entries import Job
from autograder.classroom.record import StudentRecord
from autograder.classroom.work import grade_job

ATTEMPTS = 2
GRADER_DIED = "the grading process died twice while grading this submission ({reason})"
NO_DASK = "--executor dask needs dask distributed: pip install 'autograder[dask]'"


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


_PR_SET_PDEATHSIG = 1


def _start_worker(run_pid: int) -> None:
    """In each pool process: die with the run, then import torch and the checks once."""
    if ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0 \
            and os.getppid() != run_pid:  # the run died before the request was made
        os._exit(1)
    import autograder.grading  # noqa: F401


def _stop(pool: ProcessPoolExecutor) -> None:
    """Kill the pool's processes now (their fork servers and children end with them)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            process.kill()
        except (OSError, ValueError):
            pass
    pool.shutdown(wait=False, cancel_futures=True)


class LocalPool:
    """``jobs`` grader processes on this machine (spawned: no state shared with the caller)."""

    def __init__(self, jobs: int | None = None):
        self.jobs = max(1, jobs or default_jobs())

    def run(self, jobs: list[Job]) -> Iterator[dict]:
        pending = {job.student: job for job in jobs}
        attempts = dict.fromkeys(pending, 0)
        while pending:
            context = multiprocessing.get_context("spawn")
            broken = ""
            pool = ProcessPoolExecutor(self.jobs, mp_context=context, initializer=_start_worker,
                                       initargs=(os.getpid(),))
            try:
                futures = {pool.submit(grade_job, job): job for job in pending.values()}
                while futures:
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for future in done:
                        job = futures.pop(future)
                        try:
                            record = future.result()
                        except BrokenProcessPool as exc:
                            broken = str(exc) or "a grading process ended abruptly"
                            attempts[job.student] += 1
                            continue
                        pending.pop(job.student, None)
                        yield record
                    if broken:
                        break
            except BaseException:  # interrupted, or the caller stopped reading: no worker outlives it
                _stop(pool)
                raise
            if broken:
                _stop(pool)
            else:
                pool.shutdown(wait=True)
            for student in [s for s in pending if attempts[s] >= ATTEMPTS]:
                job = pending.pop(student)
                yield StudentRecord(student=job.student, source=job.source, content_hash=job.content_hash,
                                    seed=job.seed, error=GRADER_DIED.format(reason=broken), name=job.name).to_json()


class DaskCluster:
    """The jobs on an existing Dask distributed scheduler (``tcp://host:8786``); each worker
    grades with its own sandbox, as a local pool process does."""

    def __init__(self, scheduler: str):
        try:
            from distributed import Client
        except ImportError:
            raise ValueError(NO_DASK) from None
        self.client = Client(scheduler)

    def run(self, jobs: list[Job]) -> Iterator[dict]:
        from distributed import as_completed

        futures = [self.client.submit(grade_job, job, pure=False, key=f"grade-{job.student}-{job.content_hash[:12]}")
                   for job in jobs]
        try:
            for future in as_completed(futures):
                job = jobs[futures.index(future)]
                try:
                    yield future.result()
                except Exception as exc:  # noqa: BLE001 - a lost worker: that student is ungraded
                    yield StudentRecord(student=job.student, source=job.source, content_hash=job.content_hash,
                                        seed=job.seed, error=GRADER_DIED.format(reason=exc), name=job.name).to_json()
        finally:
            self.client.close()
