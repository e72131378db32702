"""Whole files or nothing: written beside their place, then renamed into it.

What is put in place gets the mode a plain ``open`` or ``mkdir`` would give it under the
process's umask (0644 and 0755 under the usual 022, so that a TA's account in the course's
group can read the results; ``umask 027`` keeps others out, ``077`` keeps them private).
While being written, a file or a staging folder stays 0600 or 0700 (``tempfile``'s modes):
nobody reads half a result.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

PARTIAL_PREFIX = ".partial-"  # a folder or file being written; left behind only by a killed run


def umask() -> int:
    """The process's umask, read without changing it where Linux says it (``/proc/self/status``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: the only way to read it is to set it, and put it back at once
    os.umask(mask)
    return mask


def file_mode() -> int:
    return 0o666 & ~umask()


def folder_mode() -> int:
    return 0o777 & ~umask()


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a reader sees the old file or the new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=PARTIAL_PREFIX + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, file_mode())  # whole now: readable as any file the user writes
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=PARTIAL_PREFIX + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, file_mode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def staging_folder(final: Path) -> Path:
    """A fresh folder beside ``final`` to fill before ``replace_folder`` puts it in place."""
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=PARTIAL_PREFIX + final.name + ".", dir=final.parent))


def replace_folder(staging: Path, final: Path) -> None:
    """Put a filled staging folder at ``final``: a folder that exists is whole, old or new.
    The staging folder was private while it filled; in place it is readable as any folder."""
    os.chmod(staging, folder_mode())
    if final.exists():
        old = Path(tempfile.mkdtemp(prefix=PARTIAL_PREFIX + final.name + ".old.", dir=final.parent))
        os.replace(final, old / final.name)
        os.replace(staging, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, final)


def remove_partials(folder: Path) -> None:
    """What a killed run left half-written: never read, removed before a run starts."""
    if folder.is_dir():
        for leftover in folder.glob(PARTIAL_PREFIX + "*"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
