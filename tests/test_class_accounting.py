"""A class run never loses a student: every entry accounted for, whatever it is named,
whatever it is, however the run ends.

One class of over 40 entries, built from what an LMS export and an odd class hand in:
names that collide once cleaned (``a b`` and ``a_b``, two emoji, ``ada`` and ``Ada.zip``,
``alice.py`` and ``alice/``), names of 250 characters, the class files' own names,
spreadsheet formulas, a control character, bytes that are not UTF-8, a student named
``submitted``, a FIFO, a socket, a device, links in and out of the class folder, a link
inside a student's folder and inside a zip, broken zips and hostile code. It is graded
once for the module (a few tasks, so that it stays quick); the interrupted runs grade a
part of it with the same class seed, so their students' scores must equal the whole run's.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from autograder.classroom import entries, grade_class
from autograder.classroom.lock import LOCK_FILE, OutLock
from autograder.classroom.work import as_handed_in
from autograder.results import PASSED
from builders import SOLUTIONS, Quiet, copy_lessons, replace_task_cell

REPO = Path(__file__).resolve().parents[1]
TASKS = ["0.2", "1.2", "2.8", "2.11"]  # no timed task: scores cannot depend on the machine's load
CLASS_SEED = 777
ALL = dict.fromkeys(TASKS, "passed")
MSE_BUG = {**ALL, "2.8": "failed"}
EXPORTS_ONLY = {"0.2": "passed", "1.2": "not passed", "2.8": "not passed", "2.11": "not passed"}
BUGGY_MSE = "def mse(output, targ):\n    return (output - targ).pow(2).mean()"
LONG = "x" * 250


def _full(folder: Path, bug: bool = False) -> Path:
    copy_lessons(folder, upto="l02_fully_connected")
    if bug:
        replace_task_cell(folder / "l02_fully_connected.py", "2.8", BUGGY_MSE)
    return folder


def _exports(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "l00_exports.py").write_bytes((SOLUTIONS / "l00_exports.py").read_bytes())
    return folder


def _zip_of(folder: Path, target: Path, extra=None) -> None:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{folder.name}/{path.name}")
        if extra:
            extra(archive)


def build_class(root: Path, outside: Path) -> dict[str, tuple[str, object]]:
    """The class, and what each entry (by its name in the class folder) must come to:
    ("graded", {task: status}) or ("reason", text the reason holds)."""
    expected: dict[str, tuple[str, object]] = {}
    staging = root.parent / "staging"

    def graded(entry, statuses):
        expected[entry] = ("graded", statuses)

    def refused(entry, reason):
        expected[entry] = ("reason", reason)

    for name, bug in (("ada", False), ("a b", False), ("a_b", True), ("😀", False), ("🙂", True),
                      (LONG, False), ("é" * 120, True), ("submitted", False), ("alice", False)):
        _full(root / name, bug)
        graded(name, MSE_BUG if bug else ALL)
    _zip_of(_full(staging / "Ada"), root / "Ada.zip")
    graded("Ada.zip", ALL)
    for name in ("gradebook.csv", "report.html", "class.json", "students", "=cmd", "tab\tname", "new\nline",
                 "José", "王芳", "report"):
        _exports(root / name)
        graded(name, EXPORTS_ONLY)
    for name in ("+sum.py", "-x.py", "@at.py", "alice.py", LONG[:-2] + "y.py"):
        (root / name).write_bytes((SOLUTIONS / "l00_exports.py").read_bytes())
        graded(name, EXPORTS_ONLY)
    os.mkdir(bytes(root) + b"/caf\xe9")  # a name that is not UTF-8
    _exports(Path(os.fsdecode(bytes(root) + b"/caf\xe9")))
    graded(os.fsdecode(b"caf\xe9"), EXPORTS_ONLY)

    # not plain: never opened, each listed with why
    os.mkfifo(root / "fifo.py")
    refused("fifo.py", "a named pipe (FIFO), not a submission: not read")
    os.mkfifo(root / "pipe")
    refused("pipe", "a named pipe (FIFO)")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(root / "sock"))
    listener.close()
    refused("sock", "a socket, not a submission")
    try:
        os.mknod(root / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
        refused("null", "a character device, not a submission")
    except PermissionError:
        pass
    os.symlink(SOLUTIONS, root / "linked")  # the kit's own solutions, as a student
    refused("linked", "a symbolic link to outside the class folder: not followed")
    os.symlink(root / "ada", root / "alias")
    refused("alias", "a symbolic link to ada in the class folder: not followed")

    # links and special files inside a submission: not read, said why, the rest graded
    bo = copy_lessons(root / "bo_link", upto="l01_matmul")
    (outside / "l02_fully_connected.py").write_bytes((SOLUTIONS / "l02_fully_connected.py").read_bytes())
    os.symlink(outside / "l02_fully_connected.py", bo / "l02_fully_connected.py")
    graded("bo_link", {"0.2": "passed", "1.2": "passed", "2.8": "not passed", "2.11": "not passed"})
    os.mkfifo(_full(root / "pipe_in") / "l03_minibatch_training.py")
    graded("pipe_in", ALL)

    def link_member(archive):
        info = zipfile.ZipInfo("zlink/l03_minibatch_training.py")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, str(outside / "l02_fully_connected.py"))

    _zip_of(_full(staging / "zlink"), root / "zlink.zip", link_member)
    graded("zlink.zip", ALL)

    with zipfile.ZipFile(root / "dee.zip", "w") as archive:
        archive.writestr("../../outside.py", "x = 1")
    refused("dee.zip", "would be written outside the submission")
    (root / "bad.zip").write_bytes(b"PK\x03\x04 not really")
    refused("bad.zip", "not a readable zip")
    (root / "notes.txt").write_text("not a submission")
    refused("notes.txt", "not a submission")
    (root / "empty").mkdir()
    refused("empty", "no .py or .ipynb")

    hostile = _full(root / "hostile")  # writes where it may not, signals its grader; a wrong mse
    replace_task_cell(hostile / "l02_fully_connected.py", "2.8", f"""def mse(output, targ):
    import os
    for place in ({str(root / 'pwned.txt')!r}, {str(outside / 'pwned.txt')!r}, {str(root.parent / 'out' / 'pwned.txt')!r}):
        try:
            open(place, "w").write("pwned")
        except Exception:
            pass
    try:
        os.kill(os.getppid(), 9)
    except Exception:
        pass
    return (output - targ).pow(2).mean()""")
    graded("hostile", MSE_BUG)

    latin = (SOLUTIONS / "l00_exports.py").read_bytes().replace(b"# %%", b"# caf\xe9 %%", 1)  # not UTF-8
    (root / "latin1.py").write_bytes(latin)
    graded("latin1.py", EXPORTS_ONLY)  # read as Python reads it: a byte in a comment costs no task

    for skipped in (".hidden", "__MACOSX", ".ipynb_checkpoints"):  # system files, not students
        _exports(root / skipped)
    return expected


def snapshot(*folders: Path) -> dict[str, tuple]:
    """Every file's kind, size and content hash under ``folders``, links not followed."""
    seen = {}
    for folder in folders:
        for path in [folder, *folder.rglob("*")]:
            info = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(info.st_mode) else ""
            seen[os.fsencode(path).hex()] = (stat.S_IFMT(info.st_mode), info.st_size, digest,
                                           os.readlink(path) if path.is_symlink() else "")
    return seen


