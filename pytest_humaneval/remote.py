"""xdist workers on other hosts (``--tx socket=...``, ``--tx ssh=...``, ``--px``): the same
harness on every host, and the samples' lines from the controller where a worker cannot see
the samples file.

A local worker (``popen`` with this Python, not ``via`` another gateway: xdist gives it the
controller's ``sys.path``) runs this very code and reads the lines it runs from the samples
file itself. Any other gateway may run another installation on another file system. Before
its worker starts, the controller asks the gateway for its plugin version, harness digest
and Python (:func:`refusal`) and gives it a channel of its own (:func:`serve_lines`). A
worker that cannot see a samples file as the controller checked it asks on that channel
for the lines it runs (:func:`read_through_controller`): a bounded batch at a time (the line
it needs and the next ones it is likely to run), each line in bounded pieces, so neither
side ever holds more than a batch of a file.

Imports the version, the harness digest, the line reader, the errors, the domain types and
the evaluation (whose files it serves); nothing of pytest, and of execnet only its types
(its gateways and channels come from xdist, through the hooks).
"""

from __future__ import annotations

import sys
import threading
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pytest_humaneval._version import __version__
from pytest_humaneval.errors import InputError, SamplesFileChanged
from pytest_humaneval.evaluation import Evaluation
from pytest_humaneval.keys import HARNESS_DIGEST
from pytest_humaneval.line_reader import LineReader, checked_line, file_stamp
from pytest_humaneval.loading import SampleSet
from pytest_humaneval.model import SampleEntry

if TYPE_CHECKING:
    from execnet import Gateway, XSpec

LINES_KEY = "humaneval_lines"
"""The key, in a remote worker's ``workerinput``, of the channel it asks for lines on."""
PIECE_BYTES = 1 << 20
"""The most bytes of a line in one message: a longer line goes in several."""
AHEAD_LINES = 64
AHEAD_BYTES = 1 << 20
"""A batch is the line asked for and at most these many following lines, of at most these
many bytes in all."""
IDENTITY_TIMEOUT = 300.0
"""Seconds a gateway may take to import the plugin and say what it runs (a busy host)."""


class Channel(Protocol):
    """What the worker uses of its execnet channel to the controller."""

    RemoteError: type[Exception]
    """Raised by :meth:`receive` when the other side closed the channel with an error."""

    def send(self, item: Any) -> None: ...

    def receive(self, timeout: float | None = None) -> Any: ...


# -- the same harness everywhere -----------------------------------------------------------------------------


def is_local(spec: XSpec) -> bool:
    """Whether an xdist gateway is a process of this Python on this host with the controller's
    ``sys.path`` (``popen``, without ``python=`` or ``via=``): the same plugin, the same files."""
    return bool(spec.popen) and not spec.python and not spec.via


def identity() -> tuple[str, str, str]:
    """What every host must share: the plugin's version, its harness digest (see
    :mod:`pytest_humaneval.keys`) and Python's version (X.Y): a verdict depends on all three."""
    return __version__, HARNESS_DIGEST, "{}.{}".format(*sys.version_info[:2])


_ASK_IDENTITY = """
import sys
python = "{}.{}".format(*sys.version_info[:2])
before = set(sys.modules)
try:
    from pytest_humaneval._version import __version__
    from pytest_humaneval.keys import HARNESS_DIGEST
except Exception as exc:
    channel.send((None, "{}: {}".format(type(exc).__name__, exc), python))
else:
    channel.send((__version__, HARNESS_DIGEST, python))
finally:
    for name in set(sys.modules) - before:
        if name.split(".")[0] == "pytest_humaneval":
            del sys.modules[name]
"""
"""Run on the gateway's host: what :func:`identity` says there (names that every version has).
The worker runs in the same interpreter: the plugin's modules are forgotten again, so that
its pytest imports them itself (and rewrites their asserts, as for any plugin)."""


def refusal(gateway: Gateway, timeout: float = IDENTITY_TIMEOUT) -> str | None:
    """Why the gateway's host must not run this session's samples (another version, harness
    or Python than the controller's, or no plugin), in one line; None if it may."""
    name = f"{gateway.id} ({_spec_text(gateway.spec)})"
    ours = _described(*identity())
    channel = gateway.remote_exec(_ASK_IDENTITY)
    try:
        version, digest, python = channel.receive(timeout)
        channel.waitclose(timeout)
    except (EOFError, OSError, channel.RemoteError) as exc:  # a channel's TimeoutError is an OSError
        return (
            f"pytest-humaneval on {name} did not say which version it is ({_last_line(exc)}); "
            f"the controller runs {ours}"
        )
    if version is None:
        return (
            f"pytest-humaneval cannot be imported on {name} ({_last_line(digest)}) "
            f"but the controller runs {ours}: "
            "install the same version on every host"
        )
    theirs = _described(version, digest, python)
    if theirs != ours:
        return (
            f"pytest-humaneval on {name} is {theirs} but the controller runs {ours}: "
            "install the same version on every host"
        )
    return None


