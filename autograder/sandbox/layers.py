"""What this machine gives the child: each layer on, or off with the reason.

``detect`` reads ``AUTOGRADER_SANDBOX`` and ``AUTOGRADER_MEMORY`` on every call; the
probes behind it (a cgroup made and removed, bubblewrap run once, the seccomp program
built) run once per process.
"""
from __future__ import annotations

import functools
import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox import filesystem, landlock, processes, seccomp

MODE_ENV = "AUTOGRADER_SANDBOX"  # auto | off | required, then -bwrap, -user, -cgroup, -seccomp, -rlimits,
# -landlock, -namespaces (as if the kernel made none: no bubblewrap, mount view or warm start), -warm,
# -setup (as if scripts/setup-sandbox.sh had not run: no bubblewrap, no named users)
MEMORY_ENV = "AUTOGRADER_MEMORY"  # 2G, 1536M
USER_PREFIX = "autograder-sandbox"  # autograder-sandbox0, autograder-sandbox1, ...: one per slot
NUMERIC_UID = 2_000_000_000  # without those users, root drops to unused uids from here (no setup)
SLOTS = 16
CGROUP_ROOT = Path("/sys/fs/cgroup")
GiB, MiB = 1 << 30, 1 << 20
NAMES = ("memory cgroup", "pids cgroup", "sandbox user", "rlimits", "bubblewrap", "seccomp", "landlock",
         "namespaces")
CONTAINED = ("files", "network", "signals")  # what ``required`` insists on, whichever layers give it


class SandboxError(Exception):
    """The sandbox cannot start a child as configured (e.g. ``required`` and a layer is off)."""


@dataclass(frozen=True)
class Limits:
    memory: int = 2 * GiB
    pids: int = 64  # processes and threads, bubblewrap's two included
    cpu_seconds: int = 600  # over the child's life; each request also has the grader's wall clock
    file_bytes: int = 64 * MiB
    open_files: int = 256
    tmp_bytes: int = 64 * MiB  # the child's /tmp and /dev/shm, each


@dataclass(frozen=True)
class Layers:
    """What this machine gives the child; ``off`` says why each missing layer is missing."""
    mode: str
    root: bool
    limits: Limits
    cgroups: tuple[Path, Path] | None = None  # memory, pids: the parents of per-child groups
    users: tuple[tuple[str, int, int], ...] = ()  # (name, uid, gid), one per slot
    bwrap: str | None = None
    seccomp: bytes | None = None  # the BPF program
    rlimits: bool = False
    off: tuple[tuple[str, str], ...] = ()
    warm: bool = True  # children fork from a warm server (``forkserver``), else each starts cold
    landlock: int = 0  # Landlock's ABI version, 0: off
    views: bool = False  # root may make a private mount namespace (``filesystem.View``) for a child
    namespaces: bool = False  # user, pid, mount and ipc namespaces can be made (warm children's)

    @property
    def active(self) -> bool:
        return self.mode != "off"

    def describe(self) -> list[str]:
        """One line per layer: ``bubblewrap: on (...)`` or ``memory cgroup: off (not root)``."""
        why, limits = dict(self.off), self.limits

        def line(name: str, on: bool, what: str) -> str:
            return f"{name}: on ({what})" if on else f"{name}: off ({why.get(name, 'unavailable')})"

        rlimits = [f"CPU {limits.cpu_seconds} s", f"files up to {size(limits.file_bytes)}",
                   f"{limits.open_files} open files", "no core files"]
        if self.users or not self.root:
            rlimits.append(f"{limits.pids} processes")
        if not self.cgroups:
            rlimits.append(f"address space {size(limits.memory)}")
        users = f"{len(self.users)} slots, {self.users[0][0]}..; " if self.users else ""
        if self.users and self.users[0][0].startswith("#"):
            users = f"{len(self.users)} slots, unused uids {self.users[0][1]}..{self.users[-1][1]} (no setup); "
        scope = ["reads only the system, Python, the autograder package and the scratch folder",
                 "writes only a /tmp of its own"]
        if self.landlock >= 4:
            scope.append("no TCP bind or connect")
        if self.landlock >= 6:
            scope.append("signals only its own processes")
        contained = containment(self)
        return [
            f"sandbox: {self.mode} (set {MODE_ENV}=off|auto|required)",
            line("memory cgroup", bool(self.cgroups), f"{size(limits.memory)} per child"),
            line("pids cgroup", bool(self.cgroups), f"{limits.pids} processes and threads"),
            line("sandbox user", bool(self.users), users + "no supplementary groups"),
            line("rlimits", self.rlimits, ", ".join(rlimits)),
            line("bubblewrap", bool(self.bwrap), "no network; own pid, mount and ipc namespaces; sees only "
                 f"/usr, Python, the autograder package, the scratch folder, a {size(limits.tmp_bytes)} /tmp"),
            line("seccomp", self.seccomp is not None,
                 "no IP sockets, ptrace, mount, namespaces, bpf, io_uring, keyctl: EPERM"),
            line("landlock", bool(self.landlock), f"ABI {self.landlock}: " + ", ".join(scope)),
            line("namespaces", self.namespaces, "user, pid, mount and ipc namespaces made with unshare(2)"),
            line("warm start", self.warm, "children fork from a process per submission that imported torch"
                 + (" and each is pid 1 of its own user, pid, mount and ipc namespaces" if self.active else "")),
            "contained: " + "; ".join(f"{what} by {', '.join(by)}" if by else f"{what} NOT contained"
                                      for what, by in contained.items()),
        ]


