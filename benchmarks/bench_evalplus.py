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
  solution and one quick failing mutant, on MBPP+ (see ``evalplus_workloads.py``).

Before them, the plugin judges the canonical solutions of ``humaneval+`` and
``humaneval+mini`` (and ``mbpp+`` with ``--mbpp``) as samples: each must pass base and plus,
and their own time gives each workload's floor (the samples' and the canonical solutions'
own time over the cores: EvalPlus computes expected outputs from the canonical solutions
too), so the ratio a harness can reach on this machine is printed beside the target.

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
from typing import Any

from evalplus_oracle import DATA, DEFAULT_VENV, run_oracle
from evalplus_workloads import MBPP_RELEASE, Difference, differences, mbpp_generated, read_jsonl, recheck

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
class PluginRun:
    """One plugin session's figures."""

    wall_seconds: float
    pytest_seconds: str
    """The duration pytest printed."""
    summary: dict[str, Any]
    """Its JSON summary."""
    results: list[dict[str, Any]]
    """Its results lines."""

    @property
    def sample_seconds(self) -> float:
        """The samples' own time in the sandbox (wall less CPU waits: what load does not add)."""
        return sum(line["duration"] for line in self.results)


@dataclass(frozen=True)
class Sides:
    """Both sides' figures on one workload."""

    plugin: PluginRun
    evalplus_seconds: float
    evalplus_pass_at_k: dict[str, dict[str, float]]
    found: list[Difference]


