"""The sandbox's layers, one at a time: what the child can see and do, and the verdicts.

Each test runs a few lines of Python through ``sandbox.Box`` (no torch, so each takes a
fraction of a second) and reads what they report on a pipe. Tests of a layer this machine
lacks are skipped with the reason ``Layers.describe`` gives; a test of what ``required``
promises (files, network, signals contained) fails instead under
``AUTOGRADER_SANDBOX=required`` when nothing contains it. The last tests grade a lesson
with the sandbox off, with every layer, and with the layers a machine without root or
without bubblewrap would have.
"""
from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.sandbox import processes
from autograder.grading import grade

ROOT = Path(__file__).resolve().parents[1]
LAYERS = sandbox.detect()
WHY = dict(LAYERS.off)


def needs(*names: str):
    off = [f"{name}: {WHY.get(name, 'off')}" for name in names if name in WHY or not LAYERS.active]
    return pytest.mark.skipif(bool(off), reason="; ".join(off) or "on")


def contained(what: str) -> None:
    """Skip (under ``auto``) or fail (under ``required``) unless some layer contains ``what``."""
    by = sandbox.containment(LAYERS).get(what) if LAYERS.active else []
    if not by:
        message = f"{what}: no layer contains them here ({'; '.join(sandbox.missing(LAYERS))})"
        if LAYERS.mode == "required":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def scratch():
    with tempfile.TemporaryDirectory(prefix="autograder-test-") as folder:
        yield folder


def run(scratch: str, code: str, layers: sandbox.Layers | None = None, timeout: float = 60):
    """Run ``code`` in a Box; it reports with ``say(value)``. Returns (values, verdict).
    ``GRADER`` in the code is this process's pid."""
    code = code.replace("GRADER", str(os.getpid()))
    read_end, write_end = os.pipe()
    prelude = ("import json, os, sys\n"
               "def say(value):\n"
               "    os.write(int(sys.argv[1]), (json.dumps(value) + '\\n').encode())\n")
    box = sandbox.Box(scratch, layers or sandbox.detect())
    try:
        process = box.popen([sys.executable, "-S", "-c", prelude + code, str(write_end)],
                            env={"PATH": "/usr/bin:/bin"}, pass_fds=(write_end,))
        os.close(write_end)
        chunks, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline and (chunk := os.read(read_end, 1 << 16)):
            chunks.append(chunk)
        code = process.wait(timeout=timeout)
        verdict = box.verdict(code)
        box.kill(process)
    finally:
        box.close()
        os.close(read_end)
    return [json.loads(line) for line in b"".join(chunks).decode().splitlines()], verdict


def with_limits(**limits) -> sandbox.Layers:
    return dataclasses.replace(sandbox.detect(), limits=sandbox.Limits(**limits))


# -- detection -------------------------------------------------------------------------

def test_every_layer_says_whether_it_is_on_and_why_not(monkeypatch):
    lines = LAYERS.describe()
    for name in ("memory cgroup", "pids cgroup", "sandbox user", "rlimits", "bubblewrap", "seccomp"):
        (line,) = [line for line in lines if line.startswith(name + ":")]
        assert line.startswith(f"{name}: on (") or (line.startswith(f"{name}: off (") and len(line) > len(name) + 10)
    monkeypatch.setenv(sandbox.MODE_ENV, "off")
    off = sandbox.detect()
    assert not off.active and all(f"{name}: off (AUTOGRADER_SANDBOX=off)" in off.describe()
                                  for name in ("memory cgroup", "pids cgroup", "sandbox user", "rlimits",
                                               "bubblewrap", "seccomp"))
    assert any(line.startswith("warm start: on (") for line in off.describe())


def test_a_layer_can_be_dropped_and_the_memory_limit_set(monkeypatch):
    monkeypatch.setenv(sandbox.MODE_ENV, "auto -bwrap -seccomp")
    monkeypatch.setenv(sandbox.MEMORY_ENV, "1536M")
    layers = sandbox.detect()
    assert layers.bwrap is None and layers.seccomp is None
    assert "bubblewrap: off (AUTOGRADER_SANDBOX has -bwrap)" in layers.describe()
    assert layers.limits.memory == 1536 << 20


