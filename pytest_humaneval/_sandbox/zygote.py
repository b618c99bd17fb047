"""The zygote: forked by the server before it has seen any test code, it prepares the
confinement once and forks a confined sample process per request.

Imports only the standard library and its sibling modules.
"""

from __future__ import annotations

import ctypes
import errno
import gc
import os
import pickle
import random
import resource
import signal
import socket
import struct
import sys
import time

from .confinement import (
    PRELOADED_MODULES,
    Landlock,
    Seccomp,
    drop_capabilities,
    lower_limits,
    reliability_guard,
    set_limit,
)
from .linux import (
    CLONE_NEWNET,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    CLONE_PARENT,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_PDEATHSIG,
    SYS_CLONE,
    libc,
    syscall_holding_gil,
)
from .protocol import Isolation, write_message
from .sample import answer_call, exercise, start_program
from .values import exception_reply

PID = struct.Struct("!i")
"""A pid, as the zygote tells the server which sample process it forked."""
FD = struct.Struct("i")
"""A file descriptor in a control message."""
_os_fork = os.fork  # the zygote's guard disables os.fork; it still needs it where clone(2) is unknown


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

    def __init__(self, control: socket.socket, workdir: str, as_root: bool, use_clone: bool = True) -> None:
        self.control = control
        self.sys_clone = SYS_CLONE if use_clone else None
        """clone(2)'s number, or None to fork as where clone(2) is unknown (see :func:`.server.main`)."""
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
        self.info: Isolation = {
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
        set_limit(resource.RLIMIT_CORE, 0)
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)

    @staticmethod
    def _isolate_network(as_root: bool) -> str:
        if as_root:
            return "network namespace" if libc.unshare(CLONE_NEWNET) == 0 else "none"
        uid, gid = os.getuid(), os.getgid()
        if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
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

    def _clone(self, flags: int) -> int:
        """fork(), the child in new namespaces. The zygote is single-threaded and holds
        the GIL, so the child skips CPython's after-fork work (about 0.5 ms of CPU)."""
        if self.sys_clone is None:
            if flags & ~CLONE_PARENT:
                raise OSError(errno.ENOSYS, "clone(2) with namespaces is not supported here")
            return _os_fork()
        pid = syscall_holding_gil(
            self.sys_clone, ctypes.c_ulong(flags | signal.SIGCHLD), None, None, None, None
        )
        if pid < 0:
            raise OSError(ctypes.get_errno(), "clone failed")
        return int(pid)

    def serve(self) -> None:
        """Fork a sample process for each channel the server sends, until it closes the socket.

        The sample process is the server's child (``CLONE_PARENT``), so the server
        reaps it; where clone(2) is unknown, the zygote forks twice and the server,
        a child subreaper, inherits the grandchild.
        """
        exercise()
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
            pid = self._clone(flags) if self.sys_clone is not None else self._fork_orphan()
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
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        self._os_setsid()
        os.close(self.control.fileno())  # not the socket object: fewer pages written
        drop_capabilities()
        if not self.confined_once:
            self._restrict()

    def _restrict(self) -> None:
        """Apply the Landlock ruleset and the seccomp filter to this process for good."""
        if self.landlock is not None:
            self.landlock.restrict_self()
            os.close(self.landlock.ruleset)
        if self.seccomp is not None:
            self.seccomp.install()

    def _sample_main(self, channel_fd: int) -> None:
        """Wait for a sample, run its program, answer the judge's calls. Never returns."""
        try:
            self._confine(channel_fd)
            functions = start_program(channel_fd, lower_limits)
            while True:
                answer_call(channel_fd, functions)
        except BaseException as exc:
            try:
                write_message(channel_fd, exception_reply(exc))
            except BaseException:
                pass
        os._exit(0)
