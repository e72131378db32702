"""Least privilege for the child: the layers this machine offers, and a ``Box`` that starts
one child inside them.

Layers, outermost first; each one the machine lacks is skipped and ``Layers.describe``
says why (``python -m autograder.sandbox``):

- **cgroup** (root, cgroup v1): memory and pids limits for everything the child starts;
  at the end every process in the group is killed, detached grandchildren included.
- **user** (root): one unprivileged uid per concurrent slot, no supplementary groups: the
  users made by ``scripts/setup-sandbox.sh``, else unused numeric uids (no setup). Python under ``/root`` (0700) is reached
  through a private mount namespace made as root just before the uid is dropped: a tmpfs
  covers ``/root`` and only the interpreter's tree is bound back, read-only.
- **rlimits**: CPU, file size, open files, no core files; processes for a non-root uid;
  address space only when there is no memory cgroup (torch needs 1-2 GiB of it).
- **bubblewrap** (unprivileged user namespaces): no network, own pid/ipc/uts/mount
  namespaces, and a root filesystem of ``/usr``, the interpreter, the ``autograder``
  package and the scratch folder (all read-only) plus a size-capped ``/tmp``. Nothing of
  the grader's (solutions, tests, submissions, results) exists in there.
- **seccomp** (libseccomp via ctypes): no IP sockets, ptrace, mount, namespaces, bpf,
  io_uring, keyctl...: those calls fail with EPERM inside the student's code.
- **landlock** (Linux 5.13+, no privilege, no setup): read only the system, Python, the
  package and the scratch folder, write only a ``/tmp`` of its own, no TCP, no signal out
  of the child's own processes; it holds for root too (``landlock``).
- **namespaces** (``unshare(2)``, where unprivileged user namespaces work): what lets the
  warm start give each child its own pid, mount and ipc namespaces without bubblewrap.

``required`` insists on what these give, not on any one of them: files, network and
signals each contained by some layer (``containment``), and rlimits.

``AUTOGRADER_SANDBOX`` picks the mode: ``auto`` (default: every layer available),
``off`` (a plain child), ``required`` (see above); ``-bwrap``, ``-user``, ``-cgroup``,
``-seccomp``, ``-rlimits``, ``-landlock``, ``-namespaces``, ``-setup`` (and ``-warm``) drop
one (``AUTOGRADER_SANDBOX="auto -bwrap"``). ``AUTOGRADER_MEMORY`` sets the memory
limit (``2G``, ``1536M``).

The **warm start** (``forkserver``) is not a layer but lives inside them: a server per
submission, in its own box, imports torch once and forks each child into namespaces of
its own; ``-warm`` turns it off.

Modules: ``layers`` (what the machine gives: ``detect``), ``box`` (one child in them),
``filesystem`` (what the child sees), ``landlock``, ``seccomp``, ``processes`` (before exec, and after),
``forkserver`` (the warm start).
"""
from autograder.sandbox.box import Box
from autograder.sandbox.filesystem import PACKAGE_DIR
from autograder.sandbox.layers import (
    MEMORY_ENV, MODE_ENV, Layers, Limits, SandboxError, containment, detect, doctor_lines, missing,
)

__all__ = ["Box", "Layers", "Limits", "MEMORY_ENV", "MODE_ENV", "PACKAGE_DIR", "SandboxError", "containment", "detect",
           "doctor_lines", "missing"]
