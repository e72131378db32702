"""What the child sees: bubblewrap's read-only view, and the root-made view behind it.

bubblewrap builds the child's whole filesystem: ``/usr`` (and the ``/bin``, ``/lib``
links), the dynamic linker's cache, the interpreter's trees, the ``autograder`` package
and the scratch folder, all read-only, plus a size-capped ``/tmp`` and ``/dev/shm``.

bubblewrap runs as the sandbox uid, so those sources must be reachable by it. A Python
under ``/root`` (mode 0700, as pyenv's here) is not. ``View`` fixes that without changing
the host: just before the uid is dropped, the child (still root) makes a private mount
namespace, covers ``/root`` with an empty tmpfs and binds the interpreter's tree back,
read-only. Without bubblewrap the same ``View`` also hides the grader's checkout (only the
package is bound back) and gives the child private, size-capped ``/tmp``, ``/var/tmp`` and
``/dev/shm``.
"""
from __future__ import annotations

import ctypes
import functools
import os
import site
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # .../autograder: all the child imports
BWRAP_FLAGS = ("--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
               "--new-session", "--cap-drop", "ALL", "--clearenv", "--proc", "/proc", "--dev", "/dev")
_CLONE_NEWNS = 0x20000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_SLAVE = 1, 2, 4, 32, 4096, 0x4000, 1 << 19
_SMALL_COVER = "mode=0755,size=1m"
_KEPT_FLAGS = os.ST_NOSUID | os.ST_NODEV | os.ST_NOEXEC | os.ST_NOATIME | os.ST_NODIRATIME | os.ST_RELATIME


def system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d"):
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def binds(paths, flag: str = "--ro-bind") -> list[str]:
    return [arg for path in paths for arg in (flag, path, path)]


_PACKAGE_FOLDERS = ("site-packages", "dist-packages")


@functools.lru_cache(maxsize=None)
def _python_trees() -> tuple[str, ...]:
    executable = Path(sys.executable)
    # package folders a .pth file put on the path (one environment layered on another's packages)
    layered = [entry for entry in sys.path if os.path.basename(entry.rstrip(os.sep)) in _PACKAGE_FOLDERS]
    candidates = {sys.base_prefix, sys.prefix, sys.base_exec_prefix, sys.exec_prefix,
                  str(executable.parent), str(executable.resolve().parent), *site.getsitepackages(), *layered}
    user_site = site.getusersitepackages() if site.ENABLE_USER_SITE else ""
    if user_site and user_site in sys.path:
        candidates.add(user_site)
    kept: list[str] = []
    for path in sorted(p for p in map(os.path.realpath, candidates) if os.path.isdir(p)):
        inside = any(path == k or path.startswith(k + os.sep) for k in kept)  # sorted: parents first
        if not inside and path != "/usr" and not path.startswith("/usr/"):  # /usr is bound anyway
            kept.append(path)
    return tuple(kept)


def python_trees() -> list[str]:
    """The folders the grader's interpreter and its packages live in, outside /usr."""
    return list(_python_trees())


def closed_to_others(path: str) -> str | None:
    """The first directory on the way to ``path`` that other users cannot enter."""
    current = Path("/")
    for part in Path(path).parts[1:]:
        current = current / part
        try:
            if not os.stat(current).st_mode & stat.S_IXOTH:
                return str(current)
        except OSError:
            return None
    return None


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


@dataclass(frozen=True)
class View:
    """A private mount namespace made as root before the uid is dropped: tmpfs ``covers``
    (path, mount options) over parts of the host, and ``binds`` put back read-only under them."""
    covers: tuple[tuple[str, str], ...]
    binds: tuple[str, ...]

    @classmethod
    def for_user(cls, needed: list[str], *, without_bwrap: bool, tmp_bytes: int) -> "View | None":
        """Make ``needed`` reachable by a sandbox uid; ``without_bwrap`` also hide the grader's
        checkout, /root and /home, and give private, size-capped /tmp, /var/tmp and /dev/shm.
        ``needed`` paths are put back (read-only) where a cover hides them."""
        # a folder on the way that others cannot enter; not the path itself (the scratch folder
        # is its group's): a cover there would hide it, its bind back carrying the cover along
        covers = {c: _SMALL_COVER for p in needed if (c := closed_to_others(p)) and c != p}
        if without_bwrap:
            checkout = str(PACKAGE_DIR.parent)
            if not any(_under(checkout, tree) for tree in python_trees()):  # not site-packages
                covers[checkout] = _SMALL_COVER
            for path in ("/root", "/home"):
                covers.setdefault(path, _SMALL_COVER)
            for path in ("/tmp", "/var/tmp", "/dev/shm"):
                covers[path] = f"mode=1777,size={tmp_bytes}"
        # a cover under another one (a checkout under /tmp) is hidden by it already: mounting
        # it would fail, its path no longer existing once the outer tmpfs is on
        covers = {c: o for c, o in covers.items() if not any(c != d and _under(c, d) for d in covers)}
        kept = [p for p in needed if any(_under(p, c) for c in covers)]
        return cls(tuple(sorted(covers.items())), tuple(kept)) if covers else None

    def apply(self) -> None:
        """In the forked child, as root: make the namespace (nothing leaks to the host's)."""
        libc = ctypes.CDLL(None, use_errno=True)
        _check(libc, libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        _check(libc, libc.mount(b"none", b"/", None, _MS_REC | _MS_SLAVE, None), "mount --make-rslave /")
        self.mount()

    def mount(self) -> None:
        """The covers and the binds back, in this process's own mount namespace (``apply``'s,
        or a warm child's, made with its user namespace)."""
        libc = ctypes.CDLL(None, use_errno=True)
        handles = [os.open(path, os.O_PATH | os.O_CLOEXEC) for path in self.binds]  # before covering
        for path, options in self.covers:
            _check(libc, libc.mount(b"tmpfs", path.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, options.encode()),
                   f"tmpfs on {path}")
        for handle, path in zip(handles, self.binds):
            if stat.S_ISDIR(os.fstat(handle).st_mode):
                os.makedirs(path, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
            source = f"/proc/self/fd/{handle}".encode()
            _check(libc, libc.mount(source, path.encode(), None, _MS_BIND | _MS_REC, None), f"bind {path}")
            # keep the flags the mount has: in a user namespace they are locked (nosuid, nodev...),
            # and a remount that drops them fails
            flags = os.statvfs(path).f_flag
            if not flags & os.ST_RDONLY:
                _check(libc, libc.mount(None, path.encode(), None,
                                        _MS_BIND | _MS_REMOUNT | _MS_RDONLY | (flags & _KEPT_FLAGS), None),
                       f"read-only {path}")
            os.close(handle)


def _check(libc, result: int, what: str) -> None:
    if result:
        raise OSError(ctypes.get_errno(), f"{what} failed")


@functools.lru_cache(maxsize=None)
def views_work() -> bool:
    """Whether this process may make a private mount namespace (root with CAP_SYS_ADMIN;
    not in a default container)."""
    try:
        return subprocess.run(["/bin/true"], preexec_fn=View((), ()).apply, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
