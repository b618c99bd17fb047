"""The judging of one sample, in the server (trusted): the handle on its sample process,
the time limit, the ``candidate`` that forwards each call to it, and the verdict.

A sample's time is wall time less the time it and the judge spent waiting for a CPU
(``/proc/<pid>/schedstat``), never less than a third of the wall time. The calls a test
makes whatever the answers are streamed to the sample ahead (see :mod:`.probe`); any
other is sent when the test makes it (call by call).

Imports only the standard library and its sibling modules.
"""

from __future__ import annotations

import os
import pickle
import random
import select
import signal
import socket
import time
import types
from typing import Any

from .protocol import CRASHED, ERROR, FAILED, HEADER, MAX_MESSAGE, PASSED, TIMED_OUT, LimitsMessage
from .values import CandidateError, SampleGone, decode_reply


class SampleTimeout(BaseException):
    """The sample used up its time limit."""


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
        limits: LimitsMessage,
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
        self.waits_at_start = self.cpu_waits()
        self.send(pickle.dumps((program, entry_point, names, limits, expected_calls), protocol=4))

    def begin_calls(self) -> None:
        """The program has run (its imports, definitions): the calls' own limit starts now."""
        self.calls_from = self.elapsed()

    def cpu_waits(self) -> float:
        """Seconds the sample and the judge have spent waiting for a CPU so far."""
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
        waited = self.cpu_waits() - self.waits_at_start
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
    the sample's program, see :func:`.probe.helper_names`): each call runs in the sample process.

    The calls the test makes whatever the answers (``expected``, see :func:`.probe.probe_calls`)
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


def describe(exc: BaseException) -> tuple[str, str]:
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


def ended_verdict(status: int) -> tuple[str, str]:
    """The verdict for a sample process that ended before its tests finished."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number == signal.SIGXCPU:
            return (TIMED_OUT, "CPU time limit exceeded")
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return (CRASHED, f"killed by {name} before its tests finished")
    return (ERROR, f"the program exited (status {os.WEXITSTATUS(status)}) before its tests finished")


def judge(
    sample: SampleProcess, candidate: CandidateProxy, test_code: types.CodeType, names: list[str]
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
        return (TIMED_OUT, sample.overrun(), TIMED_OUT)
    except AssertionError as exc:
        return (FAILED, *describe(exc))
    except BaseException as exc:
        return (ERROR, *describe(exc))
    return (PASSED, "", "")
