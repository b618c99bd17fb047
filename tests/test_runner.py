"""The runner's shortcuts must not change a verdict.

* A sample answers the calls the test made for an earlier sample of its problem without
  waiting to be asked: verdicts stay exactly those of call-by-call judging.
* A sample can be started ahead (``prefetch``) while pytest reports the previous one.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_humaneval import execution
from pytest_humaneval.execution import Limits, SandboxRunner
from pytest_humaneval.loading import Problem, Sample, SampleEntry

LIMITS = Limits(timeout=2.0, memory=1 << 30)


def make_problem(test: str) -> Problem:
    return Problem(
        task_id="calls/0",
        prompt="def f(n):\n",
        entry_point="f",
        canonical_solution="    return n\n",
        test=textwrap.dedent(test),
    )


@pytest.fixture
def runner() -> Iterator[SandboxRunner]:
    sandbox_runner = SandboxRunner()
    yield sandbox_runner
    sandbox_runner.close()


def judge(runner: SandboxRunner, problem: Problem, body: str) -> str:
    verdict = runner.run_code(problem, textwrap.dedent(body), LIMITS)
    return f"{verdict.kind}: {verdict.message}" if verdict.message else verdict.kind


DEPENDENT_CALLS = make_problem("""
    def check(candidate):
        first = candidate(1)
        assert candidate(first) == 10
""")


def test_calls_that_depend_on_answers_are_judged_call_by_call(runner: SandboxRunner) -> None:
    # Teaches the server the calls (1, then 2).
    assert judge(runner, DEPENDENT_CALLS, "def f(n):\n    return 2 if n == 1 else 10\n") == "passed"
    # Passes only when its second call is f(5) right after f(1): had it answered the
    # expected f(2) first, a call-by-call retry in the same process would see [1, 2, 5].
    stateful = """
        seen = []
        def f(n):
            seen.append(n)
            return 5 if n == 1 else (10 if seen == [1, 5] else 0)
    """
    assert judge(runner, DEPENDENT_CALLS, stateful) == "passed"
    assert judge(runner, DEPENDENT_CALLS, "def f(n):\n    return n + 2\n").startswith("failed")
    # Once diverged, the problem is judged call by call: the stateful sample still passes.
    assert judge(runner, DEPENDENT_CALLS, stateful) == "passed"


CAUGHT_EXCEPTION = make_problem("""
    def check(candidate):
        try:
            candidate(-1)
        except ValueError:
            pass
        assert candidate(2) == 4
""")


def test_calls_after_an_exception_the_test_catches(runner: SandboxRunner) -> None:
    body = "def f(n):\n    if n < 0:\n        raise ValueError(n)\n    return 2 * n\n"
    assert judge(runner, CAUGHT_EXCEPTION, body) == "passed"
    assert judge(runner, CAUGHT_EXCEPTION, body) == "passed"  # now with expected calls
    wrong = "def f(n):\n    if n < 0:\n        raise ValueError(n)\n    return 3 * n\n"
    assert judge(runner, CAUGHT_EXCEPTION, wrong).startswith("failed")


TWO_ASSERTS = make_problem("""
    def check(candidate):
        assert candidate(1) == 1
        assert candidate(2) == 2
""")


def test_a_failed_assert_is_not_turned_into_a_timeout_by_later_calls(runner: SandboxRunner) -> None:
    assert judge(runner, TWO_ASSERTS, "def f(n):\n    return n\n") == "passed"
    # Answering the expected f(2) would hang; the test stops at f(1) as it would call by call.
    hangs_later = "def f(n):\n    while n == 2:\n        pass\n    return 0\n"
    assert judge(runner, TWO_ASSERTS, hangs_later).startswith("failed")


def test_extra_calls_beyond_the_expected_ones_are_sent(runner: SandboxRunner) -> None:
    growing = make_problem("""
        def check(candidate):
            for n in range(candidate(0)):
                assert candidate(n + 1) == n + 1
    """)
    # A first sample that fails early teaches only two calls; a later one makes four.
    assert judge(runner, growing, "def f(n):\n    return 3 if n == 0 else 0\n").startswith("failed")
    assert judge(runner, growing, "def f(n):\n    return 3 if n == 0 else n\n") == "passed"
    assert judge(runner, growing, "def f(n):\n    return 3 if n == 0 else n\n") == "passed"


def completion(index: int, body: str) -> Sample:
    return Sample(SampleEntry(index, "calls/0", index, index + 1), body, False, {})


def test_a_sample_started_ahead_gets_its_own_verdict(runner: SandboxRunner) -> None:
    right, wrong = completion(0, "    return n\n"), completion(1, "    return n + 1\n")
    runner.prefetch(TWO_ASSERTS, right, LIMITS)
    runner.prefetch(TWO_ASSERTS, wrong, LIMITS)  # one at a time: ignored
    assert runner.run(TWO_ASSERTS, right, LIMITS).kind == "passed"
    verdict = runner.run(TWO_ASSERTS, wrong, LIMITS)
    assert verdict.kind == "failed" and not verdict.reused


def test_a_sample_started_ahead_but_not_asked_for_next(runner: SandboxRunner) -> None:
    right, wrong = completion(0, "    return n\n"), completion(1, "    return n + 1\n")
    runner.prefetch(TWO_ASSERTS, right, LIMITS)
    assert runner.run(TWO_ASSERTS, wrong, LIMITS).kind == "failed"
    early = runner.run(TWO_ASSERTS, right, LIMITS)
    assert early.kind == "passed" and not early.reused, "ran once, so not a reused verdict"
    assert runner.run(TWO_ASSERTS, right, LIMITS).reused


def test_a_sample_started_ahead_survives_a_server_restart(runner: SandboxRunner) -> None:
    right = completion(0, "    return n\n")
    runner.prefetch(TWO_ASSERTS, right, LIMITS)
    runner.close()
    assert runner.run(TWO_ASSERTS, right, LIMITS).kind == "passed"


@pytest.fixture
def runner_without_clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxRunner]:
    """A runner whose server forks sample processes as on a machine where clone(2) is
    unknown: fork() twice, the server adopting each sample process as a subreaper."""
    wrapper = tmp_path / "sandbox_without_clone.py"
    wrapper.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(execution.SANDBOX_SCRIPT.parent)!r})\n"
        "import _sandbox\n"
        "_sandbox._SYS_CLONE = None\n"
        "_sandbox.main()\n"
    )
    monkeypatch.setattr(execution, "SANDBOX_SCRIPT", wrapper)
    sandbox_runner = SandboxRunner()
    yield sandbox_runner
    sandbox_runner.close()


def test_sample_processes_forked_without_clone(runner_without_clone: SandboxRunner) -> None:
    assert judge(runner_without_clone, TWO_ASSERTS, "def f(n):\n    return n\n") == "passed"
    assert runner_without_clone.isolation["processes"] == "process group"
    assert judge(runner_without_clone, TWO_ASSERTS, "def f(n):\n    return 0\n").startswith("failed")
    exits = "import os\ndef f(n):\n    os._exit(0)\n"
    assert judge(runner_without_clone, TWO_ASSERTS, exits).startswith("error")
