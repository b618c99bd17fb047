"""A small project that adds the evaluation to its own suite (its tests, a check over
``humaneval_sample``, the settings in its ini file), run end to end with the plugins such
projects use beside it: pytest-cov, pytest-randomly, pytest-rerunfailures."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.problems import DEMO_OUTCOMES, copy_demo_files
from support.results import fingerprints, read_json, read_results, text_of
from support.sessions import RunHumaneval

pytest.importorskip("pytest_cov")
pytest.importorskip("pytest_randomly")
pytest.importorskip("pytest_rerunfailures")

PROJECT_INI = """
[pytest]
testpaths = tests
humaneval_problems = data/demo.jsonl
humaneval_samples = data/demo-samples.jsonl
humaneval_timeout = 1
humaneval_results = out/results.jsonl
humaneval_json = out/summary.json
humaneval_fail_under = pass@1=0.4
"""

CALC = """
def add(a, b):
    return a + b


def unused():
    return 0
"""

TESTS = """
import os
from pathlib import Path

from calc import add


def test_add():
    assert add(1, 2) == 3


def test_flaky_once(tmp_path_factory):
    marker = Path(os.environ["FLAKY_MARKER"])
    if not marker.exists():
        marker.write_text("failed once")
        assert False, "first attempt fails"


def test_sample_is_short(humaneval_sample):
    assert len(humaneval_sample.text) < 2000
"""


def make_example_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project, with pytest-randomly active (the suite's sessions turn it off)."""
    data = pytester.mkdir("data")
    copy_demo_files(data)
    pytester.makeini(PROJECT_INI)
    pytester.makepyfile(calc=CALC)
    tests = pytester.mkdir("tests")
    (tests / "test_lib.py").write_text(TESTS)
    monkeypatch.setenv("PYTEST_ADDOPTS", "")
    monkeypatch.setenv("FLAKY_MARKER", str(pytester.path / "flaky-marker"))
    monkeypatch.syspath_prepend(pytester.path)
    return pytester.path / "out"


def test_example_project_end_to_end(
    pytester: pytest.Pytester,
    run_humaneval: RunHumaneval,
    monkeypatch: pytest.MonkeyPatch,
    worker_args: list[str],
) -> None:
    out = make_example_project(pytester, monkeypatch)
    plugins = ["--cov=calc", "--cov-report=term", "--reruns=1", "-p", "randomly", *worker_args]
    result = run_humaneval(*plugins)
    text = text_of(result)
    assert result.ret == 0, text
    assert "--randomly-seed=" in text  # the samples ran in a random order
    assert "calc.py" in text and "TOTAL" in text  # coverage of the project's code
    outcomes = result.parseoutcomes()
    assert outcomes["rerun"] == 1  # the flaky user test, never a sample
    assert outcomes["passed"] == 2 + len(DEMO_OUTCOMES) + DEMO_OUTCOMES.count("passed"), text
    assert [record["outcome"] for record in read_results(out / "results.jsonl")] == DEMO_OUTCOMES
    summary = read_json(out / "summary.json")
    assert summary["pass_at_k"]["pass@1"] == pytest.approx(0.5)
    assert "pass@1 = 0.5000 meets humaneval_fail_under 0.4" in text

    before = fingerprints(out / "results.jsonl", out / "summary.json")
    only_mine = run_humaneval("-m", "not humaneval", "--cov=calc", "-p", "randomly", *worker_args)
    assert only_mine.ret == 0, text_of(only_mine)
    assert "fail_under" not in text_of(only_mine)
    targeted = run_humaneval("tests/test_lib.py::test_add", "-p", "randomly", *worker_args)
    targeted.assert_outcomes(passed=1)
    assert fingerprints(out / "results.jsonl", out / "summary.json") == before

    coverage_gate = run_humaneval("--cov=calc", "--cov-fail-under=100", "-p", "randomly", *worker_args)
    assert coverage_gate.ret == 1, text_of(coverage_gate)
    assert "FAIL Required test coverage of 100% not reached" in text_of(coverage_gate)
