"""The server's side: ``python -m autograder.daemon FOLDER NAME``, started by the first check.

It binds its socket first, reads the first request, then starts what that request needs
(the submission's fork server; the reference's child only for a task timed against it)
while it imports torch itself; then it grades one request at a time with
``grading.grade``, keeping a child launched ahead (``notebook.server.Ahead``), until it is
idle for ``IDLE_SECONDS``, told to stop, or asked by a client with another key.
"""
from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import struct
import time
from pathlib import Path

import autograder
from autograder.daemon.place import IDLE_ENV, IDLE_SECONDS, STALE, Place, key, state, to_wire

REQUEST_SECONDS = 10.0  # for a client to send its request once connected


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

    needs_reference = bool(incoming and incoming[2].get("op") == "check" and incoming[2].get("key") == own_key
                           and _needs_reference(incoming[2]))
    # the submission's fork server, and the reference's only when a task is timed against it,
    # import torch while this process does (``reference`` and ``Ahead`` import it: after this)
    warm.prestart(1 + needs_reference)
    if needs_reference:
        reference.warm_up()  # takes one of the two
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
    if state(where).get("pid") == os.getpid():
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
    from autograder.reading.submission import SubmissionError

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
