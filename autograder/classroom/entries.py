"""A class folder's entries, one per student, read into ``Job``s (plain data).

Nothing here runs student code: files are read as bytes. Zips are read member by member
with caps on count and size; a member whose path would land outside the submission
(absolute, ``..``, a drive letter, a symlink) makes the whole entry unreadable, with a
message saying which member. A job carries the files themselves, so a worker on another
machine needs no shared folder, and their hash says whether a result is still current.
"""
from __future__ import annotations

import hashlib
import json
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_FILES = 200
MAX_FILE_BYTES = 16 * 2**20
MAX_TOTAL_BYTES = 64 * 2**20
SKIPPED = {"__MACOSX", "__pycache__", ".ipynb_checkpoints"}
SUBMISSION_SUFFIXES = {".py", ".ipynb"}
NBGRADER_FOLDER = "submitted"

UNSAFE_MEMBER = "{entry}: the zip member {member!r} would be written outside the submission"
TOO_MANY_FILES = "{entry}: more than {limit} files"
TOO_LARGE = "{entry}: {what} is larger than {limit} MiB"
NOT_A_ZIP = "{entry}: not a readable zip file ({reason})"
NOTHING_TO_GRADE = "{entry}: no .py or .ipynb file in it"
NOT_A_SUBMISSION = "{entry}: not a submission (a folder, .py, .ipynb or .zip)"
SAME_FILE_TWICE = "{entry}: {name} is handed in twice (in {first} and {second})"


class EntryError(Exception):
    """The entry cannot be read as a submission; the message says why (a student is ungraded)."""


@dataclass(frozen=True)
class Entry:
    student: str
    path: Path
    nbgrader: bool = False  # path is submitted/<student>/, holding one folder per assignment


@dataclass
class Job:
    """One student's grading work: plain data, picklable, the same for every executor."""
    student: str
    source: str  # the entry's name in the class folder
    files: dict[str, bytes] = field(default_factory=dict)  # relative POSIX path -> content
    single: str = ""  # a single-file entry: grade that file, as `autograder grade FILE` would
    seed: int = 0
    task_ids: list[str] | None = None
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)  # task -> kit name -> name used
    problem: str = ""  # set when the entry could not be read: nothing to grade
    time_limit: float | None = None  # seconds for the whole submission (grading.grade)

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        settings = [self.single, self.task_ids, self.seed, self.aliases, self.time_limit]
        digest.update(json.dumps(settings, sort_keys=True).encode())
        for name in sorted(self.files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(self.files[name]).digest())
        return digest.hexdigest()


def student_seed(class_seed: int, student: str) -> int:
    """Each student's seed, derived from the class seed: the same on every run and machine."""
    return zlib.crc32(f"{class_seed}:{student}".encode()) & 0x7FFFFFFF


def find_entries(class_dir: Path, exclude: Path | None = None) -> list[Entry]:
    """One entry per student, sorted by name; nbgrader's ``submitted/`` layout too.
    ``exclude``: a folder that is not a student (the results, written inside the class folder)."""
    class_dir = Path(class_dir)
    if not class_dir.is_dir():
        raise EntryError(f"{class_dir} is not a folder of submissions")
    nbgrader = class_dir / NBGRADER_FOLDER
    if class_dir.name == NBGRADER_FOLDER:
        nbgrader = class_dir
    if nbgrader.is_dir():
        return [Entry(safe_name(p.name), p, nbgrader=True) for p in sorted(nbgrader.iterdir())
                if p.is_dir() and not _skipped(p.name)]
    entries: dict[str, Entry] = {}
    excluded = exclude.resolve() if exclude is not None else None
    for path in sorted(class_dir.iterdir()):
        if path.resolve() == excluded:
            continue
        if _skipped(path.name) or not (path.is_dir() or path.suffix.lower() in {".zip", *SUBMISSION_SUFFIXES}):
            continue
        student = safe_name(path.stem if path.is_file() else path.name)
        if student in entries:  # alice.zip beside alice/: both kept, told apart by their suffix
            student = safe_name(path.name)
        entries[student] = Entry(student, path)
    return sorted(entries.values(), key=lambda entry: entry.student)


def safe_name(name: str) -> str:
    """A student's name as a folder name in OUT: no separators, no leading dot."""
    cleaned = re.sub(r"[^\w.@+-]", "_", name).lstrip(".")
    return cleaned or "student"


