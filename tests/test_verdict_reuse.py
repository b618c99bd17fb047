"""Verdicts that need not be measured again: identical samples in one session run once (on
any ``--dist`` that keeps them on one worker), and a second session reuses the verdict cache
unless ``--cache-clear`` or ``--humaneval-no-cache`` says otherwise."""

from __future__ import annotations

import json

import pytest
from support.problems import DEMO_COUNTS, DEMO_OUTCOMES, demo_records
from support.results import read_results, table_counts, text_of
from support.sessions import RunHumaneval, demo_args

# -- identical samples ---------------------------------------------------------------------------------------


def run_copies(run_humaneval: RunHumaneval, *options: str) -> tuple[pytest.RunResult, int]:
    """Run the demo samples that do not hang, 4 times over, and check every verdict; the run
    and the number of copies (samples that need not run)."""
    kept = [kind != "timed out" for kind in DEMO_OUTCOMES]
    distinct = [record for record, keep in zip(demo_records(), kept, strict=True) if keep]
    rounds = 4
    directory = run_humaneval.pytester.path
    samples = directory / "copies.jsonl"
    samples.write_text("".join(json.dumps(record) + "\n" for record in distinct * rounds))
    outputs = ("-p", "no:cacheprovider", "--humaneval-results=results.jsonl")
    result = run_humaneval(*demo_args(*outputs, *options, samples=samples))
    assert result.ret == 0, text_of(result)
    outcomes = [record["outcome"] for record in read_results(directory / "results.jsonl")]
    expected = [kind for kind, keep in zip(DEMO_OUTCOMES, kept, strict=True) if keep]
    assert outcomes == expected * rounds
    return result, len(distinct) * (rounds - 1)


def reused_line(count: int) -> str:
    return f"reused    {count} verdicts from the cache or identical samples"


def test_identical_samples_run_once_per_session(run_humaneval: RunHumaneval, worker_args: list[str]) -> None:
    """Copies spread over the file (and, with xdist's chunks, over the workers) run once:
    the plugin's scheduler sends all copies of a sample to the worker that runs it."""
    result, copies = run_copies(run_humaneval, *worker_args)
    assert reused_line(copies) in result.outlines, text_of(result)


@pytest.mark.parametrize("dist", ["loadscope", "loadfile", "worksteal"])
def test_identical_samples_with_other_dist_modes(run_humaneval: RunHumaneval, dist: str) -> None:
    """Other ``--dist`` modes are xdist's own: the same verdicts; ``loadscope`` and ``loadfile``
    keep a problem's samples on one worker, so copies run once there too."""
    result, copies = run_copies(run_humaneval, "-n", "2", "--dist", dist)
    if dist != "worksteal":
        assert reused_line(copies) in result.outlines, text_of(result)


# -- the verdict cache ---------------------------------------------------------------------------------------


def test_second_run_reuses_cached_verdicts(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    first = run_humaneval(*demo_args("--humaneval-results=first.jsonl", *worker_args))
    second = run_humaneval(*demo_args("--humaneval-results=second.jsonl", *worker_args))
    assert first.ret == 0 and second.ret == 0, text_of(second)
    assert not [line for line in first.outlines if line.startswith("reused ")]
    assert "reused    12 verdicts from the cache or identical samples" in second.outlines
    assert read_results(pytester.path / "second.jsonl") == read_results(pytester.path / "first.jsonl")
    assert table_counts(second) == DEMO_COUNTS


@pytest.mark.parametrize("bypass", ["--cache-clear", "--humaneval-no-cache"])
def test_cache_bypassed(pytester: pytest.Pytester, run_humaneval: RunHumaneval, bypass: str) -> None:
    """Either option makes every sample run again; ``--cache-clear`` empties the cache (the
    run then fills it anew), ``--humaneval-no-cache`` leaves it as it was."""
    first = run_humaneval(*demo_args())
    bypassed = run_humaneval(*demo_args("--humaneval-results=bypassed.jsonl", bypass))
    after = run_humaneval(*demo_args())
    assert first.ret == bypassed.ret == after.ret == 0, text_of(bypassed)
    assert not [line for line in bypassed.outlines if line.startswith("reused ")], text_of(bypassed)
    measured = [record["outcome"] for record in read_results(pytester.path / "bypassed.jsonl")]
    assert measured == DEMO_OUTCOMES
    assert "reused    12 verdicts from the cache or identical samples" in after.outlines
