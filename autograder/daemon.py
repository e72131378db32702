"""The command line's warm grader: ``autograder check`` answered by a process that stays.

The first ``autograder check`` starts ``python -m autograder.daemon``, a grader process for
this user and this kit install, and sends it the check; later checks only send theirs. It
grades with ``grading.grade`` and keeps what the notebook's grader process keeps between
requests (``notebook.server``): torch and the checks imported, a child launched ahead that
never ran code, the reference's child. Each check still gets a fresh child, its own seed
and the same messages as ``autograder check --no-server``.

It listens on a unix socket in a folder only the user can open (mode 0700, checked), and
answers only peers of its own uid (``SO_PEERCRED``). Every request carries a key: the kit's
version, the interpreter, the grader's files (path, size and time of each), the solutions,
torch's and the environment that changes grading. A server whose key differs is stale: it
refuses, exits, and the client starts a fresh one, so an upgrade or an edited grader file
is never served by an old process. It exits after ``IDLE_SECONDS`` without a request.

Nothing here imports torch on the client's side.
"""
from __future__ import annotations

import atexit
import fcntl
import hashlib
import importlib.util
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import autograder

RUNTIME_ENV = "AUTOGRADER_RUNTIME_DIR"  # where sockets and state live (tests point it at a tmp folder)
SERVER_ENV = "AUTOGRADER_SERVER"  # "0": every check grades in its own process (as --no-server)
IDLE_ENV = "AUTOGRADER_SERVER_IDLE"  # seconds without a request before the server exits
IDLE_SECONDS = 15 * 60
CONNECT_TIMEOUT = 30.0  # the server binds its socket before importing anything heavy
REQUEST_SECONDS = 10.0  # for a client to send its request once connected
_PACKAGE = Path(autograder.__file__).resolve().parent
# what changes how a grade runs; terminal settings and the like do not restart the server
_ENV_PREFIXES = ("AUTOGRADER_", "PYTHON", "LD_", "OMP_", "MKL_", "OPENBLAS_", "TORCH_", "CUDA_")
_ENV_NAMES = ("PATH", "HOME", "TMPDIR", "MPLBACKEND", "XDG_CACHE_HOME", "VIRTUAL_ENV")
_NOT_GRADING = (RUNTIME_ENV, SERVER_ENV, IDLE_ENV)  # the server's own settings
STALE = "stale"


class Unavailable(Exception):
    """No server could be reached or started; the caller grades in its own process."""


class GradingFailed(Exception):
    """The server answered that grading itself failed (not the submission): the reason."""


# -- where and who ----------------------------------------------------------------------

def runtime_dir() -> Path:
    """A folder of this user's alone: ``AUTOGRADER_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/autograder``,
    else ``/tmp/autograder-<uid>``. Refused when someone else owns it or may enter it."""
    configured = os.environ.get(RUNTIME_ENV)
    if configured:
        folder = Path(configured)
    elif os.environ.get("XDG_RUNTIME_DIR"):
        folder = Path(os.environ["XDG_RUNTIME_DIR"]) / "autograder"
    else:
        folder = Path("/tmp") / f"autograder-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(folder)
    except OSError as exc:
        raise Unavailable(f"cannot make {folder}: {exc}") from None
    if not os.path.isdir(folder) or os.path.islink(folder) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise Unavailable(f"{folder} is not a private folder of this user (owner and mode 0700 needed)")
    return folder


