"""Time limits that do not depend on the machine's speed or load.

A sample's time is its wall time minus the time it and the judge waited for a CPU, and
never less than its wall time divided by the slowdown cap (3). Every verdict asserted here
holds on any machine, idle or busy, because no workload is sized from a speed measured in
advance:

- CPU-bound work spins on the sample's own CPU clock (``time.process_time``): it needs
  exactly that much CPU time, however fast the CPU is;
- the tests of how the limits are split (the program's top level against the test's
  calls) sleep instead: a sleeping process waits for no CPU, so its time counts in full
  and is the same on a busy machine as on an idle one;
- a sample that must time out needs far more than its limit (or never ends), one that
  must pass needs little of it.

The load tests make the load themselves: ``SPINNERS_PER_CPU`` spinning processes on each
CPU a sandbox server uses, each in a session of its own (Linux's autogroup scheduling
shares a CPU fairly between sessions; the sample process is in a session of its own too).
A fair scheduler then gives the sample at most 1/(SPINNERS_PER_CPU + 1) of its CPU whatever
else runs, so its wall time is at least that many times the CPU it needs: a premise
guaranteed by construction, not hoped for. Other work on the machine only slows the
sample further, which the assertions allow for up to the slowdown cap.
"""

from __future__ import annotations

import dataclasses
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from pytest_humaneval._sandbox.probe import PROBE_SECONDS
from pytest_humaneval.model import Limits, Problem, Verdict
from pytest_humaneval.runner import SandboxRunner, cpu_for_worker

LIMIT = 1.0
LIMITS = Limits(timeout=LIMIT, memory=1 << 30)
SPINNERS_PER_CPU = 5
"""With five spinners, the sample gets at most a sixth of its CPU."""
CPU_SECONDS = 0.2
"""The CPU the load tests' sample needs: behind the spinners its wall time is at least
(SPINNERS_PER_CPU + 1) x 0.2 = 1.2 s, over the 1 s limit, and it still passes while it gets
more than a fifteenth of its CPU (its wall time under 3 x the limit)."""
REACTION = 1.5
"""Wall-clock seconds beyond a bound of the sandbox's own (the slowdown cap x the limit) for
the judge to notice, kill the sample and answer, and for the test to hear it, on a busy
machine (milliseconds when idle)."""
SPINNING_READY_WITHIN = 60.0
"""Deadline for a spinner to say that it spins (a condition waited for, not a delay)."""

ANSWER = "def total(n):\n    return n * (n - 1) // 2\n"


def spin(seconds: float, indent: str = "") -> str:
    """Code that runs until its process has used ``seconds`` more of CPU time."""
    lines = [
        "import time as _clock",
        "_until = _clock.process_time() + " + repr(seconds),
        "while _clock.process_time() < _until:",
        "    pass",
    ]
    return "".join(f"{indent}{line}\n" for line in lines)


def sleep(seconds: float, indent: str = "") -> str:
    return f"{indent}import time as _clock\n{indent}_clock.sleep({seconds!r})\n"


def program(top_level: str = "", call: str = "") -> str:
    """A correct ``total``, with ``top_level`` code before it and ``call`` code in it."""
    body = ANSWER.split("\n", 1)[1]
    return top_level + "def total(n):\n" + call + body


HANG = "def total(n):\n    while True:\n        pass\n"

PROBLEM = Problem(
    task_id="Load/0",
    prompt="def total(n):\n",
    entry_point="total",
    canonical_solution=ANSWER.split("\n", 1)[1],
    test="def check(candidate):\n    assert candidate(10) == 45\n",
)


