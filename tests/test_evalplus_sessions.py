"""Sessions on EvalPlus problems, judged by inputs as EvalPlus 0.3.1 does: each sample's
base and plus statuses and its first failed input in the results file, base pass@k and
pass@k+ in the JSON summary and the table, the gate on ``pass@1+``, the verdict cache
(verdicts and expected outputs reused), and the canonical solutions of the built-in sets.

On the small hand-written problem file of ``support.evalplus``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.evalplus import (
    EXPECTED_LINE,
    PASS_AT_1,
    PASS_AT_1_PLUS,
    PROBLEMS,
    SAMPLES,
    judged,
    plus_args,
    write_files,
)
from support.results import read_json, read_results, table_counts, text_of
from support.sessions import RunHumaneval, demo_args, serial

from pytest_humaneval.outputs.plot import matplotlib_available


def test_samples_are_judged_by_inputs(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    write_files(pytester.path)
    result = run_humaneval(*plus_args(*worker_args))
    assert result.ret == 0, text_of(result)
    records = read_results(pytester.path / "results.jsonl")
    assert judged(records) == [expected for _, _, expected in SAMPLES]
    assert [r["failed_input"] for r in records[:4]] == [
        None,
        {"suite": "plus", "index": 0, "input": "[1000000, 1]", "expected": "1000001", "actual": "0"},
        {"suite": "base", "index": 0, "input": "[1, 2]", "expected": "3", "actual": "-1"},
        {
            "suite": "plus",
            "index": 2,
            "input": "[0, 0]",
            "expected": "0",
            "actual": "time limit of 1 s exceeded",
        },
    ]
    assert [r["message"] for r in records[1:3]] == [
        "plus: input 0: wrong output",
        "base: input 0: wrong output",
    ]
    assert records[-1]["failed_input"] is None and records[-1]["result"] == "timed out"
    assert table_counts(result) == {"passed": 5, "failed": 2, "error": 0, "timed out": 1, "crashed": 0}
    assert "HumanEvalWarning" not in text_of(result)
    result.stdout.fnmatch_lines(["evalplus  " + EXPECTED_LINE])
    summary = read_json(pytester.path / "summary.json")
    assert summary["pass_at_k"]["pass@1"] == pytest.approx(PASS_AT_1)
    assert summary["pass_at_k_plus"]["pass@1"] == pytest.approx(PASS_AT_1_PLUS)
    low, high = summary["ci95_plus"]["pass@1"]
    assert low <= PASS_AT_1_PLUS <= high
    assert [row["passed_plus"] for row in summary["per_problem"].values()] == [1, 1, 1]
    result.stdout.fnmatch_lines(
        [
            f"pass@k    pass@1 {PASS_AT_1:.4f}",
            "95% CI    pass@1 *-*  (bootstrap over problems)",
            f"pass@k+   pass@1 {PASS_AT_1_PLUS:.4f}",
            "95% CI+   pass@1 *-*  (bootstrap over problems)",
        ]
    )
    start = next(i for i, line in enumerate(result.outlines) if line.strip("= ") == "humaneval")
    section = result.outlines[start : result.outlines.index("evalplus  " + EXPECTED_LINE) + 1]
    assert max(map(len, section)) <= 80


def test_a_second_session_reuses_verdicts_and_expected_outputs(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    write_files(pytester.path)
    first = run_humaneval(*plus_args(*worker_args))
    assert first.ret == 0, text_of(first)
    records = read_results(pytester.path / "results.jsonl")
    (pytester.path / "results.jsonl").unlink()
    second = run_humaneval(*plus_args(*worker_args))
    assert second.ret == 0, text_of(second)
    second.stdout.fnmatch_lines(
        [
            "evalplus  expected outputs of 3 problems: 0 computed, 3 from the cache",
            f"reused    {len(SAMPLES)} verdicts from the cache or identical samples",
        ]
    )

    def without_duration(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if k != "duration"} for row in rows]

    assert without_duration(read_results(pytester.path / "results.jsonl")) == without_duration(records)


def test_every_line_has_the_suites_fields_even_without_a_verdict(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """A sample that did not run (deselected here) has the suites' fields, null: the lines
    of a problem judged by inputs all have the same keys, as EvalPlus's do."""
    write_files(pytester.path)
    result = run_humaneval(*plus_args("-k", "Plus/0", "--humaneval-no-cache", *worker_args))
    assert result.ret == 0, text_of(result)
    records = read_results(pytester.path / "results.jsonl")
    not_run = [r for r in records if r["outcome"] == "not run"]
    assert not_run and len(not_run) < len(records), records
    assert {(r["base_status"], r["plus_status"], r["failed_input"]) for r in not_run} == {(None, None, None)}
    assert all(r["base_status"] for r in records if r["outcome"] != "not run"), records


