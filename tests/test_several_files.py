"""Several samples files in one session (``--humaneval-samples`` given more than once).

Each test writes its samples files next to the demo problems:

- ``good.jsonl``: each demo problem's canonical solution, 3 times (pass@1 = 1);
- ``mixed.jsonl``: the demo samples (per problem 2/3, 2/3, 1/3, 1/3 pass; pass@1 = 0.5);
- ``nearly.jsonl``: like ``good`` but one of the 3 samples of Demo/3 is wrong.

So ``mixed - good`` has per-problem pass@1 differences -1/3, -1/3, -2/3, -2/3 (mean -0.5,
every resample negative: the interval excludes 0) and ``nearly - good`` has 0, 0, 0, -1/3
(the interval reaches 0: it includes 0). pass@3 is 1 for every problem of every file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.problems import DEMO_PROBLEMS, DEMO_SAMPLES
from support.results import read_json, read_results, text_of
from support.sessions import RunHumaneval

from pytest_humaneval.metrics import bootstrap_ci95, mean_pass_at_k
from pytest_humaneval.outputs.terminal import runs_table_lines
from pytest_humaneval.tally import Summary

TASKS = [f"Demo/{task}" for task in range(4)]
WRONG_VOWELS = "    return 0\n"


def canonical_rows() -> list[dict[str, str]]:
    problems = [json.loads(line) for line in DEMO_PROBLEMS.read_text().splitlines()]
    return [
        {"task_id": problem["task_id"], "completion": problem["canonical_solution"]}
        for problem in problems
        for _ in range(3)
    ]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def write_files(directory: Path) -> None:
    """``good.jsonl``, ``mixed.jsonl`` and ``nearly.jsonl`` (see the module's docstring)."""
    write_jsonl(directory / "good.jsonl", canonical_rows())
    (directory / "mixed.jsonl").write_bytes(DEMO_SAMPLES.read_bytes())
    nearly = canonical_rows()
    nearly[-1] = {"task_id": "Demo/3", "completion": WRONG_VOWELS}
    write_jsonl(directory / "nearly.jsonl", nearly)


def run_files(run_humaneval: RunHumaneval, *files: str, extra: tuple[str, ...] = ()) -> pytest.RunResult:
    """A session on the demo problems and the samples ``files``, written first (see the module docstring)."""
    write_files(run_humaneval.pytester.path)
    return run_humaneval(
        f"--humaneval-problems={DEMO_PROBLEMS}",
        *(f"--humaneval-samples={name}" for name in files),
        "--humaneval-timeout=1",
        "--humaneval-k=1,3,10",
        *extra,
    )


def node_ids(label: str) -> list[str]:
    return [f"{label}::{task}::{task}[{index}]" for task in TASKS for index in range(3)]


MIXED_MINUS_GOOD = np.array([-1 / 3, -1 / 3, -2 / 3, -2 / 3])
NEARLY_MINUS_GOOD = np.array([0.0, 0.0, 0.0, -1 / 3])


def interval(differences: np.ndarray) -> list[float]:
    return list(bootstrap_ci95(differences))


# -- node ids and selection ----------------------------------------------------------------------


def test_node_ids_name_the_file(run_humaneval: RunHumaneval) -> None:
    result = run_files(run_humaneval, "good.jsonl", "mixed.jsonl", extra=("--collect-only", "-q"))
    assert result.ret == 0, text_of(result)
    listed = [line for line in result.outlines if "::" in line]
    assert listed == node_ids("good.jsonl") + node_ids("mixed.jsonl")
    result.stdout.fnmatch_lines(["24 tests collected*"])


def test_one_file_keeps_its_node_ids(run_humaneval: RunHumaneval) -> None:
    result = run_files(run_humaneval, "mixed.jsonl", extra=("--collect-only", "-q"))
    assert [line for line in result.outlines if "::" in line] == [
        node.removeprefix("mixed.jsonl::") for node in node_ids("mixed.jsonl")
    ]


def test_keyword_and_deselect_select_by_file(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    result = run_files(
        run_humaneval,
        "good.jsonl",
        "mixed.jsonl",
        extra=(
            "-k",
            "mixed.jsonl and Demo/0",
            "--deselect",
            "mixed.jsonl::Demo/0::Demo/0[2]",
            "-rA",
            "--humaneval-results=results.jsonl",
            *worker_args,
        ),
    )
    assert result.ret == 0, text_of(result)
    if worker_args == ["-n", "0"]:  # xdist's workers collect and deselect, and print no such line
        result.stdout.fnmatch_lines(["collected 24 items / 22 deselected / 2 selected"])
    records = read_results(pytester.path / "results.jsonl")
    ran = [(r["samples_file"], r["task_id"], r["outcome"]) for r in records if r["outcome"] != "not run"]
    assert ran == [("mixed.jsonl", "Demo/0", "passed"), ("mixed.jsonl", "Demo/0", "failed")]


def test_last_failed_reruns_the_failing_samples_of_each_file(run_humaneval: RunHumaneval) -> None:
    first = run_files(run_humaneval, "nearly.jsonl", "mixed.jsonl")
    assert first.ret == 0, text_of(first)
    second = run_files(run_humaneval, "nearly.jsonl", "mixed.jsonl", extra=("--lf", "--collect-only", "-q"))
    listed = [line for line in second.outlines if "::" in line]
    assert listed == [
        "nearly.jsonl::Demo/3::Demo/3[2]",
        "mixed.jsonl::Demo/0::Demo/0[1]",
        "mixed.jsonl::Demo/1::Demo/1[1]",
        "mixed.jsonl::Demo/2::Demo/2[1]",
        "mixed.jsonl::Demo/2::Demo/2[2]",
        "mixed.jsonl::Demo/3::Demo/3[0]",
        "mixed.jsonl::Demo/3::Demo/3[2]",
    ], text_of(second)


# -- the table, the comparison, the outputs ------------------------------------------------------------


def test_two_files_table_comparison_json_and_results(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    result = run_files(
        run_humaneval,
        "good.jsonl",
        "mixed.jsonl",
        extra=("--humaneval-json=summary.json", "--humaneval-results=results.jsonl", *worker_args),
    )
    assert result.ret == 0, text_of(result)
    low, high = interval(MIXED_MINUS_GOOD)
    result.stdout.fnmatch_lines(
        [
            "problems  *demo.jsonl: 4 problems",
            "file         problems  samples  passed  failed  error  timed out  crashed",
            "good.jsonl        4/4    12/12      12       0      0          0        0",
            "mixed.jsonl       4/4    12/12       6       3      2          1        0",
            "file                pass@1 (95% CI)         pass@3 (95% CI)  pass@10 (95% CI)",
            "good.jsonl   1.0000 (1.0000-1.0000)  1.0000 (1.0000-1.0000)               n/a",
            "mixed.jsonl  0.5000 (0.3333-0.6667)  1.0000 (1.0000-1.0000)               n/a",
            "*humaneval: differences to the first file*",
            "mixed.jsonl - good.jsonl (paired over 4 problems with samples in both)",
            f"  pass@1    -0.5000  95% CI {low:+.4f} to {high:+.4f}  excludes 0",
            "  pass@3    +0.0000  95% CI +0.0000 to +0.0000  includes 0",
            "  pass@10   not computable: needs 10 samples per task, Demo/0 has 3",
        ]
    )
    table = result.outlines[result.outlines.index("=" * 34 + " humaneval " + "=" * 35) : -1]
    assert table and all(len(line) <= 80 for line in table), text_of(result)

    summary = read_json(pytester.path / "summary.json")
    assert [run["label"] for run in summary["runs"]] == ["good.jsonl", "mixed.jsonl"]
    assert [run["samples_file"] for run in summary["runs"]] == ["good.jsonl", "mixed.jsonl"]
    assert summary["runs"][1]["pass_at_k"] == {"pass@1": pytest.approx(0.5), "pass@3": 1.0, "pass@10": None}
    assert summary["runs"][1]["counts"] == {
        "passed": 6,
        "failed": 3,
        "error": 2,
        "timed out": 1,
        "crashed": 0,
    }
    assert summary["settings"]["samples"] == ["good.jsonl", "mixed.jsonl"]
    assert summary["partial"] is False
    assert "pass_at_k" not in summary  # with several files, per-file numbers are only in "runs"
    assert summary["comparisons"] == [
        {
            "a": "good.jsonl",
            "b": "mixed.jsonl",
            "a_file": "good.jsonl",
            "b_file": "mixed.jsonl",
            "problems": 4,
            "pass@1": {
                "difference": pytest.approx(-0.5, abs=1e-12),
                "ci95": pytest.approx([low, high], abs=1e-12),
                "excludes_zero": True,
            },
            "pass@3": {"difference": 0.0, "ci95": [0.0, 0.0], "excludes_zero": False},
            "not_computable": {"pass@10": "needs 10 samples per task, Demo/0 has 3"},
        }
    ]

    records = read_results(pytester.path / "results.jsonl")
    assert [r["samples_file"] for r in records] == ["good.jsonl"] * 12 + ["mixed.jsonl"] * 12
    assert [r["completion"] for r in records[12:]] == [
        json.loads(line)["completion"] for line in DEMO_SAMPLES.read_text().splitlines()
    ]
    assert [r["outcome"] for r in records[:12]] == ["passed"] * 12


def test_three_files_compare_with_the_first(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    result = run_files(
        run_humaneval,
        "good.jsonl",
        "mixed.jsonl",
        "nearly.jsonl",
        extra=("--humaneval-json=summary.json", *worker_args),
    )
    assert result.ret == 0, text_of(result)
    low, high = interval(NEARLY_MINUS_GOOD)
    assert high == 0.0 and low < 0.0
    result.stdout.fnmatch_lines(
        [
            "mixed.jsonl - good.jsonl *",
            "  pass@1    -0.5000 * excludes 0",
            "nearly.jsonl - good.jsonl (paired over 4 problems with samples in both)",
            f"  pass@1    -0.0833  95% CI {low:+.4f} to +0.0000  includes 0",
        ]
    )
    comparisons = read_json(pytester.path / "summary.json")["comparisons"]
    assert [(c["a"], c["b"]) for c in comparisons] == [
        ("good.jsonl", "mixed.jsonl"),
        ("good.jsonl", "nearly.jsonl"),
    ]
    assert comparisons[1]["pass@1"] == {
        "difference": pytest.approx(-1 / 12, abs=1e-12),
        "ci95": pytest.approx([low, high], abs=1e-12),
        "excludes_zero": False,
    }


def test_comparison_pairs_only_the_shared_problems(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """B has samples for Demo/0 and Demo/1 only: the difference is over those two."""
    lines = DEMO_SAMPLES.read_text().splitlines()
    (pytester.path / "half.jsonl").write_text("\n".join(lines[:6]) + "\n")
    result = run_files(
        run_humaneval, "good.jsonl", "half.jsonl", extra=("--humaneval-json=summary.json", *worker_args)
    )
    assert result.ret == 0, text_of(result)
    result.stdout.fnmatch_lines(
        [
            "PARTIAL half.jsonl: 2 problems have no samples (Demo/2, Demo/3)",
            "half.jsonl - good.jsonl (paired over 2 problems with samples in both)",
            "  pass@1    -0.3333  95% CI -0.3333 to -0.3333  excludes 0",
        ]
    )
    summary = read_json(pytester.path / "summary.json")
    assert summary["partial"] is True
    assert summary["runs"][0]["partial"] is False


def test_per_problem_report_and_fail_under_for_each_file(
    run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    result = run_files(
        run_humaneval,
        "good.jsonl",
        "mixed.jsonl",
        extra=("--humaneval-report=problems", "--humaneval-fail-under", "pass@1=0.9", *worker_args),
    )
    assert result.ret == 1, text_of(result)
    result.stdout.fnmatch_lines(
        [
            "*humaneval: per problem: good.jsonl*",
            "Demo/3         3       3   1.000  -",
            "unsolved (0): none",
            "*humaneval: per problem: mixed.jsonl*",
            "Demo/3         3       1   0.333  failed: AssertionError",
            "good.jsonl: pass@1 = 1.0000 meets --humaneval-fail-under 0.9",
            "FAIL: mixed.jsonl: pass@1 = 0.5000 is below --humaneval-fail-under 0.9",
        ]
    )


# One xdist worker: the repeats reach it by the wire; two: the scheduler keeps copies together.
@pytest.mark.parametrize("workers", ["0", "1", "2"])
def test_identical_samples_across_files_run_once(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, workers: str
) -> None:
    write_files(pytester.path)
    (pytester.path / "copy.jsonl").write_bytes((pytester.path / "good.jsonl").read_bytes())
    result = run_files(
        run_humaneval, "good.jsonl", "copy.jsonl", extra=("-p", "no:cacheprovider", "-n", workers)
    )
    assert result.ret == 0, text_of(result)
    # 4 distinct programs in 24 samples.
    assert "reused    20 verdicts from the cache or identical samples" in result.outlines, text_of(result)


def test_plot_draws_one_curve_per_file(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    pytest.importorskip("matplotlib")
    result = run_files(
        run_humaneval, "good.jsonl", "mixed.jsonl", extra=("--humaneval-plot=curves.png", *worker_args)
    )
    assert result.ret == 0, text_of(result)
    assert (pytester.path / "curves.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


# -- labels and errors -----------------------------------------------------------------------------------


def test_files_of_the_same_name_are_told_apart(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    for directory, source in (("a", DEMO_SAMPLES), ("b", DEMO_SAMPLES)):
        pytester.mkdir(directory)
        (pytester.path / directory / "samples.jsonl").write_bytes(source.read_bytes())
    result = run_files(run_humaneval, "a/samples.jsonl", "b/samples.jsonl", extra=("--collect-only", "-q"))
    assert result.ret == 0, text_of(result)
    listed = [line for line in result.outlines if "::" in line]
    assert listed[0] == "a/samples.jsonl::Demo/0::Demo/0[0]"
    assert listed[-1] == "b/samples.jsonl::Demo/3::Demo/3[2]"


@pytest.mark.parametrize("second", ["good.jsonl", "./good.jsonl", "hard-link.jsonl"])
def test_the_same_file_twice_is_a_usage_error(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, second: str
) -> None:
    write_files(pytester.path)
    os.link(pytester.path / "good.jsonl", pytester.path / "hard-link.jsonl")
    result = run_files(run_humaneval, "good.jsonl", second)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    also = "" if second == "good.jsonl" else " (as good.jsonl)"
    assert errors == [
        f"ERROR: --humaneval-samples={second} (from command line): the same samples file is given twice{also}"
    ], text_of(result)


def test_bad_line_in_a_later_file_stops_everything(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    (pytester.path / "broken.jsonl").write_text('{"task_id": "Demo/0", "completion": "x"}\n{"task_id": 3}\n')
    result = run_files(
        run_humaneval, "good.jsonl", "broken.jsonl", extra=("--humaneval-results=results.jsonl", *worker_args)
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert errors == ["ERROR: broken.jsonl:2: field 'task_id' must be a string, found int"], text_of(result)
    assert not (pytester.path / "results.jsonl").exists()


def test_ini_takes_one_samples_file_per_line(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(
        f"[pytest]\nhumaneval_problems = {DEMO_PROBLEMS}\n"
        "humaneval_samples =\n    good.jsonl\n    mixed.jsonl\nhumaneval_timeout = 1\n"
    )
    write_files(pytester.path)
    monkeypatch.chdir(pytester.mkdir("sub"))
    result = run_humaneval("--collect-only", "-q")
    assert result.ret == 0, text_of(result)
    assert [line for line in result.outlines if "::" in line] == node_ids("good.jsonl") + node_ids(
        "mixed.jsonl"
    )


def test_user_test_over_samples_of_several_files(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    pytester.makepyfile(test_user="def test_x(humaneval_sample):\n    pass\n")
    result = run_files(
        run_humaneval, "good.jsonl", "mixed.jsonl", extra=("--collect-only", "-q", "test_user.py")
    )
    ids = [line for line in result.outlines if line.startswith("test_user.py::")]
    assert ids[0] == "test_user.py::test_x[good.jsonl:Demo/0[0]]"
    assert ids[-1] == "test_user.py::test_x[mixed.jsonl:Demo/3[2]]"
    assert len(ids) == 24
    result.stdout.fnmatch_lines(["48 tests collected*"])


def test_wide_tables_wrap_into_blocks_that_repeat_the_file_column() -> None:
    rates = [mean_pass_at_k([("t", 200, 50)], k) for k in (1, 10, 100)]
    summaries = [
        Summary(
            label=label,
            samples_source=label,
            problems_source="humaneval",
            problems=164,
            tasks_with_samples=164,
            samples=32800,
            finished=32800,
            counts={"passed": 9000, "failed": 23800},
            pass_at_k=rates,
            tasks_without_samples=[],
            interrupted=False,
        )
        for label in ("cushman001-t0.8-n200.samples.jsonl", "davinci002-t0.8-n200.samples.jsonl")
    ]
    lines = runs_table_lines(summaries)
    assert all(len(line) <= 80 for line in lines), lines
    headers = [line.split() for line in lines if line.startswith("file ")]
    # Counts in two blocks, then one block per pass@k: each repeats the file column.
    assert [header[1] for header in headers] == ["problems", "timed", "pass@1", "pass@10", "pass@100"]
    rows = [line for line in lines if line.startswith("davinci002")]
    assert len(rows) == 5 and rows[-1].endswith("1.0000 (1.0000-1.0000)")
