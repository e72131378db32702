"""The child's process: what runs between fork and exec, and how everything is killed after.

``preexec`` runs in the forked child, still as the grader's user, in this order: join the
cgroups (needs root), make the mount view (needs root), drop to the slot's uid with no
supplementary groups, ask for a signal when the grader dies (after the uid drop, which
clears that request), set the rlimits, apply Landlock, drop capabilities (a child left as
root), load seccomp (only without bubblewrap, which loads
it itself after its own setup). ``subprocess``'s ``user=`` cannot be used: it switches the
uid before ``preexec_fn`` runs, and joining a cgroup needs root.
"""
from __future__ import annotations

import ctypes
import os
import resource
import signal
import time
from pathlib import Path

_PR_SET_PDEATHSIG, _PR_CAPBSET_DROP, _CAP_LAST = 1, 24, 63


def preexec(cgroup_fds=(), view=None, user: tuple[int, int] | None = None, rlimits=(), seccomp=None,
            landlock=None, drop_capabilities: bool = False, parent_death: int = 0):
    """The function ``Popen(preexec_fn=...)`` runs; everything it needs is prepared before fork.
    ``drop_capabilities``: empty the bounding set, so that a child left as root execs with no
    capability at all. ``parent_death``: the signal the child gets when the grader's thread
    that started it ends (``PR_SET_PDEATHSIG``; it survives exec)."""
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl if drop_capabilities else None
    grader = os.getpid()

    def run() -> None:
        for descriptor in cgroup_fds:
            os.write(descriptor, str(os.getpid()).encode())
        if view:
            view.apply()
        if user:
            os.setgroups([])
            os.setgid(user[1])
            os.setuid(user[0])
        if parent_death:
            libc.prctl(_PR_SET_PDEATHSIG, parent_death, 0, 0, 0)
            if os.getppid() != grader:  # the grader died before the request was made
                os._exit(1)
        for which, soft, hard in rlimits:
            resource.setrlimit(which, (soft, hard))
        if landlock:
            landlock()
        if prctl:
            for number in range(_CAP_LAST + 1):
                if prctl(_PR_CAPBSET_DROP, number, 0, 0, 0) and ctypes.get_errno() != 22:  # EINVAL: no such cap
                    raise OSError(ctypes.get_errno(), f"could not drop capability {number}")
        if seccomp:
            seccomp()
    return run


def hard_limit(which: int) -> int:
    hard = resource.getrlimit(which)[1]
    return hard if hard != resource.RLIM_INFINITY else 1 << 62


def send(pid: int, number: int = signal.SIGKILL) -> None:
    try:
        os.kill(pid, number)
    except (ProcessLookupError, PermissionError):
        pass


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def alive(pid: int) -> bool:
    """Neither gone nor a zombie (a zombie is dead already; only its parent can reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def kill_cgroup(group: Path) -> None:
    """SIGKILL every live process in a v1 cgroup until none is left (it may fork meanwhile)."""
    for _ in range(100):
        try:
            pids = [pid for pid in map(int, (group / "cgroup.procs").read_text().split()) if alive(pid)]
        except OSError:
            return
        if not pids:
            return
        for pid in pids:
            send(pid)
        time.sleep(0.002)


def of_user(uid: int) -> list[int]:
    """Live processes whose owner is ``uid``."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid and alive(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def kill_user(uid: int) -> None:
    if uid == 0:
        return
    for _ in range(50):
        pids = of_user(uid)
        if not pids:
            return
        for pid in pids:
            send(pid)
        time.sleep(0.002)