def gradebook_rows(out: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO((out / "gradebook.csv").read_text(encoding="utf-8"), newline="")))


def statuses(out: Path, folder: str) -> dict[str, str]:
    data = json.loads((out / folder / "grade.json").read_text(encoding="utf-8"))
    return {t["id"]: t["status"] for t in data["result"]["tasks"]}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("accounting")
    root, outside, out = base / "class", base / "outside", base / "out"
    root.mkdir()
    outside.mkdir()
    expected = build_class(root, outside)
    before = snapshot(root, outside)
    progress = Quiet()
    report = grade_class(root, out=out, jobs=2, seed=CLASS_SEED, task_ids=TASKS, progress=progress)
    return {"root": root, "outside": outside, "out": out, "expected": expected, "before": before,
            "report": report, "progress": progress}


def _unescape(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:2] in ("=", "+", "-", "@", "\t", "\r") else cell


def test_every_entry_is_in_the_gradebook_with_its_score_or_its_reason(graded_class):
    out, expected, report = graded_class["out"], graded_class["expected"], graded_class["report"]
    assert len(expected) >= 40
    rows = gradebook_rows(out)
    by_entry = {_unescape(row["entry"]): row for row in rows}
    assert len(rows) == len(by_entry) == len(expected) == len(report.records)  # one row each, none lost
    assert set(by_entry) == {entries.readable(name) for name in expected}
    for name, (kind, what) in expected.items():
        row = by_entry[entries.readable(name)]
        folder = row["folder"]
        record = json.loads((out / folder / "grade.json").read_text(encoding="utf-8"))
        assert record["source"] == entries.readable(name)
        if kind == "graded":
            assert row["not_graded"] == "", (name, row["not_graded"])
            got = {task: status if status == PASSED or what[task] != "not passed" else "not passed"
                   for task, status in statuses(out, folder).items()}
            assert got == what, name
            assert float(row["score"]) == record["result"]["score"]
        else:
            assert row["score"] == "" and what in _unescape(row["not_graded"]), (name, row["not_graded"])
            assert record["error"] and record["result"] is None
    assert f"{len(report.graded)} graded" in (out / "report.html").read_text(encoding="utf-8")
    assert f"{len(expected)} entries" in (out / "report.html").read_text(encoding="utf-8")


