"""xdist workers on other hosts (``--tx socket=...``, ``--px``) that cannot see the samples file.

The hosts are real execnet socket servers on loopback (``support.socket_servers``), running
this checkout; a hidden one runs in a mount namespace where an empty tmpfs covers the
samples' directory, so its worker gets the lines it runs from the controller. Their results
file equals a local ``-n 2`` run's; a changed line is detected through the controller; a
host with another version or harness is refused with one line before its worker starts; an
interrupted remote run keeps its verdicts and leaves nothing running on the host. The line
server and client are also tested alone (the server answering each request as it is sent):
lines go in bounded pieces and batches.
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.problems import DEMO_PROBLEMS, demo_records
from support.processes import (
    LEFTOVER_GRACE,
    POLL,
    SIGNAL_TO_EXIT_LIMIT,
    Run,
    correct_rows,
    read_json,
    runs,
    sample_row,
    start,
    write_rows,
)
from support.results import error_lines, read_results, text_of
from support.sessions import RunHumaneval
from support.socket_servers import SocketServer, processes_working_in

import pytest_humaneval
from pytest_humaneval._version import __version__
from pytest_humaneval.errors import SamplesFileChanged
from pytest_humaneval.evaluation import Evaluation
from pytest_humaneval.remote import PIECE_BYTES, LineClient, LineServer
from pytest_humaneval.settings import Settings

HARNESS_FIXTURES = (runs,)
"""The harness's fixtures that tests here take: pytest finds them by name in this module."""
StartServer = Callable[..., SocketServer]
GENERATED = 60
"""Samples beyond the demo's: more than one batch of lines (``remote.AHEAD_LINES``)."""


def write_samples(directory: Path) -> Path:
    """``samples.jsonl`` in ``directory``: the demo samples, two copies of its first one
    (identical samples go to one worker) and ``GENERATED`` quick ones of every outcome."""
    directory.mkdir()
    records = demo_records()
    records += [{**records[0], "copy": number} for number in range(2)]
    records += [sample_row(n, "remote", kind=("passed", "failed", "error")[n % 3]) for n in range(GENERATED)]
    path = directory / "samples.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def session_args(samples: Path, results: Path, *extra: str) -> list[str]:
    return [
        f"--humaneval-problems={DEMO_PROBLEMS}",
        f"--humaneval-samples={samples}",
        "--humaneval-timeout=1",
        "--humaneval-no-cache",
        f"--humaneval-results={results}",
        *extra,
    ]


def without_durations(path: Path) -> list[dict[str, Any]]:
    return [{key: value for key, value in row.items() if key != "duration"} for row in read_results(path)]


def assert_nothing_left(*servers: SocketServer) -> None:
    """No process a server's worker started (its sandbox servers) outlives the session."""
    deadline = time.monotonic() + LEFTOVER_GRACE
    left = [name for server in servers for name in processes_working_in(server.directory, server.process.pid)]
    while left and time.monotonic() < deadline:
        time.sleep(POLL)
        left = [
            name for server in servers for name in processes_working_in(server.directory, server.process.pid)
        ]
    assert not left


_XDIST_OPTIONS = importlib.util.find_spec("xdist.plugin")
XDIST_HAS_PX = _XDIST_OPTIONS is not None and '"--px"' in Path(str(_XDIST_OPTIONS.origin)).read_text("utf-8")
"""Whether this pytest-xdist has proxy gateways (``--px``: newer than 3.5)."""


