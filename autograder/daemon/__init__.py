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

Nothing here imports torch on the client's side. ``place``: what both sides agree on;
``client``: the command line's side; ``server``: the process.
"""
from autograder.daemon.client import GradingFailed, Unavailable, check, status, stop, stop_all
from autograder.daemon.place import STALE, enabled, from_wire, is_server, key

__all__ = ["GradingFailed", "Unavailable", "check", "status", "stop", "stop_all", "STALE", "enabled",
           "from_wire", "is_server", "key"]
