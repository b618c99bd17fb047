"""What a session on the samples reports: every outcome kind counted in the humaneval table,
the per-problem report, partial coverage, and many failing samples kept off the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.problems import DEMO_COUNTS, demo_records, demo_sample_lines
from support.results import read_json, read_results, table_counts, text_of
from support.sessions import RunHumaneval, demo_args, serial

# -- outcomes and the summary table --------------------------------------------------------------------------


def test_every_outcome_kind_is_counted(run_humaneval: RunHumaneval, worker_args: list[str]) -> None:
    result = run_humaneval(*demo_args(*worker_args))
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


def test_crashed_and_solution_samples(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """A sample that kills its own process is 'crashed'; a 'solution' sample is a whole program."""
    rows = [
        {"task_id": "Demo/0", "completion": "    import ctypes\n    return ctypes.string_at(0)\n"},
        {"task_id": "Demo/0", "solution": "def add(a, b):\n    return a + b\n"},
        {"task_id": "Demo/0", "solution": "def add(a, b):\n    return a * b\n"},
    ]
    (pytester.path / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = run_humaneval(
        *demo_args("--humaneval-results=results.jsonl", *worker_args, samples="samples.jsonl")
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


def test_per_problem_report(pytester: pytest.Pytester, run_humaneval: RunHumaneval) -> None:
    samples = pytester.path / "samples.jsonl"
    records = demo_records()
    # Demo/3 keeps only its two wrong samples: no sample solves it.
    kept = [r for n, r in enumerate(records) if n not in (9, 10)] + [records[9]]
    samples.write_text("".join(json.dumps(r) + "\n" for r in kept))
    result = run_humaneval(*demo_args("--humaneval-report=problems", samples=samples))
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
    plain = run_humaneval(*demo_args())
    assert "per problem" not in text_of(plain)
    bad = run_humaneval(*demo_args("--humaneval-report=tasks"))
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert any(
        "--humaneval-report=tasks (from command line): must be one of: problems" in line
        for line in bad.errlines
    )


# -- canonical samples, partial coverage ---------------------------------------------------------------------


def test_canonical_samples_pass(pytester: pytest.Pytester, run_humaneval: RunHumaneval) -> None:
    result = run_humaneval(*demo_args("--humaneval-json=summary.json", samples="canonical"))
    assert result.ret == 0, text_of(result)
    summary = read_json(pytester.path / "summary.json")
    assert summary["pass_at_k"]["pass@1"] == 1.0
    assert summary["counts"] == {"passed": 4, "failed": 0, "error": 0, "timed out": 0, "crashed": 0}
    assert summary["samples"] == 4
    assert summary["samples_file"] == "canonical"
    assert summary["partial"] is False


def test_problems_without_samples_warn_and_are_partial(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    lines = demo_sample_lines()
    (pytester.path / "samples.jsonl").write_text("\n".join(lines[0:3] + lines[6:9]) + "\n")
    result = run_humaneval(*demo_args("--humaneval-json=summary.json", samples="samples.jsonl"))
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
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    write_many_failing_samples(pytester.path / "samples.jsonl")
    result = run_humaneval(*demo_args("--humaneval-json=summary.json", *worker_args, samples="samples.jsonl"))
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
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """The counterpart of the test above: --humaneval-strict lists every failing sample."""
    write_many_failing_samples(pytester.path / "samples.jsonl", per_task=25)
    result = run_humaneval(*demo_args("--humaneval-strict", *worker_args, samples="samples.jsonl"))
    assert result.ret == 1, text_of(result)
    assert len([line for line in result.outlines if line.startswith("FAILED Demo/")]) == 100
