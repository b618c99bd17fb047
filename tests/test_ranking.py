"""Ranked selection (``--humaneval-rank``): the pass rate of the sample a ranking puts first,
beside a random pick (pass@1) and an oracle (pass@n), checked against figures computed by hand.

The sessions run on the demo samples (per problem, in file order: Demo/0 P F P, Demo/1 P E P,
Demo/2 P T F, Demo/3 F P E; ``DEMO_OUTCOMES``), each given the scores of ``SCORES``:

- ``verdict``: 1 for a sample that passes, else 0: the top-ranked sample passes wherever one
  does, so the ranking gives pass@n, 1.0 (every problem has a passing sample);
- ``failures_first``: 1 for a sample that does not pass: every demo problem has one, so 0.0;
- ``flat``: 0 for every sample: ties go to the first sample of each problem (P, P, P, F): 0.75;
- ``logprobs`` such that the first sample of each problem has the highest mean (0.75, as
  ``flat``) and the second the highest sum (F, E, T, P: 0.25).

A random pick is pass@1 = 0.5 and the oracle 1.0.
"""

from __future__ import annotations

import json
import math
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.problems import DEMO_OUTCOMES, DEMO_PROBLEMS, demo_records
from support.results import error_lines, read_json, read_results, text_of
from support.sessions import RunHumaneval, run_shards

from pytest_humaneval.errors import FieldError
from pytest_humaneval.metrics import bootstrap_ci95, mean_pass_at_k
from pytest_humaneval.ranking import (
    DOES_NOT_PASS,
    PASSES,
    RankedSelection,
    ScoreBook,
    ranked_difference,
    ranked_selections,
    sample_scores,
    top_ranked_curve,
)

LOGPROBS = [[-0.1] * 4, [-0.3], [-0.2] * 3]
"""Per problem, in file order: means -0.1, -0.3, -0.2 (the first is highest); sums -0.4,
-0.3, -0.6 (the second is highest)."""
FIELDS = ("verdict", "failures_first", "flat", "mean_logprob", "sum_logprob")
TOP_PASSES = {
    "verdict": [1, 1, 1, 1],
    "failures_first": [0, 0, 0, 0],
    "flat": [1, 1, 1, 0],
    "mean_logprob": [1, 1, 1, 0],
    "sum_logprob": [0, 0, 0, 1],
}
"""Per problem, whether the sample each field ranks first passes (see the module's docstring)."""
PASS_AT_1 = [2 / 3, 2 / 3, 1 / 3, 1 / 3]


def scored(record: dict[str, Any], number: int, outcome: str) -> dict[str, Any]:
    passed = outcome == "passed"
    return {
        **record,
        "verdict": int(passed),
        "failures_first": int(not passed),
        "flat": 0,
        "logprobs": LOGPROBS[number % 3],
    }


def scored_records() -> list[dict[str, Any]]:
    return [
        scored(record, number, outcome)
        for number, (record, outcome) in enumerate(zip(demo_records(), DEMO_OUTCOMES, strict=True))
    ]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def rank_args(*fields: str, samples: str = "samples.jsonl") -> list[str]:
    return [
        f"--humaneval-problems={DEMO_PROBLEMS}",
        f"--humaneval-samples={samples}",
        "--humaneval-timeout=1",
        "--humaneval-k=1,3",
        *(f"--humaneval-rank={field}" for field in fields),
    ]


def shown(values: Sequence[float]) -> str:
    """A rate and its interval as the table shows them, from per-problem values."""
    low, high = bootstrap_ci95(np.array(values, dtype=float))
    return f"{np.mean(values):.4f} ({low:.4f}-{high:.4f})"


def row(name: str, width: int, *cells: str) -> str:
    """A line of a ranking's table: the name in a column ``width`` wide, then each file's cell
    (22 characters, as a rate with its interval)."""
    return name.ljust(width) + "".join(f"  {cell:>22}" for cell in cells)


# -- scores -----------------------------------------------------------------------------------------


def test_a_score_is_the_field_or_derived_from_the_logprobs() -> None:
    record = {"logprobs": [-1.0, -2.0, -0.5, -0.5]}
    assert sample_scores(record, ("mean_logprob", "sum_logprob", "score")) == [-1.0, -4.0, None]
    assert sample_scores({**record, "mean_logprob": 3}, ("mean_logprob",)) == [3.0]  # the field wins
    assert sample_scores({"score": -2}, ("score",)) == [-2.0]


