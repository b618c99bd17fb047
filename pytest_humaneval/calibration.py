"""``--humaneval-timeout=auto``: each problem's limit from what its canonical solution costs.

The canonical solutions run in the sandbox (never in pytest), side by side on servers
of their own, before any sample: a sample's verdict key includes its limits, so no key
is final before this. Imports the runner and the domain only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pytest_humaneval.keys import verdict_key
from pytest_humaneval.model import PASSED, Limits, ProblemSet, Verdict
from pytest_humaneval.runner import SandboxRunner, run_codes, side_servers

AUTO_TIMEOUT_FLOOR = 0.3
AUTO_TIMEOUT_FACTOR = 20.0


def auto_timeout(canonical_seconds: float, cap: float) -> float:
    """The limit on a problem's test calls under ``--humaneval-timeout=auto``: max(floor,
    factor x canonical), at most ``cap`` (which bounds the whole sample)."""
    limit = max(AUTO_TIMEOUT_FLOOR, AUTO_TIMEOUT_FACTOR * canonical_seconds)
    return min(cap, float(f"{limit:.2g}"))


@dataclass
class Calibration:
    """The problems' limits on their test calls, and what was measured to set them."""

    timeouts: dict[str, float]
    measured: dict[str, Verdict]
    """New measurements by key (for the verdict cache)."""
    helpers: list[SandboxRunner]
    """The servers that ran beside the caller's, told to stop (wait for them on closing)."""


def calibrate(
    problem_set: ProblemSet,
    task_ids: set[str],
    limits: Limits,
    runner: SandboxRunner,
    lookup: Callable[[list[str]], dict[str, Verdict]],
) -> Calibration:
    """Measure the canonical solutions of ``task_ids`` under ``limits`` (whose timeout is the
    cap of every limit set here).

    ``lookup`` finds earlier measurements by key (in the verdict cache). The others are
    measured on ``runner`` and servers beside it, one per usable CPU (nothing else runs yet).
    """
    problems = problem_set.problems
    programs = {
        task_id: problem.prompt + problem.canonical_solution
        for task_id, problem in problems.items()
        if task_id in task_ids
    }
    keys = {
        task_id: "canonical:" + verdict_key(problems[task_id], code, limits)
        for task_id, code in programs.items()
    }
    known = lookup(list(keys.values()))
    unknown = [task_id for task_id, key in keys.items() if key not in known]
    helpers = side_servers(len(unknown))
    try:
        jobs = [(problems[task_id], programs[task_id]) for task_id in unknown]
        verdicts = run_codes([runner, *helpers], jobs, limits)
        measured = {keys[task_id]: verdict for task_id, verdict in zip(unknown, verdicts, strict=True)}
    finally:
        for helper in helpers:
            helper.close(wait=False)  # each exits on its own; waited for on closing
    cap = limits.timeout
    timeouts = {}
    for task_id, key in keys.items():
        verdict = known.get(key) or measured[key]
        timeouts[task_id] = auto_timeout(verdict.duration, cap) if verdict.kind == PASSED else cap
    return Calibration(timeouts, measured, helpers)