def test_required_refuses_to_start_without_a_layer(monkeypatch, scratch):
    monkeypatch.setenv(sandbox.MODE_ENV, "required -seccomp -bwrap")
    with pytest.raises(sandbox.SandboxError, match="the network is not contained .*seccomp: AUTOGRADER_SANDBOX has"):
        sandbox.Box(scratch)
    monkeypatch.setenv(sandbox.MODE_ENV, "required -landlock -bwrap")
    with pytest.raises(sandbox.SandboxError, match="files are not contained"):
        sandbox.Box(scratch)


def test_required_is_met_by_landlock_and_seccomp_alone(monkeypatch):
    """No bubblewrap, no users, no namespaces: Landlock and seccomp still contain all three."""
    monkeypatch.setenv(sandbox.MODE_ENV, "required -namespaces -user")
    layers = sandbox.detect()
    if layers.landlock < 6 or layers.seccomp is None:
        pytest.skip(f"landlock: {dict(layers.off).get('landlock', f'ABI {layers.landlock}')}")
    assert sandbox.missing(layers) == [] and not layers.warm and not layers.bwrap
    assert "contained: files by landlock; network by seccomp; signals by landlock" in layers.describe()


def test_the_sandbox_off_is_a_plain_child(monkeypatch, scratch):
    monkeypatch.setenv(sandbox.MODE_ENV, "off")
    (seen,), verdict = run(scratch, "say([os.getuid(), os.path.isdir(sys.argv[2])])\n"
                                    .replace("sys.argv[2]", repr(str(ROOT / "solutions"))))
    assert seen == [os.getuid(), True] and verdict == "the process exited with code 0"


# -- what the child can see and do -----------------------------------------------------------

@needs("bubblewrap")
def test_the_child_sees_python_the_package_and_its_scratch_only(scratch):
    Path(scratch, "data.bin").write_bytes(b"grader's file")
    code = f"""
import autograder
say(sorted(os.listdir("/")))
say([os.path.exists(p) for p in ({str(ROOT / 'solutions')!r}, {str(ROOT / 'tests')!r}, "/root/.bashrc", "/etc/passwd")])
say(open("data.bin", "rb").read().decode())
say(os.path.dirname(autograder.__file__))
say(len([p for p in os.listdir("/proc") if p.isdigit()]))
for target in ("data.bin", "new.txt", autograder.__file__):
    try:
        open(target, "a").close()
        say("wrote " + target)
    except OSError as exc:
        say(exc.errno)
"""
    values, verdict = run(scratch, code)
    top, exists, data, package, processes, *writes = values
    assert set(top) <= {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "root", "sbin",
                        "tmp", "usr", *Path(ROOT).parts[1:2], *Path(sys.prefix).parts[1:2]}, top
    assert exists == [False, False, False, False]
    assert data == "grader's file" and package == str(sandbox.PACKAGE_DIR)
    assert processes <= 2, "only bwrap's pid 1 and the child itself"
    assert all(isinstance(w, int) for w in writes), writes  # EROFS / EACCES, never written


@needs("sandbox user")
def test_the_child_runs_as_a_slot_user_without_groups(scratch):
    (seen,), _ = run(scratch, "say([os.getuid(), os.getgid(), os.getgroups()])")
    assert seen[0] in [uid for _, uid, _ in LAYERS.users] and seen[2] in ([], [seen[1]])


@needs("seccomp")
def test_no_ip_socket_can_even_be_made(scratch):
    code = """
import socket
for family in (socket.AF_INET, socket.AF_INET6):
    try:
        socket.socket(family, socket.SOCK_DGRAM)
        say("made")
    except OSError as exc:
        say(exc.errno)
a, b = socket.socketpair()
say("unix ok")
"""
    values, _ = run(scratch, code)
    assert values == [1, 1, "unix ok"]  # EPERM, EPERM


TCP_CONNECT = """
import socket
for port in (PORT,):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).sendall(b"hello")
        say("connected")
    except OSError as exc:
        say(exc.errno)
"""


@pytest.fixture
def listener():
    """A TCP listener on 127.0.0.1 that records whatever connects: (socket, connections)."""
    server, accepted = socket.create_server(("127.0.0.1", 0)), []

    def serve():
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return
    threading.Thread(target=serve, daemon=True).start()
    yield server, accepted
    server.close()
    for connection in accepted:
        connection.close()


def test_no_tcp_connection_reaches_a_listener_on_the_host(scratch, listener):
    contained("network")
    server, accepted = listener
    (seen,), _ = run(scratch, TCP_CONNECT.replace("PORT", str(server.getsockname()[1])))
    time.sleep(0.2)
    assert seen != "connected" and accepted == []