def read_job(entry: Entry) -> Job:
    """The entry's files as a job; an unreadable entry gives a job with ``problem`` set."""
    job = Job(student=entry.student, source=entry.path.name)
    try:
        if entry.nbgrader:
            job.files = _read_nbgrader(entry.path)
        elif entry.path.is_dir():
            job.files = _read_folder(entry.path, entry.path.name)
        elif entry.path.suffix.lower() == ".zip":
            job.files = _read_zip(entry.path)
        elif entry.path.suffix.lower() in SUBMISSION_SUFFIXES:
            _check_size(entry.path.name, entry.path.stat().st_size, MAX_FILE_BYTES, entry.path.name)
            job.files = {entry.path.name: entry.path.read_bytes()}
            job.single = entry.path.name
        else:
            raise EntryError(NOT_A_SUBMISSION.format(entry=entry.path.name))
        if not any(PurePosixPath(name).suffix.lower() in SUBMISSION_SUFFIXES for name in job.files):
            raise EntryError(NOTHING_TO_GRADE.format(entry=entry.path.name))
    except EntryError as exc:
        job.files, job.single, job.problem = {}, "", str(exc)
    except OSError as exc:
        job.files, job.single, job.problem = {}, "", f"{entry.path.name}: could not be read ({exc})"
    return job


def _skipped(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED


def _check_size(entry: str, size: int, limit: int, what: str) -> None:
    if size > limit:
        raise EntryError(TOO_LARGE.format(entry=entry, what=what, limit=limit // 2**20))


def _read_folder(folder: Path, entry: str) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(_skipped(part) for part in relative.parts) or path.is_symlink() or not path.is_file():
            continue
        if len(files) >= MAX_FILES:
            raise EntryError(TOO_MANY_FILES.format(entry=entry, limit=MAX_FILES))
        size = path.stat().st_size
        _check_size(entry, size, MAX_FILE_BYTES, relative.as_posix())
        total += size
        _check_size(entry, total, MAX_TOTAL_BYTES, "the submission")
        files[relative.as_posix()] = path.read_bytes()
    return files


def _read_nbgrader(student_folder: Path) -> dict[str, bytes]:
    """submitted/<student>/<assignment>/...: every assignment's files side by side."""
    files: dict[str, bytes] = {}
    origin: dict[str, str] = {}
    for assignment in sorted(p for p in student_folder.iterdir() if p.is_dir() and not _skipped(p.name)):
        for name, content in _read_folder(assignment, student_folder.name).items():
            if name in files and PurePosixPath(name).suffix.lower() not in SUBMISSION_SUFFIXES:
                continue  # nbgrader's timestamp.txt and the like: the first is kept
            if name in files:
                raise EntryError(SAME_FILE_TWICE.format(entry=student_folder.name, name=name,
                                                        first=origin[name], second=assignment.name))
            files[name], origin[name] = content, assignment.name
    return files


def _read_zip(path: Path) -> dict[str, bytes]:
    entry = path.name
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise EntryError(NOT_A_ZIP.format(entry=entry, reason=exc)) from None
    files: dict[str, bytes] = {}
    total = 0
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        for member in members:
            name = _member_name(entry, member)
            if name is None:
                continue
            if len(files) >= MAX_FILES:
                raise EntryError(TOO_MANY_FILES.format(entry=entry, limit=MAX_FILES))
            _check_size(entry, member.file_size, MAX_FILE_BYTES, name)
            try:
                with archive.open(member) as stream:
                    content = stream.read(MAX_FILE_BYTES + 1)  # the header's size may lie
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, zlib.error) as exc:
                raise EntryError(NOT_A_ZIP.format(entry=entry, reason=exc)) from None
            _check_size(entry, len(content), MAX_FILE_BYTES, name)
            total += len(content)
            _check_size(entry, total, MAX_TOTAL_BYTES, "the unpacked zip")
            files[name] = content
    return _strip_common_folder(files)


def _member_name(entry: str, member: zipfile.ZipInfo) -> str | None:
    """The member's safe relative path; None for what is skipped; EntryError if unsafe."""
    raw = member.filename.replace("\\", "/")
    path = PurePosixPath(raw)
    mode = member.external_attr >> 16
    if (raw.startswith("/") or re.match(r"^[A-Za-z]:", raw) or ".." in path.parts
            or stat.S_ISLNK(mode)):
        raise EntryError(UNSAFE_MEMBER.format(entry=entry, member=member.filename))
    parts = [part for part in path.parts if part not in ("", ".")]
    if not parts or any(_skipped(part) for part in parts):
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