def _last_line(error: object) -> str:
    """An error's last line (a remote error holds the whole traceback): the refusal is one line."""
    lines = str(error).strip().splitlines()
    return lines[-1] if lines else type(error).__name__


def _described(version: str, digest: str, python: str) -> str:
    return f"{version} (harness {digest}, Python {python})"


def _spec_text(spec: XSpec) -> str:
    """The gateway as the user gave it (xdist adds its ``execmodel``)."""
    return "//".join(part for part in str(spec).split("//") if not part.startswith("execmodel="))


# -- the controller's side: serving lines --------------------------------------------------------------------

_CLOSED = object()
"""What a line server's channel gives it when the channel closes."""


class _WorkerGone(Exception):
    """A reply could not be sent: the worker's gateway is closed."""


class LineServer:
    """Sends one remote worker the lines it asks for, from the controller's samples files.

    It runs in the receiver thread of the worker's gateway, with readers (and descriptors)
    of its own. A request is a list of positions; the reply, for each in order, is the line
    as ``(position, piece)`` messages of at most ``piece_bytes`` bytes, exactly the line's
    length in all, or ``(position, (line, message))`` where the file cannot give it.
    """

    def __init__(
        self,
        sample_sets: list[SampleSet],
        entries: list[SampleEntry],
        send: Callable[[Any], None],
        piece_bytes: int = PIECE_BYTES,
    ) -> None:
        self._readers = {
            sample_set.entries[0].file_label: LineReader(reader.path, reader.source, reader.stamp)
            for sample_set in sample_sets
            if (reader := sample_set.reader) is not None
        }
        self._entries = entries
        self._send = send
        self._piece_bytes = piece_bytes

    def serve(self, request: Any) -> None:
        if request is _CLOSED:
            self.close()
            return
        try:
            for position in request:
                self._send_line(self._entries[position])
        except _WorkerGone:
            pass

    def _send_line(self, entry: SampleEntry) -> None:
        position = entry.position
        try:
            for piece in self._readers[entry.file_label].pieces(entry, self._piece_bytes):
                self._reply((position, piece))
        except InputError as exc:
            self._reply((position, (exc.line, exc.message)))
        except OSError as exc:
            self._reply((position, (entry.line, f"cannot read it again: {exc.strerror or exc}")))

    def _reply(self, message: tuple[int, Any]) -> None:
        try:
            self._send(message)
        except OSError:
            raise _WorkerGone from None

    def close(self) -> None:
        for reader in self._readers.values():
            reader.close()


def serve_lines(evaluation: Evaluation, gateway: Gateway) -> Any:
    """A new channel of ``gateway`` on which its worker gets the lines of the samples it runs
    (the controller answers in the gateway's receiver thread)."""
    _one_writer_at_a_time(gateway)
    channel = gateway.newchannel()
    server = LineServer(evaluation.sample_sets, evaluation.entries, channel.send)
    channel.setcallback(server.serve, endmarker=_CLOSED)
    return channel


def _one_writer_at_a_time(gateway: Gateway) -> None:
    """Make the messages that leave through the gateway go out one at a time.

    execnet writes each message with one ``write`` of its connection and takes no lock: a
    socket's ``sendall`` of a large message, from the receiver thread that serves lines,
    could interleave with a command xdist sends from the main thread and corrupt both. A
    gateway ``via`` a proxy writes through the proxy's connection, which is locked too.
    """
    while True:
        _lock_writes(gateway._io)
        if not gateway.spec.via:
            return
        gateway = gateway._group[gateway.spec.via]


def _lock_writes(io: Any) -> None:
    """Make ``io.write`` take a lock of its own (once, however many gateways share ``io``)."""
    if getattr(io, _LOCKED, False):
        return
    write = io.write
    lock = threading.Lock()

    def write_alone(data: bytes) -> None:
        with lock:
            write(data)

    setattr(io, "write", write_alone)  # noqa: B010  (mypy refuses to assign to a method)
    setattr(io, _LOCKED, True)


_LOCKED = "_humaneval_one_writer"
"""Marks a connection whose writes :func:`_one_writer_at_a_time` already locks."""


# -- the worker's side: reading lines through the controller -------------------------------------------------


