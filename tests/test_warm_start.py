"""The warm start (``autograder.sandbox.forkserver``): children fork from a server per
submission that imported torch, and each one still starts clean and confined.

Each test drives ``runner.Child`` as the grader does: it defines ``probe()`` in the child
and calls it through the ``call`` scenario. A restart must give a fresh child (pid 1 of its
own namespace, an empty ``/tmp``, nothing left of the last child's processes) forked from
the same server; a new submission must get a server of its own; and when a server cannot
fork, children start cold and say why.
"""
from __future__ import annotations

import errno
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from builders import processes_named
from autograder import runner, sandbox, warm
from autograder.sandbox import forkserver

LAYERS = sandbox.detect()
WHY = dict(LAYERS.off)


def needs(*names: str):
    off = [f"{name}: {WHY.get(name, 'off')}" for name in names if name in WHY or not LAYERS.active]
    return pytest.mark.skipif(bool(off), reason="; ".join(off) or "on")


ROOT = Path(__file__).resolve().parents[1]
warm_only = pytest.mark.skipif(not LAYERS.warm, reason=f"warm start: {WHY.get('warm start', 'off')}")


@pytest.fixture
def child():
    made = runner.Child(pooled=False)
    yield made
    made.close()


def probe(child: runner.Child, body: str):
    """Define ``probe()`` with ``body`` in the child, call it, return what it returned."""
    source = "def probe():\n" + textwrap.indent(textwrap.dedent(body).strip() + "\n", "    ")
    reply = child.request({"op": "exec", "source": source, "filename": "probe.py",
                           "tasks": ["0.1"]}, 60)
    assert reply["ok"] is True, reply
    reply = child.request({"op": "scenario", "task": "0.1", "name": "call", "kwargs": {"name": "probe"}}, 60)
    assert reply["ok"] is True, reply
    assert reply["value"]["raised"] is None, reply["value"]["raised"]
    return reply["value"]["result"]


PLANT = """
import ctypes, os, time
open("/tmp/planted-{token}", "w").write("x")
open("/dev/shm/planted-{token}", "w").write("x")
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        ctypes.CDLL(None).prctl(15, b"rt{token}", 0, 0, 0)
        time.sleep(60)
    os._exit(0)
time.sleep(0.2)
return sorted(os.listdir("/tmp"))
"""

LOOK = """
import os
names = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        names.append(open(f"/proc/{{pid}}/comm").read().strip())
    except OSError:
        pass
return [os.getpid(), os.path.exists("/tmp/planted-{token}"), os.path.exists("/dev/shm/planted-{token}"),
        "rt{token}" in names]
"""


@warm_only
def test_a_restarted_child_is_forked_fresh_from_the_same_server(child):
    token = secrets.token_hex(3)
    child.start()
    server, first = child.warm.server, child.forked
    assert first is not None and not child.cold_reason
    assert f"planted-{token}" in probe(child, PLANT.format(token=token))
    assert processes_named(f"rt{token}"), "the planted daemon should be running until the restart"
    child.stop()
    child.start()
    assert child.warm.server is server and child.forked not in (None, first)
    pid, tmp_file, shm_file, daemon_seen = probe(child, LOOK.format(token=token))
    assert not tmp_file and not shm_file and not daemon_seen
    assert not processes_named(f"rt{token}"), "the last child's daemon outlived it"
    if LAYERS.active:
        assert pid == 1  # pid 1 of a namespace of its own


@warm_only
def test_a_forked_child_has_no_privileges_and_no_network(child):
    uid, groups, status, inet, unshare = probe(child, """
        import ctypes, os, socket
        status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
        try:
            socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            inet = "made"
        except OSError as exc:
            inet = type(exc).__name__
        libc = ctypes.CDLL(None, use_errno=True)
        unshare = ctypes.get_errno() if libc.unshare(0x10000000) else 0
        return [os.getuid(), os.getgroups(), [status["CapEff"].strip(), status["CapBnd"].strip(),
                status["NoNewPrivs"].strip(), status["Seccomp"].strip()], inet, unshare]
    """)
    assert child.forked is not None
    assert status[:2] == ["0000000000000000", "0000000000000000"]  # no capability, none to get back
    assert groups == []
    if LAYERS.seccomp:
        assert status[2:] == ["1", "2"] and inet == "PermissionError" and unshare == 1  # EPERM
    if LAYERS.users:
        assert uid in [user[1] for user in LAYERS.users]


