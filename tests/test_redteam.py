"""Hostile submissions (tests/redteam/): each must be contained.

Every file in tests/redteam/ replaces one task cell of the reference lessons with an
attack on the grader (its header names the task, the damage and whether the process
boundary alone contains it). For each one: grading completes with a result that
round-trips through JSON, the attacked task does not pass, every other task of the
lesson passes, and the host is unchanged: no file named with the attack's token in any
folder it aimed at, the results and the other student's files intact, nothing received
by the TCP and UDP listeners, and no process of the attack left running.

The attacks run with the sandbox as this machine gives it (``AUTOGRADER_SANDBOX``), and a
few key ones again with the sandbox off to show what the trust boundary alone guarantees.
Attacks marked ``needs: sandbox`` do damage without it: they are skipped, with the reason,
where a layer is missing (and fail instead under ``AUTOGRADER_SANDBOX=required``).
Attacks that could kill the grader run it in a subprocess. The wall-clock speed ratio is off
in these grades (``AUTOGRADER_SOLUTIONS`` points at an empty folder, as in a student's copy
of the kit): with three submissions graded at once on two cores it would fail honest tasks
at random, and it is not what this suite tests; every other check runs.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from builders import SEED, copy_lessons, lesson_path, processes_named, replace_task_cell, task_ids
from autograder import sandbox
from autograder.grading import grade
from autograder.results import PASSED, SubmissionResult
from autograder.tasks import TASKS

pytestmark = pytest.mark.redteam

REDTEAM_DIR = Path(__file__).parent / "redteam"
ROOT = Path(__file__).resolve().parents[1]
# Repeated with the sandbox off: each is contained by the process boundary alone.
BOUNDARY_ONLY = ("os_exit_in_task", "unpickle_reply", "fake_score", "lying_tensor", "stall_request_pipe")
IN_SUBPROCESS = ("kill_parent", "signal_grader")  # if containment failed, it would take the test run down
WORKERS = 3
_GRADE = """
import json, sys
from autograder.grading import grade
print(json.dumps(grade(sys.argv[1], seed=int(sys.argv[2])).to_json()))
"""  # a third argument, rt-grader-TOKEN, names the grader for the attack that hunts it


@dataclass(frozen=True)
class Attack:
    path: Path
    task: str
    damage: str
    needs: str  # "sandbox" or "boundary"

    @property
    def name(self) -> str:
        return self.path.stem


def read_attack(path: Path) -> Attack:
    text = path.read_text()
    task = re.search(r"^# attacks: (\d+\.\d+)$", text, re.MULTILINE)
    damage = re.search(r"^# damage: (.*(?:\n#   .*)*)", text, re.MULTILINE)
    needs = re.search(r"^# needs: (sandbox|boundary)$", text, re.MULTILINE)
    assert task and task[1] in TASKS and damage and needs, f"{path.name}: header incomplete"
    return Attack(path, task[1], " ".join(damage[1].replace("#   ", "").split()), needs[1])


ATTACKS = [read_attack(path) for path in sorted(REDTEAM_DIR.glob("*.py"))]
LAYERS = sandbox.detect()


class Host:
    """What an attack could damage: folders, listeners, processes; and how to tell."""

    def __init__(self):
        self.folder = Path(f"/tmp/autograder-redteam-{secrets.token_hex(4)}")
        self.results, self.other = self.folder / "results", self.folder / "other-student"
        for folder in (self.folder, self.results, self.other):
            folder.mkdir()
            folder.chmod(0o777)  # world-writable: only the sandbox stands in the way
        (self.results / "results.json").write_text('{"score": 3, "max_score": 27}')
        for name in ("l00_exports.py", "l01_matmul.py"):
            shutil.copy(ROOT / "solutions" / name, self.other / name)
        self.fingerprint = self._fingerprint()
        self.received: list[bytes] = []
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        with socket.create_server(("127.0.0.1", 0)) as free:  # for an attack to listen on
            self.bind_port = free.getsockname()[1]
        for target in (self._serve_tcp, self._serve_udp):
            threading.Thread(target=target, daemon=True).start()

    def _serve_tcp(self):
        while True:
            try:
                connection, _ = self.tcp.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                try:
                    self.received.append(b"tcp:" + connection.recv(1024))
                except OSError:
                    self.received.append(b"tcp:(connected)")

    def _serve_udp(self):
        while True:
            try:
                self.received.append(b"udp:" + self.udp.recv(1024))
            except OSError:
                return

    def _fingerprint(self) -> dict[str, str]:
        return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(self.folder.rglob("*")) if p.is_file()}

    def fill(self, text: str, token: str) -> str:
        return (text.replace("__TOKEN__", token).replace("__HOST__", str(self.folder))
                .replace("__UDP_PORT__", str(self.udp.getsockname()[1]))
                .replace("__BIND_PORT__", str(self.bind_port))
                .replace("__PORT__", str(self.tcp.getsockname()[1]))
                .replace("__SOLUTIONS__", str(ROOT / "solutions"))
                .replace("__RESULTS__", str(self.results)).replace("__OTHER__", str(self.other)))

    def damage(self, token: str, submission: Path | None = None) -> list[str]:
        """Everything the attack with ``token`` left on the host (and next to ``submission``)."""
        package = Path(sandbox.PACKAGE_DIR)
        folders = [self.folder, self.results, self.other, Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"),
                   package, package / "checks", package / "__pycache__", ROOT, Path("/root"),
                   Path(os.path.expanduser("~")), *([submission, submission.parent] if submission else [])]
        found = [f"file {p}" for folder in folders if folder.is_dir()
                 for p in folder.glob(f"*{token}*")]
        now = self._fingerprint()
        found += [f"file {p} changed" for p, digest in self.fingerprint.items() if now.get(p) != digest]
        found += [f"received {data[:60]!r}" for data in self.received if token.encode() in data]
        deadline = time.monotonic() + 2.0
        while (left := processes_named(f"rt{token}")) and time.monotonic() < deadline:
            time.sleep(0.05)  # a process killed a moment ago may still be exiting
        found += [f"process {pid} still running" for pid in left]
        try:
            socket.create_connection(("127.0.0.1", self.bind_port), timeout=1).close()
            found.append(f"something listens on 127.0.0.1:{self.bind_port}")
        except OSError:
            pass
        return found

    def close(self):
        self.tcp.close()
        self.udp.close()
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class Outcome:
    result: dict | None = None
    problem: str = ""  # grading itself failed: crashed, hung, or printed no JSON
    damage: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _attack_and_inspect(attack: Attack, host: Host, root: Path, *, sandbox_off: bool) -> Outcome:
    token = secrets.token_hex(3)
    folder = copy_lessons(root / attack.name, upto=TASKS[attack.task].lesson)
    path = replace_task_cell(lesson_path(folder, attack.task), attack.task,
                             host.fill(attack.path.read_text(), token).replace("__SUBMISSION__", str(folder)))
    outcome, started = Outcome(), time.monotonic()
    try:
        if sandbox_off or attack.name in IN_SUBPROCESS:
            env = {**os.environ, **({sandbox.MODE_ENV: "off"} if sandbox_off else {})}
            done = subprocess.run([sys.executable, "-c", _GRADE, str(path), str(SEED), f"rt-grader-{token}"], env=env,
                                  capture_output=True, text=True, timeout=300,
                                  start_new_session=True)  # its process group is not the test run's
            lines = done.stdout.strip().splitlines()
            if done.returncode or not lines:
                outcome.problem = f"the grader exited with {done.returncode}: {done.stderr[-500:]}"
            else:
                outcome.result = json.loads(lines[-1])
        else:
            outcome.result = grade(path, seed=SEED).to_json()
    except Exception as exc:  # noqa: BLE001 - reported by the test, with the attack's name
        outcome.problem = f"grading raised {type(exc).__name__}: {exc}"
    outcome.seconds = time.monotonic() - started
    outcome.damage = host.damage(token, folder)
    return outcome


def _grade_all(attacks: list[Attack], root: Path, *, sandbox_off: bool) -> dict[str, Outcome]:
    no_solutions = root / "no-solutions"
    no_solutions.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTOGRADER_SOLUTIONS", str(no_solutions))  # read at each grade
        host = Host()
        try:
            with ThreadPoolExecutor(WORKERS) as pool:
                futures = {a.name: pool.submit(_attack_and_inspect, a, host, root, sandbox_off=sandbox_off)
                           for a in attacks}
                return {name: future.result() for name, future in futures.items()}
        finally:
            host.close()


def _missing_layers() -> list[str]:
    return sandbox.missing(LAYERS) if LAYERS.active else ["the whole sandbox (AUTOGRADER_SANDBOX=off)"]


def _runnable_with_sandbox(attack: Attack) -> bool:
    return attack.needs == "boundary" or not _missing_layers() or LAYERS.mode == "required"


def _selected(request, test) -> set[str]:
    """The attacks this session runs ``test`` on (``-k`` may pick a few: only those are graded)."""
    return {item.callspec.params["attack"].name for item in request.session.items
            if getattr(item, "originalname", "") == test.__name__ and hasattr(item, "callspec")}


@pytest.fixture(scope="module")
def with_sandbox(tmp_path_factory, request):
    selected = _selected(request, test_contained_with_the_sandbox)
    attacks = [a for a in ATTACKS if _runnable_with_sandbox(a) and a.name in selected]
    return _grade_all(attacks, tmp_path_factory.mktemp("redteam-on"), sandbox_off=False)


@pytest.fixture(scope="module")
def sandbox_off(tmp_path_factory, request):
    selected = _selected(request, test_contained_by_the_boundary_alone)
    attacks = [a for a in ATTACKS if a.name in BOUNDARY_ONLY and a.name in selected]
    return _grade_all(attacks, tmp_path_factory.mktemp("redteam-off"), sandbox_off=True)


def assert_contained(attack: Attack, outcome: Outcome) -> None:
    assert not outcome.problem, f"{attack.name}: {outcome.problem}"
    result = outcome.result
    again = SubmissionResult.from_json(json.loads(json.dumps(result)))
    assert again.to_json() == result
    statuses = {t["id"]: t["status"] for t in result["tasks"]}
    messages = {t["id"]: t["message"] for t in result["tasks"]}
    assert list(statuses) == task_ids(TASKS[attack.task].lesson), statuses
    assert statuses[attack.task] != PASSED, f"{attack.name} passed Task {attack.task}"
    broken = {t: f"{s}: {messages[t]}" for t, s in statuses.items() if t != attack.task and s != PASSED}
    assert not broken, f"{attack.name} cost honest tasks their points: {broken}"
    assert not outcome.damage, f"{attack.name} ({attack.damage}) left: {outcome.damage}"


def test_the_red_team_is_big_enough():
    assert len(ATTACKS) >= 20
    assert set(BOUNDARY_ONLY) | set(IN_SUBPROCESS) <= {a.name for a in ATTACKS}


def test_the_damage_checks_see_damage():
    """The host checks are not vacuous: a planted file, a changed result, a message to the
    listener and a running process named like an attack's are all reported."""
    host, token = Host(), secrets.token_hex(3)
    planted = Path(f"/tmp/redteam-{token}")
    process = subprocess.Popen([sys.executable, "-c", "import ctypes, time\n"
                                f"ctypes.CDLL(None).prctl(15, b'rt{token}', 0, 0, 0)\ntime.sleep(30)"])
    try:
        planted.write_text("planted")
        (host.results / "results.json").write_text('{"score": 27}')
        with socket.create_connection(host.tcp.getsockname()) as connection:
            connection.sendall(token.encode())
        with socket.create_server(("127.0.0.1", host.bind_port)):  # a door left open
            deadline = time.monotonic() + 30  # the interpreter may be slow to start on a busy machine
            while not processes_named(f"rt{token}") and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)
            found = "\n".join(host.damage(token))
        assert str(planted) in found and "results.json changed" in found
        assert "received b'tcp:" in found and f"process {process.pid} still running" in found
        assert f"something listens on 127.0.0.1:{host.bind_port}" in found
    finally:
        process.kill()
        process.wait()
        planted.unlink(missing_ok=True)
        host.close()


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_contained_with_the_sandbox(attack, request):
    if not _runnable_with_sandbox(attack):
        pytest.skip(f"needs the sandbox, and here {'; '.join(_missing_layers())} "
                    f"(without them it would {attack.damage})")
    assert_contained(attack, request.getfixturevalue("with_sandbox")[attack.name])


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a.name in BOUNDARY_ONLY], ids=lambda a: a.name)
def test_contained_by_the_boundary_alone(attack, sandbox_off):
    assert_contained(attack, sandbox_off[attack.name])
