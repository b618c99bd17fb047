"""The results file: one JSON line per sample, the input record with its verdict added
(the reference harness's fields, then ours; an EvalPlus problem's sample also has
EvalPlus's statuses and its first failed input; a shard's, where it belongs: see
:mod:`pytest_humaneval.shard_description`), streamed as verdicts arrive.

Imports the domain types, :mod:`.files` and the names of a shard's fields.
"""

from __future__ import annotations

import array
import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from typing import Any, BinaryIO

from pytest_humaneval.model import Sample, SampleEntry, Verdict
from pytest_humaneval.outputs.files import cannot_write, write_output
from pytest_humaneval.shard_description import DESCRIPTION_FIELD, POSITION_FIELD, SHARD_FIELD


def result_record(
    sample: Sample,
    verdict: Verdict | None,
    samples_file: str | None = None,
    shard: str | None = None,
    by_inputs: bool = False,
) -> dict[str, Any]:
    """One line of the results file: the input record, the reference's fields, ours.

    ``samples_file`` (given when the session has several files) names the sample's file;
    ``shard`` (``I/N``, in a sharded run) the shard, and the sample's place in the whole
    input comes with it: the last fields, which the merge removes. ``by_inputs``: the
    sample's problem is judged by inputs, so its line has the suites' fields, null when
    no suite was judged (not run, or no verdict of its own).
    """
    record = dict(sample.record)
    if samples_file is not None:
        record["samples_file"] = samples_file
    original = record.get("solution" if "solution" in record else "completion")
    if original != sample.text:
        record["ran"] = sample.text
    if sample.preparation:
        record["extraction"] = sample.preparation
    if verdict is None:
        record.update(result=None, passed=None, outcome="not run", message="", duration=None)
    else:
        record.update(
            result=verdict.reference_result,
            passed=verdict.passed,
            outcome=verdict.kind,
            message=verdict.message,
            duration=verdict.duration,
        )
    if verdict is not None and verdict.by_inputs:
        failed = verdict.failed_input
        record.update(
            base_status=verdict.base_status,
            plus_status=verdict.plus_status,
            failed_input=None if failed is None else asdict(failed),
        )
    elif by_inputs:
        record.update(base_status=None, plus_status=None, failed_input=None)
    if shard is not None:
        record[SHARD_FIELD], record[POSITION_FIELD] = shard, sample.entry.position
    return record


def _result_line(sample: Sample, verdict: Verdict | None, stream: ResultsStream) -> str:
    # ASCII escapes keep lone surrogates (valid in JSON, not in UTF-8) writable.
    record = result_record(
        sample,
        verdict,
        stream.sources.get(sample.entry.file_label),
        stream.shard,
        sample.entry.task_id in stream.by_inputs,
    )
    return json.dumps(record) + "\n"


def _with_field(line: bytes, name: str, value: Any) -> bytes:
    """A results line with one more field, last (the line as written is kept byte for byte)."""
    return line[: line.rindex(b"}")] + f", {json.dumps(name)}: {json.dumps(value)}}}\n".encode("ascii")


class ResultsStream:
    """The results file while the run goes on: one complete line per verdict, as they arrive.

    Nothing is touched before the first verdict (a session that runs no sample leaves the
    file as it was). ``finish`` replaces it, atomically, with every sample in input order,
    copying each line written during the run (by its place in the file) instead of encoding
    it again. A FIFO or a device is written once, at the end: the lines are kept meanwhile
    in an anonymous temporary file (nothing is left of it if the session is killed).
    """

    def __init__(
        self,
        path: str,
        sources: dict[str, str] | None = None,
        shard: str | None = None,
        by_inputs: frozenset[str] = frozenset(),
    ) -> None:
        self.path = path
        self.sources = sources or {}
        """The samples files by file label, when the session has several."""
        self.shard = shard
        """The shard (``I/N``) the session runs, if it runs one."""
        self.by_inputs = by_inputs
        """The task ids of the problems judged by inputs (their lines have the suites' fields)."""
        self._spool: BinaryIO | None = None
        """Where the lines go as they arrive: the file itself, or the temporary file."""
        self._direct = False
        """The path is not a regular file: it is written once, by :meth:`finish` or :meth:`close`."""
        self._started = self._ended = False
        self._failed: OSError | None = None
        """Why writing the lines as they arrive stopped, if it did (``finish`` writes them all)."""
        self._written = 0
        self._offsets = array.array("q")
        """Where the line of each sample position starts in the file (-1: none yet)."""
        self._sizes = array.array("q")

    def _start(self) -> None:
        self._started = True
        try:
            try:
                self._direct = not stat.S_ISREG(os.stat(self.path).st_mode)
            except FileNotFoundError:
                os.makedirs(os.path.dirname(os.path.realpath(self.path)), exist_ok=True)
            self._spool = tempfile.TemporaryFile() if self._direct else open(self.path, "w+b")
        except OSError as exc:
            self._failed = exc

    def add(self, sample: Sample, verdict: Verdict) -> None:
        """Write the sample's line (a failure to write is reported by ``finish`` or ``close``)."""
        if not self._started:
            self._start()
        if self._spool is None or self._failed is not None:
            return
        line = _result_line(sample, verdict, self).encode("ascii")
        try:
            self._spool.write(line)
            self._spool.flush()
        except OSError as exc:
            self._failed = exc
            return
        position = sample.entry.position
        if position >= len(self._offsets):
            grow = position + 1 - len(self._offsets)
            self._offsets.extend([-1] * grow)
            self._sizes.extend([0] * grow)
        self._offsets[position], self._sizes[position] = self._written, len(line)
        self._written += len(line)

    def finish(
        self,
        entries: Iterable[SampleEntry],
        verdicts: Iterable[Verdict | None],
        read: Callable[[SampleEntry], Sample],
        shard_run: dict[str, Any] | None = None,
    ) -> None:
        """Write the file in input order; ``read`` gives a sample that has no line yet.

        A shard's ``shard_run`` (its description) goes on the first line. Raises ``OSError``
        (one line) if it cannot be written.
        """
        if not self._started or self._ended:
            return
        spool = self._spool

        def line_of(entry: SampleEntry, verdict: Verdict | None) -> bytes:
            position = entry.position
            if (
                spool is not None
                and verdict is not None
                and position < len(self._offsets)
                and self._offsets[position] >= 0
            ):
                return os.pread(spool.fileno(), self._sizes[position], self._offsets[position])
            return _result_line(read(entry), verdict, self).encode("ascii")

        def lines() -> Iterator[bytes]:
            for number, (entry, verdict) in enumerate(zip(entries, verdicts, strict=True)):
                line = line_of(entry, verdict)
                yield _with_field(line, DESCRIPTION_FIELD, shard_run) if number == 0 and shard_run else line

        try:
            write_output(self.path, lines())
        finally:
            self._end()

    def close(self) -> None:
        """Stop writing, leaving the lines written so far (in arrival order).

        Raises ``OSError`` (one line) if they could not all be written.
        """
        if not self._started or self._ended:
            return
        spool, failed = self._spool, self._failed
        try:
            if spool is not None and self._direct:
                write_output(self.path, _chunks(spool.fileno(), self._written))
        finally:
            self._end()
        if failed is not None:
            raise cannot_write(failed)

    def _end(self) -> None:
        self._ended = True
        if self._spool is not None:
            with contextlib.suppress(OSError):  # a line that could not be written stays unwritten
                self._spool.close()


def _chunks(descriptor: int, size: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    """The first ``size`` bytes of the file, a chunk at a time."""
    for offset in range(0, size, chunk):
        yield os.pread(descriptor, min(chunk, size - offset), offset)