def size(count: int) -> str:
    return f"{count / GiB:g} GiB" if count >= GiB else f"{count / MiB:g} MiB"


def detect() -> Layers:
    """The layers available here, under ``AUTOGRADER_SANDBOX``."""
    words = os.environ.get(MODE_ENV, "auto").replace(",", " ").split() or ["auto"]
    mode = words[0] if words[0] in ("auto", "off", "required") else "auto"
    dropped = {word[1:] for word in words if word.startswith("-")}
    limits = Limits(memory=_parse_size(os.environ.get(MEMORY_ENV)) or Limits.memory)
    root = os.geteuid() == 0
    if "namespaces" in dropped:
        dropped.add("bwrap")
    if mode == "off":
        off = tuple((name, f"{MODE_ENV}=off") for name in NAMES)
        return Layers("off", root, limits, off=off + _warm_off("warm" in dropped), warm="warm" not in dropped)
    off: dict[str, str] = {}

    def dropping(layer: str, *names: str) -> bool:
        if layer in dropped:
            off.update((name, f"{MODE_ENV} has -{layer}") for name in names)
        return layer in dropped

    cgroups = None if dropping("cgroup", "memory cgroup", "pids cgroup") else _cgroups()
    if isinstance(cgroups, str):
        off["memory cgroup"] = off["pids cgroup"] = cgroups
        cgroups = None
    views = root and "namespaces" not in dropped and filesystem.views_work()
    users = None if dropping("user", "sandbox user") else _slot_users(root, views, off, "setup" not in dropped)
    last = users[-1][1:] if users else None  # the slot taken last
    if "namespaces" in dropped:
        off["bubblewrap"] = off["namespaces"] = f"{MODE_ENV} has -namespaces"
        bwrap = None
    elif "setup" in dropped:
        off["bubblewrap"] = f"{MODE_ENV} has -setup: as if scripts/setup-sandbox.sh had not run"
        bwrap = None
    else:
        bwrap = None if dropping("bwrap", "bubblewrap") else _probe_bwrap(last)
    if bwrap and bwrap.startswith("off: "):
        off["bubblewrap"], bwrap = bwrap[5:], None
    namespaces = "namespaces" not in dropped and _probe_namespaces(last, views)
    if isinstance(namespaces, str):
        off["namespaces"], namespaces = namespaces, False
    version = 0 if dropping("landlock", "landlock") else landlock.abi()
    if isinstance(version, str):
        off["landlock"], version = version, 0
    program = None if dropping("seccomp", "seccomp") else seccomp.program()
    if isinstance(program, str):
        off["seccomp"], program = program, None
    rlimits = not dropping("rlimits", "rlimits")
    isolated = bool(bwrap) or namespaces
    warm = isolated and "warm" not in dropped
    return Layers(mode, root, limits, cgroups, tuple(users or ()), bwrap, program, rlimits,
                  tuple(off.items()) + _warm_off("warm" in dropped, isolated), warm, version, views, namespaces)


