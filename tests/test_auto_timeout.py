"""``--humaneval-timeout=auto``: each problem's limit from its canonical solution's cost.

A problem's test calls get max(0.3 s, 20 x its canonical solution's time), at most the
3 s cap; a problem whose canonical solution does not pass gets the cap. The same slow
completion therefore passes on a problem whose canonical solution is slow and times out on
one whose canonical solution is instant. The program's own top level (its imports) does
not count toward that limit, only toward the cap on the whole sample.

The slow canonical solution, the slow completion and the heavy top level sleep: a sleeping
process waits for no CPU, so its time counts in full and is the same on a busy machine as
on an idle one (CPU-bound work would be measured at one load when the canonical solution
runs and judged at another when the sample does). Every verdict below holds with a margin
of 2x or more whatever the machine's speed or load.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pytest_humaneval.calibration import AUTO_TIMEOUT_FACTOR, AUTO_TIMEOUT_FLOOR, auto_timeout
from pytest_humaneval.evaluation import Evaluation
from pytest_humaneval.outputs.terminal import auto_limits_line
from pytest_humaneval.settings import Settings

CAP = 3.0
SLOW_CANONICAL_SECONDS = 0.06
"""The slow canonical solution's sleep: a limit of about 20 x 0.06 = 1.2 s (its few
milliseconds of CPU add to it; on a busy machine the sandbox may count some 10 ms less),
under the cap unless it were counted 0.15 s."""
SLOW_SECONDS = 0.6
"""The slow completion's sleep: twice the floor, half the slow problem's limit."""
HEAVY_TOP_LEVEL_SECONDS = 0.6
"""The heavy top level's sleep (as a heavy import takes): twice the floor, a fifth of the cap."""
N = 10
SLEEP = "    import time\n    time.sleep({seconds!r})\n"
ANSWER = "    return n * (n - 1) // 2\n"


@pytest.mark.parametrize(
    ("canonical", "limit"),
    [
        (0.0, AUTO_TIMEOUT_FLOOR),
        (0.001, AUTO_TIMEOUT_FLOOR),
        (0.05, 0.05 * AUTO_TIMEOUT_FACTOR),
        (0.0712, 1.4),  # two significant digits
        (10.0, CAP),
    ],
)
def test_limit_is_the_floor_or_a_multiple_of_the_canonical_cost_at_most_the_cap(
    canonical: float, limit: float
) -> None:
    assert auto_timeout(canonical, CAP) == pytest.approx(limit)


def _problem(task_id: str, canonical_body: str) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "prompt": "def total(n):\n",
        "entry_point": "total",
        "canonical_solution": canonical_body,
        "test": f"def check(candidate):\n    assert candidate({N}) == {N * (N - 1) // 2}\n",
    }


def write_files(directory: Path) -> None:
    """Three problems: an instant canonical solution, one that sleeps a tenth of the slow
    completion's sleep (so about 1.2 s of limit), and one that fails its own test."""
    problems = [
        _problem("Auto/instant", ANSWER),
        _problem("Auto/slow", SLEEP.format(seconds=SLOW_CANONICAL_SECONDS) + ANSWER),
        _problem("Auto/broken", "    return None\n"),
    ]
    slow = SLEEP.format(seconds=SLOW_SECONDS) + ANSWER
    heavy_top_level = f"\n\nimport time\ntime.sleep({HEAVY_TOP_LEVEL_SECONDS!r})\n"
    samples = [
        ("Auto/instant", slow),
        ("Auto/instant", "    while True:\n        pass\n"),
        ("Auto/slow", slow),
        ("Auto/broken", ANSWER),
        # Twice the floor at its top level, as a heavy import takes, then an instant call.
        ("Auto/instant", ANSWER + heavy_top_level),
    ]
    (directory / "problems.jsonl").write_text("".join(json.dumps(p) + "\n" for p in problems))
    (directory / "samples.jsonl").write_text(
        "".join(json.dumps({"task_id": task, "completion": text}) + "\n" for task, text in samples)
    )


def run_auto(
    pytester: pytest.Pytester, *extra: str
) -> tuple[pytest.RunResult, list[dict[str, Any]], dict[str, Any]]:
    run = pytester.runpytest_subprocess(
        "--humaneval-problems=problems.jsonl",
        "--humaneval-samples=samples.jsonl",
        "--humaneval-timeout=auto",
        "--humaneval-results=results.jsonl",
        "--humaneval-json=summary.json",
        *extra,
        timeout=120,
    )
    results = [json.loads(line) for line in (pytester.path / "results.jsonl").read_text().splitlines()]
    summary = json.loads((pytester.path / "summary.json").read_text())
    return run, results, summary


