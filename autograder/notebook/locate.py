"""Where the kernel's notebook is, and which cells the kernel ran.

A kernel is not told which notebook it serves; each front end leaves a trace of its own:

- VS Code puts the notebook's path in the namespace (``__vsc_ipynb_file__``);
- jupyter_server 2 (JupyterLab 3.6+, Notebook 7) sets ``JPY_SESSION_NAME`` in the kernel's
  environment to the notebook's path;
- otherwise any Jupyter server running on this machine lists its sessions (``/api/sessions``),
  and the one whose kernel id is in this kernel's connection file names the notebook.

``Executions`` records each cell the kernel runs (its source and, where the front end sends
one, its cell id) from the moment the extension is loaded.
"""
from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

SESSION_ENV = "JPY_SESSION_NAME"
VSCODE_NAME = "__vsc_ipynb_file__"
_KERNEL_ID = re.compile(r"kernel-([0-9a-fA-F-]+)\.json$")
_SERVER_FILES = ("jpserver-*.json", "nbserver-*.json")
SERVER_TIMEOUT = 1.0


@dataclass(frozen=True)
class Execution:
    source: str
    cell_id: str | None
    time: float = 0.0  # when it ran (0: before the extension was loaded)


class Executions:
    """The cells this kernel ran since ``%load_ext autograder``, oldest first."""

    def __init__(self, earlier: list[str] = ()):
        self.cells: list[Execution] = [Execution(source, None) for source in earlier]

    def record(self, info) -> None:  # IPython's pre_run_cell event
        if getattr(info, "store_history", True) and not getattr(info, "silent", False):
            self.cells.append(Execution(info.raw_cell or "", getattr(info, "cell_id", None), time.time()))

    @property
    def current(self) -> Execution | None:
        """The cell running now (the one that asked for a check)."""
        return self.cells[-1] if self.cells else None

    def latest_by_id(self) -> dict[str, Execution]:
        return {e.cell_id: e for e in self.cells if e.cell_id}


def notebook_file(namespace: dict) -> tuple[Path | None, str]:
    """The notebook behind this kernel and how it was found, or (None, why not)."""
    named = namespace.get(VSCODE_NAME)
    if isinstance(named, str) and Path(named).is_file():
        return Path(named), "VS Code"
    session = os.environ.get(SESSION_ENV)
    if session:
        for candidate in (Path(session), Path.cwd() / session, Path.cwd() / Path(session).name):
            if candidate.suffix == ".ipynb" and candidate.is_file():
                return candidate.resolve(), "the Jupyter session"
    found = from_servers(kernel_id())
    if found:
        return found, "the Jupyter server's sessions"
    return None, "this kernel is not attached to a saved notebook (a console, or a notebook never saved)"


def kernel_id() -> str | None:
    try:
        from ipykernel import get_connection_file

        match = _KERNEL_ID.search(get_connection_file())
    except Exception:  # noqa: BLE001 - not an ipykernel kernel: no id to look for
        return None
    return match[1] if match else None


def from_servers(kernel: str | None, runtime: Path | None = None) -> Path | None:
    """Ask each Jupyter server this machine runs for its sessions; the notebook of ``kernel``."""
    if not kernel:
        return None
    if runtime is None:
        try:
            from jupyter_core.paths import jupyter_runtime_dir
        except ImportError:
            return None
        runtime = Path(jupyter_runtime_dir())
    for info_file in sorted(p for pattern in _SERVER_FILES for p in runtime.glob(pattern)):
        try:
            server = json.loads(info_file.read_text())
            sessions = _sessions(server)
        except (OSError, ValueError):
            continue
        root = Path(server.get("root_dir") or server.get("notebook_dir") or ".")
        for session in sessions:
            if (session.get("kernel") or {}).get("id") == kernel:
                relative = session.get("path") or (session.get("notebook") or {}).get("path")
                if relative and (root / relative).is_file():
                    return (root / relative).resolve()
    return None


def _sessions(server: dict) -> list[dict]:
    request = urllib.request.Request(server["url"].rstrip("/") + "/api/sessions",
                                     headers={"Authorization": f"token {server.get('token', '')}"})
    with urllib.request.urlopen(request, timeout=SERVER_TIMEOUT) as response:  # noqa: S310 - local server
        sessions = json.loads(response.read())
    return sessions if isinstance(sessions, list) else []
