"""Linux's numbers and structures for the confinement: flags, system call numbers, ctypes structs.

Plain data and the C library's handles, no policy (that is :mod:`.confinement`'s).

Imports only the standard library.
"""

from __future__ import annotations

import ctypes
import os

CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWUSER, CLONE_THREAD = 0x40000000, 0x20000000, 0x10000000, 0x10000
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS = 1, 4, 22, 38
PR_SET_CHILD_SUBREAPER = 36
CLONE_PARENT = 0x8000

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
syscall_holding_gil = ctypes.PyDLL(None).syscall
syscall_holding_gil.restype = ctypes.c_long


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


class RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


# System calls a sample may not make (the reference's guard forbids the same in
# Python): creating processes, opening sockets, changing file metadata, tracing.
SECCOMP_DENIED = {
    "x86_64": {
        "fork": 57,
        "vfork": 58,
        "socket": 41,
        "socketpair": 53,
        "chmod": 90,
        "fchmod": 91,
        "fchmodat": 268,
        "fchmodat2": 452,
        "chown": 92,
        "fchown": 93,
        "lchown": 94,
        "fchownat": 260,
        "utime": 132,
        "utimes": 235,
        "utimensat": 280,
        "futimesat": 261,
        "setxattr": 188,
        "lsetxattr": 189,
        "fsetxattr": 190,
        "removexattr": 197,
        "lremovexattr": 198,
        "fremovexattr": 199,
        "setxattrat": 463,
        "removexattrat": 466,
        "file_setattr": 469,
        "ptrace": 101,
        "process_vm_readv": 310,
        "process_vm_writev": 311,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
    },
    "aarch64": {
        "socket": 198,
        "socketpair": 199,
        "fchmod": 52,
        "fchmodat": 53,
        "fchownat": 54,
        "fchown": 55,
        "fchmodat2": 452,
        "utimensat": 88,
        "setxattr": 5,
        "lsetxattr": 6,
        "fsetxattr": 7,
        "removexattr": 14,
        "lremovexattr": 15,
        "fremovexattr": 16,
        "setxattrat": 463,
        "removexattrat": 466,
        "file_setattr": 469,
        "ptrace": 117,
        "process_vm_readv": 270,
        "process_vm_writev": 271,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
    },
}
SECCOMP_ARCH = {"x86_64": (0xC000003E, 56, 157), "aarch64": (0xC00000B7, 220, 167)}
SYS_CLONE3 = 435
SYS_CLONE = SECCOMP_ARCH.get(os.uname().machine, (0, None, 0))[1]


class SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(SockFilter))]