def _start_spinner(cpu: int) -> subprocess.Popen[bytes]:
    spinner = subprocess.Popen(
        [sys.executable, "-c", "import os\nos.write(1, b'spinning')\nwhile True:\n    pass\n"],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    os.sched_setaffinity(spinner.pid, {cpu})
    return spinner


def _wait_until_spinning(spinners: list[subprocess.Popen[bytes]]) -> None:
    """Wait for each spinner's word, written just before its loop (pinned by then)."""
    deadline = time.monotonic() + SPINNING_READY_WITHIN
    for spinner in spinners:
        assert spinner.stdout is not None
        ready, _, _ = select.select([spinner.stdout], [], [], max(0.0, deadline - time.monotonic()))
        assert ready and spinner.stdout.read(8) == b"spinning", "a spinner did not start"


@pytest.fixture
def busy_cpus() -> Iterator[set[int]]:
    """Keep busy, while the test runs, the CPUs the sandbox servers of up to two pytest
    processes are pinned to (every CPU of a 2-core machine); yields those CPUs."""
    cpus = {cpu for cpu in (cpu_for_worker(0), cpu_for_worker(1)) if cpu is not None}
    if not cpus:
        pytest.skip("CPU affinity is not available: the sandbox cannot be pinned")
    spinners: list[subprocess.Popen[bytes]] = []
    try:
        for cpu in sorted(cpus):
            for _ in range(SPINNERS_PER_CPU):
                spinners.append(_start_spinner(cpu))
        _wait_until_spinning(spinners)
        yield cpus
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
            if spinner.stdout is not None:
                spinner.stdout.close()


@pytest.fixture
def runner() -> Iterator[SandboxRunner]:
    sandbox_runner = SandboxRunner(cpu_for_worker(0))  # pinned, as for a pytest process
    warm_up = sandbox_runner.run_code(PROBLEM, ANSWER, LIMITS)  # started before any timing
    assert warm_up.kind == "passed", warm_up
    yield sandbox_runner
    sandbox_runner.close()


def timed(
    runner: SandboxRunner, code: str, limits: Limits = LIMITS, problem: Problem = PROBLEM
) -> tuple[Verdict, float]:
    """The verdict of ``code`` and the wall-clock seconds the test waited for it."""
    started = time.monotonic()
    verdict = runner.run_code(problem, code, limits)
    return verdict, time.monotonic() - started


def test_cpu_bound_sample_passes_while_every_cpu_is_busy(runner: SandboxRunner, busy_cpus: set[int]) -> None:
    """The sample needs 0.2 s of CPU; behind the spinners it takes at least 1.2 s of wall
    time. Fails if the time it waited for its CPU counted (it would be over the 1 s limit),
    or if the floor of wall time / slowdown cap were not applied (the lower bound)."""
    verdict, wall = timed(runner, program(call=spin(CPU_SECONDS, "    ")))
    assert verdict.kind == "passed", (verdict, f"{wall:.2f} s")
    assert verdict.duration < LIMIT, verdict
    # Its wall time was at least (spinners + 1) x its CPU, and its time at least a third of that.
    floor = (SPINNERS_PER_CPU + 1) * CPU_SECONDS / LIMITS.slowdown_cap
    assert verdict.duration >= 0.8 * floor, (verdict, f"{wall:.2f} s")


def test_cpu_bound_sample_needing_more_than_the_limit_times_out_however_idle(
    runner: SandboxRunner,
) -> None:
    """The counterpart: the limit is a real limit. The sample needs 2 s of CPU, which
    counts on any machine (only waiting for a CPU is left out). Fails if a CPU-bound
    sample were not stopped at its limit (it would pass after 2 s, or be killed by the
    CPU rlimit backstop: "crashed"), or stopped only later than the wall cap allows."""
    verdict, wall = timed(runner, program(call=spin(2 * LIMIT, "    ")))
    assert (verdict.kind, verdict.message) == ("timed out", f"time limit of {LIMIT:g} s exceeded"), verdict
    assert LIMIT <= wall < LIMITS.wall_backstop + REACTION, f"{wall:.2f} s"


def test_hanging_sample_ends_at_the_wall_cap_while_every_cpu_is_busy(
    runner: SandboxRunner, busy_cpus: set[int]
) -> None:
    """Behind the spinners the hanging sample gets at most a sixth of its CPU: its own CPU
    time would reach the limit after 6 s of wall time, so it is the cap (3 x the limit)
    that stops it, at 3 s. Fails if waiting for a CPU counted (it would end after about
    1 s) or if the cap did not hold (it would end after 6 s or more)."""
    verdict, wall = timed(runner, HANG)
    assert verdict.kind == "timed out", verdict
    assert 0.9 * LIMITS.wall_backstop <= wall < LIMITS.wall_backstop + REACTION, f"{wall:.2f} s"


def test_plugin_passes_cpu_bound_samples_while_every_cpu_is_busy(
    pytester: pytest.Pytester, busy_cpus: set[int], worker_args: list[str]
) -> None:
    """End to end, serially and on two xdist workers (each with a server of its own): the
    samples need 0.2 s of CPU each under a 1 s limit and take at least 1.2 s of wall time
    behind the spinners. Fails if waiting for a CPU counted in a session."""
    samples = 2
    body = program(call=spin(CPU_SECONDS, "    ")).split("def total(n):\n", 1)[1]
    (pytester.path / "problems.jsonl").write_text(json.dumps(dataclasses.asdict(PROBLEM)) + "\n")
    records = [
        {"task_id": PROBLEM.task_id, "completion": body + f"    # sample {i}\n"} for i in range(samples)
    ]
    (pytester.path / "samples.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records))
    run = pytester.runpytest_subprocess(
        "--humaneval-problems=problems.jsonl",
        "--humaneval-samples=samples.jsonl",
        f"--humaneval-timeout={LIMIT:g}",
        "--humaneval-results=results.jsonl",
        "-p",
        "no:cacheprovider",
        *worker_args,
        timeout=300,
    )
    lines = (pytester.path / "results.jsonl").read_text().splitlines()
    outcomes = [json.loads(line)["outcome"] for line in lines]
    assert outcomes == ["passed"] * samples, lines
    assert run.ret == 0, run.outlines[-5:]


# -- a limit on the test's calls alone (``--humaneval-timeout=auto``) --------------------------------

CALLS_LIMITS = dataclasses.replace(LIMITS, calls_timeout=0.5)
"""1 s for the whole sample, of which the test's calls may use 0.5 s."""


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
    """The program sleeps ``top_level`` seconds at its top level (as a heavy import takes
    time), then its one call sleeps ``calls`` seconds: each part's time is the same on any
    machine, so the margins (0.15 s and more) hold however busy it is. Fails if the top level
    counted toward the calls' limit (the first and fourth cases would time out), if the
    calls' limit were not applied (the second would pass), or if the whole limit did not
    bound the program or the sum of both parts (the third and fifth would pass)."""
    code = program(sleep(top_level) if top_level else "", sleep(calls, "    ") if calls else "")
    verdict = runner.run_code(PROBLEM, code, CALLS_LIMITS)
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
    problem = dataclasses.replace(PROBLEM, test=check)
    verdict, wall = timed(runner, "def total(n):\n    return n\n", problem=problem)
    assert (verdict.kind, verdict.message) == ("timed out", f"time limit of {LIMIT:g} s exceeded"), verdict
    # Within the wall-clock cap, plus the probe of the test's calls before the first sample.
    assert wall < LIMITS.wall_backstop + PROBE_SECONDS + REACTION, f"{wall:.2f} s"
    assert runner.run_code(PROBLEM, ANSWER, LIMITS).kind == "passed"
