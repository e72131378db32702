"""The warm start: one process per submission imports torch once, and its children fork from it.

A ``ForkServer`` is ``python -m autograder.sandbox.forkserver`` started in a ``Box`` of its
own (its submission's uid slot, cgroups, rlimits and bubblewrap view). It imports torch and
the child's modules, says ``ready``, and then only forks: it never runs student code.
Each fork, in about 30 ms instead of a 2-3 s cold start:

1. the server forks F, which unshares a user, pid, mount and ipc namespace (bubblewrap's
   ``--disable-userns`` is left off for the server's box for this) and maps its own uid;
2. F forks G, pid 1 of the new pid namespace, and exits; G is re-parented to the server,
   a child subreaper, which reaps it and reports how it ended;
3. G mounts a fresh, size-capped ``/tmp`` and ``/dev/shm``, drops every capability, applies
   Landlock (its rules name that fresh ``/tmp``), loads seccomp (both kept out of the
   server's box so that step 1 can unshare and mount) and becomes the child.

Without bubblewrap the server's box is the uid slot, cgroups, rlimits and (as root) the
mount view; step 1 works wherever unprivileged user namespaces do, and Landlock keeps G
from the files, TCP and signals bubblewrap would have hidden.

So each child starts clean: nothing of an earlier child's files in ``/tmp``, none of its
processes (killing G, pid 1, kills its whole namespace) and the server itself out of reach
(it is not dumpable, and has no pid in G's namespace). Each submission has its own server
in its own box, so one submission never meets another's processes or files. With the
sandbox off there are no namespaces: G only starts a new session, and is killed by group.

The grader talks to the server over a ``SOCK_SEQPACKET`` socket: one JSON object per
message, the child's two pipe ends passed with ``SCM_RIGHTS``.
"""
from __future__ import annotations

import ctypes
import importlib
import json
import os
import random
import select
import signal
import socket
import subprocess
import sys
import time

from autograder.sandbox import filesystem, landlock, seccomp

_PR_SET_DUMPABLE, _PR_SET_CHILD_SUBREAPER, _PR_CAPBSET_DROP = 4, 36, 24
_CLONE_NEWNS, _CLONE_NEWIPC, _CLONE_NEWUSER, _CLONE_NEWPID = 0x20000, 0x8000000, 0x10000000, 0x20000000
_CAP_LAST = 63
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 2, 4, 8
MESSAGE_BYTES = 4096
FORK_FAILED = 70  # F's exit status when namespaces or mounts fail (before any student code)


class ForkServerError(Exception):
    """The server is gone, hung, or could not make a child."""


# -- grader side ------------------------------------------------------------------------