@pytest.mark.parametrize("layer", ["bubblewrap", "landlock"])
def test_without_seccomp_tcp_still_has_no_way_out(scratch, listener, layer):
    """bubblewrap's network namespace, or Landlock's TCP rules (ABI 4), each on its own."""
    layers = dataclasses.replace(sandbox.detect(), seccomp=None, mode="auto")  # even under "required"
    if layer == "landlock":
        layers = dataclasses.replace(layers, bwrap=None)
        if layers.landlock < 4:
            pytest.skip(f"landlock: {WHY.get('landlock', f'ABI {layers.landlock} has no TCP rules')}")
    elif not layers.bwrap:
        pytest.skip(f"bubblewrap: {WHY.get('bubblewrap')}")
    server, accepted = listener
    code = TCP_CONNECT.replace("PORT", str(server.getsockname()[1])) + """
try:
    socket.socket().bind(("127.0.0.1", 0))
    say("bound")
except OSError as exc:
    say(exc.errno)
"""
    values, _ = run(scratch, code, layers)
    time.sleep(0.2)
    assert "connected" not in values and accepted == []
    assert values[1] != "bound" or layer == "bubblewrap"  # a port of its own namespace is harmless


# -- Landlock, with no setup at all -------------------------------------------------------------

def landlock_alone() -> sandbox.Layers:
    """Landlock with no uid, view or namespace to help: the child runs as the grader's user
    (root, here and in most containers)."""
    return dataclasses.replace(sandbox.detect(), users=(), views=False, bwrap=None, mode="auto")


@needs("landlock")
def test_landlock_reads_only_the_allow_list_even_through_proc(scratch):
    """The answer key, by its path, through the package, and through the grader's cwd in /proc."""
    Path(scratch, "data.bin").write_bytes(b"grader's file")
    os.chdir(ROOT)  # the grader's cwd is the checkout
    solutions = ROOT / "solutions" / "l01_matmul.py"
    code = f"""
import autograder
paths = [{str(solutions)!r}, os.path.join(os.path.dirname(autograder.__file__), "..", "solutions", "l01_matmul.py"),
         "/proc/GRADER/cwd/solutions/l01_matmul.py", "/proc/GRADER/root{solutions}", "/proc/GRADER/environ",
         "/etc/shadow", "/etc/passwd", {str(ROOT / "README.md")!r}]
for path in paths:
    try:
        open(path, "rb").read(1)
        say("read " + path)
    except OSError as exc:
        say(exc.errno)
say(open("data.bin", "rb").read().decode())
say(open(autograder.__file__).read(10) != "")
"""
    values, verdict = run(scratch, code, landlock_alone())
    assert values[:8] == [13] * 8, values  # EACCES, even for root
    assert values[8:] == ["grader's file", True], verdict


@needs("landlock")
def test_landlock_writes_only_its_own_tmp(scratch, tmp_path):
    (tmp_path / "submission.py").write_text("def f(): pass\n")
    next_to = tmp_path / "planted.py"
    code = f"""
import autograder
for target in ("planted-in-scratch", {str(next_to)!r}, os.path.join(os.path.dirname(autograder.__file__), "planted.py"),
               "/var/tmp/planted-{os.getpid()}"):
    try:
        open(target, "w").close()
        say("wrote " + target)
    except OSError as exc:
        say(exc.errno)
own = os.path.join(os.environ["TMPDIR"], "mine")
open(own, "w").write("x")
say(open(own).read())
"""
    outside = [Path(f"/var/tmp/planted-{os.getpid()}"), sandbox.PACKAGE_DIR / "planted.py"]
    try:
        values, verdict = run(scratch, code, landlock_alone())
        assert values[:4] == [13] * 4, values
        assert values[4] == "x", verdict
        assert not next_to.exists() and not any(path.exists() for path in outside)
        assert not Path(scratch, "planted-in-scratch").exists()
    finally:  # a failing run must not leave its files in the package or /var/tmp
        for path in outside:
            path.unlink(missing_ok=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="the grader is not root")
def test_a_child_left_as_root_has_no_capabilities(scratch):
    """Without a uid to drop to (and no bubblewrap), root's child execs with none."""
    code = "say([line.split()[1] for line in open('/proc/self/status') if line.startswith(('CapEff', 'CapBnd'))])"
    (seen,), _ = run(scratch, code, dataclasses.replace(landlock_alone(), mode="auto"))
    assert seen == ["0000000000000000", "0000000000000000"]


