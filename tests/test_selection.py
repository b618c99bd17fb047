"""What a command line selects. In a project that sets the evaluation in its ini file: ordinary
commands leave the last evaluation's outputs alone, ini samples join only untargeted runs,
printed node ids and samples files can be passed back, ``--lf`` keeps the results whole.
On the demo set: the items' ids, ``-k``, ``-m humaneval``, ``--deselect`` and ``--lf``; on
EvalPlus's problems, ``--lf`` and ``--ff`` keep both verdicts of the samples not rerun."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.evalplus import PASS_AT_1_PLUS, SAMPLES, judged, plus_args, write_files
from support.problems import DEMO_COUNTS, DEMO_FAILING, DEMO_NODE_IDS, DEMO_OUTCOMES, copy_demo_files
from support.processes import without_duration
from support.results import fingerprints, read_json, read_results, table_counts, text_of
from support.sessions import RunHumaneval, demo_args, serial

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


def evaluated_project(run_humaneval: RunHumaneval) -> tuple[Path, Path]:
    """The project after one whole evaluation (so there are outputs to keep)."""
    results, summary = make_project(run_humaneval.pytester)
    first = run_humaneval()
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
    run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    results, summary = evaluated_project(run_humaneval)
    before = fingerprints(results, summary)
    commands = [(args + worker_args, code) for args, code in COMMANDS_THAT_RUN_NO_SAMPLE]
    for args, expected_exit in COMMANDS_THAT_SHOW_INFORMATION + commands:
        result = run_humaneval(*args)
        assert result.ret == expected_exit, (args, text_of(result))
        assert fingerprints(results, summary) == before, args
        assert TABLE_RULE not in text_of(result), args
        assert "fail_under" not in text_of(result), args  # no gate without a sample


def test_no_sample_selected_means_no_gate_at_both_worker_counts(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    make_project(pytester)
    pytester.makeini(PROJECT_INI.replace("pass@1=0.4", "pass@1=0.99"))
    result = run_humaneval("-m", "not humaneval", *worker_args)
    assert result.ret == 0, text_of(result)
    assert "FAIL" not in text_of(result)


def test_ini_samples_stay_out_of_a_targeted_run(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    results, summary = make_project(pytester)
    result = run_humaneval("test_lib.py::test_add", *worker_args)
    assert result.ret == 0, text_of(result)
    result.assert_outcomes(passed=1)
    assert not results.exists() and not summary.exists()


def test_ini_samples_join_an_untargeted_run(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    results, _ = make_project(pytester)
    result = run_humaneval(*worker_args)
    assert result.ret == 0, text_of(result)
    # test_add, 12 sample items and 12 runs of the test over humaneval_sample
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] == 1 + DEMO_OUTCOMES.count("passed") + len(DEMO_OUTCOMES), text_of(result)
    assert [record["outcome"] for record in read_results(results)] == DEMO_OUTCOMES


def test_naming_the_samples_file_runs_ini_samples(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    results, _ = make_project(pytester)
    result = run_humaneval("demo-samples.jsonl", *worker_args)
    assert result.ret == 0, text_of(result)
    assert "test_add" not in text_of(result)
    assert [record["outcome"] for record in read_results(results)] == DEMO_OUTCOMES


def test_a_targeted_test_over_humaneval_sample_is_skipped_saying_why(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    make_project(pytester)
    result = run_humaneval("test_lib.py", "-rs")
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
    pytester: pytest.Pytester,
    run_humaneval: RunHumaneval,
    worker_args: list[str],
    argument: str,
    selected: list[str],
) -> None:
    results, _ = make_project(pytester)
    result = run_humaneval(argument, "--humaneval-allow-partial", *worker_args)
    assert result.ret in (0, 1), text_of(result)  # the gate may fail on what finished
    finished = [record for record in read_results(results) if record["outcome"] != "not run"]
    by_node = dict(zip(DEMO_NODE_IDS, read_results(results), strict=True))
    assert len(finished) == len(selected)
    assert all(by_node[node]["outcome"] != "not run" for node in selected)
    assert "test_add" not in text_of(result)


def test_node_ids_beside_an_ordinary_test_path(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    make_project(pytester)
    result = run_humaneval("--collect-only", "-q", "test_lib.py::test_add", "Demo/0::Demo/0[2]")
    assert result.ret == 0, text_of(result)
    collected = [line for line in result.outlines if "::" in line]
    assert collected == ["test_lib.py::test_add", "Demo/0::Demo/0[2]"]


def test_an_argument_that_is_neither_a_path_nor_a_sample_is_pytests_error(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    make_project(pytester)
    result = run_humaneval("Demo/0::Demo/0[7]")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    assert "file or directory not found: Demo/0::Demo/0[7]" in text_of(result)


def test_last_failed_keeps_the_results_whole(run_humaneval: RunHumaneval, worker_args: list[str]) -> None:
    results, _ = evaluated_project(run_humaneval)
    first = read_results(results)
    result = run_humaneval("--lf", *worker_args)
    assert result.ret == 0, text_of(result)
    again = read_results(results)
    assert [record["outcome"] for record in again] == DEMO_OUTCOMES
    assert again == first  # every verdict, from the cache
    assert "reused    12 verdicts from the cache or identical samples" in result.outlines
    assert "pass@1 = 0.5000 meets humaneval_fail_under 0.4" in text_of(result)


# -- the demo set's items: ids, -k, -m, --deselect, --lf -----------------------------------------------------


def test_collect_only_lists_sample_node_ids(run_humaneval: RunHumaneval) -> None:
    result = run_humaneval(*demo_args("--collect-only", "-q"))
    assert result.ret == 0, text_of(result)
    listed = [line for line in result.outlines if line.startswith("Demo/")]
    assert listed == DEMO_NODE_IDS
    result.stdout.fnmatch_lines(["12 tests collected*"])


def test_keyword_selects_one_task(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    result = run_humaneval(*demo_args("-k", "Demo/1", "-rA", "--humaneval-json=summary.json", *worker_args))
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


def test_marker_separates_the_evaluation_from_user_tests(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    pytester.makepyfile(test_mine="def test_mine():\n    assert True\n")
    only_samples = run_humaneval(*demo_args("-m", "humaneval", "--collect-only", "-q"))
    assert only_samples.ret == 0, text_of(only_samples)
    collected = [line for line in only_samples.outlines if "::" in line]
    assert len(collected) == 12 and all(line.startswith("Demo/") for line in collected)
    only_mine = run_humaneval(*demo_args("-m", "not humaneval"))
    assert only_mine.ret == 0, text_of(only_mine)
    only_mine.assert_outcomes(passed=1, deselected=12)
    assert not any(line.strip("= ") == "humaneval" for line in only_mine.outlines), text_of(only_mine)


def test_runs_with_pytest_timeout_disabled_and_strict_markers(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """``-p no:timeout`` drops the backstop marker instead of breaking collection."""
    strict = ("--strict-markers", "-W", "error::pytest.PytestUnknownMarkWarning")
    result = run_humaneval(
        *demo_args("-p", "no:timeout", *strict, "--humaneval-json=summary.json", *worker_args)
    )
    assert result.ret == 0, text_of(result)
    assert read_json(pytester.path / "summary.json")["counts"] == DEMO_COUNTS
    with_timeout = run_humaneval(*demo_args(*strict, "--collect-only", "-q"))
    assert with_timeout.ret == 0, text_of(with_timeout)


def test_deselect_one_sample(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    result = run_humaneval(
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


def test_last_failed_reruns_only_failing_samples(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    first = run_humaneval(*demo_args(*worker_args))
    assert first.ret == 0, text_of(first)
    lastfailed = read_json(pytester.path / ".pytest_cache" / "v" / "cache" / "lastfailed")
    assert sorted(lastfailed) == sorted(DEMO_FAILING)
    second = run_humaneval(*demo_args("--lf", "--humaneval-results=results.jsonl", *worker_args))
    assert second.ret == 0, text_of(second)
    if serial(worker_args):  # xdist's workers deselect, and report no count
        second.stdout.fnmatch_lines(["run-last-failure: rerun previous 6 failures*"])
        assert second.parseoutcomes()["deselected"] == DEMO_OUTCOMES.count("passed")
    # the samples not rerun are reported from the verdict cache: the results stay whole
    records = read_results(pytester.path / "results.jsonl")
    assert [r["outcome"] for r in records] == DEMO_OUTCOMES
    assert "reused    12 verdicts from the cache or identical samples" in second.outlines


@pytest.mark.parametrize("option", ["--lf", "--ff"])
def test_last_failed_on_evalplus_problems_keeps_both_verdicts(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str], option: str
) -> None:
    """The samples not rerun take their base and plus statuses and their failed input from
    the verdict cache, so the results file is the first session's and pass@k+ is computable."""
    write_files(pytester.path)
    first = run_humaneval(*plus_args(*worker_args))
    assert first.ret == 0, text_of(first)
    records = read_results(pytester.path / "results.jsonl")
    summary = read_json(pytester.path / "summary.json")
    (pytester.path / "results.jsonl").unlink()
    again = run_humaneval(*plus_args(option, *worker_args))
    assert again.ret == 0, text_of(again)
    if serial(worker_args) and option == "--lf":  # xdist's workers deselect, and report no count
        again.stdout.fnmatch_lines(["run-last-failure: rerun previous 5 failures*"])  # base or plus
    rerun = read_results(pytester.path / "results.jsonl")
    assert judged(rerun) == [expected for _, _, expected in SAMPLES]
    assert without_duration(rerun) == without_duration(records)
    assert f"reused    {len(SAMPLES)} verdicts from the cache or identical samples" in again.outlines
    plus = read_json(pytester.path / "summary.json")
    assert plus["pass_at_k_plus"] == summary["pass_at_k_plus"] == {"pass@1": pytest.approx(PASS_AT_1_PLUS)}
    assert plus["per_problem"] == summary["per_problem"]
