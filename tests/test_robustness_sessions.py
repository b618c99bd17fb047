"""Robustness of whole sessions: real pytest processes, real signals, real dead workers.

Interrupted runs end soon and can be resumed; a killed worker or sandbox server costs one
sample; verdicts do not depend on the number of workers; concurrent sessions share the
verdict cache. The samples are correct completions of the demo problems made unique by a
trailing comment, some of them slow (``time.sleep`` before the right answer) so that a run
lasts long enough to be interrupted after a few verdicts (the harness:
``support/processes.py``).
"""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path
from typing import Any

import pytest
from support.processes import (
    DEMO_SAMPLES_FILE,
    OUTCOME_KINDS,
    SIGNAL_TO_EXIT_LIMIT,
    SLEEP_SECONDS,
    Run,
    correct_rows,
    has_humaneval_table,
    humaneval_args,
    read_json,
    read_rows,
    reused_count,
    run_to_end,
    runs,
    sample_row,
    start,
    start_with_outputs,
    table_counts,
    wait_all,
    without_duration,
    write_rows,
)

HARNESS_FIXTURES = (runs,)
"""The harness's fixtures that tests here take: pytest finds them by name in this module."""


# == 1. interrupts ===================================================================================

INTERRUPT_SAMPLES = 500
"""0.3 s of sleep each (sleep is not shortened by a fast machine): a whole run would take 75 s
and more even on two workers, over twice ``SIGNAL_TO_EXIT_LIMIT``; it is interrupted after a few."""
FINISHED_BEFORE_SIGNAL = 3


def assert_interrupted_run(
    run: Run, rows: list[dict[str, Any]], seen: list[dict[str, Any]], results: Path, summary_path: Path
) -> dict[str, Any]:
    """Everything an interrupted session must leave behind; returns its summary."""
    code = run.returncode()
    assert code == pytest.ExitCode.INTERRUPTED, run.output
    elapsed = run.seconds_from_signal_to_end()
    assert elapsed < SIGNAL_TO_EXIT_LIMIT, f"the session ended {elapsed:.1f} s after the signal"

    summary: dict[str, Any] = read_json(summary_path)
    total = len(rows)
    assert summary["samples"] == total
    assert summary["partial"] is True
    assert summary["interrupted"] is True
    assert summary["finished"] + summary["missing"] == total
    assert sum(summary["counts"].values()) == summary["finished"]
    assert set(summary["counts"]) == set(OUTCOME_KINDS)
    # Every sample is correct: a finished one passed (an interrupted one is not a verdict).
    assert summary["counts"]["passed"] == summary["finished"], summary["counts"]
    assert len(seen) <= summary["finished"] < total

    # The terminal: the humaneval table over the finished samples, flagged PARTIAL.
    assert has_humaneval_table(run), run.output
    assert f"PARTIAL: {summary['missing']} of {total} samples have no verdict; the run was interrupted" in (
        run.lines
    ), run.output
    assert any(f"{summary['finished']} of {total} samples finished" in line for line in run.lines), run.output
    assert table_counts(run) == summary["counts"]

    # The results file: every sample in input order, finished ones with their verdict.
    records = read_rows(results)
    assert len(records) == total
    assert [(r["task_id"], r["completion"], r["seq"]) for r in records] == [
        (r["task_id"], r["completion"], r["seq"]) for r in rows
    ]
    finished = [r for r in records if r["outcome"] != "not run"]
    assert len(finished) == summary["finished"]
    for record in finished:
        assert record["outcome"] == "passed" and record["passed"] is True, record
        assert record["result"] == "passed"
        assert isinstance(record["duration"], float)
        # A real run: a slow sample slept (three calls; the duration discounts CPU waits).
        assert record["duration"] >= (2 * SLEEP_SECONDS if "time.sleep" in record["completion"] else 0.0)
    for record in records:
        if record["outcome"] == "not run":
            assert record["passed"] is None and record["result"] is None and record["duration"] is None
    # The verdicts streamed before the signal are all in the final file.
    by_seq = {r["seq"]: r for r in records}
    for record in seen:
        assert by_seq[record["seq"]] == record
    return summary


