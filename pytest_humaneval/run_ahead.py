"""Samples started ahead on a pool of sandbox servers, for a pytest process that knows the
order of the items it runs (the single process of a session without xdist).

Each server runs one sample at a time; the pool keeps every server busy with the next
samples in item order, so all the CPUs work while pytest reports one item after the other.
An item takes its verdict when it has come (waiting for it if need be); verdicts that came
ahead of their items are held until then. Copies of a sample (the same verdict key) run
once: the later copies take the first one's verdict, marked reused.

Imports the runner and the domain types only.
"""

from __future__ import annotations

import selectors
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from pytest_humaneval.model import Limits, PlusExpected, Problem, Sample, SampleEntry, Verdict
from pytest_humaneval.runner import SandboxRunner


@dataclass(frozen=True)
class Job:
    """What a server needs to run one sample, and the key its copies share."""

    problem: Problem
    sample: Sample
    limits: Limits
    key: str
    expected: PlusExpected | None


class RunAhead:
    """Keeps a pool of servers busy with the planned samples; hands out their verdicts."""

    def __init__(
        self,
        runners: list[SandboxRunner],
        job_of: Callable[[SampleEntry], Job],
        repeated_keys: frozenset[str] | None,
    ) -> None:
        self.runners = runners
        self.job_of = job_of
        """The job of an entry (reads its sample back from its file: it may raise)."""
        self.repeated_keys = repeated_keys
        """The keys of samples with copies (None: unknown, so every verdict is kept)."""
        self._kept: dict[str, Verdict] = {}
        """Verdicts of samples with copies, by key, for copies that start after they finished."""
        self._planned: deque[SampleEntry] = deque()
        """The entries to start, in item order."""
        self._running: dict[int, tuple[SandboxRunner, str]] = {}
        """By reply descriptor: the server and the key of the sample it runs."""
        self._started: dict[str, list[int]] = {}
        """By key of a sample started and not yet finished: the positions waiting for it."""
        self._finished: dict[int, Verdict] = {}
        """Verdicts that came before their items asked, by position."""
        self._failed: dict[int, Exception] = {}
        """Why a position has no verdict (its server failed to start it or died running it),
        raised when its item asks, as the single server would have raised it there."""
        self._key_of: dict[int, str] = {}
        """The key of each position started or waiting on a copy."""
        self._selector = selectors.DefaultSelector()

    def plan(self, entries: Iterable[SampleEntry]) -> None:
        """The entries the process will ask for, in order (replacing any earlier plan)."""
        self._planned = deque(entries)
        self._fill()

    def verdict(self, entry: SampleEntry) -> Verdict:
        """The entry's verdict: the one that came ahead, or after waiting for it; an entry
        not planned (or asked for again, as a rerun does) starts now."""
        position = entry.position
        if not self._done(position) and not self._waiting(position):
            self._start_now(entry)
        while not self._done(position):
            self._collect()
        if position in self._failed:
            raise self._failed.pop(position)
        return self._finished.pop(position)

    def leftovers(self) -> list[tuple[str, Verdict]]:
        """The verdicts that came ahead of items that never asked (the session stopped
        first), each once with its key: worth keeping in the verdict cache."""
        return [
            (self._key_of[position], verdict)
            for position, verdict in self._finished.items()
            if not verdict.reused
        ]

    def close(self) -> None:
        """Stop every server (each kills the sample it runs)."""
        self._selector.close()
        for runner in self.runners:
            runner.close()

    # -- inside -------------------------------------------------------------------------

    def _done(self, position: int) -> bool:
        return position in self._finished or position in self._failed

    def _waiting(self, position: int) -> bool:
        return any(position in positions for positions in self._started.values())

    def _idle(self) -> list[SandboxRunner]:
        busy = {id(runner) for runner, _ in self._running.values()}
        return [runner for runner in self.runners if id(runner) not in busy]

    def _fill(self) -> None:
        """Start planned samples on every idle server."""
        idle = self._idle()
        while idle and self._planned:
            entry = self._planned.popleft()
            if self._done(entry.position) or self._waiting(entry.position):
                continue
            try:
                job = self.job_of(entry)
            except Exception:
                continue  # its own item reads it again, and fails there
            if self._join(entry, job):
                continue
            self._start(idle.pop(), entry, job)

    def _join(self, entry: SampleEntry, job: Job) -> bool:
        """Take the verdict of a copy of the sample that finished, or wait on one that is
        running, if there is one."""
        kept = self._kept.get(job.key)
        if kept is not None:
            self._finished[entry.position] = replace(kept, reused=True)
            return True
        positions = self._started.get(job.key)
        if positions is None:
            return False
        positions.append(entry.position)
        self._key_of[entry.position] = job.key
        return True

    def _start_now(self, entry: SampleEntry) -> None:
        """Start an entry that was not planned (its errors are its own item's)."""
        job = self.job_of(entry)
        if self._join(entry, job):
            return
        while not self._idle():
            self._collect()
        self._start(self._idle()[0], entry, job)

    def _start(self, runner: SandboxRunner, entry: SampleEntry, job: Job) -> None:
        self._started[job.key] = [entry.position]
        self._key_of[entry.position] = job.key
        try:
            refused = runner.start(job.problem, job.sample, job.limits, job.expected)
        except Exception as exc:  # the server could not start, or died taking the sample
            self._fail(job.key, exc)
            return
        if refused is not None:  # never sent (too large): its verdict is known at once
            self._finish(job.key, refused)
            return
        descriptor = runner.reply_descriptor()
        self._running[descriptor] = (runner, job.key)
        self._selector.register(descriptor, selectors.EVENT_READ)

    def _collect(self) -> None:
        """Take the verdicts that have come, from whichever servers, then refill the pool.

        A server that dies is closed by its runner (the next sample it takes starts a fresh
        one): the samples it ran fail, each in its own item, as with a single server.
        """
        for ready, _ in self._selector.select():
            runner, key = self._running.pop(ready.fd)
            self._selector.unregister(ready.fd)
            try:
                verdict = runner.collect()
            except Exception as exc:
                self._fail(key, exc)
                continue
            self._finish(key, verdict)
        self._fill()

    def _fail(self, key: str, error: Exception) -> None:
        for position in self._started.pop(key):
            self._failed[position] = error

    def _finish(self, key: str, verdict: Verdict) -> None:
        first, *copies = self._started.pop(key)
        if self.repeated_keys is None or key in self.repeated_keys:
            self._kept[key] = verdict
        self._finished[first] = verdict
        for position in copies:
            self._finished[position] = replace(verdict, reused=True)