@pytest.mark.parametrize(
    "through",
    [
        "socket",
        pytest.param(
            "proxy", marks=pytest.mark.skipif(not XDIST_HAS_PX, reason="this pytest-xdist has no --px")
        ),
    ],
)
def test_remote_workers_give_a_local_runs_results(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, socket_servers: StartServer, through: str
) -> None:
    """Two remote workers, at least one of which cannot see the samples file: the results
    file of a local ``-n 2`` run, every worker runs samples, no warning, nothing left running.
    ``socket``: a worker on each of two servers, the second hidden; ``proxy``: two workers
    started (``popen//via``) by one hidden server given with ``--px``."""
    data = pytester.path / "data"
    samples = write_samples(data)
    local = run_humaneval(*session_args(samples, pytester.path / "local.jsonl", "-n", "2"))
    assert local.ret == 0, text_of(local)
    if through == "socket":
        servers = [socket_servers("visible"), socket_servers("hidden", hidden=data)]
        hosts = [f"--tx={server.spec}" for server in servers]
    else:
        servers = [socket_servers("proxy", hidden=data)]
        hosts = [f"--px=id=proxy//{servers[0].spec}", "--tx=2*popen//via=proxy"]
    remote = run_humaneval(*session_args(samples, pytester.path / "remote.jsonl", "-d", *hosts, "-v"))
    output = text_of(remote)
    assert remote.ret == 0, output
    assert "warnings summary" not in output, output
    for worker in ("gw0", "gw1"):
        assert any(line.startswith(f"[{worker}]") and "PASSED" in line for line in remote.outlines), output
    assert without_durations(pytester.path / "remote.jsonl") == without_durations(
        pytester.path / "local.jsonl"
    )
    assert len(read_results(pytester.path / "remote.jsonl")) == 14 + GENERATED
    assert_nothing_left(*servers)


def test_an_interrupted_remote_run_keeps_its_verdicts_and_leaves_nothing_running(
    tmp_path: Path, runs: list[Run], socket_servers: StartServer
) -> None:
    """SIGTERM to the controller while a hidden remote worker runs slow samples: the session
    ends soon, partial, with the verdicts that came; the worker's sandbox servers stop."""
    data = tmp_path / "data"
    data.mkdir()
    samples = write_rows(data / "samples.jsonl", correct_rows(40, tag=tmp_path.name))
    server = socket_servers("hidden", hidden=data)
    cwd = tmp_path / "run"
    cwd.mkdir()
    results, summary = cwd / "results.jsonl", cwd / "summary.json"
    run = start(
        runs,
        cwd,
        [
            "-p",
            "no:randomly",
            *session_args(samples, results, f"--humaneval-json={summary}", "-d", f"--tx={server.spec}"),
        ],
    )
    seen = run.wait_for_verdicts(results, 3, timeout=120)
    assert processes_working_in(server.directory, server.process.pid)  # the worker's sandbox
    run.signal_main(signal.SIGTERM)
    run.wait(timeout=SIGNAL_TO_EXIT_LIMIT + 20)
    written = read_results(results)
    assert 3 <= len([row for row in written if row["outcome"] == "passed"]) < 40, run.output
    assert all(row in written for row in seen)
    assert read_json(summary)["interrupted"] is True, run.output
    assert_nothing_left(server)


# On the controller only (the remote worker does not see this directory): changes every
# line's text (same size) before any sample runs, then restores the file's modification time,
# so only the lines' digests, checked by the worker, can tell.
CHANGING_CONFTEST = """
import os
from pathlib import Path

SAMPLES = Path({samples!r})

def pytest_sessionstart(session):
    stat = SAMPLES.stat()
    SAMPLES.write_bytes(SAMPLES.read_bytes().replace(b"return", b"retorn"))
    os.utime(SAMPLES, ns=(stat.st_atime_ns, stat.st_mtime_ns))
"""


def test_a_line_changed_under_a_remote_worker_stops_the_session(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, socket_servers: StartServer
) -> None:
    """The lines a hidden worker gets from the controller are checked as a line read from
    the file is: a changed line is a usage error naming the file, and no verdict of it."""
    data = pytester.path / "data"
    samples = write_samples(data)
    pytester.makeconftest(CHANGING_CONFTEST.format(samples=str(samples)))
    server = socket_servers("hidden", hidden=data)
    results = pytester.path / "results.jsonl"
    result = run_humaneval(*session_args(samples, results, "-d", f"--tx={server.spec}"))
    output = text_of(result)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    assert f"{samples}:" in output and "the line changed during the session" in output, output
    assert not results.exists() or not read_results(results), output
    assert_nothing_left(server)


def _other_version(package: Path) -> None:
    (package / "_version.py").write_text(f'__version__ = "{__version__}.post1"\n')


def _other_harness(package: Path) -> None:
    with (package / "runner.py").open("a") as runner:
        runner.write("# another harness\n")