def install_id() -> str:
    """One server per kit install: the package's folder names it."""
    return hashlib.sha256(str(_PACKAGE).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Place:
    folder: Path
    name: str

    @property
    def socket(self) -> Path:
        return self.folder / f"{self.name}.sock"

    @property
    def state(self) -> Path:
        return self.folder / f"{self.name}.json"

    @property
    def lock(self) -> Path:
        return self.folder / f"{self.name}.lock"

    @property
    def log(self) -> Path:
        return self.folder / f"{self.name}.log"


def place() -> Place:
    found = Place(runtime_dir(), install_id())
    if len(str(found.socket).encode()) >= 104:  # sun_path's limit, less a margin
        raise Unavailable(f"the socket path {found.socket} is too long; set {RUNTIME_ENV} to a shorter folder")
    return found


def key() -> str:
    """What a server's grading depends on, as one hash (see the module docstring)."""
    files = [_PACKAGE / "baselines.json", *sorted(_PACKAGE.rglob("*.py"))]
    from autograder.reference import solutions_dir  # imports nothing heavy

    solutions = solutions_dir()
    if solutions is not None:
        files += sorted(solutions.glob("l*.py"))
    for module in ("torch", "numpy"):
        spec = importlib.util.find_spec(module)
        if spec and spec.origin:
            files.append(Path(spec.origin))
    stats = []
    for path in files:
        try:
            info = path.stat()
        except OSError:
            continue
        stats.append((str(path), info.st_size, info.st_mtime_ns))
    env = sorted((name, value) for name, value in os.environ.items()
                 if (name.startswith(_ENV_PREFIXES) or name in _ENV_NAMES) and name not in _NOT_GRADING)
    facts = {"version": autograder.__version__, "python": sys.executable, "sys.version": sys.version,
             "uid": os.getuid(), "files": stats, "env": env}
    return hashlib.sha256(json.dumps(facts).encode()).hexdigest()


def enabled() -> bool:
    return os.environ.get(SERVER_ENV, "1") != "0"


# -- client -----------------------------------------------------------------------------

def check(request: dict, progress=None) -> dict:
    """Send one check (``cwd``, ``path``, ``task_ids``, ``seed``, ``aliases``) to the server,
    started if needed, and return its reply: ``{"ok": true, "result": {...}}`` or
    ``{"ok": false, "error": ..., "usage": bool}``. ``progress(task_id)`` follows the grade."""
    where = place()
    own_key = key()
    for _ in range(3):
        connection = _connect_or_start(where, own_key)
        reply = _exchange(connection, {**request, "op": "check", "key": own_key}, progress)
        if reply.get("error") != STALE:
            return reply
        _wait_gone(where)  # it exits on its own after saying so
    raise Unavailable("the grader process kept being replaced")


def stop() -> str:
    """Stop this install's server; says what happened."""
    where = place()
    connection = _connect(where)
    if connection is None:
        _remove_stale(where)
        return "no grader process was running"
    reply = _exchange(connection, {"op": "stop"})
    _wait_gone(where, reply.get("pid"))
    return f"stopped the grader process (pid {reply.get('pid', '?')})"


def status() -> dict | None:
    """The running server's state (pid, started, checks, idle_seconds, current), or None."""
    where = place()
    connection = _connect(where)
    if connection is None:
        return None
    reply = _exchange(connection, {"op": "status"})
    reply["current"] = reply.get("key") == key()
    reply["socket"] = str(where.socket)
    return reply


def stop_all(folder: Path) -> None:
    """Stop every server whose state is under ``folder`` (a test session's runtime folders)."""
    for state in Path(folder).rglob("*.json"):
        try:
            pid = json.loads(state.read_text()).get("pid")
        except (OSError, ValueError):
            continue
        if pid and _is_server(pid):
            _kill(pid)


def _connect(where: Place) -> socket.socket | None:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(where.socket))
    except OSError:
        connection.close()
        return None
    return connection


