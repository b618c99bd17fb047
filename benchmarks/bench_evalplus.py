#!/usr/bin/env python3
"""Benchmark: the plugin's judging by inputs against EvalPlus 0.3.1 itself, side by side in
one run on the same samples: wall time of each, their ratio, base and plus pass@k of each,
per-suite agreement (and which differences a time limit decides), and the speed target.

EvalPlus runs through ``evalplus_oracle.py`` (its own virtualenv, ``.evalplus-venv``); the
plugin runs as ``pytest -n W`` in a temporary directory, without the verdict cache, so each
side computes its expected outputs afresh inside its wall time. The two run one after the
other, never at once (2 cores).

Workloads:

* ``cushman humaneval+``: ``<shared>/cushman001-t0.6-n10.samples.jsonl`` on HumanEval+;
* ``mbpp+ generated`` (``--mbpp``, several more minutes): each MBPP+ task's canonical
  solution and one quick failing mutant, on MBPP+ without ``Mbpp/255`` (see
  ``evalplus_workloads.py``).

    .venv/bin/python benchmarks/bench_evalplus.py [--mbpp] [--workers 2] [--cushman FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from evalplus_oracle import DATA, DEFAULT_VENV, run_oracle
from evalplus_workloads import Difference, differences, mbpp_generated, read_jsonl, recheck

REPOSITORY = Path(__file__).resolve().parents[1]
CUSHMAN_FILE = REPOSITORY.parent / "shared" / "data" / "cushman001-t0.6-n10.samples.jsonl"
TARGET_RATIO = 5.0
"""humaneval+ on cushman: the plugin at least this many times faster than EvalPlus."""


@dataclass(frozen=True)
class Workload:
    """One comparison: the samples, the problems for each side, the oracle's dataset."""

    name: str
    samples: Path
    plugin_problems: str
    """``--humaneval-problems``: a built-in name or a file."""
    evalplus_dataset: str
    evalplus_problems: Path
    """The problem file EvalPlus runs on (the release file for a built-in set)."""


@dataclass(frozen=True)
class Sides:
    """Both sides' figures on one workload."""

    plugin_seconds: float
    plugin_pytest_seconds: str
    plugin_pass_at_k: dict[str, dict[str, float | None]]
    evalplus_seconds: float
    evalplus_pass_at_k: dict[str, dict[str, float]]
    found: list[Difference]