@pytest.mark.parametrize(
    ("record", "field", "detail"),
    [
        ({"score": "high"}, "score", "field 'score' must be a finite number to rank by, found str"),
        ({"score": True}, "score", "found bool"),
        ({"score": math.inf}, "score", "found float"),
        ({"logprobs": []}, "mean_logprob", "'logprobs' must be a non-empty list of numbers"),
        ({"logprobs": [-1, "x"]}, "sum_logprob", "'logprobs' must be a non-empty list of numbers"),
    ],
)
def test_a_score_that_is_not_a_number_is_an_error(record: dict[str, Any], field: str, detail: str) -> None:
    with pytest.raises(FieldError, match=detail):
        sample_scores(record, (field,))


def test_a_missing_score_is_an_error_unless_its_problems_are_excluded() -> None:
    with pytest.raises(FieldError, match="no field 'mean_logprob' or 'logprobs' to rank by"):
        ScoreBook(("mean_logprob",), exclude_missing=False).note(0, {})
    book = ScoreBook(("score",), exclude_missing=True)
    book.note(1, {"score": 2})
    book.note(0, {})
    assert math.isnan(book.scores["score"][0]) and book.scores["score"][1] == 2.0


# -- the figures ------------------------------------------------------------------------------------


def demo_tasks(field: str) -> dict[str, list[tuple[float, bool]]]:
    """The demo problems' (score, passed) by ``field``, in file order."""
    tasks: dict[str, list[tuple[float, bool]]] = {}
    for record, outcome in zip(scored_records(), DEMO_OUTCOMES, strict=True):
        tasks.setdefault(record["task_id"], []).append(
            (sample_scores(record, (field,))[0] or 0.0, outcome == "passed")
        )
    return tasks


def select(tasks: dict[str, list[tuple[float, bool]]]) -> RankedSelection:
    """The selection by one field of samples given per problem as (score, passed), in file
    order (a NaN score: the sample lacks the field)."""
    book = ScoreBook(("s",), exclude_missing=True)
    task_numbers, outcomes = array("q"), bytearray()
    for number, samples in enumerate(tasks.values()):
        for score, passed in samples:
            book.note(len(outcomes), {} if math.isnan(score) else {"s": score})
            task_numbers.append(number)
            outcomes.append(PASSES if passed else DOES_NOT_PASS)
    return ranked_selections(book, list(tasks), task_numbers, bytes(outcomes))[0]


@pytest.mark.parametrize("field", FIELDS)
def test_top_ranked_random_and_oracle_match_the_hand_computed_figures(field: str) -> None:
    selection = select(demo_tasks(field))
    expected = TOP_PASSES[field]
    assert selection.top_ranked.value == pytest.approx(np.mean(expected))
    assert selection.top_ranked.ci95 == bootstrap_ci95(np.array(expected, dtype=float))
    assert selection.random.value == pytest.approx(0.5)
    assert selection.random.ci95 == pytest.approx(bootstrap_ci95(np.array(PASS_AT_1)))
    assert selection.oracle.value == 1.0 and selection.oracle.ci95 == (1.0, 1.0)


def test_ranking_by_the_verdict_is_the_oracle_and_failures_first_pass_only_where_all_pass() -> None:
    tasks = {
        "all pass": [(0.0, True), (1.0, True)],
        "one fails": [(0.0, True), (1.0, False)],
        "none passes": [(0.0, False), (0.0, False)],
    }
    by_verdict = {task: [(float(passed), passed) for _, passed in samples] for task, samples in tasks.items()}
    assert select(by_verdict).top_passes == {
        "all pass": 1,
        "one fails": 1,
        "none passes": 0,
    }
    selection = select(tasks)
    assert selection.top_passes == {"all pass": 1.0, "one fails": 0.0, "none passes": 0.0}
    assert selection.oracle.value == pytest.approx(2 / 3)


def test_ties_go_to_the_sample_first_in_its_file() -> None:
    tasks = {"T": [(1.0, False), (2.0, True), (2.0, False), (2.0, True)]}
    assert select(tasks).passes == {"T": [True, False, True, False]}
    tasks = {"T": [(2.0, False), (2.0, True)], "U": [(-1.0, True), (-1.0, False)]}
    assert select(tasks).top_passes == {"T": 0.0, "U": 1.0}


