"""The kernel's side of the pipe to the grader process (``server``).

One grader process per kernel, started on the first request and kept for the next ones;
it ends with the kernel (its stdin closes). Nothing of the grading happens here: the
kernel is where the student's code runs, so it only sends a path and reads plain JSON.
"""
from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
DIED = "the grader process stopped ({reason}); the next %check starts a new one"


class ServiceError(Exception):
    """The grader process could not be started or did not answer."""


class Service:
    def __init__(self):
        self.process: subprocess.Popen | None = None
        self.folder = tempfile.TemporaryDirectory(prefix="autograder-notebook-")
        self.log = Path(self.folder.name) / "grader.log"
        self.requests = 0

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_PARENT, env.get("PYTHONPATH")]))
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "autograder.notebook.server"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=log, env=env, cwd=self.folder.name, start_new_session=True)
        self.requests = 0

    def request(self, message: dict) -> dict:
        """Send one request and wait for its reply. An interrupt (the kernel's stop button)
        stops the grader process, so that no late reply is read as the next one's."""
        if not self.running:
            self.start()
        try:
            self.process.stdin.write((json.dumps(message) + "\n").encode())
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except BaseException as exc:
            self.stop()
            if isinstance(exc, OSError):
                raise ServiceError(DIED.format(reason=self._last_words() or exc)) from None
            raise
        if not line:
            reason = self._last_words() or f"exit status {self.process.wait()}"
            self.stop()
            raise ServiceError(DIED.format(reason=reason))
        self.requests += 1
        return json.loads(line)

    def _last_words(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def stop(self) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            process.wait(timeout=5)  # it stops its children and ends
        except subprocess.TimeoutExpired:  # mid-grade: SIGTERM unwinds the grade, then the same
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def close(self) -> None:
        self.stop()
        self.folder.cleanup()


_service: Service | None = None


def service() -> Service:
    global _service
    if _service is None:
        _service = Service()
        atexit.register(_service.close)
    return _service