def run_plugin(
    workload: Workload, workers: int, python: str, directory: Path
) -> tuple[float, str, Path, Path]:
    """Run the plugin on the workload; return its wall seconds, the duration pytest printed,
    and the paths of its results lines and JSON summary."""
    results, summary = directory / "results.jsonl", directory / "summary.json"
    command = [
        python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
        "--humaneval-no-cache", "-n", str(workers),
        f"--humaneval-problems={workload.plugin_problems}",
        f"--humaneval-samples={workload.samples}",
        f"--humaneval-results={results}", f"--humaneval-json={summary}",
    ]  # fmt: skip
    started = time.monotonic()
    finished = subprocess.run(command, cwd=directory, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if finished.returncode not in (0, 1) or not summary.exists():
        sys.stderr.write(finished.stdout[-4000:] + finished.stderr[-4000:])
        raise SystemExit(f"the plugin's session failed (exit status {finished.returncode})")
    last = finished.stdout.strip().splitlines()[-1]
    return wall, last.rsplit(" in ", 1)[-1].strip("= "), results, summary


def compare(workload: Workload, workers: int, python: str) -> Sides:
    """Run the plugin, then EvalPlus with ``--parallel workers``, then recheck the
    differences no time limit explains yet."""
    with tempfile.TemporaryDirectory(prefix="bench-evalplus-") as name:
        directory = Path(name)
        print(f"{workload.name}: plugin -n {workers} ...", flush=True)
        plugin_seconds, pytest_seconds, results, summary = run_plugin(workload, workers, python, directory)
        print(f"  {plugin_seconds:.1f} s wall (pytest: {pytest_seconds})", flush=True)
        print(f"{workload.name}: evalplus.evaluate --parallel {workers} ...", flush=True)
        started = time.monotonic()
        oracle = run_oracle(
            workload.samples, workload.evalplus_dataset, workers, DEFAULT_VENV, workload.evalplus_problems
        )
        evalplus_seconds = time.monotonic() - started
        print(f"  {evalplus_seconds:.1f} s wall (evalplus.evaluate: {oracle['wall_seconds']} s)", flush=True)
        found = differences(oracle["samples"], read_jsonl(results))
        found = recheck(
            found, workload.evalplus_problems, workload.samples, workload.evalplus_dataset, directory
        )
        figures = json.loads(summary.read_text())
    pass_at_k = {"base": figures["pass_at_k"], "base+plus": figures["pass_at_k_plus"]}
    return Sides(plugin_seconds, pytest_seconds, pass_at_k, evalplus_seconds, oracle["pass_at_k"], found)


def report(workload: Workload, sides: Sides) -> float:
    """Print one workload's figures; return EvalPlus's wall time over the plugin's."""
    ratio = sides.evalplus_seconds / sides.plugin_seconds
    print(f"\n== {workload.name} ({len(read_jsonl(workload.samples))} samples)")
    print(f"wall s    plugin {sides.plugin_seconds:.1f} (pytest: {sides.plugin_pytest_seconds})"
          f"  evalplus {sides.evalplus_seconds:.1f}  evalplus/plugin {ratio:.2f}x")  # fmt: skip
    for suite in ("base", "base+plus"):
        for side, figures in (("plugin", sides.plugin_pass_at_k), ("evalplus", sides.evalplus_pass_at_k)):
            shown = "  ".join(
                f"{key} {value:.4f}" for key, value in figures[suite].items() if value is not None
            )
            print(f"{suite:9} {side:9} {shown}")
    decided = [difference for difference in sides.found if difference.time_limit]
    other = [difference for difference in sides.found if not difference.time_limit]
    samples = len({difference.line for difference in sides.found})
    print(f"agreement {samples} samples differ ({len(sides.found)} suites):"
          f" {len(decided)} suites decided by a time limit, {len(other)} not")  # fmt: skip
    for item in sides.found:
        print(f"  line {item.line} {item.task_id} {item.suite}: evalplus {item.evalplus},"
              f" plugin {item.plugin}; {item.time_limit or 'NOT a time limit'}")  # fmt: skip
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cushman", type=Path, default=CUSHMAN_FILE, help="the cushman samples file")
    parser.add_argument("--workers", type=int, default=2, help="-n for pytest, --parallel for EvalPlus")
    parser.add_argument("--python", default=sys.executable, help="the Python that has the plugin")
    parser.add_argument("--mbpp", action="store_true", help="also the generated MBPP+ workload")
    args = parser.parse_args(argv)
    ratios: dict[str, float] = {}
    if args.cushman.exists():
        cushman = Workload(
            "cushman humaneval+",
            args.cushman,
            "humaneval+",
            "humaneval",
            DATA / "HumanEvalPlus-v0.1.10.jsonl.gz",
        )
        ratios[cushman.name] = report(cushman, compare(cushman, args.workers, args.python))
    else:
        print(f"cushman humaneval+: skipped, no {args.cushman} (see benchmarks/README.md)")
    if args.mbpp:
        with tempfile.TemporaryDirectory(prefix="bench-mbpp-") as name:
            problems, samples = mbpp_generated(Path(name))
            mbpp = Workload("mbpp+ generated", samples, str(problems), "mbpp", problems)
            ratios[mbpp.name] = report(mbpp, compare(mbpp, args.workers, args.python))
    print()
    if "cushman humaneval+" in ratios:
        ratio = ratios["cushman humaneval+"]
        met = "met" if ratio >= TARGET_RATIO else "NOT met"
        target = f"humaneval+ on cushman at least {TARGET_RATIO:g}x faster than evalplus"
        print(f"{target} --parallel {args.workers}: {met} ({ratio:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
