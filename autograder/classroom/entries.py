"""A class folder's entries, one per student, read into ``Job``s (plain data).

Nothing here runs student code: files are read as bytes, each opened without following a
link and only if it is a regular file (a FIFO, a device or a socket is never opened). Every
entry of the class folder becomes one ``Entry``: those that cannot be read carry the
reason, so that the gradebook lists them too. Each entry's ``student`` is its folder name
in the results: derived from its name, and made unique (a short hash of the name as handed
in is added where cleaning the name lost something, where it is too long, or where two
entries would share it); ``name`` keeps the name as handed in. Zips are read by ``zips``,
under the same caps. A job carries the files themselves, so a worker on another machine needs no
shared folder, and their hash says whether a result is still current.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_FILES = 200
MAX_FILE_BYTES = 16 * 2**20
MAX_TOTAL_BYTES = 64 * 2**20
MAX_FOLDER_BYTES = 96  # a student's folder name in the results (file systems allow 255)
SKIPPED = {"__MACOSX", "__pycache__", ".ipynb_checkpoints"}
CLASS_FILES = {"autograder.toml", "README.md", "README.txt", "README"}  # the class folder's own, not students
SUBMISSION_SUFFIXES = {".py", ".ipynb"}
NBGRADER_FOLDER = "submitted"
# what an nbgrader course folder holds beside submitted/ (none of it a student)
NBGRADER_SIBLINGS = {"source", "release", "autograded", "feedback", "exchange", "gradebook.db",
                     "nbgrader_config.py", "nbgrader_config.json"}

LINKED_FILE = "{name} is a symbolic link: not read (hand in the file itself)"
NOT_A_FILE = "{name} is {kind}, not a file: not read"
LINKED_ENTRY = "{entry}: a symbolic link to {where}: not followed (hand in the files themselves)"
ODD_ENTRY = "{entry}: {kind}, not a submission: not read"
TOO_MANY_FILES = "{entry}: more than {limit} files"
TOO_LARGE = "{entry}: {what} is larger than {limit} MiB"
NOT_A_ZIP = "{entry}: not a readable zip file ({reason})"
NOTHING_TO_GRADE = "{entry}: no .py or .ipynb file in it"
NOT_A_SUBMISSION = "{entry}: not a submission (a folder, .py, .ipynb or .zip)"
NOT_A_STUDENT_FOLDER = "{entry}: not a student's folder in nbgrader's submitted/<student>/<assignment>/"
SAME_FILE_TWICE = "{entry}: {name} is handed in twice (in {first} and {second})"
KINDS = {stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
         stat.S_IFBLK: "a block device"}


class EntryError(Exception):
    """The entry cannot be read as a submission; the message says why (a student is ungraded)."""


@dataclass(frozen=True)
class Entry:
    student: str  # the folder name in the results: unique in the class
    path: Path
    nbgrader: bool = False  # path is submitted/<student>/, holding one folder per assignment
    name: str = ""  # the student's name as handed in (the entry's name, without .py/.ipynb/.zip)
    problem: str = ""  # why the entry is not read, if it is not


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
    name: str = ""  # the student's name as handed in
    notes: list[str] = field(default_factory=list)  # what in the entry was not read, and why

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        settings = [self.single, self.task_ids, self.seed, self.aliases, self.time_limit, self.notes]
        digest.update(json.dumps(settings, sort_keys=True).encode())
        for name in sorted(self.files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(self.files[name]).digest())
        return digest.hexdigest()


def student_seed(class_seed: int, student: str) -> int:
    """Each student's seed, derived from the class seed: the same on every run and machine."""
    return zlib.crc32(f"{class_seed}:{student}".encode()) & 0x7FFFFFFF


