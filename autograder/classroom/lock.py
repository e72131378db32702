"""One class run per OUT at a time: ``OUT/.run.lock``, an ``flock`` held for the run's life.

The lock file holds the holder's pid and start time, so that a second run can say who holds
OUT. The kernel drops an ``flock`` when its holder dies, however it dies: a run killed with
``kill -9`` leaves a lock file that the next run simply takes. OUT that is a file, or cannot
be made or written, is a one-line error before anything is read or graded.
"""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

LOCK_FILE = ".run.lock"
LOCK_MODE = 0o600  # the run's own: anyone who can open it can flock it, and so hold OUT against the run
HELD = ("{out} is being graded by another run (pid {pid}, started {started}); "
        "wait for it to end, or stop it and run again to resume")
NOT_A_FOLDER = "--out {out} is a file, not a folder"
NOT_WRITABLE = "--out {out} cannot be written ({reason})"


class ClassRunError(ValueError):
    """OUT cannot be used for this run; the message is one line and says why."""


class OutLock:
    def __init__(self, out: Path):
        self.out = Path(out)
        self.path = self.out / LOCK_FILE
        self.descriptor: int | None = None

    def __enter__(self) -> "OutLock":
        out = self.out
        if out.exists() and not out.is_dir():
            raise ClassRunError(NOT_A_FOLDER.format(out=out))
        try:
            out.mkdir(parents=True, exist_ok=True)
            while self.descriptor is None:
                descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, LOCK_MODE)
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = os.read(descriptor, 200).decode(errors="replace").split()
                    os.close(descriptor)
                    pid, started = (holder + ["?", "?"])[:2]
                    raise ClassRunError(HELD.format(out=out, pid=pid, started=started)) from None
                if os.fstat(descriptor).st_ino != _inode(self.path):  # removed by the run that held it
                    os.close(descriptor)
                    continue
                self.descriptor = descriptor
            os.fchmod(self.descriptor, LOCK_MODE)  # a lock file left by an older kit may be 0644
            os.ftruncate(self.descriptor, 0)
            os.write(self.descriptor, f"{os.getpid()} {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode())
        except ClassRunError:
            raise
        except OSError as exc:
            self.__exit__()
            raise ClassRunError(NOT_WRITABLE.format(out=out, reason=exc.strerror or exc)) from None
        return self

    def __exit__(self, *exc_info) -> bool:
        if self.descriptor is not None:
            try:
                self.path.unlink()  # while held: a run waiting on this file sees it was replaced
            except OSError:
                pass
            os.close(self.descriptor)
            self.descriptor = None
        return False


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None