def test_names_are_kept_and_folders_are_unique_short_and_apart_from_the_class_files(graded_class):
    out, report = graded_class["out"], graded_class["report"]
    rows = gradebook_rows(out)
    folders = [row["folder"] for row in rows]
    assert len(set(folders)) == len(folders) and len({f.casefold() for f in folders}) == len(folders)
    assert all(f.startswith("students/") and len(f.encode()) <= len("students/") + entries.MAX_FOLDER_BYTES
               for f in folders)
    assert {p.name for p in out.iterdir()} == {"students", "class.json", "gradebook.csv", "gradebook-lms.csv",
                                               "report.html", "similarity.csv"}
    assert json.loads((out / "class.json").read_text())["class_seed"] == CLASS_SEED  # no student took its place
    names = {_unescape(row["student"]) for row in rows}
    assert {"a b", "a_b", "😀", "🙂", LONG, "=cmd", "+sum", "tab\tname", "new\nline", "王芳", "caf\ufffd"} <= names
    assert "'=cmd" in {row["student"] for row in rows}  # a formula is text in a spreadsheet
    by_name = {r.name: r for r in report.records}
    assert by_name["a_b"].student == "a_b" and by_name["a b"].student.startswith("a_b-")
    assert by_name[LONG].student != by_name[LONG[:-2] + "y"].student
    for record in report.records:  # the name as handed in, in the student's own files too
        assert json.loads((out / "students" / record.student / "grade.json").read_text())["name"] == record.name
    assert "Feedback for 😀" in (out / "students" / by_name["😀"].student / "feedback.md").read_text()
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "王芳" in page and "href=\"students/" in page


def test_links_and_special_files_inside_a_submission_are_noted_not_read(graded_class):
    report = graded_class["report"]
    notes = {r.source: r.result.notes for r in report.graded}
    assert "l02_fully_connected.py is a symbolic link: not read (hand in the file itself)" in notes["bo_link"]
    assert "l03_minibatch_training.py is a named pipe (FIFO), not a file: not read" in notes["pipe_in"]
    assert any("'zlink/l03_minibatch_training.py' is a symbolic link" in n for n in notes["zlink.zip"])
    assert not any("outside the submission" in n for n in notes["zlink.zip"])


def test_nothing_outside_out_changes_and_no_grader_path_reaches_a_student(graded_class):
    assert snapshot(graded_class["root"], graded_class["outside"]) == graded_class["before"]
    assert not (graded_class["out"] / "pwned.txt").exists()
    for path in graded_class["out"].rglob("*"):
        if path.is_file():
            assert "autograder-class-" not in path.read_text(encoding="utf-8"), path


def test_a_second_run_changes_nothing(graded_class):
    out = graded_class["out"]
    files = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    stamps = {p: p.stat().st_mtime_ns for p in files if p.name == "grade.json"}
    again = Quiet()
    grade_class(graded_class["root"], out=out, jobs=2, task_ids=TASKS, progress=again)
    assert again.graded == [] and again.kept == len(graded_class["expected"])
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == files
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


# -- interrupted runs, one run per OUT ------------------------------------------------

PART = ["a b", "a_b", "😀", "alice", "alice.py", "hostile", "Ada.zip"]  # no name here clashes otherwise


