"""execnet socket servers on loopback, as xdist's remote hosts: ``--tx socket=127.0.0.1:PORT``.

Each server is ``python -m execnet.script.socketserver 127.0.0.1:0``: bound to loopback only,
on a port the kernel picks (read back from what it prints, so no other process can take it
in between). It runs in a session of its own, so that it and whatever its worker started
stop together. It serves one connection at a time: two remote workers need two servers.
A server can run where a directory is hidden: in a mount namespace of its own with an empty
tmpfs over the directory (needs root), as on a host that does not share the file system.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from support.problems import REPOSITORY

START_TIMEOUT = 120.0
"""Seconds a server may take to listen (far more than it takes on a busy machine)."""
LISTENING = re.compile(rb"Entering Accept loop \('127\.0\.0\.1', (\d+)\)")
"""What the server prints once it listens, with its port."""


class ServerDidNotStart(RuntimeError):
    """The server ended (or never listened) before the start timeout, with what it printed."""


@dataclass
class SocketServer:
    process: subprocess.Popen[bytes]
    directory: Path
    """Its working directory (xdist's worker works in ``pyexecnetcache`` under it)."""
    log: Path
    """What the server (and its worker's terminal) printed."""
    port: int = 0

    @property
    def spec(self) -> str:
        """The server as an xdist ``--tx`` value."""
        return f"socket=127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_bytes().decode(errors="replace")

    def stop(self) -> None:
        """Stop the server and every process of its session (SIGKILL if SIGTERM is not enough)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=30)
                break
            except subprocess.TimeoutExpired:
                continue
        self.process.poll()  # reaped, if it ended before it was signalled


HIDE = 'mount -t tmpfs humaneval-hidden "$0" && test -z "$(ls -A "$0")" && exec "$@"'
"""The shell command that hides its first argument (an empty tmpfs over it), then runs the rest."""


def start_socket_server(
    directory: Path, *, python_path: Path = REPOSITORY, hidden: Path | None = None
) -> SocketServer:
    """A socket server working in ``directory``, importing the plugin from ``python_path`` (this checkout),
    and where ``hidden`` (a directory) is hidden if given.

    Raises ``ServerDidNotStart`` with the server's output if it does not listen.
    """
    directory.mkdir(parents=True, exist_ok=True)
    log = directory.with_name(directory.name + ".log")
    command = [sys.executable, "-u", "-m", "execnet.script.socketserver", "127.0.0.1:0"]
    if hidden is not None:
        command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", HIDE, str(hidden), *command]
    environment = {  # the suite's PYTEST_ADDOPTS (xdist does not send it to remote workers)
        **{name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")},
        "PYTEST_ADDOPTS": os.environ.get("PYTEST_ADDOPTS", ""),
        "PYTHONPATH": str(python_path),
    }
    with log.open("wb") as written:
        process = subprocess.Popen(
            command,
            cwd=directory,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=written,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = SocketServer(process, directory, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        listening = LISTENING.search(log.read_bytes())
        if listening:
            server.port = int(listening.group(1))
            return server
        if process.poll() is not None:
            break
        time.sleep(0.05)
    server.stop()
    raise ServerDidNotStart(server.output().strip())


def processes_working_in(directory: Path, besides: int) -> list[str]:
    """The processes (but ``besides``) whose working directory is ``directory`` or under it:
    what a server's worker started and left running (sandbox servers inherit the worker's)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == besides:
            continue
        try:
            cwd = os.readlink(f"/proc/{name}/cwd")
            with open(f"/proc/{name}/cmdline", "rb") as stream:
                cmdline = stream.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it ended meanwhile, or is not ours to look at
            continue
        if Path(cwd) == directory or Path(cwd).is_relative_to(directory):
            found.append(f"{name}: {cmdline}")
    return found