def readable(name: str) -> str:
    """A file name as text that can be written anywhere (bytes that are not UTF-8 shown as �)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def find_entries(class_dir: Path, exclude: Path | None = None) -> list[Entry]:
    """One entry per student, sorted by folder name; nbgrader's ``submitted/`` layout too.
    ``exclude``: a folder that is not a student (the results, written inside the class folder).
    Entries that are not submissions are returned too, each with its ``problem``."""
    class_dir = Path(class_dir)
    if not class_dir.is_dir():
        raise EntryError(f"{class_dir} is not a folder of submissions")
    listing = _listing(class_dir, exclude)
    root = _nbgrader_root(class_dir, listing)
    found: list[tuple[Path, str, str, bool]] = []  # path, name, problem, nbgrader
    if root is not None:
        for path in _listing(root, exclude):
            mode = os.lstat(path).st_mode
            problem = _entry_problem(path, mode, class_dir)
            if not problem and not stat.S_ISDIR(mode):
                problem = NOT_A_STUDENT_FOLDER.format(entry=readable(path.name))
            found.append((path, readable(path.name), problem, True))
    else:
        for path in listing:
            mode = os.lstat(path).st_mode
            problem = _entry_problem(path, mode, class_dir)
            if not problem and not stat.S_ISDIR(mode) and path.suffix.lower() not in {".zip", *SUBMISSION_SUFFIXES}:
                problem = NOT_A_SUBMISSION.format(entry=readable(path.name))
            stem = path.name if stat.S_ISDIR(mode) or problem else path.stem
            found.append((path, readable(stem or path.name), problem, False))
    names = folder_names([(path.name, name) for path, name, _, _ in found])
    entries = [Entry(names[path.name], path, nbgrader, name, problem) for path, name, problem, nbgrader in found]
    return sorted(entries, key=lambda entry: entry.student)


def _listing(folder: Path, exclude: Path | None) -> list[Path]:
    excluded = os.path.realpath(exclude) if exclude is not None else None
    return [path for path in sorted(folder.iterdir())
            if not _skipped(path.name) and os.path.realpath(path) != excluded
            and not (path.name in CLASS_FILES and path.is_file() and not path.is_symlink())]


def _nbgrader_root(class_dir: Path, listing: list[Path]) -> Path | None:
    """``submitted/`` when the class folder has nbgrader's shape: ``submitted/<student>/<assignment>/``
    with nothing beside it but nbgrader's own files (or the class folder is ``submitted/``)."""
    if class_dir.name == NBGRADER_FOLDER and _holds_assignments(class_dir):
        return class_dir
    names = {path.name for path in listing}
    if NBGRADER_FOLDER not in names or not names - {NBGRADER_FOLDER} <= NBGRADER_SIBLINGS:
        return None
    submitted = class_dir / NBGRADER_FOLDER
    if submitted.is_symlink() or not submitted.is_dir() or not _holds_assignments(submitted):
        return None
    return submitted


def _holds_assignments(folder: Path) -> bool:
    """The student folders in ``folder`` hold folders (assignments) only, and some hold one
    (anything else beside them is listed, as not a student's folder)."""
    students = [p for p in folder.iterdir() if not _skipped(p.name) and p.is_dir() and not p.is_symlink()]
    inside = [q for p in students for q in p.iterdir() if not _skipped(q.name)]
    return bool(inside) and all(q.is_dir() and not q.is_symlink() for q in inside)


def _entry_problem(path: Path, mode: int, class_dir: Path) -> str:
    entry = readable(path.name)
    if stat.S_ISLNK(mode):
        target = os.path.realpath(path)
        inside = target.startswith(os.path.realpath(class_dir) + os.sep)
        where = f"{readable(os.path.relpath(target, class_dir))} in the class folder" if inside \
            else "outside the class folder"
        return LINKED_ENTRY.format(entry=entry, where=where)
    if stat.S_IFMT(mode) in KINDS:
        return ODD_ENTRY.format(entry=entry, kind=KINDS[stat.S_IFMT(mode)])
    return ""


def folder_names(names: list[tuple[str, str]]) -> dict[str, str]:
    """Each entry's folder name in the results, from (the entry's name, the student's name):
    the cleaned name, with a hash of the entry's name where cleaning lost something, where
    it is too long, or where two entries would share it (compared ignoring case)."""
    chosen: dict[str, str] = {}
    for entry, name in names:
        cleaned = safe_name(name)
        if cleaned != name or len(cleaned.encode()) > MAX_FOLDER_BYTES:
            cleaned = _with_hash(cleaned, entry)
        chosen[entry] = cleaned
    for length in (8, 16, 64):
        groups: dict[str, list[str]] = {}
        for entry in sorted(chosen):
            groups.setdefault(chosen[entry].casefold(), []).append(entry)
        clashes = [group for group in groups.values() if len(group) > 1]
        if not clashes:
            break
        for group in clashes:  # the first (by entry name) keeps a plain name, if it has one
            for entry in group[1:]:
                chosen[entry] = _with_hash(safe_name(dict(names)[entry]), entry, length)
    return chosen


def _with_hash(cleaned: str, entry: str, length: int = 8) -> str:
    digest = hashlib.sha256(entry.encode("utf-8", "surrogateescape")).hexdigest()[:length]
    room = MAX_FOLDER_BYTES - length - 1
    shortened = cleaned.encode()[:room].decode("utf-8", "ignore")
    return f"{shortened}-{digest}"


def safe_name(name: str) -> str:
    """A student's name as a folder name in OUT: no separators, no leading dot."""
    cleaned = re.sub(r"[^\w.@+-]", "_", name).lstrip(".")
    return cleaned or "student"


