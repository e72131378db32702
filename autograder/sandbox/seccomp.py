"""The seccomp filter: allow everything but IP sockets and the kernel's riskiest calls.

The BPF program is built once by libseccomp (through ctypes, so no Python binding is
needed) and handed to bubblewrap (``--seccomp FD``, applied after its own setup, which
needs mount and unshare) or, without bubblewrap, loaded by the child itself before exec.
A denied call fails with EPERM: inside the student's code that is an exception
(``PermissionError``), reported with the task like any other.
"""
from __future__ import annotations

import ctypes
import errno
import functools
import os

DENIED_CALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "chroot",
    "unshare", "setns", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "swapon", "swapoff", "reboot", "acct",
    "open_by_handle_at", "name_to_handle_at", "fsopen", "fsmount", "fspick", "open_tree",
    "move_mount", "mount_setattr", "syslog", "quotactl",
)
# CLONE_NEWUSER, NEWNS, NEWNET, NEWPID, NEWIPC, NEWUTS, NEWCGROUP
CLONE_NAMESPACES = (0x10000000, 0x20000, 0x40000000, 0x20000000, 0x8000000, 0x4000000, 0x2000000)
AF_UNIX = 1
_ALLOW, _ERRNO = 0x7FFF0000, 0x00050000  # SCMP_ACT_ALLOW, SCMP_ACT_ERRNO(0)
_NOT_EQUAL, _MASKED_EQUAL = 1, 7  # enum scmp_compare
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2


class _ArgCompare(ctypes.Structure):  # struct scmp_arg_cmp
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


class _FilterProgram(ctypes.Structure):  # struct sock_fprog
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


@functools.lru_cache(maxsize=None)
def program() -> bytes | str:
    """The BPF filter for this machine's architecture, or why there is none."""
    try:
        lib = ctypes.CDLL("libseccomp.so.2")
    except OSError:
        return "libseccomp.so.2 not found (Debian package libseccomp2)"
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                           ctypes.c_uint, ctypes.POINTER(_ArgCompare)]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    context = lib.seccomp_init(_ALLOW)  # other architectures' calls (int 0x80, x32) are killed
    if not context:
        return "seccomp_init failed"
    deny = _ERRNO | errno.EPERM

    def rule(name: str, action: int, *compares: tuple[int, int, int]) -> None:
        number = lib.seccomp_syscall_resolve_name(name.encode())
        if number < 0:
            return  # no such call on this architecture
        array = (_ArgCompare * max(1, len(compares)))(*(_ArgCompare(a, o, d, d) for a, o, d in compares))
        if lib.seccomp_rule_add_array(context, action, number, len(compares), array):
            raise OSError(f"libseccomp refused the rule for {name}")

    try:
        rule("socket", deny, (0, _NOT_EQUAL, AF_UNIX))
        for name in DENIED_CALLS:
            rule(name, deny)
        for flag in CLONE_NAMESPACES:
            rule("clone", deny, (0, _MASKED_EQUAL, flag))
        rule("clone3", _ERRNO | errno.ENOSYS)  # its flags cannot be filtered; libc falls back to clone
        descriptor = os.memfd_create("autograder-seccomp", os.MFD_CLOEXEC)
        try:
            if lib.seccomp_export_bpf(context, descriptor):
                return "seccomp_export_bpf failed"
            os.lseek(descriptor, 0, os.SEEK_SET)
            return os.read(descriptor, 1 << 20)
        finally:
            os.close(descriptor)
    except OSError as exc:
        return str(exc)
    finally:
        lib.seccomp_release(context)


def memfd(bpf: bytes) -> int:
    """A file descriptor holding ``bpf``, for ``bwrap --seccomp FD``; the caller closes it."""
    descriptor = os.memfd_create("autograder-seccomp", os.MFD_CLOEXEC)
    os.write(descriptor, bpf)
    os.lseek(descriptor, 0, os.SEEK_SET)
    return descriptor


def loader(bpf: bytes):
    """A function that loads ``bpf`` into the calling process (a child without bubblewrap)."""
    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(bpf, len(bpf))
    fprog = _FilterProgram(len(bpf) // 8, ctypes.addressof(buffer))

    def load() -> None:
        keep = buffer  # noqa: F841 - the program must outlive this call
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) or \
                libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0):
            raise OSError(ctypes.get_errno(), "could not load the seccomp filter")
    return load