def test_the_child_cannot_signal_the_grader(scratch):
    contained("signals")
    if not (LAYERS.bwrap or LAYERS.landlock >= 6):
        pytest.skip("a cold child is contained by bubblewrap or Landlock's scope; the warm start "
                    "is tested in test_warm_start")
    code = """
import errno, signal
def parent():  # in bubblewrap's pid namespace the grader is out of view: getppid() is 0 (or 1, bwrap's init)
    if os.getppid() in (0, 1):
        raise OSError(errno.ESRCH, "the parent is outside this pid namespace")
    os.kill(os.getppid(), 0)
for kill in (lambda: os.kill(GRADER, 0), parent, lambda: os.killpg(os.getpgid(GRADER), 0)):
    try:
        kill()
        say("signalled")
    except OSError as exc:
        say(exc.errno)
"""
    values, _ = run(scratch, code)
    assert "signalled" not in values and len(values) == 3


def test_the_limits_are_set(scratch):
    if not LAYERS.rlimits:
        pytest.skip(WHY["rlimits"])
    (limits,), _ = run(scratch, "say(open('/proc/self/limits').read())")
    assert "Max cpu time              600" in limits and "Max open files            256" in limits
    assert "Max core file size        0" in limits


@needs("bubblewrap")
def test_tmp_is_private_and_size_capped(scratch):
    code = """
try:
    with open("/tmp/big", "wb") as file:
        for _ in range(100):
            file.write(b"0" * (1 << 20))
except OSError as exc:
    say(exc.errno)
"""
    (seen,), _ = run(scratch, code, with_limits(tmp_bytes=8 << 20))
    assert seen == 28  # ENOSPC at 8 MiB
    assert not Path("/tmp/big").exists()


# -- verdicts --------------------------------------------------------------------------

@needs("memory cgroup")
def test_too_much_memory_is_named(scratch):
    _, verdict = run(scratch, "hog = b'x' * (600 << 20)", with_limits(memory=256 << 20))
    assert verdict == "the process used more than 256 MiB of memory"


def test_too_much_cpu_is_named(scratch):
    if not LAYERS.rlimits:
        pytest.skip(WHY["rlimits"])
    _, verdict = run(scratch, "while True:\n    pass", with_limits(cpu_seconds=1))
    assert verdict == "the process used more than 1 s of CPU time"


def test_a_file_too_big_is_named(scratch):
    if not LAYERS.rlimits:
        pytest.skip(WHY["rlimits"])
    code = """
big = os.path.join(os.environ.get("TMPDIR", "/tmp"), "big")
try:
    with open(big, "wb") as file:
        file.write(bytes(3 << 20))
except OSError as exc:
    say(exc.errno)  # Python ignores SIGXFSZ: student code sees EFBIG
import signal
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # a program that does not is killed
os.execv("/bin/sh", ["sh", "-c", f"exec head -c 3000000 /dev/zero > {big}"])
"""
    (seen,), verdict = run(scratch, code, with_limits(file_bytes=1 << 20))
    assert seen == 27 and verdict == "the process wrote a file larger than 1 MiB"


def test_a_crash_is_named(scratch):
    _, verdict = run(scratch, "import ctypes\nctypes.string_at(0)")
    assert verdict == "the process crashed (segmentation fault, SIGSEGV)"


@needs("pids cgroup")
def test_a_fork_bomb_stops_at_the_process_limit(scratch):
    code = """
import time
count = 0
for _ in range(300):
    try:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        count += 1
    except OSError:
        break
say(count)
"""
    (count,), _ = run(scratch, code, with_limits(pids=32))
    assert count < 32


@pytest.mark.skipif(not LAYERS.active or ("pids cgroup" in WHY and "bubblewrap" in WHY),
                    reason="needs a cgroup or bubblewrap's pid namespace to find detached processes")
