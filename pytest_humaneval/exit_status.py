"""What the end of a session says about the evaluation: its FAIL lines, the gate's lines,
and whether the exit status turns from 0 to 1.

Pure: it takes what happened (the selection, the summaries, what could not be written,
the gate) and returns lines and a decision; it touches no file and no pytest object. A
status that something else set (a failing user test, a plugin, a collection error) is
never changed: only 0 becomes 1.

Imports the metrics, the tally and the terminal's wording of a partial run; nothing
that writes or runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from pytest_humaneval.metrics import PassAtK, mean_pass_at_k
from pytest_humaneval.outputs.terminal import partial_reason
from pytest_humaneval.tally import Summary


@dataclass(frozen=True)
class Gate:
    """``--humaneval-fail-under``: the thresholds, the name they were given as, and whether
    a partial evaluation is gated on what finished (``--humaneval-allow-partial``)."""

    thresholds: dict[int, float]
    name: str
    allow_partial: bool
    plus_thresholds: dict[int, float] = field(default_factory=dict)
    """On EvalPlus's pass@k on base + plus inputs (``pass@K+``), by k."""


@dataclass(frozen=True)
class SessionEnd:
    """What the session measured, as the controller saw it."""

    selected: int
    """Sample items selected to run (0: no sample selected, so no gate)."""
    recorded: int
    """Sample items that reported a verdict (or its loss)."""
    summaries: Sequence[Summary]
    lost: int
    """Samples whose verdict the harness lost (counted as crashed)."""
    interrupted: bool
    input_changed: str | None = None
    """The error of a samples file that changed during the session."""
    results_kept: bool = False
    """The results file holds the verdicts written before the input changed."""
    write_failures: Sequence[str] = ()
    """One line per output that could not be written."""


@dataclass(frozen=True)
class Decision:
    lines: list[str]
    failed: bool
    """Whether the evaluation fails the session (exit status 1 where it was 0)."""


def decide(end: SessionEnd, gate: Gate) -> Decision:
    """The FAIL lines of an unwritten or unfinished evaluation, then the gate's lines.

    An unfinished run has set its status already (a failed report, an interrupt, a usage
    error): its lines explain it. An output that could not be written fails the session.
    """
    lines = [f"FAIL: {failure}" for failure in end.write_failures]
    failed = bool(lines)
    lines += _unfinished_lines(end)
    if end.selected and (gate.thresholds or gate.plus_thresholds):
        gate_lines, gate_failed = _gate_lines(end.summaries, gate)
        lines += gate_lines
        failed = failed or gate_failed
    return Decision(lines, failed)


def exit_status(current: int, decision: Decision) -> int:
    """The session's exit status: 1 where it was 0 and the evaluation failed, else as it was."""
    return int(pytest.ExitCode.TESTS_FAILED) if decision.failed and current == pytest.ExitCode.OK else current


def stopped_early_status(current: int, should_fail: bool | str) -> int:
    """``-x`` or ``--maxfail`` under xdist stops its workers as an interrupt does: the run
    stopped early, as it does without xdist (exit status 1, not 2)."""
    if current == pytest.ExitCode.INTERRUPTED and should_fail:
        return int(pytest.ExitCode.TESTS_FAILED)
    return current


def _unfinished_lines(end: SessionEnd) -> list[str]:
    """Samples that lost their verdict to the harness, and a run that stopped before every
    selected sample ran."""
    lines = []
    if end.input_changed is not None:
        kept = "; the results file holds the verdicts written before" if end.results_kept else ""
        lines.append(f"FAIL: {end.input_changed}{kept}")
    if end.lost:
        lines.append(
            f"FAIL: {end.lost} samples have no verdict of their own (counted as crashed): "
            "the harness failed, see their reports"
        )
    unfinished = end.selected - end.recorded
    if unfinished > 0 and not end.interrupted and end.input_changed is None:
        lines.append(f"FAIL: the run stopped early: {unfinished} selected samples did not run")
    return lines


def _gate_lines(summaries: Sequence[Summary], gate: Gate) -> tuple[list[str], bool]:
    """Each file must meet each threshold. A partial evaluation fails the gate unless the
    gate is on what finished."""
    if not summaries:
        return [f"FAIL: {gate.name}: no sample finished"], True
    lines, failed = [], False
    for summary in summaries:
        of = f"{summary.label}: " if len(summaries) > 1 else ""
        refused = summary.partial and not gate.allow_partial
        on = " (on a partial run)" if summary.partial else ""
        thresholds = [(k, "", value) for k, value in sorted(gate.thresholds.items())]
        thresholds += [(k, "+", value) for k, value in sorted(gate.plus_thresholds.items())]
        for k, mark, threshold in thresholds:
            if mark and summary.pass_at_k_plus is None:
                rate = PassAtK(k, None, reason="the problems have no EvalPlus inputs")
            else:
                rate = mean_pass_at_k(summary.task_counts_plus if mark else summary.task_counts, k)
            shown = f"{rate.value:.4f}" if rate.value is not None else f"not computable ({rate.reason})"
            if refused:
                lines.append(
                    f"FAIL: {of}pass@{k}{mark} = {shown} is on a partial evaluation "
                    f"({partial_reason(summary)}): {gate.name} {threshold:g} gates "
                    "whole evaluations (--humaneval-allow-partial gates what finished)"
                )
                failed = True
            elif rate.value is not None and rate.value >= threshold:
                lines.append(f"{of}pass@{k}{mark} = {shown} meets {gate.name} {threshold:g}{on}")
            else:
                lines.append(f"FAIL: {of}pass@{k}{mark} = {shown} is below {gate.name} {threshold:g}{on}")
                failed = True
    return lines, failed
