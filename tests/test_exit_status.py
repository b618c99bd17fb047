"""The exit status, ``-x`` and JUnit XML: a sample's verdict is a measurement (unless
``--humaneval-strict``), gates fail loudly, and whatever else sets the exit status keeps it:
user tests beside the samples, other plugins, a sandbox server that cannot start."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from support.problems import DEMO_COUNTS, DEMO_FAILING, DEMO_NODE_IDS, DEMO_OUTCOMES, DEMO_TEST_IDS
from support.results import read_json, read_results, table_counts, text_of
from support.sessions import RunHumaneval, demo_args, serial

FAILING_USER_TEST = "def test_user():\n    assert 1 + 1 == 3\n"


def test_exitfirst_counts_user_tests_not_samples(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    results = pytester.path / "results.jsonl"
    result = run_humaneval(*demo_args("-x", f"--humaneval-results={results}", *worker_args))
    assert result.ret == 0, text_of(result)
    assert [record["outcome"] for record in read_results(results)] == DEMO_OUTCOMES
    assert "stopping after" not in text_of(result)


def test_exitfirst_stops_at_a_failing_user_test(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    pytester.makepyfile(test_a_user=FAILING_USER_TEST)
    result = run_humaneval("test_a_user.py", *demo_args("-x", "-p", "no:randomly"))
    assert result.ret == 1, text_of(result)
    assert "stopping after 1 failures" in text_of(result)
    assert "FAIL: the run stopped early: 12 selected samples did not run" in text_of(result)


def test_maxfail_counts_user_tests_not_samples(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """One user test fails, then six samples do not pass: --maxfail=2 is never reached."""
    pytester.makepyfile(test_user=FAILING_USER_TEST)
    results = pytester.path / "results.jsonl"
    args = demo_args("--maxfail=2", "-p", "no:randomly", f"--humaneval-results={results}", *worker_args)
    result = run_humaneval("test_user.py", *args)
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
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str], strict: bool
) -> None:
    strict_args = ["--humaneval-strict"] if strict else []
    result = run_humaneval(*demo_args("-v", "--junitxml=junit.xml", *strict_args, *worker_args))
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
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
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
    result = run_humaneval(*demo_args(*worker_args))
    assert result.ret == 1, text_of(result)


def test_tests_failed_counted_elsewhere_keeps_exit_status_1(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
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
    result = run_humaneval(*demo_args())
    assert result.ret == 1, text_of(result)


def test_cov_fail_under_is_not_swallowed(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    pytest.importorskip("pytest_cov")
    pytester.makepyfile(
        covered="def used():\n    return 1\n\ndef unused():\n    return 2\n",
        test_cov="from covered import used\n\ndef test_used():\n    assert used() == 1\n",
    )
    cov = ["--cov=covered", "--cov-fail-under=100", "-p", "no:randomly"]
    without_samples = run_humaneval("test_cov.py", *cov, *worker_args)
    assert without_samples.ret == 1, text_of(without_samples)
    with_samples = run_humaneval("test_cov.py", *cov, *demo_args(*worker_args))
    assert with_samples.ret == 1, text_of(with_samples)
    assert "FAIL Required test coverage of 100% not reached" in text_of(with_samples)


def test_gate_on_a_selection_fails_as_partial(run_humaneval: RunHumaneval, worker_args: list[str]) -> None:
    result = run_humaneval(*demo_args("-k", "Demo/0[", "--humaneval-fail-under=pass@1=0.1", *worker_args))
    assert result.ret == 1, text_of(result)
    assert "FAIL: pass@1 = 0.6667 is on a partial evaluation (9 of 12 samples have no verdict)" in text_of(
        result
    )


def test_allow_partial_gates_what_finished(run_humaneval: RunHumaneval, worker_args: list[str]) -> None:
    result = run_humaneval(
        *demo_args(
            "-k", "Demo/0[", "--humaneval-fail-under=pass@1=0.1", "--humaneval-allow-partial", *worker_args
        ),
    )
    assert result.ret == 0, text_of(result)
    assert "pass@1 = 0.6667 meets --humaneval-fail-under 0.1 (on a partial run)" in text_of(result)


def test_gate_that_fails_always_prints_its_line(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    """Even when no sample finished, so that there is no table to print it under."""
    pytester.makeconftest(
        """
        import pytest

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_protocol(item):
            raise KeyboardInterrupt
        """
    )
    result = run_humaneval(*demo_args("--humaneval-fail-under=pass@1=0.1"))
    assert result.ret != 0
    assert "FAIL: --humaneval-fail-under: no sample finished" in text_of(result)


def test_the_same_threshold_twice_is_a_usage_error(run_humaneval: RunHumaneval) -> None:
    result = run_humaneval(
        *demo_args("--humaneval-fail-under=pass@1=0.3", "--humaneval-fail-under=pass@1=0.5")
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--humaneval-fail-under=pass@1=0.5 (from command line): pass@1 is given twice" in text_of(result)


# -- what sets the exit status -------------------------------------------------------------------------------


def test_nothing_selected_exits_5(run_humaneval: RunHumaneval, worker_args: list[str]) -> None:
    result = run_humaneval(
        *demo_args("-k", "no_such_sample", "--humaneval-fail-under", "pass@1=0.1", *worker_args)
    )
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED, text_of(result)
    if serial(worker_args):
        assert re.search(r"\b12 deselected\b", result.outlines[-1]), result.outlines[-1]


def test_exitfirst_with_strict_exits_1(run_humaneval: RunHumaneval, worker_args: list[str]) -> None:
    result = run_humaneval(*demo_args("-x", "--humaneval-strict", *worker_args))
    assert result.ret == 1, text_of(result)
    result.stdout.fnmatch_lines(["*stopping after * failures*"])
    failed = [line for line in result.outlines if line.startswith("FAILED ")]
    # pytest 9 adds " - <message>" after the id; pytest 8.0 does not for a string longrepr.
    if serial(worker_args):
        assert [line.split(" - ")[0] for line in failed] == ["FAILED Demo/0::Demo/0[1]"], text_of(result)
    else:
        assert failed, text_of(result)


def test_strict_reports_failing_samples_as_failures(
    run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    result = run_humaneval(*demo_args("--humaneval-strict", *worker_args))
    assert result.ret == 1, text_of(result)
    assert any("FAILURES" in line for line in result.outlines)
    failed = sorted(line.split()[1] for line in result.outlines if line.startswith("FAILED "))
    assert failed == sorted(DEMO_FAILING)
    assert [line for line in result.outlines if line.startswith("Demo/2[1] timed out")], text_of(result)
    assert re.search(r"\b6 failed, 6 passed\b", result.outlines[-1]), result.outlines[-1]
    assert table_counts(result) == DEMO_COUNTS


def test_fail_under_not_met_exits_1(run_humaneval: RunHumaneval, worker_args: list[str]) -> None:
    result = run_humaneval(*demo_args("--humaneval-fail-under", "pass@1=0.9", *worker_args))
    assert result.ret == 1, text_of(result)
    result.stdout.fnmatch_lines(["FAIL: pass@1 = 0.5000 is below --humaneval-fail-under 0.9"])
    assert "FAILURES" not in text_of(result)


def test_fail_under_met_exits_0(run_humaneval: RunHumaneval, worker_args: list[str]) -> None:
    result = run_humaneval(*demo_args("--humaneval-fail-under", "pass@1=0.4", *worker_args))
    assert result.ret == 0, text_of(result)
    result.stdout.fnmatch_lines(["pass@1 = 0.5000 meets --humaneval-fail-under 0.4"])
    assert not [line for line in result.outlines if line.startswith("FAIL:")]


def test_fail_under_not_computable_exits_1(run_humaneval: RunHumaneval, worker_args: list[str]) -> None:
    result = run_humaneval(*demo_args("--humaneval-fail-under", "pass@10=0.1", *worker_args))
    assert result.ret == 1, text_of(result)
    result.stdout.fnmatch_lines(["FAIL: pass@10 = not computable (*) is below --humaneval-fail-under 0.1"])


def test_junitxml_has_outcome_properties(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    result = run_humaneval(*demo_args("--junitxml=junit.xml", *worker_args))
    assert result.ret == 0, text_of(result)
    root = ET.parse(pytester.path / "junit.xml").getroot()
    cases = {case.get("name", ""): case for case in root.iter("testcase")}
    assert sorted(cases) == sorted(DEMO_TEST_IDS)
    for test_id, kind in zip(DEMO_TEST_IDS, DEMO_OUTCOMES, strict=True):
        case = cases[test_id]
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert properties["humaneval_outcome"] == kind
        assert properties["humaneval_position"] == str(DEMO_TEST_IDS.index(test_id))
        assert case.find("failure") is None, test_id  # a verdict is a measurement


# -- user tests beside the samples ---------------------------------------------------------------------------


def test_failing_ordinary_user_test_fails_the_run(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    pytester.makepyfile(test_user="def test_ok():\n    pass\n\ndef test_user():\n    assert 1 + 1 == 3\n")
    result = run_humaneval(*demo_args(*worker_args))
    assert result.ret == 1, text_of(result)
    assert table_counts(result) == DEMO_COUNTS
    failed = [line for line in result.outlines if line.startswith("FAILED ")]
    assert failed == ["FAILED test_user.py::test_user - assert (1 + 1) == 3"]


def test_reruns_rerun_user_tests_but_not_samples(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """pytest-rerunfailures reruns a flaky user test; a sample's verdict stays one attempt."""
    pytest.importorskip("pytest_rerunfailures")
    pytester.makepyfile(
        test_user="""
        from pathlib import Path

        def test_flaky():
            attempts = Path("attempts.txt")
            attempts.write_text(attempts.read_text() + "x" if attempts.exists() else "x")
            assert attempts.read_text() == "xx"
    """
    )
    result = run_humaneval(*demo_args("--reruns=2", "--humaneval-results=results.jsonl", *worker_args))
    assert result.ret == 0, text_of(result)
    assert table_counts(result) == DEMO_COUNTS
    last = result.outlines[-1]
    for expected in ("7 passed", "3 sample failed", "2 sample error", "1 sample timeout", "1 rerun"):
        assert expected in last, last
    assert [record["outcome"] for record in read_results(pytester.path / "results.jsonl")] == DEMO_OUTCOMES