def _descendants(pid: int) -> set[tuple[int, str]]:
    """(pid, start time) of every live process under ``pid``."""
    parents: dict[int, list[int]] = {}
    starts = {}
    for item in os.scandir("/proc"):
        if item.name.isdigit():
            try:
                fields = Path(item.path, "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(item.name))
            starts[int(item.name)] = fields[19]
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add((child, starts[child]))
            todo.append(child)
    return found


def _alive(process: tuple[int, str]) -> bool:
    try:
        fields = Path(f"/proc/{process[0]}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[19] == process[1] and fields[0] not in ("Z", "X")


def _command(root: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade", str(root), "--out", str(out), "--jobs", "2",
            "--seed", str(CLASS_SEED), *[option for task in TASKS for option in ("--task", task)]]


@pytest.fixture(scope="module")
def part_class(graded_class, tmp_path_factory):
    """Some of the class, with the same names: their folders and seeds are the whole run's."""
    root = tmp_path_factory.mktemp("part") / "class"
    root.mkdir()
    for name in PART:
        source = graded_class["root"] / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    return root


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "SIGKILL"])
def test_a_run_stopped_midway_leaves_no_process_and_resumes_whole(graded_class, part_class, tmp_path, how):
    import signal

    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.Popen(_command(part_class, out), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           start_new_session=True)
    seen: set = set()
    stop = threading.Event()

    def watch():  # every process the run starts, as it starts them
        while not stop.is_set():
            seen.update(_descendants(run.pid))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and len(list(out.glob("students/*/grade.json"))) < 1:
            assert run.poll() is None, run.communicate()
            time.sleep(0.05)
        if how == "SIGTERM":  # meanwhile a second run on the same OUT is refused, naming this one
            second = subprocess.run(_command(part_class, out), env=env, capture_output=True, text=True, timeout=120)
            assert second.returncode == 2, second.stderr
            assert f"is being graded by another run (pid {run.pid}," in second.stderr
            assert len(second.stderr.strip().splitlines()) == 1
        written = len(list(out.glob("students/*/grade.json")))
        assert 1 <= written < len(PART), "the run ended before it could be stopped"
        assert len(seen) >= 3  # the pool's workers and their fork servers at least
        os.kill(run.pid, getattr(signal, how))
        _, said = run.communicate(timeout=30)
        if how != "SIGKILL":  # stopped, not killed: it says so, and how to go on
            assert run.returncode == {"SIGTERM": 143, "SIGINT": 130}[how], said
            assert b"run the same command again to resume" in said
            assert {"SIGTERM": b"stopped (stopped by SIGTERM)", "SIGINT": b"stopped (Ctrl-C)"}[how] in said, said
        stop.set()
        watcher.join()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in seen):
            time.sleep(0.1)
        assert not [p for p in seen if _alive(p)], f"left running after {how}: {[p for p in seen if _alive(p)]}"
        held = {int(word) for line in Path("/proc/locks").read_text().splitlines()
                for word in line.replace("->", "").split()[4:5] if word.isdigit()}
        assert not held & {pid for pid, _ in seen}  # the sandbox's uid slots are free again
    finally:
        stop.set()
        for process in [(run.pid, ""), *seen]:
            if _alive(process) or process[0] == run.pid:
                try:
                    os.kill(process[0], 9)
                except (ProcessLookupError, PermissionError):
                    pass

    resumed = subprocess.run(_command(part_class, out), env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert "entries already graded and unchanged: kept" in resumed.stderr
    rows = gradebook_rows(out)
    assert sorted(row["entry"] for row in rows) == sorted(PART)
    whole = {row["entry"]: row for row in gradebook_rows(graded_class["out"])}
    for row in rows:  # the same folders, seeds and scores as the whole class's run
        assert row["folder"] == whole[row["entry"]]["folder"]
        assert row["score"] == whole[row["entry"]]["score"] and row["score"], row
        assert statuses(out, row["folder"]) == statuses(graded_class["out"], row["folder"])
    assert not (out / LOCK_FILE).exists()


def test_out_held_by_a_run_is_refused_naming_it(tmp_path, capsys):
    from autograder.cli import main

    _exports(tmp_path / "class" / "ada")
    out = tmp_path / "out"
    with OutLock(out):
        assert main(["grade", str(tmp_path / "class"), "--out", str(out)]) == 2
        error = capsys.readouterr().err
        assert f"is being graded by another run (pid {os.getpid()}," in error and len(error.splitlines()) == 1
    assert not (out / LOCK_FILE).exists()
    with OutLock(out):  # free again, and a lock left by a run that died is taken
        pass


@pytest.mark.parametrize("case", ["a file", "under a file"])
def test_an_out_that_cannot_be_used_is_a_one_line_error(tmp_path, capsys, case):
    from autograder.cli import main

    _exports(tmp_path / "class" / "ada")
    (tmp_path / "taken").write_text("keep me")
    out = tmp_path / "taken" if case == "a file" else tmp_path / "taken" / "out"
    assert main(["grade", str(tmp_path / "class"), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1 and "Traceback" not in error
    assert ("is a file, not a folder" if case == "a file" else "cannot be written") in error
    assert (tmp_path / "taken").read_text() == "keep me"


# -- entries, without grading -----------------------------------------------------------


def test_nbgrader_is_recognised_by_its_shape_not_by_a_name(tmp_path):
    course = tmp_path / "course"
    for student in ("ada", "bo"):
        _exports(course / "submitted" / student / "ps1")
    (course / "source").mkdir()
    (course / "gradebook.db").write_text("")
    (course / "submitted" / "stray.txt").write_text("x")
    found = entries.find_entries(course)
    assert [(e.name, e.nbgrader) for e in found] == [("ada", True), ("bo", True), ("stray.txt", True)]
    assert "not a student's folder" in found[2].problem
    assert set(entries.read_job(found[0]).files) == {"l00_exports.py"}

    plain = tmp_path / "plain"
    _exports(plain / "submitted")  # a student named submitted, beside others
    _exports(plain / "ada")
    found = entries.find_entries(plain)
    assert [(e.name, e.nbgrader, e.problem) for e in found] == [("ada", False, ""), ("submitted", False, "")]
    alone = tmp_path / "alone"
    _exports(alone / "submitted")  # alone, but holding files, not assignment folders
    assert [(e.name, e.nbgrader) for e in entries.find_entries(alone)] == [("submitted", False)]


def test_a_fifo_is_refused_without_being_opened(tmp_path):
    os.mkfifo(tmp_path / "eve.py")  # opening it to read would wait for a writer forever
    (tmp_path / "zed").mkdir()
    os.mkfifo(tmp_path / "zed" / "l00_exports.py")
    started = time.monotonic()
    jobs = {e.name: entries.read_job(e) for e in entries.find_entries(tmp_path)}
    assert time.monotonic() - started < 5
    assert jobs["eve.py"].problem == "eve.py: a named pipe (FIFO), not a submission: not read"
    assert "l00_exports.py is a named pipe (FIFO), not a file: not read" in jobs["zed"].problem


def test_folder_names_are_stable_unique_and_short():
    names = [("a b", "a b"), ("a_b", "a_b"), ("😀", "😀"), ("🙂", "🙂"), ("Ada.zip", "Ada"), ("ada", "ada"),
             ("z" * 250, "z" * 250), ("z" * 249 + "y", "z" * 249 + "y")]
    chosen = entries.folder_names(names)
    assert chosen == entries.folder_names(list(reversed(names)))  # the same on every run
    assert len({c.casefold() for c in chosen.values()}) == len(names)
    assert chosen["a_b"] == "a_b" and chosen["a b"].startswith("a_b-")  # cleaning lost the space
    assert chosen["Ada.zip"] == "Ada" and chosen["ada"].startswith("ada-")  # one name ignoring case
    assert all(len(c.encode()) <= entries.MAX_FOLDER_BYTES and "/" not in c and not c.startswith(".")
               for c in chosen.values())


def test_messages_name_the_files_as_handed_in(tmp_path):
    root = tmp_path / "autograder-class-9m1nt09h" / "submission"
    relative = os.path.relpath(root)
    data = {"error": "", "result": {"tasks": [{"message": f"Task 1.1 (get_data): Edit get_data in {relative}"}],
                                    "hidden": [{"message": f"see {root}/l01_matmul.py, line 3"}],
                                    "notes": [f"{relative}{os.sep}l00_exports.py: import failed"]}}
    cleaned = as_handed_in(data, root, "alice.zip")
    assert cleaned["result"]["tasks"][0]["message"] == "Task 1.1 (get_data): Edit get_data in alice.zip"
    assert cleaned["result"]["hidden"][0]["message"] == "see l01_matmul.py, line 3"
    assert cleaned["result"]["notes"] == ["l00_exports.py: import failed"]
    assert "autograder-class-" not in json.dumps(cleaned)
