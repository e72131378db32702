"""What the client and the server agree on: where the socket is, who may use it, the key
that says whether a server is current, and the reply's form of a result.

Nothing here imports torch: the client runs it before anything heavy loads.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import autograder

RUNTIME_ENV = "AUTOGRADER_RUNTIME_DIR"  # where sockets and state live (tests point it at a tmp folder)
SERVER_ENV = "AUTOGRADER_SERVER"  # "0": every check grades in its own process (as --no-server)
IDLE_ENV = "AUTOGRADER_SERVER_IDLE"  # seconds without a request before the server exits
IDLE_SECONDS = 15 * 60
_PACKAGE = Path(autograder.__file__).resolve().parent
# what changes how a grade runs; terminal settings and the like do not restart the server
_ENV_PREFIXES = ("AUTOGRADER_", "PYTHON", "LD_", "OMP_", "MKL_", "OPENBLAS_", "TORCH_", "CUDA_")
_ENV_NAMES = ("PATH", "HOME", "TMPDIR", "MPLBACKEND", "XDG_CACHE_HOME", "VIRTUAL_ENV")
_NOT_GRADING = (RUNTIME_ENV, SERVER_ENV, IDLE_ENV)  # the server's own settings
STALE = "stale"  # the error of a server whose key is not the request's


class Unavailable(Exception):
    """No server could be reached or started; the caller grades in its own process."""


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
    """One server per kit install: the package's folder and the interpreter that runs it (two
    environments sharing one checkout would otherwise keep replacing each other's server)."""
    return hashlib.sha256(f"{_PACKAGE}\0{sys.executable}".encode()).hexdigest()[:16]


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


def state(where: Place) -> dict:
    try:
        return json.loads(where.state.read_text())
    except (OSError, ValueError):
        return {}


def is_server(pid: int) -> bool:
    """Alive and running this module (a recycled pid is some other process)."""
    try:
        return b"autograder.daemon" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def to_wire(result) -> dict:
    return {**result.to_json(), "path": result.path, "seed": result.seed, "flags": result.flags,
            "crashed": result.crashed, "notes": result.notes, "hidden_pending": result.hidden_pending}


def from_wire(data: dict):
    from autograder.results import SubmissionResult

    result = SubmissionResult.from_json(data)
    result.path, result.seed = data["path"], data["seed"]
    result.flags, result.crashed = list(data.get("flags", [])), data.get("crashed", "")
    return result
