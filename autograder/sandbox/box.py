"""One child inside the layers: a uid slot, a cgroup, the command line, and the end of it.

``Box(scratch)`` takes a free slot (a sandbox uid nobody else on the machine is using:
an ``flock`` in ``/run/autograder-sandbox``); ``popen`` makes the child's cgroups and
starts it; ``verdict`` turns its exit status into a reason a student can read; ``kill``
and ``close`` end it, everything it started, its cgroups and its hold on the slot.
"""
from __future__ import annotations

import fcntl
import itertools
import os
import queue
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path

from autograder.sandbox import filesystem, landlock, processes, seccomp
from autograder.sandbox.layers import MODE_ENV, Layers, SandboxError, detect, missing, size

STATE_DIR = Path("/run/autograder-sandbox")  # slot locks (root only)
REQUIRED_BUT = f"the sandbox is required ({MODE_ENV}=required), but "
_counter = itertools.count()


class _Spawner:
    """Every sandboxed child is forked from this one thread, which lives as long as the grader.

    NOTE: bwrap's ``--die-with-parent`` is PR_SET_PDEATHSIG, which fires when the *thread*
    that forked it ends, not the process: a child started from a pool's worker thread would
    be killed when that worker exits.
    """

    def __init__(self):
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, function):
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="autograder-sandbox-spawner",
                                                daemon=True)
                self._thread.start()
        result: Future = Future()
        self._requests.put((function, result))
        return result.result()

    def _serve(self) -> None:
        while True:
            function, result = self._requests.get()
            try:
                result.set_result(function())
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                result.set_exception(exc)


_spawner = _Spawner()