def test_excluded_problems_leave_every_figure() -> None:
    tasks = demo_tasks("mean_logprob")
    tasks["Demo/1"][2] = (math.nan, True)
    selection = select(tasks)
    assert list(selection.passes) == ["Demo/0", "Demo/2", "Demo/3"]
    assert selection.top_ranked.value == pytest.approx(2 / 3)
    assert selection.random.value == pytest.approx((2 / 3 + 1 / 3 + 1 / 3) / 3)
    assert selection.excluded == ["Demo/1"]
    nothing = select({"T": [(math.nan, True)]})
    assert nothing.top_ranked.value is None and nothing.random.value is None and nothing.excluded == ["T"]
    assert top_ranked_curve(nothing) == []


def test_the_curve_of_the_top_ranked_of_k_samples() -> None:
    """Of k random samples of 3, the top-ranked: k=1 is pass@1, k=3 the top-ranked of all; in
    between, by hand: with failures first, 2 samples pass only when both pass, which for one
    failure in 3 is 1 pair in 3 (Demo/0, Demo/1) and for two failures never: (1/3 + 1/3) / 4."""
    failures_first = top_ranked_curve(select(demo_tasks("failures_first")))
    assert [rate.k for rate in failures_first] == [1, 2, 3]
    assert [rate.value for rate in failures_first] == pytest.approx([0.5, 1 / 6, 0.0])
    assert failures_first[1].ci95 == pytest.approx(bootstrap_ci95(np.array([1 / 3, 1 / 3, 0.0, 0.0])))
    by_verdict = top_ranked_curve(select(demo_tasks("verdict")))
    rows = [("Demo/0", 3, 2), ("Demo/1", 3, 2), ("Demo/2", 3, 1), ("Demo/3", 3, 1)]
    assert [rate.value for rate in by_verdict] == pytest.approx(
        [mean_pass_at_k(rows, k).value for k in (1, 2, 3)]
    )


def test_the_difference_of_two_rankings_is_paired_over_the_problems_both_rank() -> None:
    a = select({"A": [(1.0, True)], "B": [(1.0, True)], "C": [(1.0, False)]})
    b = select({"A": [(1.0, False)], "B": [(1.0, True)], "D": [(1.0, True)]})
    difference = ranked_difference(a, b)
    assert difference.value == -0.5 and difference.ci95 == bootstrap_ci95(np.array([-1.0, 0.0]))
    nothing = ranked_difference(a, select({"E": [(1.0, True)]}))
    assert nothing.value is None and nothing.reason == "no problem is ranked by 's' in both"


# -- sessions ---------------------------------------------------------------------------------------


