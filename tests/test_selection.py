"""What a command line selects in a project that sets the evaluation in its ini file: ordinary
commands leave the last evaluation's outputs alone, ini samples join only untargeted runs,
printed node ids and samples files can be passed back, ``--lf`` keeps the results whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from sessions import DEMO_NODE_IDS, DEMO_OUTCOMES, copy_demo_files, fingerprints, read_results, run, text_of

PROJECT_INI = """
[pytest]
humaneval_problems = demo.jsonl
humaneval_samples = demo-samples.jsonl
humaneval_timeout = 1
humaneval_results = out/results.jsonl
humaneval_json = out/summary.json
humaneval_fail_under = pass@1=0.4
"""

PROJECT_TESTS = """
def test_add():
    assert 1 + 1 == 2

def test_sample_has_text(humaneval_sample):
    assert humaneval_sample.text
"""

TABLE_RULE = "= humaneval ="


def make_project(pytester: pytest.Pytester) -> tuple[Path, Path]:
    """A project with its own tests and the evaluation in its ini file; its outputs' paths."""
    copy_demo_files(pytester.path)
    pytester.makeini(PROJECT_INI)
    pytester.makepyfile(test_lib=PROJECT_TESTS)
    return pytester.path / "out" / "results.jsonl", pytester.path / "out" / "summary.json"


def evaluated_project(pytester: pytest.Pytester) -> tuple[Path, Path]:
    """The project after one whole evaluation (so there are outputs to keep)."""
    results, summary = make_project(pytester)
    first = run(pytester)
    assert first.ret == 0, text_of(first)
    assert len(read_results(results)) == len(DEMO_OUTCOMES)
    return results, summary


COMMANDS_THAT_SHOW_INFORMATION = [(["--markers"], 0), (["--fixtures"], 0), (["--cache-show"], 0)]
COMMANDS_THAT_RUN_NO_SAMPLE = [
    (["--collect-only"], 0),
    (["--setup-plan"], 0),
    (["-m", "not humaneval"], 0),
    (["-k", "test_add"], 0),
    (["test_lib.py::test_add"], 0),
    (["-m", "humaneval and Demo/9"], 5),
]


def test_sessions_that_run_no_sample_leave_every_output_alone(
    pytester: pytest.Pytester, worker_args: list[str]
) -> None:
    results, summary = evaluated_project(pytester)
    before = fingerprints(results, summary)
    commands = [(args + worker_args, code) for args, code in COMMANDS_THAT_RUN_NO_SAMPLE]
    for args, expected_exit in COMMANDS_THAT_SHOW_INFORMATION + commands:
        result = run(pytester, *args)
        assert result.ret == expected_exit, (args, text_of(result))
        assert fingerprints(results, summary) == before, args
        assert TABLE_RULE not in text_of(result), args
        assert "fail_under" not in text_of(result), args  # no gate without a sample


def test_no_sample_selected_means_no_gate_at_both_worker_counts(
    pytester: pytest.Pytester, worker_args: list[str]
) -> None:
    make_project(pytester)
    pytester.makeini(PROJECT_INI.replace("pass@1=0.4", "pass@1=0.99"))
    result = run(pytester, "-m", "not humaneval", *worker_args)
    assert result.ret == 0, text_of(result)
    assert "FAIL" not in text_of(result)


def test_ini_samples_stay_out_of_a_targeted_run(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    results, summary = make_project(pytester)
    result = run(pytester, "test_lib.py::test_add", *worker_args)
    assert result.ret == 0, text_of(result)
    result.assert_outcomes(passed=1)
    assert not results.exists() and not summary.exists()


def test_ini_samples_join_an_untargeted_run(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    results, _ = make_project(pytester)
    result = run(pytester, *worker_args)
    assert result.ret == 0, text_of(result)
    # test_add, 12 sample items and 12 runs of the test over humaneval_sample
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] == 1 + DEMO_OUTCOMES.count("passed") + len(DEMO_OUTCOMES), text_of(result)
    assert [record["outcome"] for record in read_results(results)] == DEMO_OUTCOMES


def test_naming_the_samples_file_runs_ini_samples(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    results, _ = make_project(pytester)
    result = run(pytester, "demo-samples.jsonl", *worker_args)
    assert result.ret == 0, text_of(result)
    assert "test_add" not in text_of(result)
    assert [record["outcome"] for record in read_results(results)] == DEMO_OUTCOMES


def test_a_targeted_test_over_humaneval_sample_is_skipped_saying_why(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    result = run(pytester, "test_lib.py", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*no samples in this session: give --humaneval-samples*"])


@pytest.mark.parametrize(
    ("argument", "selected"),
    [
        ("Demo/0::Demo/0[1]", ["Demo/0::Demo/0[1]"]),
        ("Demo/2", ["Demo/2::Demo/2[0]", "Demo/2::Demo/2[1]", "Demo/2::Demo/2[2]"]),
    ],
)
def test_printed_node_ids_select_their_items(
    pytester: pytest.Pytester, worker_args: list[str], argument: str, selected: list[str]
) -> None:
    results, _ = make_project(pytester)
    result = run(pytester, argument, "--humaneval-allow-partial", *worker_args)
    assert result.ret in (0, 1), text_of(result)  # the gate may fail on what finished
    finished = [record for record in read_results(results) if record["outcome"] != "not run"]
    by_node = dict(zip(DEMO_NODE_IDS, read_results(results), strict=True))
    assert len(finished) == len(selected)
    assert all(by_node[node]["outcome"] != "not run" for node in selected)
    assert "test_add" not in text_of(result)


def test_node_ids_beside_an_ordinary_test_path(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    result = run(pytester, "--collect-only", "-q", "test_lib.py::test_add", "Demo/0::Demo/0[2]")
    assert result.ret == 0, text_of(result)
    collected = [line for line in result.outlines if "::" in line]
    assert collected == ["test_lib.py::test_add", "Demo/0::Demo/0[2]"]


def test_an_argument_that_is_neither_a_path_nor_a_sample_is_pytests_error(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    result = run(pytester, "Demo/0::Demo/0[7]")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    assert "file or directory not found: Demo/0::Demo/0[7]" in text_of(result)


def test_last_failed_keeps_the_results_whole(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    results, _ = evaluated_project(pytester)
    first = read_results(results)
    result = run(pytester, "--lf", *worker_args)
    assert result.ret == 0, text_of(result)
    again = read_results(results)
    assert [record["outcome"] for record in again] == DEMO_OUTCOMES
    assert again == first  # every verdict, from the cache
    assert "reused    12 verdicts from the cache or identical samples" in result.outlines
    assert "pass@1 = 0.5000 meets humaneval_fail_under 0.4" in text_of(result)