class Box:
    """One child's confinement; see the module docstring."""

    def __init__(self, scratch: str, layers: Layers | None = None):
        self.scratch = str(scratch)
        self.layers = layers or detect()
        self.user: tuple[str, int, int] | None = None
        self.cgroups: list[Path] = []
        self.tmp: str | None = None  # the child's own writable folder where it gets no private /tmp
        self._lock: int | None = None
        if self.layers.mode == "required" and missing(self.layers):
            raise SandboxError(REQUIRED_BUT + "; ".join(missing(self.layers)))
        if self.layers.users:
            self._take_slot()

    # -- starting --
    def popen(self, argv: list[str], *, env: dict[str, str], pass_fds: tuple[int, ...] = (),
              fork_server: bool = False) -> subprocess.Popen:
        """Start ``argv`` (``python ...``) inside the layers; its output goes nowhere.

        A ``fork_server`` (``forkserver``) never runs student code itself: its box lets it
        make user namespaces, and seccomp is loaded into each child it forks, not into it."""
        layers, limits = self.layers, self.layers.limits
        if fork_server and layers.active and not (layers.bwrap or layers.namespaces):
            raise SandboxError("a fork server needs namespaces for its children (bubblewrap or unshare(2))")
        common = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                      cwd=self.scratch, start_new_session=True)
        # it dies with the grader: a fork server on SIGTERM kills its children first
        parent_death = signal.SIGTERM if fork_server else signal.SIGKILL
        if not layers.active:
            preexec = processes.preexec(parent_death=parent_death)
            return _spawner.run(lambda: subprocess.Popen(argv, pass_fds=pass_fds, env=env, preexec_fn=preexec,
                                                         **common))
        opened: list[int] = []
        try:
            cgroup_fds = self._make_cgroups() if layers.cgroups else []
            opened += cgroup_fds
            view = None
            if self.user:  # the scratch folder: readable by the slot's group, never writable
                os.chown(self.scratch, 0, self.user[2])
                os.chmod(self.scratch, 0o750)
                if layers.views:
                    # the scratch folder too: it may lie in a folder closed to others (a TMPDIR of root's)
                    view = filesystem.View.for_user(self.visible(), without_bwrap=not layers.bwrap,
                                                    tmp_bytes=limits.tmp_bytes)
            env = {**env, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(filesystem.PACKAGE_DIR.parent)}
            private_tmp = bool(layers.bwrap or fork_server or (view and "/tmp" in dict(view.covers)))
            if private_tmp:
                env.update(HOME="/tmp", TMPDIR="/tmp")
            restrict = None
            if layers.landlock and not (layers.bwrap or fork_server):  # a warm child's is applied by its server
                if not private_tmp:
                    env.update(HOME=self._own_tmp(), TMPDIR=self._own_tmp())
                restrict = self.landlock_rules(["/tmp", "/var/tmp", "/dev/shm"] if private_tmp
                                               else [self._own_tmp()]).applier()
            load_seccomp = None
            if layers.bwrap:
                argv = self._bwrap_command(argv, env, opened, fork_server)
                pass_fds = (*pass_fds, *opened[len(cgroup_fds):])
                env = {"PATH": "/usr/bin:/bin"}
            elif layers.seccomp and not fork_server:  # loaded into each child it forks
                load_seccomp = seccomp.loader(layers.seccomp)
            preexec = processes.preexec(cgroup_fds, view, self.user[1:] if self.user else None,
                                        self._rlimits() if layers.rlimits else (), load_seccomp, restrict,
                                        drop_capabilities=layers.root and not self.user and not layers.bwrap,
                                        parent_death=parent_death)
            return _spawner.run(lambda: subprocess.Popen(argv, pass_fds=pass_fds, env=env,
                                                         preexec_fn=preexec, **common))
        finally:
            for descriptor in opened:
                os.close(descriptor)

    def visible(self) -> list[str]:
        """The host's folders the child sees besides the system: the interpreter's trees, the
        ``autograder`` package and its scratch folder, all read-only."""
        return [*filesystem.python_trees(), str(filesystem.PACKAGE_DIR), self.scratch]

    def landlock_rules(self, writable: list[str], readable: tuple[str, ...] = ()) -> landlock.Rules:
        """Landlock's allow-list for this box's child: read the system and ``visible``, write
        ``writable``; the package's parent may only be listed (Python's import system lists
        each folder on its path)."""
        parent = str(filesystem.PACKAGE_DIR.parent)
        listed = () if any(parent == t or parent.startswith(t + "/") for t in filesystem.python_trees()) else (parent,)
        return landlock.Rules(self.layers.landlock, (*landlock.SYSTEM_READ, *self.visible(), *readable),
                              tuple(writable), listed)

    def _own_tmp(self) -> str:
        if self.tmp is None:
            self.tmp = tempfile.mkdtemp(prefix="autograder-tmp-")
            if self.user:
                os.chown(self.tmp, self.user[1], self.user[2])
        return self.tmp

    def _bwrap_command(self, argv: list[str], env: dict[str, str], opened: list[int],
                       fork_server: bool = False) -> list[str]:
        layers, limits = self.layers, self.layers.limits
        flags = [flag for flag in filesystem.BWRAP_FLAGS if not (fork_server and flag == "--disable-userns")]
        command = [layers.bwrap, *flags]
        for path in ("/tmp", "/dev/shm"):  # first: the binds below may lie under /tmp (a checkout there)
            command += ["--size", str(limits.tmp_bytes), "--tmpfs", path]
        command += [*filesystem.system_binds(), *filesystem.binds(self.visible()), "--chdir", self.scratch]
        for name, value in env.items():
            command += ["--setenv", name, value]
        if layers.seccomp and not fork_server:
            opened.append(seccomp.memfd(layers.seccomp))
            command += ["--seccomp", str(opened[-1])]
        return [*command, "--", *argv]

    def _rlimits(self) -> list[tuple[int, int, int]]:
        """(resource, soft, hard); CPU's hard limit is a second later, so that SIGXCPU comes first."""
        limits = self.layers.limits
        chosen = [(resource.RLIMIT_CPU, limits.cpu_seconds), (resource.RLIMIT_FSIZE, limits.file_bytes),
                  (resource.RLIMIT_NOFILE, limits.open_files), (resource.RLIMIT_CORE, 0)]
        if self.user:
            chosen.append((resource.RLIMIT_NPROC, limits.pids))
        elif not self.layers.root:  # counted over all of this user's processes: add ours
            chosen.append((resource.RLIMIT_NPROC, len(processes.of_user(os.getuid())) + limits.pids))
        if not self.layers.cgroups:
            chosen.append((resource.RLIMIT_AS, limits.memory))
        cpu = resource.RLIMIT_CPU
        return [(which, min(value, processes.hard_limit(which)),
                 min(value + (which == cpu), processes.hard_limit(which))) for which, value in chosen]

    def _take_slot(self, wait: float = 300.0) -> None:
        STATE_DIR.mkdir(mode=0o700, exist_ok=True)
        deadline = time.monotonic() + wait
        while True:
            for user in self.layers.users:
                descriptor = os.open(STATE_DIR / f"{user[0]}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(descriptor)
                    continue
                self._lock, self.user = descriptor, user
                processes.kill_user(user[1])  # left by a grader that died without cleaning up
                return
            if time.monotonic() > deadline:
                raise SandboxError(f"all {len(self.layers.users)} sandbox users are busy")
            time.sleep(0.05)

    def _make_cgroups(self) -> list[int]:
        """The child's memory and pids groups; returns fds of their cgroup.procs, for preexec."""
        name = f"{os.getpid()}-{next(_counter)}"
        memory, pids = (parent / name for parent in self.layers.cgroups)
        for group in (memory, pids):
            group.mkdir()
            self.cgroups.append(group)
        limit = str(self.layers.limits.memory)
        (memory / "memory.limit_in_bytes").write_text(limit)
        if (memory / "memory.memsw.limit_in_bytes").exists():  # and no swap
            (memory / "memory.memsw.limit_in_bytes").write_text(limit)
        (pids / "pids.max").write_text(str(self.layers.limits.pids))
        return [os.open(group / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC) for group in (memory, pids)]

    # -- after --
    def verdict(self, returncode: int, *, oom_before: int = 0, wrapped: bool | None = None) -> str:
        """Why the child stopped, in words for the student; ``oom_before`` is ``oom_kills()``
        when it started, ``wrapped`` whether the code is bwrap's (default: bwrap is on)."""
        limits = self.layers.limits
        if self.oom_kills() > oom_before:
            return f"the process used more than {size(limits.memory)} of memory"
        number = -returncode if returncode < 0 else None
        wrapped = bool(self.layers.bwrap) if wrapped is None else wrapped
        if wrapped and 128 < returncode < 128 + 65:  # bwrap reports a signal as 128 + N
            number = returncode - 128
        if number is None:
            return f"the process exited with code {returncode}"
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        if name == "SIGXCPU":
            return f"the process used more than {limits.cpu_seconds} s of CPU time"
        if name == "SIGXFSZ":
            return f"the process wrote a file larger than {size(limits.file_bytes)}"
        if name == "SIGSEGV":
            return "the process crashed (segmentation fault, SIGSEGV)"
        return f"the process was killed by signal {name}"

    def reserve_memory(self) -> None:
        """Add what the box holds now (a fork server's torch) to its memory limit, so that the
        children it forks each get the whole limit on top of what they share with it."""
        if not self.cgroups:
            return
        try:
            used = int((self.cgroups[0] / "memory.usage_in_bytes").read_text())
            limit = str(self.layers.limits.memory + used)
            for name in ("memory.memsw.limit_in_bytes", "memory.limit_in_bytes"):  # memsw >= limit
                if (self.cgroups[0] / name).exists():
                    (self.cgroups[0] / name).write_text(limit)
        except (OSError, ValueError):
            pass

    def oom_kills(self) -> int:
        if not self.cgroups:
            return 0
        try:
            text = (self.cgroups[0] / "memory.oom_control").read_text()
        except OSError:
            return 0
        match = re.search(r"^oom_kill (\d+)", text, re.MULTILINE)
        return int(match[1]) if match else 0

    def kill(self, process: subprocess.Popen) -> None:
        """Kill the child and everything it started, and reap it.

        With bubblewrap the sandbox's pid 1 goes first: the kernel then kills its whole pid
        namespace and bwrap's outer process reaps it and exits, so nothing is orphaned (an
        orphan is reaped by the machine's init, late on these VMs, and counts against the
        slot's process limit until then)."""
        if self.layers.bwrap and process.poll() is None:
            for pid in processes.children(process.pid):
                processes.send(pid)
            try:
                process.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                pass
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        process.wait()

    def close(self) -> None:
        """Kill whatever is left in the child's cgroups, remove them, free the slot."""
        for group in self.cgroups:
            for _ in range(200):
                processes.kill_cgroup(group)
                try:
                    group.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # a process still exiting
                    time.sleep(0.005)
        self.cgroups = []
        if self.user:
            processes.kill_user(self.user[1])
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        if self._lock is not None:
            os.close(self._lock)  # releases the flock
            self._lock = None
