"""Samples run ahead of their items on a pool of sandbox servers (a session without xdist
workers, ``--humaneval-servers``): the verdicts are those of one server and of xdist
workers, copies of a sample still run once, and a bad pool size is a usage error."""

from __future__ import annotations

import json

import pytest
from support.evalplus import SAMPLES, judged, plus_args, write_files
from support.results import read_results, text_of
from support.sessions import RunHumaneval


def results_without_durations(pytester: pytest.Pytester) -> list[dict[str, object]]:
    rows = read_results(pytester.path / "results.jsonl")
    return [{key: value for key, value in row.items() if key != "duration"} for row in rows]


def test_a_pool_gives_the_verdicts_of_one_server_and_of_xdist_workers(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    write_files(pytester.path)
    runs = []
    for options in (["-n", "0", "--humaneval-servers=3"], ["-n", "0", "--humaneval-servers=1"], ["-n", "2"]):
        result = run_humaneval(*plus_args("--humaneval-no-cache", *options))
        assert result.ret == 0, text_of(result)
        runs.append(results_without_durations(pytester))
    assert judged(read_results(pytester.path / "results.jsonl")) == [expected for *_, expected in SAMPLES]
    assert runs[0] == runs[1] == runs[2]


def test_copies_of_a_sample_run_once_on_a_pool(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    write_files(pytester.path)
    row = {"task_id": "Plus/0", "completion": SAMPLES[1][1]}
    (pytester.path / "samples.jsonl").write_text((json.dumps(row) + "\n") * 4)
    result = run_humaneval(*plus_args("-n", "0", "--humaneval-servers=2", "--humaneval-no-cache"))
    assert result.ret == 0, text_of(result)
    assert judged(read_results(pytester.path / "results.jsonl")) == [("passed", "pass", "fail")] * 4
    result.stdout.fnmatch_lines(["reused    3 verdicts from the cache or identical samples"])


@pytest.mark.parametrize("value", ["0", "-1", "two", "257", ""])
def test_a_bad_pool_size_is_a_usage_error(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, value: str
) -> None:
    write_files(pytester.path)
    result = run_humaneval(*plus_args(f"--humaneval-servers={value}"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    assert "--humaneval-servers" in text_of(result)
    assert "must be a number of servers from 1 to 256, or auto" in text_of(result)


def test_a_pool_size_from_the_ini_file(pytester: pytest.Pytester, run_humaneval: RunHumaneval) -> None:
    write_files(pytester.path)
    pytester.makeini("[pytest]\nhumaneval_servers = 2\n")
    result = run_humaneval(*plus_args("-n", "0", "--humaneval-no-cache"))
    assert result.ret == 0, text_of(result)
    assert judged(read_results(pytester.path / "results.jsonl")) == [expected for *_, expected in SAMPLES]