def _warm_off(dropped: bool, isolated: bool = True) -> tuple[tuple[str, str], ...]:
    if dropped:
        return (("warm start", f"{MODE_ENV} has -warm: each child imports torch itself"),)
    if not isolated:
        return (("warm start", "each child needs namespaces of its own, and neither bubblewrap nor "
                               "unshare(2) can make them here: each child imports torch itself"),)
    return ()


def containment(layers: Layers) -> dict[str, list[str]]:
    """For files, network and signals: the layers that contain the child (none: not contained).

    Files: bubblewrap's view, or Landlock. Network: bubblewrap's network namespace, or
    seccomp (no IP socket at all); Landlock alone stops TCP, not UDP. Signals: a pid
    namespace (bubblewrap's, a warm child's), or Landlock's scope (ABI 6)."""
    if not layers.active:
        return {what: [] for what in CONTAINED}
    return {
        "files": [name for name, on in (("bubblewrap", layers.bwrap), ("landlock", layers.landlock)) if on],
        "network": [name for name, on in (("bubblewrap", layers.bwrap), ("seccomp", layers.seccomp is not None))
                    if on],
        "signals": [name for name, on in (("bubblewrap", layers.bwrap), ("warm start", layers.warm),
                                          ("landlock", layers.landlock >= 6)) if on],
    }


def missing(layers: Layers) -> list[str]:
    """What ``required`` refuses: files, network or signals no layer contains, and no rlimits."""
    why = dict(layers.off)
    gaps = {"files": "bubblewrap, landlock", "network": "bubblewrap, seccomp",
            "signals": "bubblewrap, warm start, landlock"}
    found = []
    for what, by in containment(layers).items():
        if not by:
            reasons = "; ".join(f"{name}: {why.get(name, 'off')}" for name in gaps[what].split(", "))
            found.append(f"{what} are not contained ({reasons})" if what != "network"
                         else f"the network is not contained ({reasons})")
    if not layers.rlimits:
        found.append(f"rlimits ({why.get('rlimits', '')})")
    return found


def doctor_lines() -> list[str]:
    """For ``autograder doctor`` and report headers: one line per layer."""
    return detect().describe()


def _parse_size(text: str | None) -> int | None:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)i?B?\s*", text or "", re.IGNORECASE)
    if not match:
        return None
    return int(float(match[1]) * {"": 1, "K": 1 << 10, "M": MiB, "G": GiB}[match[2].upper()])


@functools.lru_cache(maxsize=None)
def _cgroups() -> tuple[Path, Path] | str:
    """The grader's own v1 memory and pids cgroups, each with an ``autograder`` group under it."""
    if os.geteuid() != 0:
        return "not root"
    own = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(","):
                own[controller] = path
    except OSError as exc:
        return f"cannot read /proc/self/cgroup: {exc}"
    found = []
    for controller, probe in (("memory", "memory.limit_in_bytes"), ("pids", "pids.max")):
        if controller not in own:
            return f"no cgroup v1 {controller} controller (cgroup v2 needs a delegated subtree)"
        parent = CGROUP_ROOT / controller / own[controller].lstrip("/") / "autograder"
        try:
            parent.mkdir(exist_ok=True)
            test = parent / f"probe-{os.getpid()}"
            test.mkdir(exist_ok=True)
            works = (test / probe).exists()
            test.rmdir()
        except OSError as exc:
            return f"cannot make a {controller} cgroup under {parent.parent}: {exc.strerror}"
        if not works:
            return f"{parent} has no {probe}"
        for stale in parent.glob("*-*"):  # left by a grader that was killed: empty, remove
            if stale.is_dir() and not Path(f"/proc/{stale.name.split('-')[0]}").exists():
                processes.kill_cgroup(stale)
                try:
                    stale.rmdir()
                except OSError:
                    pass
        found.append(parent)
    return found[0], found[1]