@pytest.mark.parametrize("change", [_other_version, _other_harness], ids=["version", "harness"])
def test_a_host_with_another_harness_is_refused(
    pytester: pytest.Pytester,
    run_humaneval: RunHumaneval,
    socket_servers: StartServer,
    change: Callable[[Path], None],
) -> None:
    """A host whose plugin has another version or harness digest: one usage error naming the
    host and both versions, before its worker starts (it prints nothing, runs nothing)."""
    other = pytester.path / "other"
    shutil.copytree(Path(pytest_humaneval.__file__).parent, other / "pytest_humaneval")
    change(other / "pytest_humaneval")
    server = socket_servers("other", python_path=other)
    results = pytester.path / "results.jsonl"
    result = run_humaneval(
        *session_args(write_samples(pytester.path / "data"), results, "-d", f"--tx={server.spec}")
    )
    output = text_of(result)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    (line,) = error_lines(result)
    assert line.startswith(f"ERROR: pytest-humaneval on gw0 ({server.spec}) is "), output
    assert (
        f"but the controller runs {__version__} (harness " in line and "install the same version" in line
    ), output
    assert (f"{__version__}.post1 (harness" in line) == (change is _other_version), output
    assert not results.exists()
    assert "PASSED" not in output and " passed" not in server.output(), server.output()
    assert_nothing_left(server)


# -- the line server and client alone ---------------------------------------------------------------------


class WorkerEnd:
    """The worker's end of its channel to the controller, whose line server answers each
    request as it is sent; it keeps what went each way."""

    RemoteError: type[Exception] = EOFError

    def __init__(self, evaluation: Evaluation, piece_bytes: int = PIECE_BYTES) -> None:
        self.server = LineServer(evaluation.sample_sets, evaluation.entries, self._reply, piece_bytes)
        self.requests: list[list[int]] = []
        self.replies: list[tuple[int, Any]] = []
        self._waiting: queue.Queue[tuple[int, Any]] = queue.Queue()

    def _reply(self, message: tuple[int, Any]) -> None:
        self.replies.append(message)
        self._waiting.put(message)

    def send(self, request: list[int]) -> None:
        self.requests.append(request)
        self.server.serve(request)

    def receive(self, timeout: float | None = None) -> Any:
        return self._waiting.get(timeout=timeout)


def loaded(tmp_path: Path, rows: list[dict[str, Any]]) -> Evaluation:
    path = tmp_path / "samples.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return Evaluation.load(Settings(samples=(str(path),), problems=str(DEMO_PROBLEMS)))


def test_lines_come_in_bounded_pieces_and_batches(tmp_path: Path) -> None:
    """A line longer than a piece comes in pieces of at most that size; a batch holds the
    line asked for and the next ones in item order up to its byte budget; every line is the
    file's."""
    rows = [sample_row(n, "x" * (5000 if n == 5 else 10)) for n in range(12)]
    evaluation = loaded(tmp_path, rows)
    try:
        channel = WorkerEnd(evaluation, piece_bytes=1000)
        client = LineClient(channel, evaluation, {""}, ahead_lines=4, ahead_bytes=6000)
        reader = evaluation.sample_sets[0].reader
        assert reader is not None
        order = [
            entry
            for entries in evaluation.entries_by_task(evaluation.sample_sets[0]).values()
            for entry in entries
        ]
        for entry in order:
            assert client.line(entry, "samples.jsonl") == reader.read(entry)
        pieces = [piece for _, piece in channel.replies]
        assert max(len(piece) for piece in pieces) == 1000
        assert sum(len(piece) for piece in pieces) == sum(entry.size for entry in evaluation.entries)
        requests = channel.requests
        assert all(len(request) <= 5 for request in requests), requests
        for request in requests:
            assert sum(evaluation.entries[position].size for position in request[1:]) <= 6000
        assert [position for request in requests for position in request] == [
            entry.position for entry in order
        ]
    finally:
        evaluation.close()


def test_a_changed_line_from_the_controller_is_refused(tmp_path: Path) -> None:
    """A line that differs from the one checked (the same size) raises, naming its line."""
    evaluation = loaded(tmp_path, [sample_row(n, "changed") for n in range(3)])
    try:
        channel = WorkerEnd(evaluation)
        client = LineClient(channel, evaluation, {""})
        entry = evaluation.entries[1]
        path = tmp_path / "samples.jsonl"
        before = path.stat()
        path.write_bytes(path.read_bytes().replace(b"return", b"retorn"))
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        with pytest.raises(SamplesFileChanged, match=r"samples.jsonl:2: the line changed"):
            client.line(entry, "samples.jsonl")
    finally:
        evaluation.close()