def test_pdb_stops_at_failing_user_tests_not_at_failing_samples(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    """A failing sample is a measurement: ``--pdb`` (serial only, as with xdist) skips it."""
    samples_only = run_humaneval(*demo_args("--pdb", "--humaneval-json=summary.json"))
    assert samples_only.ret == 0, text_of(samples_only)
    assert "PDB post_mortem" not in text_of(samples_only)
    assert read_json(pytester.path / "summary.json")["counts"] == DEMO_COUNTS
    pytester.makepyfile(test_user="def test_user():\n    assert 1 + 1 == 3\n")
    with_user_test = run_humaneval(*demo_args("--pdb", "-m", "not humaneval"))
    assert "PDB post_mortem" in text_of(with_user_test)


def test_failing_user_fixture_setup_fails_the_run(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    pytester.makepyfile(
        test_user="""
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("setup")

        def test_user(broken):
            pass
    """
    )
    result = run_humaneval(*demo_args(*worker_args, samples="canonical"))
    assert result.ret == 1, text_of(result)
    assert table_counts(result)["passed"] == 4


def test_user_collection_error_fails_the_run(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    pytester.makepyfile(test_broken="import a_module_that_does_not_exist_xyz\n")
    result = run_humaneval(*demo_args("--continue-on-collection-errors", *worker_args, samples="canonical"))
    result.stdout.fnmatch_lines(["ERROR test_broken.py*"])
    assert result.ret == 1, text_of(result)


# -- the sandbox server cannot start -------------------------------------------------------------------------


BROKEN_SANDBOX_CONFTEST = """
from pathlib import Path

import pytest_humaneval.runner as runner

broken = Path(__file__).with_name("broken_sandbox.py")
broken.write_text("import sys\\nsys.exit(3)\\n")
runner.SANDBOX_SCRIPT = broken
"""


def test_sandbox_that_cannot_start_fails_the_run(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    pytester.makeconftest(BROKEN_SANDBOX_CONFTEST)
    result = run_humaneval(*demo_args(*worker_args, samples="canonical"))
    assert "SandboxError" in text_of(result)  # the setup works: the server cannot start
    assert result.ret != 0, text_of(result)


def test_sandbox_start_failure_is_reported_for_every_sample(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    pytester.makeconftest(BROKEN_SANDBOX_CONFTEST)
    run_humaneval(*demo_args("--humaneval-results=results.jsonl", *worker_args, samples="canonical"))
    records = read_results(pytester.path / "results.jsonl")
    assert [r["outcome"] for r in records] == ["crashed"] * 4
    assert all("SandboxError" in r["result"] for r in records), [r["result"] for r in records]