class ForkServer:
    """The grader's handle on one server: ``fork`` children, ``wait`` for and ``kill`` them."""

    def __init__(self, box, process, control: socket.socket, isolated: bool):
        self.box, self.process, self.control, self.isolated = box, process, control, isolated
        self.ready = False
        self.forks = 0  # children made
        self.start_seconds: float | None = None
        self._launched = time.monotonic()
        self._oom_before: dict[int, int] = {}

    @classmethod
    def launch(cls, box, env: dict[str, str], *, preload: tuple[str, ...], target: str) -> "ForkServer":
        """Start the server in ``box`` (a ``sandbox.Box``); it imports ``preload`` meanwhile."""
        layers = box.layers
        isolated = layers.active and bool(layers.bwrap or layers.namespaces)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        passed = [theirs.fileno()]
        bpf_fd = -1
        if isolated and layers.seccomp:
            bpf_fd = seccomp.memfd(layers.seccomp)
            os.set_inheritable(bpf_fd, True)
            passed.append(bpf_fd)
        # what the box binds under /tmp (the scratch folder, a checkout there) stays in each
        # child's fresh /tmp
        keep = [path for path in box.visible() if any(path.startswith(top + "/") for top in ("/tmp", "/dev/shm"))]
        config = {"control": theirs.fileno(), "bpf": bpf_fd, "tmp_bytes": layers.limits.tmp_bytes if isolated else 0,
                  "keep": keep, "target": target, "preload": list(preload),
                  "landlock": box.landlock_rules(["/tmp", "/dev/shm"], ["/proc"]).to_json()
                  if isolated and layers.landlock else None}
        argv = [sys.executable, "-m", "autograder.sandbox.forkserver", json.dumps(config)]
        try:
            process = box.popen(argv, env=env, pass_fds=tuple(passed), fork_server=True)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
            if bpf_fd >= 0:
                os.close(bpf_fd)
        return cls(box, process, ours, isolated)

    def wait_ready(self, timeout: float) -> None:
        if not self.ready:
            reply = self._receive(time.monotonic() + timeout)
            if reply.get("ready") is not True:
                raise ForkServerError(f"the warm process did not start: {reply.get('error', reply)}")
            self.ready = True
            self.start_seconds = time.monotonic() - self._launched
            self.box.reserve_memory()  # the server's own memory does not count against the child's

    def is_ready(self) -> bool:
        """Ready without waiting (a spare the pool may hand out)."""
        if not self.ready and self.alive():
            try:
                self.wait_ready(0.0)
            except (ForkServerError, TimeoutError):
                return False
        return self.ready and self.alive()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def fork(self, request_read: int, reply_write: int, timeout: float) -> int:
        """A new child reading requests from ``request_read``; returns its id for ``wait``/``kill``."""
        self.wait_ready(timeout)
        oom = self.box.oom_kills()
        reply = self._call({"op": "fork"}, timeout, fds=[request_read, reply_write])
        if not isinstance(reply.get("id"), int):
            raise ForkServerError(f"the warm process could not fork: {reply.get('error', reply)}")
        self._oom_before[reply["id"]] = oom
        self.forks += 1
        return reply["id"]

    def wait(self, child: int, timeout: float) -> int | None:
        """The child's return code (``-N``: killed by signal N) once it has ended, else None."""
        reply = self._call({"op": "wait", "id": child, "timeout": timeout}, timeout + 5.0)
        return reply.get("code")

    def kill(self, child: int) -> None:
        """Kill the child and everything it started."""
        self._call({"op": "kill", "id": child}, 10.0)
        self._oom_before.pop(child, None)

    def verdict(self, child: int, code: int) -> str:
        return self.box.verdict(code, oom_before=self._oom_before.get(child, 0), wrapped=False)

    def close(self) -> None:
        if self.process is not None:
            self.control.close()  # the server kills its children and exits (without bubblewrap
            try:                  # or a cgroup, nothing else would)
                self.process.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                pass
            self.box.kill(self.process)
            self.box.close()
            self.process = None

    def _call(self, message: dict, timeout: float, fds=()) -> dict:
        deadline = time.monotonic() + timeout
        try:
            _, writable, _ = select.select([], [self.control], [], timeout)
            if not writable:
                raise TimeoutError
            socket.send_fds(self.control, [json.dumps(message).encode()], list(fds))
            return self._receive(deadline)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ForkServerError(f"the warm process stopped answering ({type(exc).__name__}: {exc})") from None

    def _receive(self, deadline: float) -> dict:
        ready, _, _ = select.select([self.control], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise TimeoutError
        data = self.control.recv(MESSAGE_BYTES)
        if not data:
            raise ForkServerError("the warm process exited")
        reply = json.loads(data)
        if not isinstance(reply, dict):
            raise ForkServerError("the warm process sent a malformed reply")
        return reply


# -- server side (in the box) ------------------------------------------------------------

def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result:
        raise OSError(ctypes.get_errno(), f"{what} failed: {os.strerror(ctypes.get_errno())}")


def _return_code(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


class _Server:
    def __init__(self, control: socket.socket, bpf: bytes | None, tmp_bytes: int, keep: list[str], run,
                 rules: landlock.Rules | None = None):
        self.control, self.bpf, self.tmp_bytes, self.keep, self.run = control, bpf, tmp_bytes, keep, run
        self.restrict = rules.applier() if rules else None  # prepared here: G only calls it
        self.ended: dict[int, int] = {}  # child -> return code
        self.children: set[int] = set()

    def serve(self) -> None:
        self.control.send(json.dumps({"ready": True}).encode())
        while True:
            self._reap()
            if not select.select([self.control], [], [], 0.5)[0]:
                continue
            data, fds, _, _ = socket.recv_fds(self.control, MESSAGE_BYTES, 2)
            if not data:  # the grader closed the socket
                for child in list(self.children):
                    self.op_kill(id=child)
                return
            try:
                request = json.loads(data)
                reply = getattr(self, "op_" + request.pop("op"))(*fds, **request)
            except Exception as exc:  # noqa: BLE001 - said to the grader, which gives up on us
                reply = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            finally:
                for descriptor in fds:
                    os.close(descriptor)
            self.control.send(json.dumps(reply).encode())

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if not pid:
                return
            if pid in self.children:
                self.ended[pid] = _return_code(status)
                self.children.discard(pid)

    def op_fork(self, request_read: int, reply_write: int) -> dict:
        note_read, note_write = os.pipe()
        middle = os.fork()
        if middle == 0:  # F
            os.close(note_read)
            self._in_middle(request_read, reply_write, note_write)
        os.close(note_write)
        with os.fdopen(note_read, "rb") as note:  # EOF: F has exited and G is set up (or failed)
            said = note.read(MESSAGE_BYTES).decode(errors="replace").splitlines()
        os.waitpid(middle, 0)
        pids = [int(line[4:]) for line in said if line.startswith("pid ")]
        errors = [line for line in said if not line.startswith("pid ")]
        if pids:
            self.children.add(pids[0])
            if errors:
                self.op_kill(id=pids[0])
        if errors or not pids:
            return {"error": "; ".join(errors) or "the child could not be made"}
        return {"id": pids[0]}

    def stop(self, *_) -> None:
        """The grader died (its parent-death signal, SIGTERM): kill every child, then exit."""
        for child in list(self.children):
            try:
                self.op_kill(id=child)
            except OSError:
                pass
        os._exit(0)

    def _in_middle(self, request_read: int, reply_write: int, note_write: int) -> None:
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the server's handler is not the child's
            self.control.close()
            uid, gid = os.getuid(), os.getgid()
            libc = _libc()
            libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)  # else /proc/self/uid_map is root's, not ours
            if self.tmp_bytes:
                _check(libc.unshare(_CLONE_NEWUSER | _CLONE_NEWPID | _CLONE_NEWNS | _CLONE_NEWIPC), "unshare")
                for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
                    with open(f"/proc/self/{name}", "w") as file:
                        file.write(text)
            child = os.fork()
            if child == 0:  # G
                self._in_child(request_read, reply_write, note_write, libc)
            os.write(note_write, f"pid {child}\n".encode())
        except BaseException as exc:  # noqa: BLE001 - reported to the server, no student code ran
            _say_error(note_write, exc)
            os._exit(FORK_FAILED)
        os._exit(0)

    def _in_child(self, request_read: int, reply_write: int, note_write: int, libc) -> None:
        code = 0
        try:
            os.setsid()
            if self.tmp_bytes:
                cover = f"mode=1777,size={self.tmp_bytes}"
                filesystem.View((("/dev/shm", cover), ("/tmp", cover)), tuple(self.keep)).mount()
                # its own /proc: only its namespace's processes (the host's, without bubblewrap)
                own_proc = not libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None)
                _drop_capabilities(libc)
            if self.restrict:  # after the mounts: a rule names the fresh /tmp and /proc
                self.restrict(skip=() if self.tmp_bytes and own_proc else ("/proc",))
            if self.bpf:
                seccomp.loader(self.bpf)()
            os.close(note_write)
        except BaseException as exc:  # noqa: BLE001
            _say_error(note_write, exc)
            os._exit(FORK_FAILED)
        try:
            random.seed()  # a fresh process would not share the server's state
            module = sys.modules.get(self.run.__module__)  # and would see its own command line
            sys.argv = [getattr(module, "__file__", None) or "", str(request_read), str(reply_write)]
            self.run(request_read, reply_write)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        except BaseException:  # noqa: BLE001
            code = 1
        os._exit(code)

    def op_wait(self, *, id: int, timeout: float) -> dict:  # noqa: A002 - the protocol's word
        deadline = time.monotonic() + min(float(timeout), 30.0)
        while id not in self.ended:
            self._reap()
            if id in self.ended or id not in self.children or time.monotonic() > deadline:
                break
            time.sleep(0.005)
        return {"code": self.ended.pop(id, None)}

    def op_kill(self, *, id: int) -> dict:  # noqa: A002
        if id in self.children:
            try:
                if self.tmp_bytes:
                    os.kill(id, signal.SIGKILL)  # pid 1 of its namespace: everything in it dies too
                else:
                    os.killpg(id, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _, status = os.waitpid(id, 0)
            self.children.discard(id)
            self.ended[id] = _return_code(status)
        return {"code": self.ended.pop(id, None)}


def _say_error(descriptor: int, exc: BaseException) -> None:
    os.write(descriptor, f"{type(exc).__name__}: {exc}".replace("\n", " ").encode()[:500] + b"\n")


def _drop_capabilities(libc) -> None:
    """G has every capability in its own user namespace until here; the student gets none."""
    for number in range(_CAP_LAST + 1):
        if libc.prctl(_PR_CAPBSET_DROP, number, 0, 0, 0) and ctypes.get_errno() != 22:  # EINVAL: no such cap
            _check(1, f"dropping capability {number}")

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()  # _LINUX_CAPABILITY_VERSION_3
    _check(libc.capset(ctypes.byref(header), data), "capset")


def main(argv: list[str]) -> None:
    config = json.loads(argv[0])
    libc = _libc()
    libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)  # no /proc/<pid>/mem, environ or ptrace for same-uid peers
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    control = socket.socket(fileno=config["control"])
    bpf = None
    try:
        if config["bpf"] >= 0:
            with os.fdopen(config["bpf"], "rb") as file:
                bpf = file.read()
            if not bpf or len(bpf) % 8:
                raise ValueError(f"the seccomp program passed is {len(bpf)} bytes, not a BPF program")
        for name in config["preload"]:
            importlib.import_module(name)
        module, function = config["target"].split(":")
        run = getattr(importlib.import_module(module), function)
    except BaseException as exc:  # noqa: BLE001 - the grader reads why and starts children cold
        control.send(json.dumps({"ready": False, "error": f"{type(exc).__name__}: {exc}"[:500]}).encode())
        return
    rules = landlock.Rules.from_json(config["landlock"]) if config.get("landlock") else None
    server = _Server(control, bpf, config["tmp_bytes"], config["keep"], run, rules)
    signal.signal(signal.SIGTERM, server.stop)
    server.serve()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)  # the children are killed; tearing down an interpreter with torch takes a second


if __name__ == "__main__":
    main(sys.argv[1:])
