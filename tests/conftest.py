"""The suite's fixtures (its helpers are in ``support``, which test modules import)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.problems import SHARED_DATA
from support.sessions import RunHumaneval
from support.socket_servers import ServerDidNotStart, SocketServer, start_socket_server


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` (third-party data for tests); skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present (it is not part of a fresh clone)")
    return SHARED_DATA


@pytest.fixture(params=[0, 2], ids=["n0", "n2"])
def worker_args(request: pytest.FixtureRequest) -> list[str]:
    """Command-line arguments for a serial run and for a run on two xdist workers."""
    return ["-n", str(request.param)]


@pytest.fixture
def run_humaneval(pytester: pytest.Pytester) -> RunHumaneval:
    """Runs a pytest session in ``pytester``'s directory, in a subprocess."""
    return RunHumaneval(pytester)


@pytest.fixture(autouse=True)
def _fixed_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables print the same on every terminal."""
    monkeypatch.setenv("COLUMNS", "80")


@pytest.fixture(autouse=True)
def _items_in_collection_order(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test environment has pytest-randomly (for the example project's test): the
    sessions a test starts keep their collection order unless the test asks otherwise."""
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")  # it clears PYTEST_ADDOPTS as it starts
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:randomly")


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A directory on a tiny file system with no space left (a tmpfs: needs root)."""
    mount_point = tmp_path / "full"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "humaneval-full", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if os.geteuid() != 0 or mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        with (mount_point / "filler").open("wb") as filler:
            try:
                while True:
                    filler.write(b"\0" * 65536)
                    filler.flush()
            except OSError:
                pass
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)


@pytest.fixture
def socket_servers(tmp_path: Path) -> Iterator[Callable[..., SocketServer]]:
    """Starts execnet socket servers on loopback (see ``support.socket_servers``), each in a
    directory of its own under ``tmp_path``; stops every one, and what it started, at the end.
    A server asked to hide a directory is skipped where mount namespaces are not permitted."""
    started: list[SocketServer] = []

    def start(name: str, **options: Path) -> SocketServer:
        try:
            server = start_socket_server(tmp_path / name, **options)
        except ServerDidNotStart as exc:
            if "hidden" in options:
                pytest.skip(f"cannot hide a directory from a socket server here: {exc}")
            raise
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()