def test_nothing_survives_not_even_a_detached_daemon(scratch):
    name = f"rtd{os.getpid() % 100000}"
    code = f"""
import ctypes, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        ctypes.CDLL(None).prctl(15, {name.encode()!r}, 0, 0, 0)
        time.sleep(60)
    os._exit(0)
time.sleep(0.5)
say("daemon started")
"""
    read_end, write_end = os.pipe()
    box = sandbox.Box(scratch)
    try:  # the daemon holds the pipe: read its first line only, then kill, as the grader does
        process = box.popen([sys.executable, "-S", "-c", "import json, os, sys\n"
                             "def say(value):\n    os.write(int(sys.argv[1]), (json.dumps(value) + '\\n').encode())\n"
                             + code + "time.sleep(60)\n", str(write_end)],
                            env={"PATH": "/usr/bin:/bin"}, pass_fds=(write_end,))
        os.close(write_end)
        assert os.read(read_end, 1 << 10) == b'"daemon started"\n'
        assert [p for p in os.listdir("/proc") if p.isdigit() and _comm(p) == name], "the daemon should run"
        started = time.monotonic()
        box.kill(process)
    finally:
        box.close()
        os.close(read_end)
    survivors = [p for p in os.listdir("/proc") if p.isdigit() and _comm(p) == name and processes.alive(int(p))]
    assert survivors == [] and time.monotonic() - started < 10  # a zombie is dead, waiting for init


def _comm(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@needs("bubblewrap")
def test_a_child_outlives_the_thread_that_started_it(scratch):
    """bwrap --die-with-parent watches the thread that forked it: the Box forks from its own."""
    box, started = sandbox.Box(scratch), []
    thread = threading.Thread(target=lambda: started.append(box.popen(
        [sys.executable, "-S", "-c", "import time; time.sleep(30)"], env={"PATH": "/usr/bin:/bin"})))
    thread.start()
    thread.join()
    time.sleep(0.5)
    try:
        assert started[0].poll() is None
    finally:
        box.kill(started[0])
        box.close()


@needs("sandbox user")
def test_concurrent_children_get_different_users(scratch):
    first, second = sandbox.Box(scratch), sandbox.Box(scratch)
    try:
        assert first.user != second.user
    finally:
        first.close()
        second.close()


# -- grading under each configuration -------------------------------------------------------

CONFIGURATIONS = {  # AUTOGRADER_SANDBOX -> the machine it stands for
    "off": "the trust boundary alone",
    "auto": "every layer this machine has",
    "auto -user -cgroup": "a user without root: bubblewrap, seccomp, rlimits",
    "auto -namespaces": "no namespaces (as in most containers): Landlock, seccomp, rlimits (uid, cgroup as root)",
}
_GRADE = ("import json, sys\nfrom autograder.grading import grade\n"
          "print(json.dumps(grade(sys.argv[1], seed=1).to_json()))")


@pytest.fixture(scope="module")
def graded_configurations(tmp_path_factory):
    """Lesson 01 of the reference (1.1 reads a file the grader writes) under each configuration,
    each in its own grader process, all at once: so without the wall-clock speed ratio (no
    reference solutions, as in a student's copy), which four graders on two cores would upset."""
    folder = tmp_path_factory.mktemp("submission")
    no_solutions = tmp_path_factory.mktemp("no-solutions")
    for name in ("l00_exports.py", "l01_matmul.py"):
        (folder / name).write_text((ROOT / "solutions" / name).read_text())
    running = {mode: subprocess.Popen([sys.executable, "-c", _GRADE, str(folder / "l01_matmul.py")],
                                      env={**os.environ, sandbox.MODE_ENV: mode,
                                           "AUTOGRADER_SOLUTIONS": str(no_solutions)}, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for mode in CONFIGURATIONS}
    return {mode: process.communicate(timeout=600) + (process.returncode,) for mode, process in running.items()}


@pytest.mark.parametrize("mode", CONFIGURATIONS)
def test_grading_works_with_any_set_of_layers(mode, graded_configurations):
    stdout, stderr, returncode = graded_configurations[mode]
    assert returncode == 0, stderr[-2000:]
    result = json.loads(stdout.strip().splitlines()[-1])
    failing = {t["id"]: t["message"] for t in result["tasks"] if t["status"] != "passed"}
    assert not failing and len(result["tasks"]) == 8, f"{CONFIGURATIONS[mode]}: {failing}"


def test_package_folders_another_environment_lends_are_readable_and_no_other_path_entry(tmp_path):
    """A venv that reaches an outer one's packages through a .pth (``venv_without_the_kit``, a
    layered environment) must let its children import them; a checkout on the path stays out."""
    lent, checkout = tmp_path / "outer" / "site-packages", tmp_path / "kit"
    lent.mkdir(parents=True)
    checkout.mkdir()
    code = "from autograder.sandbox import filesystem; print('\\n'.join(filesystem.python_trees()))"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(lent), str(checkout)])}
    trees = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env=environment).stdout.split("\n")
    assert str(lent) in trees and str(checkout) not in trees
