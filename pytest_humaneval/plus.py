"""EvalPlus's problems' expected outputs, from the canonical solutions, as EvalPlus 0.3.1
computes them (the samples are then judged by the runner against them).

They run in the sandbox (never in pytest), through the runner, on the controller before
any sample runs, side by side on servers of their own as the calibration does (one
thread waits on each). Imports the runner, the keys, the input errors and the domain.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pytest_humaneval.errors import InputError, quoted
from pytest_humaneval.keys import expected_key
from pytest_humaneval.model import ExpectedOutputs, Limits, PlusExpected, Problem
from pytest_humaneval.runner import SandboxRunner, side_servers

EXPECTED_TIMEOUT = 120.0
"""Seconds for a canonical solution on all of one suite's inputs (EvalPlus sets no limit:
a generous one, so that a canonical solution that hangs is an error, not a stuck session)."""
SUITES = ("base", "plus")


@dataclass
class ExpectedRun:
    """The expected outputs of the problems asked for, and what was computed to get them."""

    expected: dict[str, PlusExpected]
    """By task id."""
    computed: dict[str, PlusExpected]
    """The new ones by key (for the verdict cache)."""
    helpers: list[SandboxRunner]
    """The servers that ran beside the caller's, told to stop (wait for them on closing)."""


def compute_expected(
    source: str,
    problems: Sequence[Problem],
    memory: int,
    runner: SandboxRunner,
    lookup: Callable[[list[str]], dict[str, PlusExpected]],
) -> ExpectedRun:
    """Each problem's expected outputs on its base and plus inputs: ``lookup`` finds those
    computed before (in the verdict cache), the others run on ``runner`` and servers beside
    it. A canonical solution that gives no outputs raises :class:`InputError` naming its
    problem (from ``source``)."""
    limits = Limits(timeout=EXPECTED_TIMEOUT, memory=memory)
    keys = {problem.task_id: expected_key(problem, limits) for problem in problems}
    known = lookup(list(keys.values()))
    unknown = [problem for problem in problems if keys[problem.task_id] not in known]
    jobs = [(problem, suite) for problem in unknown for suite in SUITES]
    helpers = side_servers(len(jobs))
    try:
        outputs = _side_by_side([runner, *helpers], jobs, limits)
    finally:
        for helper in helpers:
            helper.close(wait=False)  # each exits on its own; waited for on closing
    by_job = dict(zip(((problem.task_id, suite) for problem, suite in jobs), outputs, strict=True))
    computed = {}
    for problem in problems:
        for suite in SUITES:
            error = by_job[problem.task_id, suite].error if (problem.task_id, suite) in by_job else ""
            if error:
                raise InputError(
                    source,
                    None,
                    f"{quoted(problem.task_id, as_repr=True)}: the canonical solution gives no "
                    f"expected outputs for its {suite} inputs: {error}",
                )
        if keys[problem.task_id] not in known:
            computed[keys[problem.task_id]] = PlusExpected(
                by_job[problem.task_id, "base"], by_job[problem.task_id, "plus"]
            )
    expected = {task_id: known.get(key) or computed[key] for task_id, key in keys.items()}
    return ExpectedRun(expected, computed, helpers)


def _side_by_side(
    runners: Sequence[SandboxRunner], jobs: Sequence[tuple[Problem, str]], limits: Limits
) -> list[ExpectedOutputs]:
    """Each job's canonical outputs, the jobs spread over ``runners`` (a thread waits on
    each: a server answers one request at a time); in job order."""
    runners = runners[: len(jobs)]
    for runner in runners:
        runner.launch()  # here: a server's parent-death signal follows the thread that started it
    results: list[ExpectedOutputs | None] = [None] * len(jobs)
    waiting = iter(range(len(jobs)))
    lock = threading.Lock()

    def work(runner: SandboxRunner) -> None:
        while True:
            with lock:
                job = next(waiting, None)
            if job is None:
                return
            problem, suite = jobs[job]
            assert problem.plus is not None
            inputs = problem.plus.base_inputs if suite == "base" else problem.plus.plus_inputs
            code = problem.prompt + problem.canonical_solution
            results[job] = runner.expected_outputs(
                code, problem.entry_point, inputs, limits, dataset=problem.plus.kind, atol=problem.plus.atol
            )

    pool = ThreadPoolExecutor(max(1, len(runners)), thread_name_prefix="humaneval-expected")
    try:
        for future in [pool.submit(work, runner) for runner in runners]:
            future.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # interrupted: the servers' closing ends them
    return [result for result in results if result is not None]