def doctor_says() -> dict[str, list[str]]:
    """``autograder doctor``'s ``contained:`` line as {what: [layers]} ([] when NOT contained)."""
    done = subprocess.run([sys.executable, "-m", "autograder", "doctor"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("contained: ")]
    said = {}
    for part in line[len("contained: "):].split("; "):
        what, _, by = part.partition(" by ")
        said[what.split(" NOT ")[0]] = by.split(", ") if by else []
    assert set(said) == {"files", "network", "signals"}, line
    return said


@pytest.fixture
def planted():
    """Paths a test's child tries to write outside its sandbox: removed whatever happens."""
    token = secrets.token_hex(4)
    paths = [Path(f"/var/tmp/planted-{token}"), sandbox.PACKAGE_DIR / f"planted_{token}.py"]
    yield paths
    for path in paths:
        path.unlink(missing_ok=True)


@warm_only
def test_a_warm_child_is_contained_as_the_doctor_says(child, planted):
    """What ``autograder doctor`` promises, probed in a child forked from the warm server (the
    path every grade takes): the answer key and the checkout unreadable, nothing written
    outside its own /tmp, no IP socket, no signal to the grader. Where Landlock alone is
    said to contain files (no bubblewrap), a file every uid may read and no mount view hides
    is refused with Landlock's EACCES."""
    said = doctor_says()
    # the answer key and the checkout (a mount view may hide them too); /etc/passwd is
    # readable by any uid and in no view's way: only Landlock's allow-list keeps it out
    reads = [str(ROOT / "solutions" / "l01_matmul.py"), str(ROOT / "README.md"), "/etc/passwd"]
    files, inet, signal_grader = probe(child, f"""
        import os, socket
        files = []  # [path, what happened]: plain data crosses back, a dict does not
        for path in {reads!r}:
            try:
                open(path, "rb").read(1)
                files.append([path, "read"])
            except OSError as exc:
                files.append([path, exc.errno])
        for path in {[str(p) for p in planted]!r}:
            try:
                open(path, "w").close()
                files.append([path, "wrote"])
            except OSError as exc:
                files.append([path, exc.errno])
        try:
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()
            inet = "made"
        except OSError as exc:
            inet = exc.errno
        try:
            os.kill({os.getpid()}, 0)
            signalled = "signalled"
        except OSError as exc:
            signalled = exc.errno
        open("/tmp/own", "w").write("x")  # its own /tmp stays writable
        return [files, inet, signalled]
    """)
    assert child.forked is not None, child.cold_reason
    files = dict(files)
    if said["files"]:
        assert not [p for p, got in files.items() if got in ("read", "wrote")], (said, files)
        assert not any(path.exists() for path in planted), files
        if "bubblewrap" not in said["files"]:  # Landlock's own answer, not a missing path
            assert files["/etc/passwd"] == errno.EACCES, files
    else:
        assert LAYERS.mode != "required"
    if said["network"]:
        assert inet != "made", said
    if said["signals"]:
        assert signal_grader != "signalled", said


@warm_only
def test_a_forked_child_cannot_reach_its_server(child):
    """The server may be visible in /proc (bubblewrap's, if the child could not mount its own)
    but is not dumpable, and has no pid in the child's namespace: no memory, environment,
    descriptors or signals."""
    child.start()
    server = child.warm.server
    others, reached = probe(child, """
        import os, signal
        others, reached = 0, []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")
            if pid == os.readlink("/proc/self") or b"bwrap" in argv[0] or b"forkserver" not in b" ".join(argv):
                continue  # itself, and bubblewrap's init (as in a cold start)
            others += 1
            for name in ("mem", "environ", "maps", "fd"):
                try:
                    if name == "fd":
                        os.listdir(f"/proc/{pid}/fd")
                    else:
                        open(f"/proc/{pid}/{name}", "rb").read(1)
                    reached.append(name)
                except OSError:
                    pass
            try:
                os.kill(int(pid), signal.SIGKILL)  # a number in another namespace: ESRCH, or the child itself
            except OSError:
                pass
        return [others, reached]
    """)
    assert others <= 1 and reached == []
    assert server.alive() and probe(child, "return 5") == 5 and child.warm.server is server


@warm_only
@pytest.mark.parametrize("body, verdict", [
    ("import ctypes\nctypes.string_at(0)", "segmentation fault"),
    ("import os\nos._exit(3)", "exited with code 3"),
])
def test_a_forked_child_ends_with_a_verdict(child, body, verdict):
    with pytest.raises(runner.ChildFailure, match=verdict):
        probe(child, body)
    assert child.forked is None
    assert probe(child, "return 7") == 7  # and the next one is forked from the same server


@warm_only
@needs("memory cgroup")
def test_the_memory_limit_is_the_childs_own(child):
    """The server's torch does not count: its share is added to the box's limit, and a child
    that goes over the limit is named for it."""
    child.start()
    group = child.warm.server.box.cgroups[0]
    assert int((group / "memory.limit_in_bytes").read_text()) > LAYERS.limits.memory
    with pytest.raises(runner.ChildFailure, match="more than 2 GiB of memory"):
        probe(child, "return len(bytearray(3 << 30))")
    assert child.warm.server.alive()


@warm_only
def test_each_submission_gets_a_server_of_its_own():
    first, second = runner.Child(pooled=False), runner.Child(pooled=False)
    try:
        first.start()
        second.start()
        assert first.warm is not second.warm and first.scratch != second.scratch
        token = secrets.token_hex(3)
        probe(first, PLANT.format(token=token))
        _, tmp_file, shm_file, daemon_seen = probe(second, LOOK.format(token=token))
        assert not tmp_file and not shm_file and not daemon_seen
        if LAYERS.users:
            uids = [probe(c, "import os\nreturn os.getuid()") for c in (first, second)]
            assert uids[0] != uids[1]
    finally:
        first.close()
        second.close()


@warm_only
def test_a_spare_server_is_ready_for_the_next_submission(monkeypatch):
    monkeypatch.setenv(warm.SPARES_ENV, "1")
    warm.pool.close()
    first = runner.Child()
    try:
        first.start()
        assert len(warm.pool.spares) == 1
        spare = warm.pool.spares[0]
        spare.server.wait_ready(120)
        second = runner.Child()
        second.start()
        try:
            assert second.warm is spare and second.forked is not None
            assert len(warm.pool.spares) == 1 and warm.pool.spares[0] is not spare  # refilled
        finally:
            second.close()
    finally:
        first.close()
        warm.pool.close()


def test_spares_are_kept_from_the_second_submission_on(monkeypatch):
    monkeypatch.delenv(warm.SPARES_ENV, raising=False)
    pool = warm._Pool()
    assert pool.wanted() == 0
    pool.taken = 2
    assert pool.wanted() == 1
    monkeypatch.setenv(warm.SPARES_ENV, "0")
    assert pool.wanted() == 0


@warm_only
def test_a_dead_server_is_replaced_and_the_scratch_folder_kept(child):
    child.start()
    scratch, server = child.scratch, child.warm.server
    Path(scratch, "data.txt").write_text("for the checks")
    server.box.kill(server.process)  # as if the kernel had killed it
    child.stop()
    assert probe(child, f"return open({str(Path(scratch, 'data.txt'))!r}).read()") == "for the checks"
    assert child.warm.server is not server and child.forked is not None and child.scratch == scratch


@warm_only
def test_a_server_that_cannot_fork_means_cold_starts_and_says_why(child, monkeypatch):
    monkeypatch.setattr(warm, "broken", "")

    def refuse(*args, **kwargs):
        raise forkserver.ForkServerError("the warm process could not fork: unshare failed")

    monkeypatch.setattr(forkserver.ForkServer, "fork", refuse)
    assert probe(child, "return 5") == 5
    assert child.forked is None and child.process is not None
    assert "unshare failed" in child.cold_reason and "unshare failed" in warm.broken


def test_without_the_warm_start_each_child_starts_cold(child, monkeypatch):
    monkeypatch.setenv(sandbox.MODE_ENV, os.environ.get(sandbox.MODE_ENV, "auto") + " -warm")
    assert not sandbox.detect().warm
    assert "warm start: off (AUTOGRADER_SANDBOX has -warm" in " ".join(sandbox.detect().describe())
    assert probe(child, "return 5") == 5
    assert child.forked is None and child.process is not None


def test_with_the_sandbox_off_children_still_fork(child, monkeypatch):
    monkeypatch.setenv(sandbox.MODE_ENV, "off")
    assert probe(child, "import os\nreturn os.getpid() != 1") is True  # no namespaces
    assert child.forked is not None
    child.stop()
    assert probe(child, "return 5") == 5 and child.forked is not None


@warm_only
def test_a_server_that_fails_after_forking_is_replaced_not_given_up(child, monkeypatch):
    """A submission can wear out its own box; that says nothing of the machine."""
    monkeypatch.setattr(warm, "broken", "")
    child.start()
    first, scratch = child.warm, child.scratch
    real_fork = forkserver.ForkServer.fork

    def fail_on_the_first(self, *args, **kwargs):
        if self is first.server:
            raise forkserver.ForkServerError("the warm process could not fork: out of processes")
        return real_fork(self, *args, **kwargs)

    monkeypatch.setattr(forkserver.ForkServer, "fork", fail_on_the_first)
    child.stop()
    assert probe(child, "return 5") == 5
    assert child.forked is not None and child.warm is not first and child.scratch == scratch
    assert warm.broken == "" and "out of processes" in child.cold_reason
    assert first.server is None  # closed, box and all


@warm_only
def test_prestarted_servers_serve_the_next_children(monkeypatch):
    """``autograder check`` starts the servers for the submission and the reference before it
    imports torch itself; the children then take them, whichever asks first."""
    monkeypatch.setenv(warm.SPARES_ENV, "0")
    warm.pool.close()
    children = [runner.Child(pooled=False), runner.Child()]
    try:
        warm.prestart(2)
        spares = list(warm.pool.spares)
        assert len(spares) == 2
        for made in children:
            made.start()
        assert {id(made.warm) for made in children} == {id(spare) for spare in spares}
        assert all(made.forked is not None for made in children)
        assert warm.pool.spares == []  # AUTOGRADER_SPARES=0: none made to replace them
    finally:
        for made in children:
            made.close()
        warm.pool.close()


@warm_only
def test_a_forked_child_sees_the_command_line_of_a_cold_one(child):
    argv = probe(child, "import sys\nreturn sys.argv")
    assert child.forked is not None
    assert argv[0].endswith("child.py") and len(argv) == 3 and all(a.isdigit() for a in argv[1:])


def _two_submissions_in_turn(monkeypatch, reuse: str, body: str = "return 1"):
    """Two pooled children one after the other, as a class run's worker grades them."""
    monkeypatch.setenv(warm.SPARES_ENV, "0")
    monkeypatch.setenv(warm.REUSE_ENV, reuse)
    warm.pool.close()
    first = runner.Child()
    try:
        first.start()
        server, scratch = first.warm.server, first.scratch
        Path(scratch, "data.txt").write_text("the first submission's inputs")
        probe(first, body)
    finally:
        first.close()
    second = runner.Child()
    try:
        second.start()
        return server, scratch, second, os.listdir(second.scratch)
    except BaseException:
        second.close()
        raise


def test_the_next_submission_forks_from_the_same_server_its_scratch_emptied(monkeypatch):
    monkeypatch.setenv(sandbox.MODE_ENV, "off")  # warm start on wherever this runs
    server, scratch, second, listing = _two_submissions_in_turn(monkeypatch, "1")
    try:
        assert second.warm.server is server and second.scratch == scratch and second.warm.served == 1
        assert listing == []
        assert probe(second, "return 7") == 7
    finally:
        second.close()
        warm.pool.close()
    server, scratch, second, _ = _two_submissions_in_turn(monkeypatch, "0")
    try:
        assert second.warm.server is not server and not server.alive()
    finally:
        second.close()
        warm.pool.close()


@warm_only
def test_nothing_of_a_submission_reaches_the_next_on_a_reused_server(monkeypatch):
    token = secrets.token_hex(3)
    server, _, second, _ = _two_submissions_in_turn(monkeypatch, "1", PLANT.format(token=token))
    try:
        assert second.warm.server is server
        pid, tmp_file, shm_file, daemon_seen = probe(second, LOOK.format(token=token))
        assert not tmp_file and not shm_file and not daemon_seen
        assert not processes_named(f"rt{token}")
    finally:
        second.close()
        warm.pool.close()
