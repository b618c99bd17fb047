"""Time limits that do not depend on the machine's load.

A sample's time is its wall time minus the time it and the judge waited for a CPU,
and never less than a third of the wall time. So a sample that needs half a second of
CPU passes a 1 s limit even while every CPU is kept busy by other processes (its wall
time is then well above the limit), and a hanging sample still ends within three times
its limit.

The busy CPUs come from two spinning processes per CPU, each in a session of its
own: Linux's autogroup scheduling shares a CPU fairly between sessions, so spinners in
one shared session would hardly slow the sandbox down.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from pytest_humaneval._sandbox import PROBE_SECONDS
from pytest_humaneval.execution import Limits, SandboxRunner, cpu_for_worker
from pytest_humaneval.loading import Problem

LIMIT = 1.0
CPU_SECONDS = 0.5
"""What the CPU-bound sample needs on an idle CPU: half its limit."""
SPINNERS_PER_CPU = 2
LIMITS = Limits(timeout=LIMIT, memory=1 << 30)

SUMMING = "def total(n):\n    result = 0\n    for i in range(n):\n        result += i\n    return result\n"


def iterations_for(seconds: float) -> int:
    """How many iterations of the sample's loop take ``seconds`` of CPU in this process."""
    namespace: dict[str, object] = {}
    exec(SUMMING, namespace)
    total = namespace["total"]
    assert callable(total)
    count = 100_000
    while True:
        start = time.process_time()
        total(count)
        spent = time.process_time() - start
        if spent >= 0.1:
            return int(count * seconds / spent)
        count *= 2


def summing_problem(count: int) -> Problem:
    return Problem(
        task_id="Load/0",
        prompt="def total(n):\n",
        entry_point="total",
        canonical_solution="    return n * (n - 1) // 2\n",
        test=f"def check(candidate):\n    assert candidate({count}) == {count * (count - 1) // 2}\n",
    )


@pytest.fixture(scope="module")
def cpu_bound() -> Problem:
    """A problem whose test makes the sample sum about ``CPU_SECONDS`` worth of integers."""
    return summing_problem(iterations_for(CPU_SECONDS))


@pytest.fixture
def busy_cpus() -> Iterator[None]:
    """Keep busy, while the test runs, the CPUs the sandbox servers of up to two pytest
    processes are pinned to (every CPU of a 2-core machine)."""
    spinners = []
    try:
        for cpu in {cpu_for_worker(0), cpu_for_worker(1)} - {None}:
            for _ in range(SPINNERS_PER_CPU):
                spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
                spinners.append(spinner)
                os.sched_setaffinity(spinner.pid, {cpu})
        time.sleep(0.2)  # let them all start spinning
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


@pytest.fixture
def runner() -> Iterator[SandboxRunner]:
    sandbox_runner = SandboxRunner(cpu_for_worker(0))  # pinned, as for a pytest process
    warm_up = sandbox_runner.run_code(summing_problem(10), SUMMING, LIMITS)  # started before any timing
    assert warm_up.kind == "passed", warm_up
    yield sandbox_runner
    sandbox_runner.close()


def test_cpu_bound_sample_passes_while_every_cpu_is_busy(
    runner: SandboxRunner, cpu_bound: Problem, busy_cpus: None
) -> None:
    started = time.monotonic()
    verdict = runner.run_code(cpu_bound, SUMMING, LIMITS)
    wall = time.monotonic() - started
    assert verdict.kind == "passed", verdict
    assert wall > LIMIT, f"the load did not slow the sample down ({wall:.2f} s): the test proves nothing"
    assert verdict.duration < LIMIT, verdict
    # Counted: the CPU it needed, or a third of its wall time if more.
    assert verdict.duration >= wall / LIMITS.slowdown_cap - 0.1, (verdict, wall)


def test_cpu_bound_sample_needing_more_than_the_limit_times_out_however_idle(
    runner: SandboxRunner,
) -> None:
    """The counterpart without load: the limit is a real limit."""
    problem = summing_problem(iterations_for(3 * LIMIT))
    started = time.monotonic()
    verdict = runner.run_code(problem, SUMMING, LIMITS)
    assert verdict.kind == "timed out", verdict
    assert time.monotonic() - started < LIMITS.wall_backstop + 1.0


