"""CPU per sample, by side: how much of a verdict's cost is pytest's (the controller, each
xdist worker) and how much the sandbox's (servers, zygotes, sample processes), and so how
many cores of workers one controller can feed.

CPU time, unlike wall time, hardly depends on how busy the machine is, so the figures hold
on a shared machine. Each pytest process writes its own CPU time (``RUSAGE_SELF``) and its
reaped descendants' (``RUSAGE_CHILDREN``) when it ends, from a conftest in the run's
directory; the sandbox side is what the pytest processes' descendants used, less the
workers themselves. The workload is 164 x ``--per-task`` unique quick samples (each
HumanEval canonical solution with a distinct trailing comment: the benchmark's generated
workload is of the same kind), run without the verdict cache at ``-n 0`` (a pool of
servers) and ``-n 2``, beside pytest alone on as many trivial items.

    python benchmarks/cpu.py                  # about two minutes on 2 cores
    python benchmarks/cpu.py --per-task 5     # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from scale import DISTINCT_PER_TASK, write_samples

CPU_CONFTEST = """
import json
import resource
from pathlib import Path

import pytest


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    # after the plugin's own unconfigure: its servers have been stopped and reaped
    name = getattr(config, "workerinput", {{}}).get("workerid", "controller")
    used = {{}}
    for side, who in (("self", resource.RUSAGE_SELF), ("children", resource.RUSAGE_CHILDREN)):
        usage = resource.getrusage(who)
        used[side] = usage.ru_utime + usage.ru_stime
    Path({directory!r}, name).write_text(json.dumps(used))
"""


@dataclass(frozen=True)
class Run:
    """One pytest command's wall time and CPU seconds, by side."""

    wall: float
    controller: float
    """The controller's own CPU (the single process at ``-n 0``)."""
    workers: float
    """The xdist workers' own CPU."""
    sandbox: float
    """Everything the pytest processes started, reaped: servers, zygotes, sample processes."""


def measure(directory: Path, name: str, arguments: list[str], trivial: int = 0) -> Run:
    """Run pytest in a fresh directory and read what each of its processes used."""
    run_directory = directory / name
    used_directory = run_directory / "used"
    used_directory.mkdir(parents=True)
    (run_directory / "conftest.py").write_text(CPU_CONFTEST.format(directory=str(used_directory)))
    if trivial:
        (run_directory / "test_trivial.py").write_text(
            f"import pytest\n\n@pytest.mark.parametrize('i', range({trivial}))\ndef test_item(i):\n    pass\n"
        )
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        *arguments,
    ]
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=run_directory, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if completed.returncode not in (0, 1):
        tail = (completed.stdout + completed.stderr).splitlines()[-20:]
        raise SystemExit(f"{name}: exit status {completed.returncode}\n" + "\n".join(tail))
    used = {path.name: json.loads(path.read_text()) for path in used_directory.iterdir()}
    controller = used.pop("controller")
    workers_self = sum(worker["self"] for worker in used.values())
    workers_children = sum(worker["children"] for worker in used.values())
    # The controller's reaped children are its workers (with what they reaped) or, at -n 0,
    # its servers; the workers' own time is not the sandbox's.
    sandbox = max(controller["children"] - workers_self, workers_children)
    return Run(wall, controller["self"], workers_self, sandbox)


def show(name: str, run: Run, count: int) -> None:
    per = 1000 / count
    print(
        f"{name:<34} wall {run.wall:6.1f} s  CPU ms per sample: controller {run.controller * per:5.2f}"
        f"  workers {run.workers * per:5.2f}  sandbox {run.sandbox * per:5.2f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--per-task",
        type=int,
        default=DISTINCT_PER_TASK,
        help=f"unique samples per task (at most {DISTINCT_PER_TASK})",
    )
    options = parser.parse_args()
    per_task = min(options.per_task, DISTINCT_PER_TASK)
    count = 164 * per_task
    print(f"load average {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="humaneval-cpu-") as temporary:
        directory = Path(temporary)
        samples = write_samples(directory / "samples.jsonl", per_task)
        plugin = [f"--humaneval-samples={samples}", "--humaneval-no-cache", "--tb=no"]
        runs, alone = {}, {}
        for workers in ("0", "2"):
            runs[workers] = measure(directory, f"plugin-{workers}", ["-n", workers, *plugin])
            show(f"plugin -n {workers}, {count:,} samples", runs[workers], count)
            alone[workers] = measure(directory, f"alone-{workers}", ["-n", workers], trivial=count)
            show(f"pytest alone -n {workers}, {count:,} items", alone[workers], count)
        beyond = runs["0"].controller - alone["0"].controller
        print(
            f"at -n 0: pytest side {runs['0'].controller * 1000 / count:.2f} ms per sample"
            f" ({beyond * 1000 / count:.2f} beyond pytest's own), sandbox side"
            f" {runs['0'].sandbox * 1000 / count:.2f} ms per sample"
        )
        fed = (runs["2"].workers + runs["2"].sandbox) / runs["2"].controller
        print(
            f"one controller at -n 2 spends {runs['2'].controller * 1000 / count:.2f} ms of CPU per verdict:"
            f" one controller core feeds about {fed:.0f} cores of workers and sandboxes"
        )


if __name__ == "__main__":
    main()