def read_job(entry: Entry) -> Job:
    """The entry's files as a job; an unreadable entry gives a job with ``problem`` set."""
    source = readable(entry.path.name)
    job = Job(student=entry.student, source=source, name=entry.name or entry.student)
    try:
        if entry.problem:
            raise EntryError(entry.problem)
        mode = os.lstat(entry.path).st_mode
        if entry.nbgrader:
            job.files, job.notes = _read_nbgrader(entry.path)
        elif stat.S_ISDIR(mode):
            job.files, job.notes = _read_folder(entry.path, source)
        elif entry.path.suffix.lower() == ".zip":
            from autograder.classroom.zips import read_zip

            job.files, job.notes = read_zip(entry.path)
        elif entry.path.suffix.lower() in SUBMISSION_SUFFIXES:
            job.files = {source: _read_file(entry.path, source, source)}
            job.single = source
        else:
            raise EntryError(NOT_A_SUBMISSION.format(entry=source))
        if not any(PurePosixPath(name).suffix.lower() in SUBMISSION_SUFFIXES for name in job.files):
            skipped = f" ({'; '.join(job.notes)})" if job.notes else ""
            raise EntryError(NOTHING_TO_GRADE.format(entry=source) + skipped)
    except EntryError as exc:
        job.files, job.single, job.notes, job.problem = {}, "", [], str(exc)
    except OSError as exc:
        job.files, job.single, job.notes = {}, "", []
        job.problem = f"{source}: could not be read ({os.strerror(exc.errno) if exc.errno else exc})"
    return job


def _skipped(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED


def _check_size(entry: str, size: int, limit: int, what: str) -> None:
    if size > limit:
        raise EntryError(TOO_LARGE.format(entry=entry, what=what, limit=limit // 2**20))


def _read_file(path: Path, entry: str, what: str) -> bytes:
    """A regular file's bytes, opened without following a link and without waiting on a FIFO."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise EntryError(f"{entry}: " + LINKED_FILE.format(name=what)) from None
        raise
    with os.fdopen(descriptor, "rb") as stream:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise EntryError(f"{entry}: " + NOT_A_FILE.format(name=what, kind=KINDS.get(stat.S_IFMT(mode), "not a file")))
        _check_size(entry, os.fstat(descriptor).st_size, MAX_FILE_BYTES, what)
        content = stream.read(MAX_FILE_BYTES + 1)
    _check_size(entry, len(content), MAX_FILE_BYTES, what)
    return content


def _walk(folder: Path, relative: PurePosixPath, notes: list[str]):
    """Regular files under ``folder`` (relative path, path), links and special files noted, not read."""
    with os.scandir(folder) as listing:
        found = sorted(listing, key=lambda item: item.name)
    for item in found:
        if _skipped(item.name):
            continue
        name = (relative / readable(item.name)).as_posix()
        if item.is_symlink():
            notes.append(LINKED_FILE.format(name=name))
        elif item.is_dir(follow_symlinks=False):
            yield from _walk(Path(item.path), relative / readable(item.name), notes)
        elif item.is_file(follow_symlinks=False):
            yield name, Path(item.path)
        else:
            kind = KINDS.get(stat.S_IFMT(item.stat(follow_symlinks=False).st_mode), "not a file")
            notes.append(NOT_A_FILE.format(name=name, kind=kind))


def _read_folder(folder: Path, entry: str) -> tuple[dict[str, bytes], list[str]]:
    files: dict[str, bytes] = {}
    notes: list[str] = []
    total = 0
    for name, path in _walk(folder, PurePosixPath(), notes):
        if len(files) >= MAX_FILES:
            raise EntryError(TOO_MANY_FILES.format(entry=entry, limit=MAX_FILES))
        try:
            content = _read_file(path, entry, name)
        except EntryError as exc:  # replaced by a link or a FIFO since it was listed
            if "larger than" in str(exc):
                raise
            notes.append(str(exc).split(": ", 1)[1])
            continue
        total += len(content)
        _check_size(entry, total, MAX_TOTAL_BYTES, "the submission")
        files[name] = content
    return files, notes


def _read_nbgrader(student_folder: Path) -> tuple[dict[str, bytes], list[str]]:
    """submitted/<student>/<assignment>/...: every assignment's files side by side."""
    files: dict[str, bytes] = {}
    origin: dict[str, str] = {}
    notes: list[str] = []
    entry = readable(student_folder.name)
    assignments = sorted(p for p in student_folder.iterdir()
                         if not _skipped(p.name) and p.is_dir() and not p.is_symlink())
    for assignment in assignments:
        read, skipped = _read_folder(assignment, entry)
        notes += [f"{readable(assignment.name)}/{note}" for note in skipped]
        for name, content in read.items():
            if name in files and PurePosixPath(name).suffix.lower() not in SUBMISSION_SUFFIXES:
                continue  # nbgrader's timestamp.txt and the like: the first is kept
            if name in files:
                raise EntryError(SAME_FILE_TWICE.format(entry=entry, name=name,
                                                        first=origin[name], second=readable(assignment.name)))
            files[name], origin[name] = content, readable(assignment.name)
    return files, notes