def test_table_json_and_results_carry_each_ranking(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    write_jsonl(pytester.path / "samples.jsonl", scored_records())
    result = run_humaneval(
        *rank_args(*FIELDS),
        "--humaneval-json=summary.json",
        "--humaneval-results=results.jsonl",
        *worker_args,
    )
    assert result.ret == 0, text_of(result)
    result.stdout.fnmatch_lines(
        [
            "pass@k    pass@1 0.5000  pass@3 1.0000",
            "95% CI    pass@1 0.3333-0.6667  pass@3 1.0000-1.0000  (bootstrap over problems)",
            "ranked    pass rate of the top-ranked sample (ties: first in file), 95% CI",
            row("pick", 17, "samples.jsonl"),
            *(row(f"by {field}", 17, shown(TOP_PASSES[field])) for field in FIELDS),
            row("random (pass@1)", 17, shown(PASS_AT_1)),
            row("oracle (pass@n)", 17, "1.0000 (1.0000-1.0000)"),
        ],
        consecutive=True,
    )
    summary = read_json(pytester.path / "summary.json")
    assert summary["settings"]["rank"] == list(FIELDS) and summary["settings"]["rank_missing"] == "error"
    ranked = summary["runs"][0]["ranked"]
    assert list(ranked) == list(FIELDS)
    for field in FIELDS:
        values = np.array(TOP_PASSES[field], dtype=float)
        assert ranked[field]["top_ranked"] == {
            "pass_rate": pytest.approx(values.mean()),
            "ci95": list(bootstrap_ci95(values)),
        }
        assert ranked[field]["random"]["pass_rate"] == pytest.approx(0.5)
        assert ranked[field]["oracle"] == {"pass_rate": 1.0, "ci95": [1.0, 1.0]}
        assert ranked[field]["problems"] == 4 and ranked[field]["excluded_problems"] == []
    assert [record["verdict"] for record in read_results(pytester.path / "results.jsonl")] == [
        int(outcome == "passed") for outcome in DEMO_OUTCOMES
    ]


def test_a_sample_without_the_field_stops_the_session_naming_its_line(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    records = scored_records()
    del records[4]["logprobs"]
    write_jsonl(pytester.path / "samples.jsonl", records)
    result = run_humaneval(*rank_args("verdict", "mean_logprob"), "--humaneval-results=results.jsonl")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    assert error_lines(result) == [
        "ERROR: samples.jsonl:5: the sample has no field 'mean_logprob' or 'logprobs' to rank by "
        "(--humaneval-rank); --humaneval-rank-missing=exclude leaves out the problems whose samples lack it"
    ], text_of(result)
    assert not (pytester.path / "results.jsonl").exists()


def test_a_score_that_is_not_a_number_stops_the_session(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    records = scored_records()
    records[2]["verdict"] = "yes"
    write_jsonl(pytester.path / "samples.jsonl", records)
    result = run_humaneval(*rank_args("verdict"), "--humaneval-rank-missing=exclude")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    assert error_lines(result) == [
        "ERROR: samples.jsonl:3: field 'verdict' must be a finite number to rank by, found str"
    ]


def test_excluded_problems_are_counted(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """Demo/1's second sample has no ``logprobs``: Demo/1 leaves both rankings (P P F P F E
    remain: mean_logprob's first samples P, P, F; verdict's P, P, P)."""
    records = scored_records()
    del records[4]["logprobs"]
    write_jsonl(pytester.path / "samples.jsonl", records)
    result = run_humaneval(
        *rank_args("mean_logprob", "verdict"),
        "--humaneval-rank-missing=exclude",
        "--humaneval-json=summary.json",
        *worker_args,
    )
    assert result.ret == 0, text_of(result)
    result.stdout.fnmatch_lines(
        [
            row("by mean_logprob", 15, shown([1, 1, 0])),
            row("by verdict", 15, "1.0000 (1.0000-1.0000)"),
            row("random (pass@1)", 15, shown([2 / 3, 1 / 3, 1 / 3])),
            row("oracle (pass@n)", 15, "1.0000 (1.0000-1.0000)"),
            "ranked: samples.jsonl leaves out 1 problems whose samples lack mean_logprob or verdict (Demo/1)",
        ],
        consecutive=True,
    )
    ranked = read_json(pytester.path / "summary.json")["ranked"]
    assert ranked["mean_logprob"]["problems"] == 3
    assert ranked["mean_logprob"]["excluded_problems"] == ["Demo/1"]
    assert ranked["verdict"]["excluded_problems"] == ["Demo/1"]


def test_without_rank_nothing_changes(pytester: pytest.Pytester, run_humaneval: RunHumaneval) -> None:
    """Scores and a temperature on one file's samples change nothing a session prints or writes."""
    plain, with_fields = pytester.mkdir("plain"), pytester.mkdir("fields")
    write_jsonl(plain / "samples.jsonl", demo_records())
    write_jsonl(with_fields / "samples.jsonl", [{**r, "temperature": 0.8} for r in scored_records()])
    sections = []
    for directory in (plain, with_fields):
        result = run_humaneval(
            *rank_args(samples=str(directory / "samples.jsonl")), "--humaneval-json=s.json"
        )
        assert result.ret == 0, text_of(result)
        start = result.outlines.index("=" * 34 + " humaneval " + "=" * 35)
        sections.append([line for line in result.outlines[start + 2 : -1] if "reused" not in line])
        summary = read_json(pytester.path / "s.json")
        assert not {"ranked", "temperature", "best_temperature"} & set(summary)
        assert not {"rank", "temperature"} & set(summary["settings"])
    assert sections[0] == sections[1]


def test_rankings_are_compared_between_files_paired_over_problems(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """B's score puts failures first, A's passes first: B - A is -1 on every problem."""
    records = scored_records()
    write_jsonl(pytester.path / "a.jsonl", [{**r, "score": r["verdict"]} for r in records])
    write_jsonl(pytester.path / "b.jsonl", [{**r, "score": r["failures_first"]} for r in records])
    result = run_humaneval(
        *rank_args("score", samples="a.jsonl"),
        "--humaneval-samples=b.jsonl",
        "--humaneval-json=summary.json",
        *worker_args,
    )
    assert result.ret == 0, text_of(result)
    result.stdout.fnmatch_lines(
        [
            row("pick", 15, "a.jsonl", "b.jsonl"),
            row("by score", 15, "1.0000 (1.0000-1.0000)", "0.0000 (0.0000-0.0000)"),
            "*humaneval: differences to the first file*",
            "b.jsonl - a.jsonl (paired over 4 problems with samples in both)",
            "  pass@1          +0.0000  95% CI +0.0000 to +0.0000  includes 0",
            "  pass@3          +0.0000  95% CI +0.0000 to +0.0000  includes 0",
            "  ranked by score -1.0000  95% CI -1.0000 to -1.0000  excludes 0",
        ]
    )
    comparison = read_json(pytester.path / "summary.json")["comparisons"][0]
    assert comparison["ranked"] == {
        "score": {"difference": -1.0, "ci95": [-1.0, -1.0], "excludes_zero": True}
    }


def test_the_cache_and_a_merge_give_the_same_figures(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """A run, its rerun from the verdict cache and the merge of its two shards (whose results
    lines carry the scores: the merge reads no samples file) give the same rankings."""
    write_jsonl(pytester.path / "samples.jsonl", scored_records())
    args = rank_args(*FIELDS)
    documents = []
    for run in ("first", "cached"):
        result = run_humaneval(*args, f"--humaneval-json={run}.json", *worker_args)
        assert result.ret == 0, text_of(result)
        documents.append(read_json(pytester.path / f"{run}.json")["ranked"])
    assert "reused    12 verdicts from the cache or identical samples" in result.outlines
    shard_args = [arg for arg in args if not arg.startswith("--humaneval-rank")]
    for shard in run_shards(run_humaneval, 2, [*shard_args, *worker_args]):
        assert shard.ret == 0, text_of(shard)
    merged = run_humaneval(
        "--humaneval-merge",
        "shard-1-of-2.jsonl",
        "shard-2-of-2.jsonl",
        "--humaneval-k=1,3",
        *(f"--humaneval-rank={field}" for field in FIELDS),
        "--humaneval-json=merged.json",
    )
    assert merged.ret == 0, text_of(merged)
    documents.append(read_json(pytester.path / "merged.json")["ranked"])
    assert documents[0]["verdict"]["top_ranked"]["pass_rate"] == 1.0
    assert documents[0] == documents[1] == documents[2]
    merged.stdout.fnmatch_lines([row("by sum_logprob", 17, shown(TOP_PASSES["sum_logprob"]))])


def test_a_merge_names_the_shard_line_without_the_field(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    records = demo_records()
    write_jsonl(pytester.path / "samples.jsonl", records)
    shard = run_humaneval(*rank_args(), "--humaneval-shard=1/1", "--humaneval-results=shard.jsonl")
    assert shard.ret == 0, text_of(shard)
    merged = run_humaneval("--humaneval-merge=shard.jsonl", "--humaneval-rank=score")
    assert merged.ret == pytest.ExitCode.USAGE_ERROR, text_of(merged)
    assert error_lines(merged) == [
        "ERROR: --humaneval-merge (from command line): shard.jsonl, line 1: the sample has no field "
        "'score' to rank by (--humaneval-rank); --humaneval-rank-missing=exclude leaves out the "
        "problems whose samples lack it"
    ], text_of(merged)


def test_the_same_field_twice_is_a_usage_error(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    write_jsonl(pytester.path / "samples.jsonl", scored_records())
    result = run_humaneval(*rank_args("flat", "flat"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert error_lines(result) == ["ERROR: --humaneval-rank=flat (from command line): 'flat' is given twice"]


def test_ini_file_takes_one_field_per_line(pytester: pytest.Pytester, run_humaneval: RunHumaneval) -> None:
    write_jsonl(pytester.path / "samples.jsonl", scored_records())
    pytester.makeini(
        f"[pytest]\nhumaneval_problems = {DEMO_PROBLEMS}\nhumaneval_samples = samples.jsonl\n"
        "humaneval_timeout = 1\nhumaneval_k = 1,3\nhumaneval_rank =\n    flat\n    sum_logprob\n"
    )
    result = run_humaneval()
    assert result.ret == 0, text_of(result)
    result.stdout.fnmatch_lines(
        [
            row("by flat", 15, shown(TOP_PASSES["flat"])),
            row("by sum_logprob", 15, shown(TOP_PASSES["sum_logprob"])),
        ]
    )