def test_each_problem_gets_its_own_limit(pytester: pytest.Pytester, worker_args: list[str]) -> None:
    """Fails if a problem's limit did not come from its canonical solution's time (the slow
    completion would get the same verdict on both problems), if a hang ran to the cap, or if
    the top level counted toward the calls' limit (the last sample would time out)."""
    write_files(pytester.path)
    run, results, summary = run_auto(pytester, "-p", "no:cacheprovider", *worker_args)
    assert run.ret == 0, run.outlines[-10:]
    limits = summary["time_limits"]
    assert limits["Auto/instant"] == AUTO_TIMEOUT_FLOOR
    assert AUTO_TIMEOUT_FLOOR < limits["Auto/slow"] < CAP, limits  # from its canonical solution's time
    assert limits["Auto/broken"] == CAP
    assert summary["settings"]["timeout"] == "auto"
    outcomes = [(r["task_id"], r["outcome"]) for r in results]
    assert outcomes == [
        ("Auto/instant", "timed out"),  # the slow completion: over the floor
        ("Auto/instant", "timed out"),  # a hang ends at the floor, not at the 3 s cap
        ("Auto/slow", "passed"),  # the same slow completion, within 20 x its canonical cost
        ("Auto/broken", "passed"),
        ("Auto/instant", "passed"),  # its top level counts toward the 3 s cap only
    ], results
    assert results[4]["duration"] > AUTO_TIMEOUT_FLOOR, results[4]
    hang = results[1]["duration"]
    assert AUTO_TIMEOUT_FLOOR <= hang < CAP / 2, results[1]
    run.stdout.fnmatch_lines(
        [
            "limits    --humaneval-timeout=auto: the test's calls get * s in 1 of 3 problems, "
            "up to 3 s (Auto/broken)"
        ]
    )


def test_terminal_line_gives_the_usual_limit_and_the_longest() -> None:
    limits = {"A/0": 0.5, "A/1": 2.2, "A/2": 0.5, "A/3": 0.8}
    assert (
        auto_limits_line(limits)
        == "--humaneval-timeout=auto: the test's calls get 0.5 s in 2 of 4 problems, up to 2.2 s (A/1)"
    )
    assert (
        auto_limits_line({"A/0": 0.5})
        == "--humaneval-timeout=auto: the test's calls get 0.5 s in 1 of 1 problems"
    )


def verdict_database(directory: Path) -> Path | None:
    """The verdict cache of a session run in ``directory`` (None before any)."""
    databases = list((directory / ".pytest_cache").rglob("verdicts*.sqlite3"))
    if not databases:
        return None
    [database] = databases
    return database


def test_canonical_measurements_come_from_the_verdict_cache(pytester: pytest.Pytester) -> None:
    write_files(pytester.path)
    first, _, summary = run_auto(pytester)
    assert first.ret == 0, first.outlines[-10:]
    assert summary["time_limits"]["Auto/instant"] == AUTO_TIMEOUT_FLOOR
    database = verdict_database(pytester.path)
    assert database is not None
    with sqlite3.connect(database) as connection:
        changed = connection.execute(
            "UPDATE verdicts SET duration = 0.1 WHERE key LIKE 'canonical:%' AND kind = 'passed'"
        ).rowcount
    assert changed == 2  # the instant and the slow canonical solutions; the broken one failed
    second, results, summary = run_auto(pytester)
    assert second.ret == 0, second.outlines[-10:]
    assert summary["time_limits"] == {"Auto/instant": 2.0, "Auto/slow": 2.0, "Auto/broken": CAP}
    assert [r["outcome"] for r in results] == ["passed", "timed out", "passed", "passed", "passed"], results


def canonical_measurements(directory: Path) -> int:
    """How many canonical solutions' measurements the verdict cache holds."""
    database = verdict_database(directory)
    if database is None:
        return 0
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute("SELECT COUNT(*) FROM verdicts WHERE key LIKE 'canonical:%'").fetchone()
    return int(count)


def test_collect_only_measures_nothing(pytester: pytest.Pytester) -> None:
    write_files(pytester.path)
    listed = pytester.runpytest_subprocess(
        "--humaneval-problems=problems.jsonl",
        "--humaneval-samples=samples.jsonl",
        "--humaneval-timeout=auto",
        "--collect-only",
        "-q",
        timeout=120,
    )
    assert listed.ret == 0, listed.outlines[-10:]
    listed.stdout.fnmatch_lines(["5 tests collected*"])
    assert canonical_measurements(pytester.path) == 0
    ran, _, _ = run_auto(pytester)
    assert ran.ret == 0, ran.outlines[-10:]
    assert canonical_measurements(pytester.path) == 3


def test_keys_from_what_was_noted_while_reading_are_the_keys_workers_compute(tmp_path: Path) -> None:
    """With ``auto`` the limits come after the file was read: the keys are then finished
    from a digest noted while reading, and must equal the keys computed from the samples
    (as workers do), or no cached verdict or identical sample would be found."""
    write_files(tmp_path)
    settings = Settings(
        samples=(str(tmp_path / "samples.jsonl"),),
        problems=str(tmp_path / "problems.jsonl"),
        auto_timeout=True,
    )
    evaluation = Evaluation.load(settings)
    try:
        assert evaluation.keys == []  # nothing final before the limits are known
        evaluation.timeouts = {"Auto/instant": 0.5, "Auto/slow": 1.6, "Auto/broken": 3.0}
        evaluation.compute_keys()
        expected = [evaluation.key(evaluation.sample(entry)) for entry in evaluation.entries]
        assert evaluation.keys == expected
        assert len(set(expected)) == len(expected)
        evaluation.timeouts["Auto/slow"] = 2.0  # another limit, another key
        assert evaluation.key(evaluation.sample(evaluation.entries[2])) != expected[2]
    finally:
        evaluation.close()