def _connect_or_start(where: Place, own_key: str) -> socket.socket:
    connection = _connect(where)
    if connection is not None:
        return connection
    with open(where.lock, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one client starts a server; the others connect to it
        connection = _connect(where)
        if connection is not None:
            return connection
        _remove_stale(where)
        with open(where.log, "ab") as log:
            process = subprocess.Popen([sys.executable, "-m", "autograder.daemon", str(where.folder), where.name],
                                       stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=where.folder,
                                       start_new_session=True, close_fds=True)
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while time.monotonic() < deadline:
            connection = _connect(where)
            if connection is not None:
                return connection
            if process.poll() is not None:
                break
            time.sleep(0.01)
        _kill(process.pid)
        raise Unavailable(f"the grader process did not start: {_last_words(where)}")


def _exchange(connection: socket.socket, message: dict, progress=None) -> dict:
    with connection, connection.makefile("rwb") as stream:
        try:
            stream.write(json.dumps(message).encode() + b"\n")
            stream.flush()
            for line in stream:
                reply = json.loads(line)
                if "progress" in reply:
                    if progress:
                        progress(reply["progress"])
                    continue
                return reply
        except (OSError, ValueError) as exc:
            raise Unavailable(f"the grader process stopped answering ({exc})") from None
    raise Unavailable("the grader process stopped before answering")


def _wait_gone(where: Place, pid: int | None = None, timeout: float = 15.0) -> None:
    """Until the server's pid has exited (its socket is removed as it goes)."""
    pid = pid or _state(where).get("pid")
    deadline = time.monotonic() + timeout
    while pid and _is_server(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if pid and _is_server(pid):
        _kill(pid)
    _remove_stale(where)


def _state(where: Place) -> dict:
    try:
        return json.loads(where.state.read_text())
    except (OSError, ValueError):
        return {}


def _is_server(pid: int) -> bool:
    """Alive and running this module (a recycled pid is some other process)."""
    try:
        return b"autograder.daemon" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        pass


def _remove_stale(where: Place) -> None:
    """A socket nobody answers on, and the state of a server that is gone."""
    if _connect(where) is None:
        for path in (where.socket, where.state):
            try:
                path.unlink()
            except FileNotFoundError:
                pass


def _last_words(where: Place) -> str:
    try:
        lines = where.log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "no log"


# -- server -----------------------------------------------------------------------------

def serve(folder: Path, name: str) -> None:
    """Listen, grade one request at a time, exit when idle or told to, or when stale."""
    where = Place(folder, name)
    own_key = key()  # before anything below changes the environment
    signal.signal(signal.SIGTERM, _terminate)
    listener = _listen(where)
    started = time.time()
    where.state.write_text(json.dumps({"pid": os.getpid(), "key": own_key, "started": started,
                                       "version": autograder.__version__}))
    idle = float(os.environ.get(IDLE_ENV) or IDLE_SECONDS)
    os.environ.setdefault("AUTOGRADER_SPARES", "0")  # one check at a time: no spare fork server
    incoming = _accept(listener, idle)  # the first request says which servers to start
    from autograder import reference, warm
    from autograder.notebook.server import Ahead

    warm.prestart(1)  # the submission's fork server imports torch while this process does
    if incoming and incoming[2].get("op") == "check" and incoming[2].get("key") == own_key \
            and _needs_reference(incoming[2]):
        reference.warm_up()  # and the reference's, only when a task is timed against it
    ahead = Ahead()
    from autograder import grading  # noqa: F401 - torch and the checks, while the child starts

    checks = 0
    try:
        while incoming is not None:
            connection, stream, request = incoming
            with connection:
                done = _answer(stream, request, own_key, ahead, {"pid": os.getpid(), "started": started,
                                                                 "checks": checks, "idle_seconds": idle})
            checks += done == "check"
            if done in ("stop", STALE):
                break
            ahead.refill()
            incoming = _accept(listener, idle)
    finally:
        _unlink_if_ours(where)
        ahead.close()
    atexit._run_exitfuncs()  # children and boxes stopped; then no slow torch teardown
    os._exit(0)


def _accept(listener: socket.socket, idle: float):
    """The next request of this user: (connection, stream, request), or None after ``idle`` seconds."""
    while True:
        listener.settimeout(idle)
        try:
            connection, _ = listener.accept()
        except socket.timeout:
            return None
        if _peer_uid(connection) != os.getuid():
            connection.close()  # another user's process: no answer at all
            continue
        connection.settimeout(REQUEST_SECONDS)  # a client that never sends must not wedge the server
        stream = connection.makefile("rwb")
        try:
            request = json.loads(stream.readline() or b"{}")
            if not isinstance(request, dict):
                raise ValueError("not a request")
        except (OSError, ValueError):
            stream.close()
            connection.close()
            continue
        connection.settimeout(None)
        return connection, stream, request


def _needs_reference(request: dict) -> bool:
    from autograder import reference

    home = os.getcwd()
    try:
        os.chdir(request["cwd"])
        return reference.needed(Path(request["path"]), request.get("task_ids"), request.get("aliases"))
    except (KeyError, TypeError, OSError):
        return False
    finally:
        os.chdir(home)


def _terminate(signum, frame):
    raise SystemExit(1)  # unwinds a grade: its child and box are closed, then the socket removed


def _listen(where: Place) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    temporary = where.folder / f"{where.name}.{os.getpid()}.sock"
    old_mask = os.umask(0o177)
    try:
        listener.bind(str(temporary))
    finally:
        os.umask(old_mask)
    os.chmod(temporary, 0o600)
    listener.listen(8)
    os.replace(temporary, where.socket)  # atomically: a client never sees a half-made server
    return listener


def _peer_uid(connection: socket.socket) -> int:
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", credentials)[1]


def _unlink_if_ours(where: Place) -> None:
    if _state(where).get("pid") == os.getpid():
        for path in (where.socket, where.state):
            try:
                path.unlink()
            except FileNotFoundError:
                pass


def _answer(stream, request: dict, own_key: str, ahead, status: dict) -> str:
    """Answer one request; returns its op ("check", "status", "stop", STALE) or ""."""

    def send(message: dict) -> None:
        stream.write(json.dumps(message).encode() + b"\n")
        stream.flush()

    try:
        op = request.get("op")
        if op == "status":
            send({**status, "key": own_key, "version": autograder.__version__})
        elif op == "stop":
            send({"ok": True, "pid": os.getpid()})
        elif op == "check" and request.get("key") != own_key:
            send({"ok": False, "error": STALE})
            return STALE
        elif op == "check":
            send(_check(request, ahead, send))
        else:
            send({"ok": False, "error": f"unknown request {op!r}"})
            return ""
        return op
    except _Gone:
        return "check"
    except (OSError, ValueError):
        return ""
    finally:
        try:
            stream.close()
        except OSError:
            pass


class _Gone(Exception):
    """The client went away (Ctrl+C): the grade stops at its next task."""


def _check(request: dict, ahead, send) -> dict:
    from autograder.grading import grade
    from autograder.submission import SubmissionError

    def progress(task) -> None:
        try:
            send({"progress": task.id})
        except OSError:
            raise _Gone from None

    home, started = os.getcwd(), time.monotonic()
    try:
        os.chdir(request["cwd"])  # messages name files as the student's shell does
        result = grade(Path(request["path"]), task_ids=request.get("task_ids"), seed=request.get("seed"),
                       aliases=request.get("aliases") or {}, child=ahead.take(), progress=progress)
    except (SubmissionError, ValueError, FileNotFoundError) as exc:
        return {"ok": False, "error": str(exc), "usage": True}
    except (KeyError, TypeError, OSError) as exc:
        return {"ok": False, "error": f"a malformed request ({type(exc).__name__}: {exc})", "usage": True}
    except _Gone:
        raise
    except Exception as exc:  # noqa: BLE001 - the server answers; the command line shows why
        return {"ok": False, "error": f"the grader failed: {type(exc).__name__}: {exc}"}
    finally:
        os.chdir(home)
    return {"ok": True, "result": to_wire(result), "seconds": round(time.monotonic() - started, 3)}


def to_wire(result) -> dict:
    return {**result.to_json(), "path": result.path, "seed": result.seed, "flags": result.flags,
            "crashed": result.crashed, "notes": result.notes, "hidden_pending": result.hidden_pending}


def from_wire(data: dict):
    from autograder.results import SubmissionResult

    result = SubmissionResult.from_json(data)
    result.path, result.seed = data["path"], data["seed"]
    result.flags, result.crashed = list(data.get("flags", [])), data.get("crashed", "")
    return result


if __name__ == "__main__":
    serve(Path(sys.argv[1]), sys.argv[2])
