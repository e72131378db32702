"""Reading a zip entry: member by member, with caps on count and size, nothing extracted.

A member whose path would land outside the submission (absolute, ``..``, a drive letter)
makes the whole entry unreadable, with a message saying which member; a member that is a
symbolic link is not read, and the student's feedback says so. The caps are ``entries``'.
"""
from __future__ import annotations

import os
import re
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from autograder.classroom import entries
from autograder.classroom.entries import EntryError

UNSAFE_MEMBER = "{entry}: the zip member {member!r} would be written outside the submission"
LINKED_MEMBER = "the zip member {member!r} is a symbolic link: not read (a submission holds files only)"


def read_zip(path: Path) -> tuple[dict[str, bytes], list[str]]:
    entry = entries.readable(path.name)
    try:
        stream = os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC), "rb")
    except OSError as exc:
        raise EntryError(entries.NOT_A_ZIP.format(entry=entry, reason=os.strerror(exc.errno or 0))) from None
    with stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise EntryError(entries.ODD_ENTRY.format(entry=entry, kind="not a file"))
        try:
            archive = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError) as exc:
            raise EntryError(entries.NOT_A_ZIP.format(entry=entry, reason=exc)) from None
        with archive:
            files, notes = _read_members(entry, archive)
    return _strip_common_folder(files), notes


def _read_members(entry: str, archive: zipfile.ZipFile) -> tuple[dict[str, bytes], list[str]]:
    files: dict[str, bytes] = {}
    notes: list[str] = []
    total = 0
    for member in [m for m in archive.infolist() if not m.is_dir()]:
        name = _member_name(entry, member)
        if name is None:
            continue
        if stat.S_ISLNK(member.external_attr >> 16):
            notes.append(LINKED_MEMBER.format(member=member.filename))
            continue
        if len(files) >= entries.MAX_FILES:
            raise EntryError(entries.TOO_MANY_FILES.format(entry=entry, limit=entries.MAX_FILES))
        entries._check_size(entry, member.file_size, entries.MAX_FILE_BYTES, name)
        try:
            with archive.open(member) as stream:
                content = stream.read(entries.MAX_FILE_BYTES + 1)  # the header's size may lie
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, zlib.error) as exc:
            raise EntryError(entries.NOT_A_ZIP.format(entry=entry, reason=exc)) from None
        entries._check_size(entry, len(content), entries.MAX_FILE_BYTES, name)
        total += len(content)
        entries._check_size(entry, total, entries.MAX_TOTAL_BYTES, "the unpacked zip")
        files[name] = content
    return files, notes


def _member_name(entry: str, member: zipfile.ZipInfo) -> str | None:
    """The member's safe relative path; None for what is skipped; EntryError if unsafe."""
    raw = member.filename.replace("\\", "/")
    path = PurePosixPath(raw)
    if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw) or ".." in path.parts:
        raise EntryError(UNSAFE_MEMBER.format(entry=entry, member=member.filename))
    parts = [part for part in path.parts if part not in ("", ".")]
    if not parts or any(entries._skipped(part) for part in parts):
        return None
    return "/".join(parts)


def _strip_common_folder(files: dict[str, bytes]) -> dict[str, bytes]:
    """A zip of the folder ``alice/`` holds ``alice/l01_matmul.py``: grade inside the folder."""
    while files:
        tops = {name.split("/", 1)[0] for name in files}
        if len(tops) != 1 or any("/" not in name for name in files):
            break
        files = {name.split("/", 1)[1]: content for name, content in files.items()}
    return files