def test_hanging_sample_ends_within_the_wall_cap_while_every_cpu_is_busy(
    runner: SandboxRunner, cpu_bound: Problem, busy_cpus: None
) -> None:
    hang = "def total(n):\n    while True:\n        pass\n"
    started = time.monotonic()
    verdict = runner.run_code(cpu_bound, hang, LIMITS)
    wall = time.monotonic() - started
    assert verdict.kind == "timed out", verdict
    assert LIMIT <= wall < LIMITS.wall_backstop + 1.0, f"{wall:.2f} s"


def test_plugin_passes_cpu_bound_samples_while_every_cpu_is_busy(
    pytester: pytest.Pytester, cpu_bound: Problem, busy_cpus: None, worker_args: list[str]
) -> None:
    """End to end, serially and on two xdist workers (each with a server of its own): one
    sample per worker, on the two busy CPUs, however many CPUs the machine has."""
    samples = 2
    body = SUMMING.split("\n", 1)[1]
    (pytester.path / "problems.jsonl").write_text(json.dumps(dataclasses.asdict(cpu_bound)) + "\n")
    records = [{"task_id": cpu_bound.task_id, "completion": body + f"# sample {i}\n"} for i in range(samples)]
    (pytester.path / "samples.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records))
    run = pytester.runpytest_subprocess(
        "--humaneval-problems=problems.jsonl",
        "--humaneval-samples=samples.jsonl",
        f"--humaneval-timeout={LIMIT:g}",
        "--humaneval-results=results.jsonl",
        "-p",
        "no:cacheprovider",
        *worker_args,
        timeout=120,
    )
    lines = (pytester.path / "results.jsonl").read_text().splitlines()
    outcomes = [json.loads(line)["outcome"] for line in lines]
    assert outcomes == ["passed"] * samples, lines
    assert run.ret == 0, run.outlines[-5:]


# -- a limit on the test's calls alone (``--humaneval-timeout=auto``) --------------------------------

CALLS_LIMITS = dataclasses.replace(LIMITS, calls_timeout=0.5)
"""1 s for the whole sample, of which the test's calls may use 0.5 s."""


def summing_with_top_level(top_level_seconds: float, call_seconds: float) -> tuple[Problem, str]:
    """A problem whose call sums about ``call_seconds`` worth of integers, and a program
    that first spends about ``top_level_seconds`` at its top level (as a heavy import does)."""
    program = SUMMING + f"total({iterations_for(top_level_seconds)})\n" if top_level_seconds else SUMMING
    return summing_problem(iterations_for(call_seconds) if call_seconds else 10), program


@pytest.mark.parametrize(
    ("top_level", "calls", "expected", "message"),
    [
        (0.7, 0.0, "passed", ""),  # its top level alone is over the calls' limit: not counted there
        (0.0, 0.8, "timed out", "time limit of 0.5 s for the test's calls exceeded"),
        (1.5, 0.0, "timed out", "time limit of 1 s exceeded"),  # the whole sample's limit
        (0.6, 0.2, "passed", ""),
        (0.75, 0.4, "timed out", "time limit of 1 s exceeded"),  # each part within, together over
    ],
)
def test_calls_limit_leaves_out_the_programs_top_level(
    runner: SandboxRunner, top_level: float, calls: float, expected: str, message: str
) -> None:
    problem, program = summing_with_top_level(top_level, calls)
    verdict = runner.run_code(problem, program, CALLS_LIMITS)
    assert (verdict.kind, verdict.message) == (expected, message), verdict


# -- the problem's own test code is held to the sample's limit ---------------------------------------


@pytest.mark.parametrize(
    "check",
    [
        "def check(candidate):\n    while True:\n        pass\n",  # before any call
        "def check(candidate):\n    assert candidate(3) == 3\n    while True:\n        pass\n",  # after one
        "def check(candidate):\n    answer = candidate(3)\n    while answer:\n        pass\n",  # on an answer
    ],
)
def test_a_test_that_hangs_in_the_judge_times_out(runner: SandboxRunner, check: str) -> None:
    """As in the reference harness, where the test runs in the sample's process: a problem
    whose test never ends times every sample out, and the server goes on judging."""
    problem = dataclasses.replace(summing_problem(10), test=check)
    started = time.monotonic()
    verdict = runner.run_code(problem, SUMMING, LIMITS)
    wall = time.monotonic() - started
    assert (verdict.kind, verdict.message) == ("timed out", f"time limit of {LIMIT:g} s exceeded"), verdict
    # Within the wall-clock cap, plus the probe of the test's calls before the first sample.
    assert wall < LIMITS.wall_backstop + PROBE_SECONDS + 1.0, f"{wall:.2f} s"
    assert runner.run_code(summing_problem(10), SUMMING, LIMITS).kind == "passed"
