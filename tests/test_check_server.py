"""`autograder check`'s grader process (autograder.daemon) and `--watch`.

A check answered by the server must be exactly the check graded in its own process; the
server must be out of reach of other users and never answer once the kit, its files or
the environment changed.
"""
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from autograder import daemon
from autograder.watch import ALL, changed_tasks
from builders import SOLUTIONS, replace_task_cell

REPO = Path(__file__).resolve().parents[1]
REDTEAM = Path(__file__).parent / "redteam"
WRONG_TEST_EQ = "def test_eq(a, b):\n    assert a is b\n"  # `is`, not ==: fails on equal lists


@pytest.fixture(scope="module")
def runtime():
    """A runtime folder of this module's own, its server stopped at the end."""
    folder = Path(tempfile.mkdtemp(prefix="ag-", dir=os.environ["AUTOGRADER_RUNTIME_DIR"]))
    environment = {**os.environ, "AUTOGRADER_RUNTIME_DIR": str(folder)}
    environment.pop("AUTOGRADER_SERVER", None)
    yield environment
    run(environment, "server", "stop")
    daemon.stop_all(folder)


def run(environment, *args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=300)


def status(environment) -> dict | None:
    old = os.environ.get("AUTOGRADER_RUNTIME_DIR")
    os.environ["AUTOGRADER_RUNTIME_DIR"] = environment["AUTOGRADER_RUNTIME_DIR"]
    try:
        return daemon.status()
    finally:
        os.environ["AUTOGRADER_RUNTIME_DIR"] = old