class LineClient:
    """Gets sample lines from the controller for a worker that cannot see their files.

    A line not at hand is asked for with the lines that follow it in this worker's item
    order (skipping samples whose verdict is known): the next batch of what the worker
    runs, in one round trip. Only the last batch is kept. Every line is checked against
    its entry's length and digest, as a line read from the file is.
    """

    def __init__(
        self,
        channel: Channel,
        evaluation: Evaluation,
        labels: set[str],
        ahead_lines: int = AHEAD_LINES,
        ahead_bytes: int = AHEAD_BYTES,
    ) -> None:
        self._channel = channel
        self._entries = evaluation.entries
        self._known = evaluation.known_at
        self._order, self._rank = _item_order(evaluation, labels)
        self._ahead_lines = ahead_lines
        self._ahead_bytes = ahead_bytes
        self._batch: dict[int, bytes | tuple[int | None, str]] = {}

    def line(self, entry: SampleEntry, source: str) -> bytes:
        found = self._batch.pop(entry.position, None)
        if found is None:
            self._batch = self._fetch(entry, source)
            found = self._batch.pop(entry.position)
        if isinstance(found, tuple):
            raise SamplesFileChanged(source, *found)
        return checked_line(found, entry, source)

    def _fetch(self, entry: SampleEntry, source: str) -> dict[int, bytes | tuple[int | None, str]]:
        wanted = [entry, *self._following(entry)]
        try:
            self._channel.send([wanted_entry.position for wanted_entry in wanted])
            return {wanted_entry.position: self._receive(wanted_entry) for wanted_entry in wanted}
        except (EOFError, OSError, self._channel.RemoteError) as exc:
            message = f"the controller did not send the line: {exc}"
            raise SamplesFileChanged(source, entry.line, message) from None

    def _following(self, entry: SampleEntry) -> Iterator[SampleEntry]:
        """The samples after ``entry`` in item order that fit in its batch."""
        budget = self._ahead_bytes
        start = self._rank[entry.position] + 1
        for position in self._order[start : start + self._ahead_lines]:
            if position in self._known:
                continue  # never read
            following = self._entries[position]
            if following.size > budget:
                return
            budget -= following.size
            yield following

    def _receive(self, entry: SampleEntry) -> bytes | tuple[int | None, str]:
        pieces: list[bytes] = []
        size = 0
        while size < entry.size:
            position, piece = self._channel.receive()
            if position != entry.position:
                raise OSError(f"got the line of sample {position} for that of sample {entry.position}")
            if not isinstance(piece, bytes):
                line, message = piece
                return line, message
            pieces.append(piece)
            size += len(piece)
        return b"".join(pieces)


class ControllerLines(LineReader):
    """A samples file's lines as the controller sends them (see :class:`LineClient`)."""

    def __init__(self, reader: LineReader, client: LineClient) -> None:
        super().__init__(reader.path, reader.source, reader.stamp)
        self.client = client

    def read(self, entry: SampleEntry) -> bytes:
        return self.client.line(entry, self.source)


def read_through_controller(evaluation: Evaluation, channel: Channel) -> None:
    """Have the worker read, through the controller on ``channel``, every samples file it
    cannot see as the controller checked it; the others it reads itself."""
    hidden = [sample_set for sample_set in evaluation.sample_sets if not _visible(sample_set)]
    if not hidden:
        return
    client = LineClient(channel, evaluation, {sample_set.entries[0].file_label for sample_set in hidden})
    for sample_set in hidden:
        assert sample_set.reader is not None
        sample_set.reader.close()
        sample_set.reader = ControllerLines(sample_set.reader, client)


def _visible(sample_set: SampleSet) -> bool:
    """Whether this process sees the set's file as the controller checked it (size,
    modification time and first line), or needs no file (a set kept in memory)."""
    reader = sample_set.reader
    if reader is None:
        return True
    try:
        if file_stamp(Path(reader.path)) != reader.stamp:
            return False
        reader.read(sample_set.entries[0])
    except InputError:  # SamplesFileChanged too
        return False
    return True


def _item_order(evaluation: Evaluation, labels: set[str]) -> tuple[array[int], array[int]]:
    """The positions of the samples of the files labelled ``labels``, in item order (files,
    then problems, then file order, as collected), and each position's rank in that order."""
    order: array[int] = array("q")
    for sample_set in evaluation.sample_sets:
        if sample_set.entries[0].file_label in labels:
            for entries in evaluation.entries_by_task(sample_set).values():
                order.extend(entry.position for entry in entries)
    rank: array[int] = array("q", bytes(8 * len(evaluation.entries)))
    for index, position in enumerate(order):
        rank[position] = index
    return order, rank
