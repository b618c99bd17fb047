"""Sessions on EvalPlus problems, judged by inputs as EvalPlus 0.3.1 does: each sample's
base and plus statuses and its first failed input in the results file, base pass@k and
pass@k+ in the JSON summary and the table, the gate on ``pass@1+``, the verdict cache
(verdicts and expected outputs reused), and the canonical solutions of the built-in sets.

A small hand-written problem file (``PROBLEMS``) has samples that pass both suites, pass
base and fail plus, fail both, hang on one plus input (a failure, as in EvalPlus: the
input's own limit) and hang before any input (the suites' limits: a timeout)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.results import read_json, read_results, table_counts, text_of
from support.sessions import RunHumaneval, demo_args, serial

PROBLEMS = [
    {
        "task_id": "Plus/0",
        "prompt": "def add(a, b):\n",
        "entry_point": "add",
        "canonical_solution": "    return a + b\n",
        "base_input": [[1, 2], [3, 4]],
        "plus_input": [[10**6, 1], [-5, 5], [0, 0]],
        "atol": 0,
    },
    {
        "task_id": "Plus/1",
        "prompt": "def mean(xs):\n",
        "entry_point": "mean",
        "canonical_solution": "    return sum(xs) / len(xs)\n",
        "base_input": [[[1.0, 2.0]]],
        "plus_input": [[[0.1, 0.2, 0.3]], [[1e-3, 2e-3]]],
        "atol": 1e-6,
    },
    {
        "task_id": "Plus/2",
        "prompt": "def count_up(n):\n",
        "entry_point": "count_up",
        "canonical_solution": "    return list(range(n))\n",
        "base_input": [[3]],
        "plus_input": [[0], [50]],
        "atol": 0,
    },
]
SAMPLES: list[tuple[str, str, tuple[str, str, str]]] = [
    # task, completion, (outcome, base status, plus status)
    ("Plus/0", "    return a + b\n", ("passed", "pass", "pass")),
    ("Plus/0", "    return a + b if abs(a) < 100 else 0\n", ("passed", "pass", "fail")),
    ("Plus/0", "    return a - b\n", ("failed", "fail", "fail")),
    ("Plus/0", "    while a == b == 0:\n        pass\n    return a + b\n", ("passed", "pass", "fail")),
    ("Plus/1", "    return sum(xs) / len(xs) + 1e-9\n", ("passed", "pass", "pass")),  # within atol
    ("Plus/1", "    return sum(xs)\n", ("failed", "fail", "fail")),
    ("Plus/2", "    return list(range(n))\n", ("passed", "pass", "pass")),
    ("Plus/2", "    return list(range(n))\nwhile True:\n    pass\n", ("timed out", "timeout", "timeout")),
]
EXPECTED_LINE = "expected outputs of 3 problems: 3 computed, 0 from the cache"
PASS_AT_1 = (3 / 4 + 1 / 2 + 1 / 2) / 3
PASS_AT_1_PLUS = (1 / 4 + 1 / 2 + 1 / 2) / 3


def write_files(directory: Path) -> None:
    (directory / "plus.jsonl").write_text("".join(json.dumps(p) + "\n" for p in PROBLEMS))
    rows = [{"task_id": task, "completion": completion} for task, completion, _ in SAMPLES]
    (directory / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def plus_args(*extra: str) -> list[str]:
    return [
        "--humaneval-problems=plus.jsonl",
        "--humaneval-samples=samples.jsonl",
        "--humaneval-results=results.jsonl",
        "--humaneval-json=summary.json",
        "--humaneval-k=1",
        *extra,
    ]


def judged(records: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(r["outcome"], r["base_status"], r["plus_status"]) for r in records]


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


def test_a_gate_on_plus_without_evalplus_problems_is_not_computable(run_humaneval: RunHumaneval) -> None:
    result = run_humaneval(*demo_args("--humaneval-fail-under=pass@1+=0.1"))
    assert result.ret == 1, text_of(result)
    result.stdout.fnmatch_lines(
        ["FAIL: pass@1+ = not computable (the problems have no EvalPlus inputs) is below *"]
    )
    assert not [line for line in result.outlines if line.startswith("pass@k+")]


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