def run_plugin(problems: str, samples: str, workers: int, python: str, directory: Path) -> PluginRun:
    """Run the plugin on ``samples`` (a file, or ``canonical``) and ``problems``."""
    results, summary = directory / "results.jsonl", directory / "summary.json"
    command = [
        python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
        "--humaneval-no-cache", "-n", str(workers),
        f"--humaneval-problems={problems}", f"--humaneval-samples={samples}",
        f"--humaneval-results={results}", f"--humaneval-json={summary}",
    ]  # fmt: skip
    started = time.monotonic()
    finished = subprocess.run(command, cwd=directory, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if finished.returncode not in (0, 1) or not summary.exists():
        sys.stderr.write(finished.stdout[-4000:] + finished.stderr[-4000:])
        raise SystemExit(f"the plugin's session failed (exit status {finished.returncode})")
    last = finished.stdout.strip().splitlines()[-1]
    return PluginRun(
        wall, last.rsplit(" in ", 1)[-1].strip("= "), json.loads(summary.read_text()), read_jsonl(results)
    )


def run_canonical(problems: str, workers: int, python: str) -> PluginRun:
    """The plugin on a set's canonical solutions (each judged as a sample)."""
    print(f"canonical {problems}: plugin -n {workers} ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-canonical-") as name:
        run = run_plugin(problems, "canonical", workers, python, Path(name))
    base, plus = run.summary["pass_at_k"]["pass@1"], run.summary["pass_at_k_plus"]["pass@1"]
    print(f"  {len(run.results)} tasks, base pass@1 {base:.4f}, base+plus pass@1 {plus:.4f};"
          f" {run.wall_seconds:.1f} s wall, their own time {run.sample_seconds:.1f} s")  # fmt: skip
    return run


def compare(workload: Workload, workers: int, python: str) -> Sides:
    """Run the plugin, then EvalPlus with ``--parallel workers``, then recheck the
    differences no time limit explains yet."""
    with tempfile.TemporaryDirectory(prefix="bench-evalplus-") as name:
        directory = Path(name)
        print(f"{workload.name}: plugin -n {workers} ...", flush=True)
        plugin = run_plugin(workload.plugin_problems, str(workload.samples), workers, python, directory)
        print(f"  {plugin.wall_seconds:.1f} s wall (pytest: {plugin.pytest_seconds})", flush=True)
        print(f"{workload.name}: evalplus.evaluate --parallel {workers} ...", flush=True)
        started = time.monotonic()
        oracle = run_oracle(
            workload.samples, workload.evalplus_dataset, workers, DEFAULT_VENV, workload.evalplus_problems
        )
        evalplus_seconds = time.monotonic() - started
        print(f"  {evalplus_seconds:.1f} s wall (evalplus.evaluate: {oracle['wall_seconds']} s)", flush=True)
        found = differences(oracle["samples"], plugin.results)
        found = recheck(
            found, workload.evalplus_problems, workload.samples, workload.evalplus_dataset, directory
        )
    return Sides(plugin, evalplus_seconds, oracle["pass_at_k"], found)


def report(workload: Workload, sides: Sides, canonical: PluginRun, workers: int) -> tuple[float, float]:
    """Print one workload's figures; return EvalPlus's wall time over the plugin's, and over
    the floor: the samples' and the canonical solutions' own time spread over ``workers``
    cores with no overhead at all (what no harness on this machine can beat)."""
    plugin = sides.plugin
    ratio = sides.evalplus_seconds / plugin.wall_seconds
    floor = (plugin.sample_seconds + canonical.sample_seconds) / workers
    print(f"\n== {workload.name} ({len(plugin.results)} samples)")
    print(f"wall s    plugin {plugin.wall_seconds:.1f} (pytest: {plugin.pytest_seconds})"
          f"  evalplus {sides.evalplus_seconds:.1f}  evalplus/plugin {ratio:.2f}x")  # fmt: skip
    print(f"floor s   (samples' own time {plugin.sample_seconds:.1f} + canonical solutions'"
          f" {canonical.sample_seconds:.1f}) / {workers} cores = {floor:.1f}:"
          f" evalplus/floor {sides.evalplus_seconds / floor:.2f}x, plugin/floor"
          f" {plugin.wall_seconds / floor:.2f}x")  # fmt: skip
    pass_at_k = {"base": plugin.summary["pass_at_k"], "base+plus": plugin.summary["pass_at_k_plus"]}
    for suite in ("base", "base+plus"):
        for side, figures in (("plugin", pass_at_k), ("evalplus", sides.evalplus_pass_at_k)):
            shown = "  ".join(
                f"{key} {value:.4f}" for key, value in figures[suite].items() if value is not None
            )
            print(f"{suite:9} {side:9} {shown}")
    decided = [difference for difference in sides.found if difference.limit]
    other = [difference for difference in sides.found if not difference.limit]
    samples = len({difference.line for difference in sides.found})
    print(f"agreement {samples} samples differ ({len(sides.found)} suites):"
          f" {len(decided)} suites decided by a time or memory limit, {len(other)} not")  # fmt: skip
    for item in sides.found:
        print(f"  line {item.line} {item.task_id} {item.suite}: evalplus {item.evalplus},"
              f" plugin {item.plugin}; {item.limit or 'NOT a time or memory limit'}")  # fmt: skip
    return ratio, sides.evalplus_seconds / floor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cushman", type=Path, default=CUSHMAN_FILE, help="the cushman samples file")
    parser.add_argument("--workers", type=int, default=2, help="-n for pytest, --parallel for EvalPlus")
    parser.add_argument("--python", default=sys.executable, help="the Python that has the plugin")
    parser.add_argument(
        "--mbpp", action="store_true", help="also mbpp+: its canonical solutions and generated workload"
    )
    args = parser.parse_args(argv)
    sets = ["humaneval+", "humaneval+mini", *(["mbpp+"] if args.mbpp else [])]
    canonical = {name: run_canonical(name, args.workers, args.python) for name in sets}
    ratios: dict[str, tuple[float, float]] = {}
    if args.cushman.exists():
        cushman = Workload(
            "cushman humaneval+",
            args.cushman,
            "humaneval+",
            "humaneval",
            DATA / "HumanEvalPlus-v0.1.10.jsonl.gz",
        )
        sides = compare(cushman, args.workers, args.python)
        ratios[cushman.name] = report(cushman, sides, canonical["humaneval+"], args.workers)
    else:
        print(f"cushman humaneval+: skipped, no {args.cushman} (see benchmarks/README.md)")
    if args.mbpp:
        with tempfile.TemporaryDirectory(prefix="bench-mbpp-") as name:
            mbpp = Workload("mbpp+ generated", mbpp_generated(Path(name)), "mbpp+", "mbpp", MBPP_RELEASE)
            sides = compare(mbpp, args.workers, args.python)
            ratios[mbpp.name] = report(mbpp, sides, canonical["mbpp+"], args.workers)
    print()
    passing = [
        name
        for name, run in canonical.items()
        if (run.summary["pass_at_k"]["pass@1"], run.summary["pass_at_k_plus"]["pass@1"]) == (1.0, 1.0)
    ]
    met = "met" if len(passing) == len(sets) else "NOT met"
    print(f"canonical solutions pass base and plus (pass@1 = 1.0) on {', '.join(sets)}: {met}"
          f" ({len(passing)} of {len(sets)} sets)")  # fmt: skip
    if "cushman humaneval+" in ratios:
        ratio, most = ratios["cushman humaneval+"]
        met = "met" if ratio >= TARGET_RATIO else "NOT met"
        target = f"humaneval+ on cushman at least {TARGET_RATIO:g}x faster than evalplus"
        print(f"{target} --parallel {args.workers}: {met} ({ratio:.2f}x; the floor allows {most:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
