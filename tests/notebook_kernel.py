"""Running a notebook headless in a real IPython kernel (nbclient + ipykernel), for ``%check``."""
from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
HEADING = re.compile(r"^Checked (?P<graded>.*) \(seed (?P<seed>\d+)\)(?: in [\d.e+-]+ s)?$")


def write(path: Path, sources: list[str]) -> Path:
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources]), str(path))
    return path


def execute(path: Path, *, attach: bool = True, cwd: Path | None = None) -> nbformat.NotebookNode:
    """Run every cell of ``path`` in a fresh kernel (errors allowed), the way Jupyter would:
    ``attach`` sets ``JPY_SESSION_NAME`` as jupyter_server does; without it the kernel has
    no notebook to find."""
    notebook = nbformat.read(str(path), as_version=4)
    env = {k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if attach:
        env["JPY_SESSION_NAME"] = str(path)
    folder = str(cwd or path.parent)
    client = NotebookClient(notebook, kernel_name="python3", timeout=600, allow_errors=True,
                            resources={"metadata": {"path": folder}})
    client.execute(env=env)
    return notebook


def shown(cell) -> dict[str, str]:
    """The one display a ``%check`` cell shows: {mime type: text}."""
    displays = [o for o in cell.outputs if o.output_type == "display_data"]
    assert len(displays) == 1, cell.outputs
    return dict(displays[0].data)


def task_lines(lines: list[str]) -> dict[str, str]:
    """Task id -> its line, from ``autograder check``'s plain output (or the same in %check)."""
    found = {}
    for line in lines:
        match = re.match(r"^\s*(\d+\.\d+) (passed|failed|error)", line)
        if match:
            found[match[1]] = line
    return found


class Kernel:
    """A kernel started the way Jupyter starts one for ``path``, run one request at a time,
    each optionally tagged with the cell id the front end sends (JupyterLab does)."""

    def __init__(self, path: Path):
        from jupyter_client.manager import start_new_kernel

        env = {k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env["JPY_SESSION_NAME"] = str(path)
        self.manager, self.client = start_new_kernel(kernel_name="python3", cwd=str(path.parent), env=env)

    def run(self, code: str, cell_id: str | None = None) -> list[dict]:
        """The display data (and errors) the request produced."""
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": True}
        message = self.client.session.msg("execute_request", content,
                                          metadata={"cellId": cell_id} if cell_id else {})
        self.client.shell_channel.send(message)
        shown = []
        while True:
            reply = self.client.get_iopub_msg(timeout=600)
            if reply["parent_header"].get("msg_id") != message["header"]["msg_id"]:
                continue
            if reply["msg_type"] in ("display_data", "error", "stream"):
                shown.append(reply["content"])
            if reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
                return shown

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=False)
