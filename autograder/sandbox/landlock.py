"""Landlock: an allow-list the child's kernel enforces, with no setup and no privilege.

A process restricts itself (``landlock_restrict_self``), and the rules hold for it and
everything it starts, root included:

- **files**: read (and execute) only the folders listed, write only the ones listed; a path
  reached another way (``/proc/<pid>/cwd/...``, a symlink, ``..``) is checked where the
  file really is;
- **TCP** (ABI 4): no ``bind`` and no ``connect`` at all (UDP is not covered: seccomp or a
  network namespace must stop it);
- **scope** (ABI 6): no signal to a process outside the domain (the grader, a warm server,
  another child), no connection to an abstract UNIX socket made outside it.

The rules are prepared in the grader (``Rules``) and applied in the child between fork and
exec (``Rules.applier``), or in a warm child after its mounts: a rule names an inode, so a
private ``/tmp`` must be mounted before its rule is made. Syscalls through ctypes; libc is
loaded before the fork, never in the forked child.
"""
from __future__ import annotations

import ctypes
import functools
import os
import platform
import stat
from dataclasses import dataclass

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same on every architecture
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR, MAKE_REG = 1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 8
MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, 3, 5
BIND_TCP, CONNECT_TCP = 1, 2  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2  # ABI 6

_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # all a rule on a file may hold
READ = EXECUTE | READ_FILE | READ_DIR
WRITE = (READ | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | MAKE_SYM | MAKE_FIFO
         | MAKE_SOCK | REFER | TRUNCATE)
DEVICE = READ_FILE | WRITE_FILE | TRUNCATE | IOCTL_DEV

# What Python and torch read besides the interpreter's trees: the system, the dynamic
# linker's configuration, the CPU's description (torch's cpuinfo), time zones, and the
# process's own /proc entry (opened by the process that restricts itself, so its own pid;
# another process's, the grader's included, stays closed).
SYSTEM_READ = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", "/etc/ld.so.cache",
               "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/sys/devices/system/cpu",
               "/proc/cpuinfo", "/proc/meminfo", "/proc/self")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@functools.lru_cache(maxsize=None)
def abi() -> int | str:
    """Landlock's ABI version here (1-7...), or why there is none."""
    if platform.system() != "Linux":
        return "not Linux"
    libc = ctypes.CDLL(None, use_errno=True)
    version = libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    if version < 0:
        error = ctypes.get_errno()
        if error == 38:  # ENOSYS
            return "the kernel has no Landlock (Linux 5.13 or later, CONFIG_SECURITY_LANDLOCK)"
        if error == 95:  # EOPNOTSUPP
            return "Landlock is built in but off (add landlock to the lsm= boot parameter)"
        return f"Landlock cannot be used here ({os.strerror(error)})"
    return version


def handled_fs(version: int) -> int:
    rights = (1 << 13) - 1
    if version >= 2:
        rights |= REFER
    if version >= 3:
        rights |= TRUNCATE
    if version >= 5:
        rights |= IOCTL_DEV
    return rights


def covers(version: int) -> dict[str, bool]:
    """What Landlock holds at this ABI: files always, TCP from 4, signals from 6."""
    return {"files": version >= 1, "tcp": version >= 4, "signals": version >= 6}


@dataclass(frozen=True)
class Rules:
    """What the child may read and write; everything else (and TCP, and signals out) is denied."""
    version: int
    read: tuple[str, ...]
    write: tuple[str, ...] = ()
    listed: tuple[str, ...] = ()  # folders whose names may be listed, no file in them read


    def applier(self):
        """A function that restricts the calling process; for a forked child (no allocation of
        libraries in it). Raises OSError if the kernel refuses."""
        libc = ctypes.CDLL(None, use_errno=True)
        syscall, prctl = libc.syscall, libc.prctl
        fs = handled_fs(self.version)
        attribute = _RulesetAttr(fs, BIND_TCP | CONNECT_TCP if self.version >= 4 else 0,
                                 SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if self.version >= 6 else 0)
        size = ctypes.sizeof(_RulesetAttr) if self.version >= 6 else (16 if self.version >= 4 else 8)
        rules = ([(path, READ & fs) for path in self.read] + [(path, DEVICE & fs) for path in DEVICES]
                 + [(path, WRITE & fs) for path in self.write] + [(path, READ_DIR) for path in self.listed])
        beneath = _PathBeneathAttr()

        def apply(skip: tuple[str, ...] = ()) -> None:
            ruleset = syscall(_CREATE_RULESET, ctypes.byref(attribute), ctypes.c_size_t(size), ctypes.c_uint32(0))
            if ruleset < 0:
                raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
            try:
                for path, rights in rules:
                    if path in skip:
                        continue
                    try:
                        handle = os.open(path, os.O_PATH | os.O_CLOEXEC)
                    except OSError:
                        continue  # not on this machine (/lib32, /etc/localtime...)
                    try:
                        if not stat.S_ISDIR(os.fstat(handle).st_mode):
                            rights &= _FILE_RIGHTS
                        beneath.allowed_access, beneath.parent_fd = rights, handle
                        if syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(beneath), ctypes.c_uint32(0)):
                            raise OSError(ctypes.get_errno(), f"landlock_add_rule({path}) failed")
                    finally:
                        os.close(handle)
                if prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) or syscall(_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)):
                    raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
            finally:
                os.close(ruleset)
        return apply

    def to_json(self) -> dict:
        return {"version": self.version, "read": list(self.read), "write": list(self.write),
                "listed": list(self.listed)}

    @classmethod
    def from_json(cls, data: dict) -> "Rules":
        return cls(int(data["version"]), tuple(data["read"]), tuple(data["write"]), tuple(data["listed"]))