def lesson00(folder: Path, task_02: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = shutil.copy(SOLUTIONS / "l00_exports.py", folder / "l00_exports.py")
    return replace_task_cell(Path(path), "0.2", task_02) if task_02 else Path(path)


SUBMISSIONS = {
    "correct": None,
    "wrong": WRONG_TEST_EQ,
    "hostile": (REDTEAM / "kill_parent.py").read_text(),
    "hanging": (REDTEAM / "infinite_loop.py").read_text(),
}


@pytest.mark.parametrize("kind", list(SUBMISSIONS))
def test_a_repeat_check_through_the_server_is_exactly_the_check_in_process(kind, runtime, tmp_path):
    path = lesson00(tmp_path / kind, SUBMISSIONS[kind])
    if status(runtime) is None:
        run(runtime, "check", str(lesson00(tmp_path / "first")))  # starts the server
    before = status(runtime)
    assert before is not None and before["current"]
    served = run(runtime, "check", str(path), "--seed", "11", "--json", str(tmp_path / "served.json"))
    assert status(runtime)["checks"] == before["checks"] + 1  # the server graded it
    assert status(runtime)["pid"] == before["pid"]
    alone = run(runtime, "check", str(path), "--seed", "11", "--json", str(tmp_path / "alone.json"), "--no-server")
    assert status(runtime)["checks"] == before["checks"] + 1  # and not this one
    assert (served.returncode, served.stdout, served.stderr) == (alone.returncode, alone.stdout, alone.stderr)
    assert (tmp_path / "served.json").read_text() == (tmp_path / "alone.json").read_text()
    outcome = {t["id"]: t["status"] for t in json.loads((tmp_path / "served.json").read_text())["tasks"]}
    assert outcome == {"0.1": "passed", "0.2": "passed" if kind == "correct" else
                       "error" if kind == "hanging" else "failed" if kind == "wrong" else outcome["0.2"]}
    if kind == "hanging":
        assert "timed out after 10 s" in served.stdout


def test_a_usage_error_reads_the_same_through_the_server(runtime, tmp_path):
    served = run(runtime, "check", str(tmp_path / "nothing.py"))
    alone = run(runtime, "check", str(tmp_path / "nothing.py"), "--no-server")
    assert served.returncode == alone.returncode == 2
    assert served.stderr == alone.stderr and "does not exist" in served.stderr


def test_the_server_is_out_of_reach_of_another_uid(runtime, tmp_path):
    if os.getuid() != 0:
        pytest.skip("acting as another uid needs root")
    run(runtime, "check", str(lesson00(tmp_path / "s")))
    state = status(runtime)
    assert state is not None
    sock = Path(state["socket"])
    assert os.stat(sock.parent).st_mode & 0o777 == 0o700 and os.stat(sock).st_mode & 0o777 == 0o600
    assert _as_other_uid(sock) == "PermissionError"  # the folder and the socket keep it out
    folders = [folder for folder in sock.parents if folder.stat().st_mode & 0o777 == 0o700]
    for folder in folders:  # and were they opened, the server itself refuses the peer
        os.chmod(folder, 0o755)
    os.chmod(sock, 0o666)
    try:
        assert _as_other_uid(sock) == "no answer"
    finally:
        os.chmod(sock, 0o600)
        for folder in folders:
            os.chmod(folder, 0o700)
    assert status(runtime)["pid"] == state["pid"]  # still serving its own user


def _as_other_uid(sock: Path, uid: int = 2_100_000_123) -> str:
    """Connect as ``uid`` from a forked process and ask for the server's status."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        outcome = "connected"
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(20)
                connection.connect(str(sock))
                connection.sendall(b'{"op": "status"}\n')
                outcome = "answered" if connection.recv(4096) else "no answer"
        except PermissionError:
            outcome = "PermissionError"
        except (BrokenPipeError, ConnectionResetError):  # the server hung up on it
            outcome = "no answer"
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            outcome = type(exc).__name__
        os.write(write, outcome.encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as reply:
        return reply.read().decode()


def test_an_edited_grader_file_is_never_served_by_the_old_server(runtime, tmp_path):
    path = lesson00(tmp_path / "s")
    run(runtime, "check", str(path))
    old = status(runtime)["pid"]
    edited = REPO / "autograder" / "messages.py"
    before = edited.stat()
    os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    try:
        assert not status(runtime)["current"]
        assert "stale" in run(runtime, "server", "status").stdout
        served = run(runtime, "check", str(path))
        assert served.returncode == 0, served.stdout + served.stderr
        fresh = status(runtime)
        assert fresh["pid"] != old and fresh["current"] and fresh["checks"] == 1
        assert not daemon.is_server(old)
    finally:
        os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_another_environment_or_kit_version_gets_a_fresh_server(runtime, tmp_path, monkeypatch):
    path = lesson00(tmp_path / "s")
    run(runtime, "check", str(path))
    old = status(runtime)["pid"]
    assert run({**runtime, "AUTOGRADER_MEMORY": "3G"}, "check", str(path)).returncode == 0
    assert status({**runtime})["pid"] != old
    key = daemon.key()
    monkeypatch.setattr("autograder.__version__", "99.0")
    assert daemon.key() != key


def test_a_request_with_another_key_is_refused_and_the_server_exits(runtime, tmp_path):
    run(runtime, "check", str(lesson00(tmp_path / "s")))
    state = status(runtime)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(state["socket"])
        connection.sendall(json.dumps({"op": "check", "key": "an older kit", "cwd": str(tmp_path),
                                       "path": "s/l00_exports.py"}).encode() + b"\n")
        reply = json.loads(connection.makefile().readline())
    assert reply == {"ok": False, "error": daemon.STALE}
    deadline = time.monotonic() + 15
    while daemon.is_server(state["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not daemon.is_server(state["pid"])


def test_server_stop_and_status(runtime, tmp_path):
    run(runtime, "check", str(lesson00(tmp_path / "s")))
    pid = status(runtime)["pid"]
    assert f"grader process {pid}: running" in run(runtime, "server", "status").stdout
    assert f"stopped the grader process (pid {pid})" in run(runtime, "server", "stop").stdout
    assert not daemon.is_server(pid)
    assert "no grader process is running" in run(runtime, "server", "status").stdout


def test_an_idle_server_exits_by_itself(tmp_path):
    folder = Path(tempfile.mkdtemp(prefix="ag-", dir=os.environ["AUTOGRADER_RUNTIME_DIR"]))
    environment = {**os.environ, "AUTOGRADER_RUNTIME_DIR": str(folder), "AUTOGRADER_SERVER_IDLE": "5"}
    environment.pop("AUTOGRADER_SERVER", None)
    assert run(environment, "check", str(lesson00(tmp_path / "s"))).returncode == 0
    pid = json.loads(next(folder.glob("*.json")).read_text())["pid"]
    deadline = time.monotonic() + 60
    while daemon.is_server(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not daemon.is_server(pid)
    assert not list(folder.glob("*.sock")) and not list(folder.glob("*.json"))  # it cleaned up


def test_watch_grades_again_after_a_save(runtime, tmp_path):
    path = lesson00(tmp_path / "w", WRONG_TEST_EQ)
    watcher = subprocess.Popen([sys.executable, "-m", "autograder", "check", "--watch", str(path)], cwd=REPO,
                               env=runtime, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in watcher.stdout], daemon=True).start()
    try:
        first = _until_watching(lines)
        assert any(line.split()[:2] == ["0.2", "failed"] for line in first), first
        time.sleep(0.2)  # a save at least one step after the watch began
        lesson00(tmp_path / "w")  # the student fixes test_eq and saves
        second = _until_watching(lines)
        assert any(line.split()[:2] == ["0.2", "passed"] for line in second), second
        assert any(line.split()[:2] == ["0.1", "passed"] for line in second), second  # still shown
        assert "Score 2/2" in "".join(second)
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(timeout=30)
    assert watcher.returncode == 0


def _until_watching(lines: queue.Queue, timeout: float = 120.0) -> list[str]:
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        if line.startswith("watching "):
            return seen
    raise AssertionError("no table after the save:\n" + "".join(seen))


def test_a_changed_task_is_graded_again_with_the_tasks_built_on_it():
    before = {"": "the rest", "0.1": "test", "0.2": "test_eq"}
    assert changed_tasks(before, {**before, "0.1": "edited"}) == ["0.1", "0.2"]  # 0.2 builds on 0.1
    assert changed_tasks(before, {**before, "0.2": "edited"}) == ["0.2"]
    assert changed_tasks(before, dict(before)) == []
    assert changed_tasks(before, {**before, "": "an import changed"}) is ALL


def test_the_flags_a_staying_process_keeps_follow_the_file(tmp_path):
    from autograder import enforcement
    from autograder.reading import submission

    path = lesson00(tmp_path / "f")
    assert enforcement.flags(submission.load(path)) == []
    replace_task_cell(path, "0.2", "def test_eq(a, b):\n    return eval('a == b')\n")
    assert any("calls eval" in flag for flag in enforcement.flags(submission.load(path)))
    assert enforcement.flags(submission.load(lesson00(tmp_path / "f"))) == []  # back as it was
