r"""Warm servers: each submission's children fork from a process that imported torch once.

A ``Warm`` is a fork server (``sandbox.forkserver``) in a box of its own with its scratch
folder; it serves a submission, then (``pool.give_back``, its scratch folder emptied) the
next one the same process grades, up to ``REUSE_LIMIT``. The ``pool`` hands them out: a spare that is ready (or
already importing) when there is one, else a new one. From the second submission a
process grades on, one spare is kept starting in the background (``AUTOGRADER_SPARES``
sets how many; 0: none), and the command line ``prestart``\s the servers a grade will
need before the grader imports torch itself, so that the imports overlap: the
submission's, and the reference's only when a task is timed against it
(``reference.needed``). The grader process ``autograder check`` keeps
(``autograder.daemon``) keeps no spare: it grades one check at a time, each from the
server the last one gave back.

Nothing here imports torch: the command line uses it before torch is loaded.
"""
from __future__ import annotations

import atexit
import multiprocessing.util
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from autograder import sandbox
from autograder.sandbox import forkserver

_PACKAGE_PARENT = str(Path(__file__).resolve().parents[1])
START_TIMEOUT = 120.0  # importing torch on a busy machine
SPARES_ENV = "AUTOGRADER_SPARES"
REUSE_ENV = "AUTOGRADER_REUSE"  # "0": a server serves one submission only
REUSE_LIMIT = 50  # submissions one server serves in turn before it is replaced
# matplotlib.pyplot: course notebooks import it (about 3 s, each child again without this)
PRELOAD = ("torch", "autograder.child", "autograder.tracing", "matplotlib.pyplot")
broken = ""  # why warm servers failed to fork in this process, once a fresh one did
# what starting a server or a child can raise: each means "try another way", never a crash
START_ERRORS = (forkserver.ForkServerError, sandbox.SandboxError, OSError, subprocess.SubprocessError)


def child_env(scratch: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": scratch,
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "MPLBACKEND": "Agg",  # nothing is shown: no display backend to probe
           "PYTHONPATH": _PACKAGE_PARENT}
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # machine-specific BLAS fixes
        if name in os.environ:
            env[name] = os.environ[name]
    return env


class Warm:
    """A fork server (``sandbox.forkserver``) in its own box, with its scratch folder."""

    def __init__(self, scratch: str | None = None):
        self._scratch = None if scratch else tempfile.TemporaryDirectory(prefix="autograder-")
        self.scratch = scratch or self._scratch.name
        self.server: forkserver.ForkServer | None = None
        self.served = 0  # submissions served before the current one
        box = sandbox.Box(self.scratch)
        try:
            self.server = forkserver.ForkServer.launch(box, child_env(self.scratch), preload=PRELOAD,
                                                       target="autograder.child:main")
        except BaseException:
            box.close()
            self.close()
            raise

    def detach_scratch(self) -> tempfile.TemporaryDirectory | None:
        """Hand the scratch folder it made to the caller, who removes it (``close`` will not)."""
        scratch, self._scratch = self._scratch, None
        return scratch

    def close(self) -> None:
        if self.server:
            self.server.close()
            self.server = None
        if self._scratch:
            self._scratch.cleanup()
            self._scratch = None


class _Pool:
    """Warm servers made ahead of need (see the module docstring), and servers given back
    after a submission (``give_back``), which serve the next one this process grades."""

    def __init__(self):
        self.spares: list[Warm] = []
        self.taken = 0
        self.lock = threading.Lock()

    def wanted(self) -> int:
        configured = os.environ.get(SPARES_ENV, "")
        if configured.isdigit():
            return int(configured)
        return 1 if self.taken >= 2 else 0

    def take(self, pooled: bool) -> Warm:
        layers = sandbox.detect()
        with self.lock:
            self.taken += pooled
            stale = [w for w in self.spares if w.server is None or w.server.box.layers != layers]
            self.spares = [w for w in self.spares if w not in stale]
        for warm in stale:  # made under other settings (AUTOGRADER_SANDBOX changed since)
            warm.close()
        with self.lock:
            ready = [w for w in self.spares if w.server.is_ready()]
            spare = (ready or self.spares or [None])[0]
            if spare:
                self.spares.remove(spare)
        if spare is None or not spare.server.alive():
            if spare:
                spare.close()
            spare = Warm()
        if pooled:
            self.refill()
        return spare

    def give_back(self, warm: Warm) -> bool:
        """A server that served a submission serves the next one this process grades, with its
        scratch folder emptied: each child is still forked into namespaces, a ``/tmp`` and a
        ``/dev/shm`` of its own, and the scratch folder is read-only to children, so nothing a
        child did reaches the next submission. Not kept: a server that is dead, was made under
        other settings, or served ``REUSE_LIMIT`` submissions."""
        server = warm.server
        if (os.environ.get(REUSE_ENV, "1") == "0" or server is None or not server.alive()
                or warm._scratch is None or warm.served + 1 >= REUSE_LIMIT
                or server.box.layers != sandbox.detect()):
            return False
        try:
            _empty(Path(warm.scratch))
        except OSError:
            return False
        warm.served += 1
        with self.lock:
            self.spares.insert(0, warm)
        return True

    def refill(self, wanted: int | None = None) -> None:
        with self.lock:
            missing = (self.wanted() if wanted is None else wanted) - len(self.spares)
        for _ in range(max(0, missing)):
            try:
                warm = Warm()
            except START_ERRORS:
                return  # e.g. every slot busy: sessions start cold, as without a pool
            with self.lock:
                self.spares.append(warm)

    def close(self) -> None:
        with self.lock:
            spares, self.spares = self.spares, []
        for warm in spares:
            warm.close()


def _empty(folder: Path) -> None:
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


pool = _Pool()
atexit.register(pool.close)
multiprocessing.util.Finalize(None, pool.close, exitpriority=10)  # a pool worker skips atexit


def warm_start_works() -> bool:
    """Children fork from a warm server with the sandbox off, or where their namespaces can
    be made (bubblewrap, or ``unshare(2)``); else each child starts cold in a box of its own."""
    return sandbox.detect().warm


def prestart(count: int) -> None:
    """Have ``count`` servers importing torch now (a grade's child and the reference's),
    before this process imports torch itself; a failure here only means a cold start later."""
    if warm_start_works():
        try:
            pool.refill(count)
        except Exception:  # noqa: BLE001 - e.g. AUTOGRADER_SANDBOX=required and a layer off: said later
            pass
