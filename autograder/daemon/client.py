"""The command line's side: send a check to the server, starting one when none answers."""
from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from autograder.daemon.place import STALE, Place, Unavailable, is_server, key, place, state

CONNECT_TIMEOUT = 30.0  # the server binds its socket before importing anything heavy


class GradingFailed(Exception):
    """The server answered that grading itself failed (not the submission): the reason."""


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
        if pid and is_server(pid):
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
    pid = pid or state(where).get("pid")
    deadline = time.monotonic() + timeout
    while pid and is_server(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if pid and is_server(pid):
        _kill(pid)
    _remove_stale(where)


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