@pytest.mark.parametrize(
    ("signal_number", "target"),
    [(signal.SIGINT, "group"), (signal.SIGTERM, "main")],
    ids=["sigint-to-group", "sigterm-to-main"],
)
def test_signal_in_the_middle_of_a_run(
    tmp_path: Path, runs: list[Run], worker_args: list[str], signal_number: int, target: str
) -> None:
    rows = correct_rows(INTERRUPT_SAMPLES, tag=tmp_path.name)
    run, results, summary_path = start_with_outputs(runs, tmp_path, rows, *worker_args)
    seen = run.wait_for_verdicts(results, FINISHED_BEFORE_SIGNAL)
    if target == "group":
        run.signal_group(signal_number)
    else:
        run.signal_main(signal_number)
    run.wait(timeout=SIGNAL_TO_EXIT_LIMIT + 20)
    if signal_number == signal.SIGTERM:
        assert "KeyboardInterrupt: received signal 15" in run.output
    assert_interrupted_run(run, rows, seen, results, summary_path)
    run.assert_nothing_left()


# == 2. resuming an interrupted run ===================================================================


def test_rerun_after_interrupt_runs_only_what_is_missing(
    tmp_path: Path, runs: list[Run], worker_args: list[str]
) -> None:
    """Ctrl-C, then the same command again: the cached verdicts are reused, the rest run,
    and the final results equal those of a run that was never interrupted."""
    # Slow enough that a pool of servers is still running when the signal comes (about 3 s
    # of sleeping left on 2 servers after the verdicts the test waits for).
    rows = correct_rows(40, tag="resume", slow_every=2)
    interrupted_dir, reference_dir = tmp_path / "interrupted", tmp_path / "reference"
    interrupted_dir.mkdir()
    reference_dir.mkdir()
    args = humaneval_args(
        "samples.jsonl", "--humaneval-results=results.jsonl", "--humaneval-json=summary.json", *worker_args
    )
    for directory in (interrupted_dir, reference_dir):
        write_rows(directory / "samples.jsonl", rows)

    first = start(runs, interrupted_dir, args, name="first")
    seen = first.wait_for_verdicts(interrupted_dir / "results.jsonl", FINISHED_BEFORE_SIGNAL)
    first.signal_group(signal.SIGINT)
    first.wait(timeout=SIGNAL_TO_EXIT_LIMIT + 20)
    interrupted_summary = assert_interrupted_run(
        first, rows, seen, interrupted_dir / "results.jsonl", interrupted_dir / "summary.json"
    )
    interrupted_results = read_rows(interrupted_dir / "results.jsonl")
    first.assert_nothing_left()

    reference = start(runs, reference_dir, args, name="reference")  # meanwhile: a separate directory
    second = start(runs, interrupted_dir, args, name="second")
    wait_all([reference, second])
    assert second.returncode() == 0, second.output
    assert reference.returncode() == 0, reference.output

    # Only the samples without a cached verdict ran again: those that finished, and those
    # that came ahead of items that never ran (kept in the cache too).
    assert interrupted_summary["finished"] <= reused_count(second) < len(rows), second.output
    assert reused_count(reference) == 0, reference.output
    final = read_rows(interrupted_dir / "results.jsonl")
    for before, after in zip(interrupted_results, final, strict=True):
        if before["outcome"] != "not run":
            assert after == before  # the cached verdict itself, duration included

    summary = read_json(interrupted_dir / "summary.json")
    assert summary["partial"] is False and summary["interrupted"] is False
    assert summary["finished"] == len(rows) and summary["missing"] == 0
    assert summary["counts"] == {"passed": len(rows), "failed": 0, "error": 0, "timed out": 0, "crashed": 0}
    assert without_duration(final) == without_duration(read_rows(reference_dir / "results.jsonl"))
    assert "PARTIAL" not in second.output
    second.assert_nothing_left()
    reference.assert_nothing_left()


# == 3. a worker killed in the middle of a run =========================================================