def _slot_users(root: bool, views: bool, off: dict[str, str], named: bool = True) -> list[tuple[str, int, int]] | None:
    if not root:
        off["sandbox user"] = "not root: the child runs as you"
        return None
    numbered = []
    for entry in pwd.getpwall():
        match = re.fullmatch(re.escape(USER_PREFIX) + r"(\d+)", entry.pw_name)
        if match and entry.pw_uid != 0 and named:
            numbered.append((int(match[1]), (entry.pw_name, entry.pw_uid, entry.pw_gid)))
    if not numbered:
        numbered = [(n, (f"#{uid}", uid, uid)) for n, uid in enumerate(range(NUMERIC_UID, NUMERIC_UID + SLOTS))
                    if _unused(uid)]
    if not numbered:
        off["sandbox user"] = f"no {USER_PREFIX}N users and no unused uid from {NUMERIC_UID}"
        return None
    closed = [c for c in map(filesystem.closed_to_others, filesystem.python_trees() + [str(filesystem.PACKAGE_DIR)]) if c]
    if closed and not views:
        off["sandbox user"] = (f"{closed[0]} is closed to other users, and no private mount namespace "
                               "can be made here to reach Python through it")
        return None
    return [user for _, user in sorted(numbered)]


def _unused(uid: int) -> bool:
    for lookup in (pwd.getpwuid, grp.getgrgid):
        try:
            lookup(uid)
            return False
        except KeyError:
            pass
    return True


_NAMESPACE_PROBE = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
uid, gid = os.getuid(), os.getgid()
if libc.unshare(0x10000000 | 0x20000000 | 0x20000 | 0x8000000):
    raise SystemExit("unshare: " + os.strerror(ctypes.get_errno()))
for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
    with open(f"/proc/self/{name}", "w") as file:
        file.write(text)
child = os.fork()
if child == 0:
    if libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 6, b"size=1m"):
        os._exit(3)
    os._exit(0 if os.getpid() == 1 else 4)
_, status = os.waitpid(child, 0)
raise SystemExit(os.waitstatus_to_exitcode(status))
"""


@functools.lru_cache(maxsize=None)
def _probe_namespaces(user: tuple[int, int] | None, views: bool) -> bool | str:
    """Whether a child's own user, pid, mount and ipc namespaces can be made with unshare(2),
    as the warm start makes them: True, or why not."""
    view = filesystem.View.for_user(filesystem.python_trees(), without_bwrap=False,
                                    tmp_bytes=Limits.tmp_bytes) if user and views else None
    try:
        done = subprocess.run([sys.executable, "-S", "-c", _NAMESPACE_PROBE], capture_output=True, timeout=30,
                              env={"PATH": "/usr/bin:/bin"}, preexec_fn=processes.preexec(view=view, user=user))
    except (OSError, subprocess.SubprocessError) as exc:
        return f"could not probe: {exc}"
    if done.returncode:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        return (f"unshare(2) cannot make them here ({message[-1] if message else done.returncode}); "
                "are unprivileged user namespaces disabled?")
    return True


@functools.lru_cache(maxsize=None)
def _probe_bwrap(user: tuple[int, int] | None) -> str:
    """bwrap's path, or ``off: <why>``: it is run once, the way a child will be."""
    path = shutil.which("bwrap", path="/usr/bin:/bin:/usr/local/bin")
    if not path:
        return "off: bwrap is not installed: run scripts/setup-sandbox.sh (Debian package bubblewrap)"
    trees = filesystem.python_trees()
    view = filesystem.View.for_user(trees + [str(filesystem.PACKAGE_DIR)], without_bwrap=False,
                                    tmp_bytes=Limits.tmp_bytes) if user else None
    command = [path, *filesystem.BWRAP_FLAGS, *filesystem.system_binds(), *filesystem.binds(trees),
               "--", sys.executable, "-S", "-c", "pass"]
    for _ in range(5):
        try:
            done = subprocess.run(command, env={"PATH": "/usr/bin:/bin"}, capture_output=True, timeout=30,
                                  preexec_fn=processes.preexec(view=view, user=user))
        except (OSError, subprocess.SubprocessError) as exc:
            return f"off: bwrap could not start: {exc}"
        # NOTE: killed by a signal is not a verdict on bwrap: the probe runs as a slot's uid
        # without holding the slot, and a grader taking that slot kills the uid's processes.
        if done.returncode >= 0:
            break
        time.sleep(0.2)
    if done.returncode:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        return f"off: bwrap fails here ({message[-1] if message else done.returncode}); are user namespaces disabled?"
    return path
