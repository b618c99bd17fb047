"""The exit status, ``-x`` and JUnit XML: a sample's verdict is a measurement (unless
``--humaneval-strict``), gates fail loudly, and whatever else sets the exit status keeps it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sessions import DEMO_NODE_IDS, DEMO_OUTCOMES, demo_args, read_results, run, text_of

FAILING_USER_TEST = "def test_user():\n    assert 1 + 1 == 3\n"


def test_exitfirst_counts_user_tests_not_samples(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    results = pytester.path / "results.jsonl"
    result = run(pytester, *demo_args("-x", f"--humaneval-results={results}", *worker_args))
    assert result.ret == 0, text_of(result)
    assert [record["outcome"] for record in read_results(results)] == DEMO_OUTCOMES
    assert "stopping after" not in text_of(result)


def test_exitfirst_stops_at_a_failing_user_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_a_user=FAILING_USER_TEST)
    result = run(pytester, "test_a_user.py", *demo_args("-x", "-p", "no:randomly"))
    assert result.ret == 1, text_of(result)
    assert "stopping after 1 failures" in text_of(result)
    assert "FAIL: the run stopped early: 12 selected samples did not run" in text_of(result)


def test_maxfail_counts_user_tests_not_samples(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    """One user test fails, then six samples do not pass: --maxfail=2 is never reached."""
    pytester.makepyfile(test_user=FAILING_USER_TEST)
    results = pytester.path / "results.jsonl"
    args = demo_args("--maxfail=2", "-p", "no:randomly", f"--humaneval-results={results}", *worker_args)
    result = run(pytester, "test_user.py", *args)
    assert result.ret == 1, text_of(result)
    assert result.parseoutcomes()["failed"] == 1
    assert [record["outcome"] for record in read_results(results)] == DEMO_OUTCOMES
    assert "stopping after" not in text_of(result)


def junit_failures(path: str) -> dict[str, bool]:
    """For each sample testcase: whether JUnit XML marks it a failure."""
    marked = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        marked[name] = case.find("failure") is not None or case.find("error") is not None
    return marked


@pytest.mark.parametrize("strict", [False, True], ids=["measurement", "strict"])
def test_junit_xml_verbose_words_and_exit_status_agree(
    pytester: pytest.Pytester, worker_args: list[str], strict: bool
) -> None:
    strict_args = ["--humaneval-strict"] if strict else []
    result = run(pytester, *demo_args("-v", "--junitxml=junit.xml", *strict_args, *worker_args))
    failures = junit_failures(str(pytester.path / "junit.xml"))
    assert len(failures) == len(DEMO_OUTCOMES)
    expected = [strict and outcome != "passed" for outcome in DEMO_OUTCOMES]
    assert sorted(failures.values()) == sorted(expected)
    assert result.ret == (1 if strict else 0), text_of(result)
    words = {node: line for line in result.outlines for node in DEMO_NODE_IDS if f"{node} " in line}
    for node, outcome in zip(DEMO_NODE_IDS, DEMO_OUTCOMES, strict=True):
        if outcome == "passed":
            assert "PASSED" in words[node]
        elif strict:
            assert "FAILED" in words[node]
        else:
            assert "FAILED" not in words[node] and "sample " in words[node], words[node]


def test_a_plugin_that_fails_the_run_keeps_its_exit_status(
    pytester: pytest.Pytester, worker_args: list[str]
) -> None:
    """What another plugin decides (pytest-cov's --cov-fail-under sets the exit status this way)."""
    pytester.makeconftest(
        """
        import pytest

        @pytest.hookimpl(trylast=True)
        def pytest_sessionfinish(session):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        """
    )
    result = run(pytester, *demo_args(*worker_args))
    assert result.ret == 1, text_of(result)


def test_tests_failed_counted_elsewhere_keeps_exit_status_1(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        sessions = []

        def pytest_sessionstart(session):
            sessions.append(session)

        def pytest_runtest_logfinish(nodeid):
            if nodeid.endswith("[2]"):
                sessions[0].testsfailed += 1
        """
    )
    result = run(pytester, *demo_args())
    assert result.ret == 1, text_of(result)


def test_cov_fail_under_is_not_swallowed(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    pytest.importorskip("pytest_cov")
    pytester.makepyfile(
        covered="def used():\n    return 1\n\ndef unused():\n    return 2\n",
        test_cov="from covered import used\n\ndef test_used():\n    assert used() == 1\n",
    )
    cov = ["--cov=covered", "--cov-fail-under=100", "-p", "no:randomly"]
    without_samples = run(pytester, "test_cov.py", *cov, *worker_args)
    assert without_samples.ret == 1, text_of(without_samples)
    with_samples = run(pytester, "test_cov.py", *cov, *demo_args(*worker_args))
    assert with_samples.ret == 1, text_of(with_samples)
    assert "FAIL Required test coverage of 100% not reached" in text_of(with_samples)


def test_gate_on_a_selection_fails_as_partial(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    result = run(pytester, *demo_args("-k", "Demo/0[", "--humaneval-fail-under=pass@1=0.1", *worker_args))
    assert result.ret == 1, text_of(result)
    assert "FAIL: pass@1 = 0.6667 is on a partial evaluation (9 of 12 samples have no verdict)" in text_of(
        result
    )


def test_allow_partial_gates_what_finished(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    result = run(
        pytester,
        *demo_args(
            "-k", "Demo/0[", "--humaneval-fail-under=pass@1=0.1", "--humaneval-allow-partial", *worker_args
        ),
    )
    assert result.ret == 0, text_of(result)
    assert "pass@1 = 0.6667 meets --humaneval-fail-under 0.1 (on a partial run)" in text_of(result)


def test_gate_that_fails_always_prints_its_line(pytester: pytest.Pytester) -> None:
    """Even when no sample finished, so that there is no table to print it under."""
    pytester.makeconftest(
        """
        import pytest

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_protocol(item):
            raise KeyboardInterrupt
        """
    )
    result = run(pytester, *demo_args("--humaneval-fail-under=pass@1=0.1"))
    assert result.ret != 0
    assert "FAIL: --humaneval-fail-under: no sample finished" in text_of(result)


def test_the_same_threshold_twice_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = run(
        pytester, *demo_args("--humaneval-fail-under=pass@1=0.3", "--humaneval-fail-under=pass@1=0.5")
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--humaneval-fail-under=pass@1=0.5 (from command line): pass@1 is given twice" in text_of(result)