@pytest.mark.parametrize("copies", [1, 2], ids=["distinct", "each twice"])
def test_killed_worker_gets_its_sample_counted_as_crashed(
    tmp_path: Path, runs: list[Run], copies: int
) -> None:
    """With copies, the plugin's xdist scheduler (which keeps copies together) is in use."""
    rows = correct_rows(24 // copies, tag=tmp_path.name) * copies
    run, results, summary_path = start_with_outputs(runs, tmp_path, rows, "-n", "2")
    run.wait_for_verdicts(results, 4)
    workers = run.workers()
    assert len(workers) == 2, workers
    victim = workers[0]
    os.kill(victim.pid, signal.SIGKILL)
    code = run.wait()
    output = run.output

    # xdist notices, blames the item the worker was running, and replaces the worker.
    crash_lines = re.findall(r"worker '(gw\d)' crashed while running '([^']+)'", output)
    assert crash_lines, output
    worker_name, crashed_node = crash_lines[0]
    assert "replacing crashed worker" in output, output

    # Every sample has a verdict: the killed one "crashed", the others passed.
    records = read_rows(results)
    assert len(records) == len(rows)
    assert [r["seq"] for r in records] == [r["seq"] for r in rows]
    assert not [r for r in records if r["outcome"] == "not run"], records
    crashed = [r for r in records if r["outcome"] != "passed"]
    assert len(crashed) == 1, crashed
    (lost,) = crashed
    assert lost["outcome"] == "crashed" and lost["passed"] is False
    assert lost["message"] == (
        f"the xdist worker running it died: worker '{worker_name}' crashed while running '{crashed_node}'"
    )
    assert lost["result"] == "failed: " + lost["message"]
    position = records.index(lost)
    index = sum(1 for r in records[:position] if r["task_id"] == lost["task_id"])
    assert crashed_node == f"{lost['task_id']}::{lost['task_id']}[{index}]"

    summary = read_json(summary_path)
    assert summary["finished"] == len(rows) and summary["missing"] == 0
    assert summary["counts"] == {
        "passed": len(rows) - 1,
        "failed": 0,
        "error": 0,
        "timed out": 0,
        "crashed": 1,
    }
    assert summary["interrupted"] is False
    # The lost sample counts as crashed, and the summary says the measurement is partial.
    assert summary["partial"] is True and summary["harness_failures"] == 1
    assert table_counts(run) == summary["counts"]

    # A harness failure is not a complete evaluation: exit 1, with the reason.
    assert code == pytest.ExitCode.TESTS_FAILED, output
    assert (
        "FAIL: 1 samples have no verdict of their own (counted as crashed): "
        "the harness failed, see their reports"
    ) in run.lines, output
    run.assert_nothing_left()


def run_and_kill_the_sandbox_server(tmp_path: Path, runs: list[Run]) -> tuple[Run, list[dict[str, Any]], int]:
    """A serial run one of whose sandbox servers (its pool's: one per CPU) is SIGKILLed in the
    middle; returns it, its results and how many servers it ran before."""
    rows = correct_rows(12, tag=tmp_path.name)
    samples = write_rows(tmp_path / "samples.jsonl", rows)
    results = tmp_path / "results.jsonl"
    run = start(
        runs, tmp_path, humaneval_args(samples, f"--humaneval-results={results}", "--humaneval-no-cache")
    )
    run.wait_for_verdicts(results, 3)
    table = run.watch()
    servers = [
        p for p in table.values() if p.is_sandbox and p.ppid == run.process.pid and p.start >= run.since
    ]
    assert servers, table
    os.kill(servers[0].pid, signal.SIGKILL)
    run.wait()
    records = read_rows(results)
    assert [r["seq"] for r in records] == [r["seq"] for r in rows]
    return run, records, len(servers)


def test_killed_sandbox_server_costs_one_sample(tmp_path: Path, runs: list[Run]) -> None:
    """The sample whose server died is "crashed"; a new server runs the rest; the run fails (exit 1)."""
    run, records, pool = run_and_kill_the_sandbox_server(tmp_path, runs)
    assert not [r for r in records if r["outcome"] == "not run"], records
    crashed = [r for r in records if r["outcome"] != "passed"]
    assert len(crashed) == 1 and crashed[0]["outcome"] == "crashed", crashed
    assert "SandboxError" in crashed[0]["message"], crashed
    assert run.returncode() == pytest.ExitCode.TESTS_FAILED, run.output
    assert table_counts(run) == {"passed": 11, "failed": 0, "error": 0, "timed out": 0, "crashed": 1}
    assert (
        "FAIL: 1 samples have no verdict of their own (counted as crashed): "
        "the harness failed, see their reports"
    ) in run.lines, run.output
    servers = {p.key for p in run.tracked.values() if p.is_sandbox and p.ppid == run.process.pid}
    assert len(servers) == pool + 1, "the samples after the crash run in a new server"
    run.assert_nothing_left()


def test_killed_sandbox_server_message_says_what_happened(tmp_path: Path, runs: list[Run]) -> None:
    _, records, _ = run_and_kill_the_sandbox_server(tmp_path, runs)
    (crashed,) = [r for r in records if r["outcome"] == "crashed"]
    assert "the sandbox server exited unexpectedly" in crashed["message"], crashed["message"]


# == 4. verdicts do not depend on the number of workers =================================================


def reproducibility_rows() -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in DEMO_SAMPLES_FILE.read_text(encoding="utf-8").splitlines()]
    rows += [
        sample_row(0, "repro", slow=True),
        sample_row(1, "repro", kind="failed"),
        sample_row(2, "repro", kind="error"),
        {"task_id": "Demo/0", "completion": "    import ctypes\n    return ctypes.string_at(0)\n"},
        {
            "task_id": "Demo/3",
            "solution": 'def count_vowels(word):\n    return sum(c in "aeiouAEIOU" for c in word)\n',
        },
    ]
    return rows