RECORD_BACKSTOPS = """
import json, os

def pytest_collection_modifyitems(items):
    backstops = {item.nodeid: item.get_closest_marker("timeout").args[0] for item in items}
    with open(f"backstop-{os.getpid()}.json", "w") as file:
        json.dump(backstops, file)
"""


def test_the_backstop_leaves_room_for_every_suites_limit(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """pytest-timeout's backstop on a sample judged by inputs is its suites' limits (EvalPlus's,
    at least 1 s an input, at most 61 s a suite) times the slowdown cap, plus 60 s: not the
    sample limit's, which a loaded machine exceeds on a slow task (Mbpp/599's 16 inputs of
    2 s each) and which then turned a passing sample into one without a verdict."""
    many = {**PROBLEMS[0], "plus_input": [[n, n] for n in range(70)]}
    write_files(pytester.path, [many, *PROBLEMS[1:]])
    pytester.makeconftest(RECORD_BACKSTOPS)
    result = run_humaneval(*plus_args("--humaneval-no-cache", *worker_args))
    assert result.ret == 0, text_of(result)
    backstops: dict[str, float] = {}
    for path in pytester.path.glob("backstop-*.json"):
        backstops.update(read_json(path))
    by_task = {nodeid.rsplit("::")[-1].split("[")[0]: seconds for nodeid, seconds in backstops.items()}
    # base: 2 inputs of 1 s + 1; plus: min(60, 70) + 1; then x3, + 60 (the canonical is instant)
    assert by_task == {"Plus/0": 3 * (3 + 61) + 60, "Plus/1": 3 * (2 + 3) + 60, "Plus/2": 3 * (2 + 3) + 60}
    assert len(backstops) == len(SAMPLES), backstops


def test_serial_and_xdist_results_are_identical(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    write_files(pytester.path)
    lines = []
    for workers in ("0", "2"):
        result = run_humaneval(*plus_args("-n", workers, "--humaneval-no-cache"))
        assert result.ret == 0, text_of(result)
        rows = read_results(pytester.path / "results.jsonl")
        lines.append([{k: v for k, v in row.items() if k != "duration"} for row in rows])
    assert lines[0] == lines[1]


def test_identical_samples_share_a_verdict(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    write_files(pytester.path)
    row = {"task_id": "Plus/0", "completion": SAMPLES[1][1]}
    (pytester.path / "samples.jsonl").write_text((json.dumps(row) + "\n") * 3)
    result = run_humaneval(*plus_args("--humaneval-no-cache", *worker_args))
    assert result.ret == 0, text_of(result)
    records = read_results(pytester.path / "results.jsonl")
    assert judged(records) == [("passed", "pass", "fail")] * 3
    assert len({json.dumps(r["failed_input"]) for r in records}) == 1
    if serial(worker_args):
        result.stdout.fnmatch_lines(["reused    2 verdicts from the cache or identical samples"])


def test_a_canonical_solution_without_outputs_is_an_error(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    write_files(pytester.path)
    broken = [*PROBLEMS[:2], {**PROBLEMS[2], "canonical_solution": "    raise ValueError('no')\n"}]
    (pytester.path / "plus.jsonl").write_text("".join(json.dumps(p) + "\n" for p in broken))
    result = run_humaneval(*plus_args(*worker_args))
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    result.stderr.fnmatch_lines(
        ["ERROR: *plus.jsonl: 'Plus/2': the canonical solution gives no expected outputs for its base *"]
    )
    assert not (pytester.path / "results.jsonl").exists()


def test_an_output_too_large_for_a_task_with_a_tolerance_is_an_error(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    """Too many values to carry, and the task's atol keeps EvalPlus from deciding by ``==``
    (so no digest can stand for them): one error naming the problem, before any sample runs."""
    write_files(pytester.path)
    huge = {**PROBLEMS[2], "plus_input": [[2_000_001]], "atol": 1e-6}
    (pytester.path / "plus.jsonl").write_text("".join(json.dumps(p) + "\n" for p in [*PROBLEMS[:2], huge]))
    result = run_humaneval(*plus_args())
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    result.stderr.fnmatch_lines(
        [
            "ERROR: *plus.jsonl: 'Plus/2': the canonical solution gives no expected outputs for its plus "
            "inputs: the output of input 0 has more than 2,000,000 values, too many to carry, and cannot "
            "be compared by digest: the task's atol=1e-06 makes EvalPlus compare its outputs with a tolerance"
        ]
    )
    assert not (pytester.path / "results.jsonl").exists()


@pytest.mark.parametrize(
    ("threshold", "line", "status"),
    [
        ("pass@1+=0.4", f"pass@1+ = {PASS_AT_1_PLUS:.4f} meets --humaneval-fail-under 0.4", 0),
        ("pass@1+=0.5", f"FAIL: pass@1+ = {PASS_AT_1_PLUS:.4f} is below --humaneval-fail-under 0.5", 1),
        ("pass@3+=0.1", "FAIL: pass@3+ = not computable (needs 3 samples per task, *", 1),
    ],
)
def test_the_gate_on_base_and_plus(
    pytester: pytest.Pytester,
    run_humaneval: RunHumaneval,
    worker_args: list[str],
    threshold: str,
    line: str,
    status: int,
) -> None:
    """Base pass@1 (0.58) meets 0.5 where base + plus (0.42) does not."""
    write_files(pytester.path)
    rows = [{"task_id": task, "completion": completion} for task, completion, _ in SAMPLES[:-1]]
    rows.append({"task_id": "Plus/2", "completion": "    return list(range(n - 1))\n"})  # fails quickly
    (pytester.path / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = run_humaneval(
        *plus_args("--humaneval-fail-under=pass@1=0.5", f"--humaneval-fail-under={threshold}", *worker_args)
    )
    assert result.ret == status, text_of(result)
    result.stdout.fnmatch_lines([f"pass@1 = {PASS_AT_1:.4f} meets --humaneval-fail-under 0.5", line])


def test_strict_fails_the_samples_that_failed_either_suite(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """With ``--humaneval-strict``, a sample that passed base and failed plus is a failure
    too, as ``--lf`` counts it: only the samples that passed both suites pass."""
    write_files(pytester.path)
    result = run_humaneval(*plus_args("--humaneval-strict", *worker_args))
    assert result.ret == pytest.ExitCode.TESTS_FAILED, text_of(result)
    passing = [expected[1:] == ("pass", "pass") for _, _, expected in SAMPLES]
    result.assert_outcomes(passed=passing.count(True), failed=passing.count(False))
    # The failure's own report (the short summary's line has no message under pytest 8.0).
    result.stdout.fnmatch_lines(["Plus/0[[]1[]] passed: plus: input 0: wrong output"])


def test_a_gate_on_plus_without_evalplus_problems_is_not_computable(run_humaneval: RunHumaneval) -> None:
    result = run_humaneval(*demo_args("--humaneval-fail-under=pass@1+=0.1"))
    assert result.ret == 1, text_of(result)
    result.stdout.fnmatch_lines(
        ["FAIL: pass@1+ = not computable (the problems have no EvalPlus inputs) is below *"]
    )
    assert not [line for line in result.outlines if line.startswith("pass@k+")]


# -- the plus verdict in the per-problem report, the comparisons and the plot ---------------------------

LONG_PROBLEM = {
    "task_id": "Plus/3",
    "prompt": "def size(xs):\n",
    "entry_point": "size",
    "canonical_solution": "    return len(xs)\n",
    "base_input": [[list(range(30))]],
    "plus_input": [[[]]],
    "atol": 0,
}
REPORT_SAMPLES = [
    *((task, completion) for task, completion, _ in SAMPLES),
    ("Plus/0", SAMPLES[1][1] + "    # again\n"),  # a second sample failing first on plus[0]
    ("Plus/3", "    return len(xs) or 1\n"),  # passes base, fails plus[0]
    ("Plus/3", "    return 0\n"),  # fails base[0], whose input is longer than the report shows
]


def section(result: pytest.RunResult, title: str) -> list[str]:
    """The lines of the humaneval section after its rule ``title``, up to the next rule."""
    start = next(i for i, line in enumerate(result.outlines) if line.strip("-= ") == title) + 1
    ends = ("---", "===", "evalplus", "reused")
    end = next(i for i, line in enumerate(result.outlines[start:], start) if line.startswith(ends))
    return result.outlines[start:end]


def test_the_problem_report_shows_plus_passes_and_failing_inputs(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    write_files(pytester.path, [*PROBLEMS, LONG_PROBLEM], REPORT_SAMPLES)
    result = run_humaneval(*plus_args("--humaneval-report=problems", *worker_args))
    assert result.ret == 0, text_of(result)
    assert section(result, "humaneval: per problem") == [
        "problem  samples  passed  passed+  pass@1  most common failure",
        "Plus/0         5       4        1   0.800  failed: base",
        "Plus/1         2       1        1   0.500  failed: base",
        "Plus/2         2       1        1   0.500  timed out: base",
        "Plus/3         2       1        0   0.500  failed: base",
        "unsolved (0): none",
        "unsolved+ (1): Plus/3",
        "first failed inputs, most often first (samples: how many failed first on it)",
        "problem  input    samples  arguments",
        "Plus/0   plus[0]        2  [1000000, 1]",
        "Plus/0   base[0]        1  [1, 2]",
        "Plus/0   plus[2]        1  [0, 0]",
        "Plus/1   base[0]        1  [[1.0, 2.0]]",
        "Plus/3   base[0]        1  [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1...",
        "Plus/3   plus[0]        1  [[]]",
    ]
    per_problem = read_json(pytester.path / "summary.json")["per_problem"]
    assert per_problem["Plus/0"]["failing_inputs"] == [
        {"suite": "plus", "index": 0, "input": "[1000000, 1]", "samples": 2},
        {"suite": "base", "index": 0, "input": "[1, 2]", "samples": 1},
        {"suite": "plus", "index": 2, "input": "[0, 0]", "samples": 1},
    ]
    assert per_problem["Plus/2"]["failing_inputs"] == []  # a timeout has no failed input
    assert per_problem["Plus/3"]["failing_inputs"][0]["input"] == repr([list(range(30))])  # whole


def test_the_problem_report_of_plain_problems_has_no_plus_column(run_humaneval: RunHumaneval) -> None:
    result = run_humaneval(*demo_args("--humaneval-report=problems", "--humaneval-json=summary.json"))
    assert result.ret == 0, text_of(result)
    lines = section(result, "humaneval: per problem")
    assert lines[0] == "problem  samples  passed  pass@1  most common failure"
    assert not [line for line in lines if "+" in line or "failed inputs" in line]
    summary = read_json(run_humaneval.pytester.path / "summary.json")
    assert "failing_inputs" not in summary["per_problem"]["Demo/0"]


CANONICAL_OF = {str(problem["task_id"]): str(problem["canonical_solution"]) for problem in PROBLEMS}


def test_comparisons_give_the_plus_difference(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """A file of canonical solutions against the mixed one: both differences, each paired."""
    write_files(pytester.path)
    canonical = [(task, CANONICAL_OF[task]) for task, _, _ in SAMPLES]
    write_files(pytester.path, samples=canonical, samples_name="canonical.jsonl")
    result = run_humaneval(
        "--humaneval-problems=plus.jsonl",
        "--humaneval-samples=samples.jsonl",
        "--humaneval-samples=canonical.jsonl",
        "--humaneval-json=summary.json",
        "--humaneval-k=1,3",
        *worker_args,
    )
    assert result.ret == 0, text_of(result)
    result.stdout.fnmatch_lines(
        [
            "canonical.jsonl - samples.jsonl (paired over 3 problems with samples in both)",
            f"  pass@1    {1 - PASS_AT_1:+.4f}  95% CI +* to +*  excludes 0",
            "  pass@3    not computable: needs 3 samples per task, Plus/1 has 2",
            f"  pass@1+   {1 - PASS_AT_1_PLUS:+.4f}  95% CI +* to +*  excludes 0",
            "  pass@3+   not computable: needs 3 samples per task, Plus/1 has 2",
        ]
    )
    (comparison,) = read_json(pytester.path / "summary.json")["comparisons"]
    assert comparison["pass@1"]["difference"] == pytest.approx(1 - PASS_AT_1)
    assert comparison["pass@1+"]["difference"] == pytest.approx(1 - PASS_AT_1_PLUS)
    low, high = comparison["pass@1+"]["ci95"]
    assert 0 < low <= 1 - PASS_AT_1_PLUS <= high and comparison["pass@1+"]["excludes_zero"]
    assert sorted(comparison["not_computable"]) == ["pass@3", "pass@3+"]


RECORD_PLOT = """
import json
from matplotlib.axes import Axes

drawn = []
plot = Axes.plot


def recording_plot(self, xs, ys, *args, **kwargs):
    drawn.append([kwargs.get("label"), kwargs.get("linestyle"), list(xs), list(ys)])
    with open("drawn.json", "w") as stream:
        json.dump(drawn, stream)
    return plot(self, xs, ys, *args, **kwargs)


Axes.plot = recording_plot
"""


def test_the_plot_draws_pass_at_k_plus_beside_pass_at_k(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """What is drawn is recorded (the pixels say little of a dashed line): the base curve and,
    dashed, the plus curve, each from 1 to the fewest samples of a problem (2)."""
    if not matplotlib_available():  # not importorskip: pytester would unload numpy after the first run
        pytest.skip("matplotlib is not installed")
    write_files(pytester.path)
    pytester.makeconftest(RECORD_PLOT)
    result = run_humaneval(*plus_args("--humaneval-plot=curve.png", *worker_args))
    assert result.ret == 0, text_of(result)
    assert (pytester.path / "curve.png").read_bytes().startswith(b"\x89PNG")
    (base_label, base_style, base_ks, base), (plus_label, plus_style, plus_ks, plus) = read_json(
        pytester.path / "drawn.json"
    )
    assert (base_label, base_style, base_ks) == ("samples.jsonl", "-", [1, 2])
    assert (plus_label, plus_style, plus_ks) == ("samples.jsonl+", "--", [1, 2])
    assert (base[0], plus[0]) == (pytest.approx(PASS_AT_1), pytest.approx(PASS_AT_1_PLUS))


@pytest.mark.parametrize("name", ["humaneval+mini", "humaneval+"])
def test_canonical_solutions_pass_base_and_plus(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, name: str
) -> None:
    """The built-in sets' canonical solutions pass their own inputs: pass@1 = 1 on base and on
    base + plus (one session each, on two workers)."""
    result = run_humaneval(
        f"--humaneval-problems={name}",
        "--humaneval-samples=canonical",
        "--humaneval-json=summary.json",
        "--humaneval-k=1",
        "-n",
        "2",
        timeout=1800,
    )
    assert result.ret == 0, text_of(result)
    summary = read_json(pytester.path / "summary.json")
    assert (summary["pass_at_k"]["pass@1"], summary["pass_at_k_plus"]["pass@1"]) == (1.0, 1.0), [
        (task, row) for task, row in summary["per_problem"].items() if row["passed_plus"] < row["samples"]
    ]
