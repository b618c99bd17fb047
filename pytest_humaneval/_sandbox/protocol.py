"""The contract between pytest and the sandbox server, the one module both ends import.

Messages are length-prefixed pickles on file descriptors: pytest sends a
:class:`Request` per sample on the server's stdin (or an :class:`OutputsRequest` or an
:class:`InputsRequest`, EvalPlus's way of judging by inputs); the server first sends its
:class:`Isolation`, then a reply per request on its stdout. The same framing
carries the judge's calls to a sample process and its answers back. Also here: the
outcome words a verdict's kind is one of, the reference harness's ``result`` text, and
the :class:`OutputDigest` an expected output too large to carry is kept as.

Imports only the standard library.
"""

from __future__ import annotations

import os
import struct
import sys
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

HEADER = struct.Struct("!I")
"""A message's length, before its bytes."""
MAX_MESSAGE = 64 * 1024 * 1024
"""The most a sample process may send the judge in one message (its answers are untrusted)."""
MAX_REQUEST = 1024 * 1024 * 1024
"""The most a trusted sender (pytest to the server, the judge to a sample) sends in one
message: a request holds the sample's program, which may be long."""

PASSED, FAILED, ERROR, TIMED_OUT, CRASHED = "passed", "failed", "error", "timed out", "crashed"
OUTCOME_KINDS = (PASSED, FAILED, ERROR, TIMED_OUT, CRASHED)


class LimitsMessage(TypedDict):
    """A sample's resource limits, as :class:`pytest_humaneval.model.Limits` holds them."""

    timeout: float
    memory: int
    calls_timeout: float | None
    file_size: int
    open_files: int
    processes: int
    slowdown_cap: float


class Request(TypedDict):
    """Run ``code`` as a sample's program against the problem's ``test``."""

    test: str
    entry_point: str
    code: str
    limits: LimitsMessage


class Reply(TypedDict):
    """A sample's verdict: its kind (an outcome word), a message, the reference's result text
    and the sample's time in seconds."""

    kind: str
    message: str
    reference: str
    duration: float


SUITE_PASS, SUITE_FAIL, SUITE_TIMEOUT = "pass", "fail", "timeout"
"""EvalPlus's statuses of a suite of inputs."""


class OutputsRequest(TypedDict):
    """Run ``code`` (a canonical solution) and call ``entry_point`` on each of ``inputs``
    (argument lists), as EvalPlus computes its expected outputs; ``limits["timeout"]``
    bounds the whole run. ``output_not_none``: record ``out is not None`` instead of
    ``out`` (None: as EvalPlus decides from ``dataset`` and ``entry_point``). ``dataset``
    and ``atol`` (the task's tolerance) say whether an output too large to carry may be
    kept as its digest."""

    kind: Literal["expected outputs"]
    code: str
    entry_point: str
    inputs: list[Any]
    dataset: str
    atol: float
    output_not_none: bool | None
    limits: LimitsMessage


class OutputsReply(TypedDict):
    """Each input's output and its time in seconds (the sandbox's load-independent time);
    or, if the solution could not give them all, no outputs and the ``error``."""

    outputs: list[Any]
    times: list[float]
    error: str


PICKLED_AS = "_pytest_humaneval_protocol"
"""The module that pickles name for :class:`OutputDigest`: this module is
``_sandbox.protocol`` in the server and ``pytest_humaneval._sandbox.protocol`` in pytest,
and a digest pickled on either side (or in the verdict cache) must unpickle on the other."""
sys.modules.setdefault(PICKLED_AS, sys.modules[__name__])


@dataclass(frozen=True)
class OutputDigest:
    """An expected output too large to carry (see ``values.MAX_VALUE_NODES``), kept as the
    sha256 of its memo-less protocol-4 pickle: an output matches it when its own digest is
    the same (equal pickles, so equal values)."""

    sha256: str


OutputDigest.__module__ = PICKLED_AS

REPLY_VALUE, REPLY_DIGEST, REPLY_VALUE_OR_DIGEST = "value", "digest", "value or digest"
"""How a sample process replies to a call ``(name, args, kwargs, reply)`` (a call without
``reply`` asks for the value): with the returned value as plain data, with its digest (an
:class:`OutputDigest`'s), or with the digest only when the value is too large to carry."""


class Suite(TypedDict):
    """Inputs (argument lists), their expected outputs and their time limits in seconds."""

    name: str
    inputs: list[Any]
    expected: list[Any]
    time_limits: list[float]


class InputsRequest(TypedDict):
    """Judge ``code`` on each suite as EvalPlus does: a fresh sample process per suite,
    the program run once at its top, then the inputs in order up to the first failure.
    Of ``limits``, ``timeout`` and ``calls_timeout`` are not used: each suite's limits
    are its inputs' own and ``min(60, their sum) + 1`` for the whole suite."""

    kind: Literal["inputs"]
    code: str
    entry_point: str
    dataset: str
    atol: float
    suites: list[Suite] | None
    """None: the suites sent last, under the same ``suites_key`` (a problem's samples
    share them, and a large problem's suites cost more to send than its samples to run)."""
    suites_key: str
    limits: LimitsMessage


class InputFailure(TypedDict):
    """A suite's first failing input: its index and, as capped reprs, the input (its
    arguments), the expected output and the actual one (or the exception, or the limit)."""

    index: int
    input: str
    expected: str
    actual: str


class SuiteReply(TypedDict):
    """One suite's status (a ``SUITE_*`` word), how many inputs passed, why it did not
    pass (empty if it did), its first failing input (None when the failure is not one
    input's: the program's top level, the suite's time) and its time in seconds."""

    name: str
    status: str
    passed: int
    message: str
    failure: InputFailure | None
    duration: float


class InputsReply(TypedDict):
    """The verdict of each suite of an :class:`InputsRequest`, in its order."""

    suites: list[SuiteReply]


class Isolation(TypedDict):
    """How the server isolates samples, its first message (shown in the session's header)."""

    network: str
    processes: str
    file_system: str
    system_calls: str
    work_directory: str
    python: str


def reference_result(kind: str, text: str) -> str:
    """The ``result`` the reference harness prints for a verdict: "passed", "timed out", or
    "failed: " and ``text`` (the exception's text, as the reference prints it)."""
    return kind if kind in (PASSED, TIMED_OUT) else f"failed: {text}"


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
    """One length-prefixed message from a blocking file descriptor (EOFError if it ends first)."""
    (size,) = HEADER.unpack(_read_exact(fd, HEADER.size))
    if size > MAX_REQUEST:
        raise EOFError
    return _read_exact(fd, size)


def write_message(fd: int, payload: bytes) -> None:
    """Write one length-prefixed message to a blocking file descriptor."""
    view = memoryview(HEADER.pack(len(payload)) + payload)
    while view:
        view = view[os.write(fd, view) :]