WORKER_COUNTS = ("0", "1", "2", "auto")


def test_same_results_with_0_1_2_and_auto_workers(tmp_path: Path, runs: list[Run]) -> None:
    samples = write_rows(tmp_path / "samples.jsonl", reproducibility_rows())
    done = []
    for workers in WORKER_COUNTS:
        args = humaneval_args(
            samples,
            f"--humaneval-results=results-{workers}.jsonl",
            f"--humaneval-json=summary-{workers}.json",
            "--humaneval-no-cache",
            "-n",
            workers,
        )
        run = run_to_end(runs, tmp_path, args, name=f"n{workers}")
        assert run.returncode() == 0, run.output
        done.append(run)

    results = {w: read_rows(tmp_path / f"results-{w}.jsonl") for w in WORKER_COUNTS}
    summaries = {w: read_json(tmp_path / f"summary-{w}.json") for w in WORKER_COUNTS}
    assert [r["outcome"] for r in results["0"]] == [
        *["passed", "failed", "passed", "passed", "error", "passed"],
        *["passed", "timed out", "failed", "failed", "passed", "error"],
        *["passed", "failed", "error", "crashed", "passed"],
    ]
    for workers in WORKER_COUNTS[1:]:
        assert without_duration(results[workers]) == without_duration(results["0"]), workers
    for summary in summaries.values():
        summary.pop("versions")
        summary.pop("isolation")
    for workers in WORKER_COUNTS[1:]:
        assert summaries[workers] == summaries["0"], workers
    assert summaries["0"]["counts"] == {"passed": 8, "failed": 4, "error": 3, "timed out": 1, "crashed": 1}
    assert summaries["0"]["partial"] is False
    assert [reused_count(run) for run in done] == [0] * len(WORKER_COUNTS)
    for run in done:
        run.assert_nothing_left()


# == 5. concurrent sessions sharing one cache =========================================================


def test_concurrent_sessions_share_the_verdict_cache(tmp_path: Path, runs: list[Run]) -> None:
    """Two sessions in one rootdir at the same time, on different samples: both complete;
    then each, run again, reuses all of its verdicts."""
    rows = {
        "a": [
            sample_row(n, "a", kind=("failed" if n % 3 == 2 else "passed"), slow=n % 2 == 0)
            for n in range(12)
        ],
        "b": [
            sample_row(n, "b", kind=("error" if n % 4 == 1 else "passed"), slow=n % 2 == 1) for n in range(12)
        ],
    }
    expected = {
        "a": {"passed": 8, "failed": 4, "error": 0, "timed out": 0, "crashed": 0},
        "b": {"passed": 9, "failed": 0, "error": 3, "timed out": 0, "crashed": 0},
    }
    for name, sample_rows in rows.items():
        write_rows(tmp_path / f"samples-{name}.jsonl", sample_rows)

    def args(name: str, round_: int) -> list[str]:
        return humaneval_args(
            f"samples-{name}.jsonl",
            f"--humaneval-results=results-{name}-{round_}.jsonl",
            f"--humaneval-json=summary-{name}-{round_}.json",
        )

    for round_ in (1, 2):
        together = {name: start(runs, tmp_path, args(name, round_), name=f"{name}{round_}") for name in rows}
        wait_all(together.values())
        for name, run in together.items():
            assert run.returncode() == 0, run.output
            summary = read_json(tmp_path / f"summary-{name}-{round_}.json")
            assert summary["counts"] == expected[name], run.output
            assert summary["finished"] == 12 and summary["partial"] is False
            records = read_rows(tmp_path / f"results-{name}-{round_}.jsonl")
            assert [r["seq"] for r in records] == list(range(12))
            assert reused_count(run) == (0 if round_ == 1 else 12), run.output
            run.assert_nothing_left(sandboxes=round_ == 1)
    assert (tmp_path / ".pytest_cache" / "d" / "humaneval").is_dir()
    for name in rows:
        assert read_rows(tmp_path / f"results-{name}-2.jsonl") == read_rows(
            tmp_path / f"results-{name}-1.jsonl"
        )
