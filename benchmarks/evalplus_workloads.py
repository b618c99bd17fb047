"""Comparing the plugin's judging by inputs with EvalPlus's (the agreement tests and
``bench_evalplus.py``): the generated MBPP+ workload (built from the problem file that ships
in the package), the per-suite differences between the two, and which of them a time limit
decides. Standard library only (EvalPlus runs through ``evalplus_oracle.py``, the plugin's
recheck through ``plugin_suite.py``, each by its own Python).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from evalplus_oracle import DEFAULT_VENV, run_oracle

DATA = Path(__file__).resolve().parents[1] / "pytest_humaneval" / "data"
PLUGIN_SUITE = Path(__file__).resolve().with_name("plugin_suite.py")
MBPP_RELEASE = DATA / "MbppPlus-v0.2.0.jsonl.gz"

MUTANT = """

_canonical_{entry_point} = {entry_point}


def {entry_point}(*args, **kwargs):
    # the canonical answer, altered so that it compares unequal (and None-ness flips)
    out = _canonical_{entry_point}(*args, **kwargs)
    return (not out) if isinstance(out, bool) else (None if out is not None else 0)
"""
"""Appended to a canonical solution: as quick as it (its first input fails it), and failing
every task but those EvalPlus passes whatever the answer (``are_equivalent``)."""


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a file, plain or gzip-compressed."""
    with gzip.open(path, "rt", encoding="utf-8") if path.name.endswith(".gz") else path.open() as stream:
        return [json.loads(line) for line in stream if line.strip()]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    """``records`` as JSON lines at ``path``."""
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def mbpp_generated(directory: Path) -> Path:
    """Write the samples of every MBPP+ task, its canonical solution then its mutant
    (``solution`` lines: MBPP+'s prompts are not code), into ``directory``; return the file."""
    samples = []
    for problem in read_jsonl(MBPP_RELEASE):
        code = problem["prompt"] + problem["canonical_solution"]
        samples.append({"task_id": problem["task_id"], "solution": code})
        mutant = code + MUTANT.format(entry_point=problem["entry_point"])
        samples.append({"task_id": problem["task_id"], "solution": mutant})
    return write_jsonl(directory / "mbpp-generated.samples.jsonl", samples)


RECHECK_SCALE = 10.0
"""EvalPlus's time limits are multiplied by this when a difference is rechecked."""
RECHECK_MEMORY_GIB = 64.0
"""A sample's address-space limit in EvalPlus (4 GiB by default) when a difference that its
time limits do not explain is rechecked: EvalPlus's sample process also holds every expected
output of its task (``Mbpp/255``'s plus outputs are several GB)."""


@dataclass(frozen=True)
class Difference:
    """One suite of one sample on which EvalPlus and the plugin give different statuses."""

    line: int
    """The sample's line in the samples file, from 0."""
    task_id: str
    suite: str
    """``base`` or ``plus``."""
    evalplus: str | None
    plugin: str
    limit: str = ""
    """Why a time or memory limit decides the difference (empty when none does): either side
    says ``timeout``; the plugin failed the suite on an input's time limit (its
    ``failed_input`` says so); EvalPlus, rerun on the sample with its time limits times
    ``RECHECK_SCALE``, gives the plugin's status (its limits are wall-clock alarms, from
    canonical times measured on the same busy machine); or it does so rerun again with
    ``RECHECK_MEMORY_GIB`` of memory besides."""


def differences(evalplus: list[dict[str, Any]], plugin: list[dict[str, Any]]) -> list[Difference]:
    """The suites whose statuses differ, from the oracle's ``samples`` and the plugin's
    results lines (both in file order), each with its time-limit reason when it is visible
    in the two outputs alone (see :func:`recheck` for the rest)."""
    if [row["task_id"] for row in evalplus] != [line["task_id"] for line in plugin]:
        raise ValueError("the two outputs are not of the same samples")
    found = []
    for line, (theirs, ours) in enumerate(zip(evalplus, plugin, strict=True)):
        for suite in ("base", "plus"):
            status, own = theirs[f"{suite}_status"], ours[f"{suite}_status"]
            if status == own:
                continue
            failed = ours["failed_input"] or {}
            reason = ""
            if "timeout" in (status, own):
                reason = f"{'EvalPlus' if status == 'timeout' else 'the plugin'} says timeout"
            elif failed.get("suite") == suite and str(failed.get("actual", "")).startswith("time limit of"):
                reason = f"the plugin at {suite} input {failed['index']}: {failed['actual']}"
            found.append(Difference(line, ours["task_id"], suite, status, own, reason))
    return found


def recheck(
    found: list[Difference],
    problems_file: Path,
    samples_file: Path,
    dataset: str,
    directory: Path,
    python: str = sys.executable,
) -> list[Difference]:
    """``found`` with the failures that no limit explains yet rechecked. Where EvalPlus
    fails: EvalPlus runs again, on those samples only (and a problem file of their tasks),
    with its time limits times ``RECHECK_SCALE``, then on those still open with
    ``RECHECK_MEMORY_GIB`` of memory as well; a difference whose status then becomes the
    plugin's is that limit's. Where the plugin fails and EvalPlus passes: ``python`` (the
    plugin's) judges the sample on that suite alone with ``RECHECK_SCALE`` times the plugin's
    time limits; if it then passes, a time limit decides (a results line names the first
    failing suite's input only, so when base failed too, plus's own reason is not in it)."""
    for memory_gib in (None, RECHECK_MEMORY_GIB):
        found = _recheck_open(found, problems_file, samples_file, dataset, directory, memory_gib)
    return _recheck_plugin(found, problems_file, samples_file, python)


def _recheck_plugin(
    found: list[Difference], problems_file: Path, samples_file: Path, python: str
) -> list[Difference]:
    open_ = [difference for difference in found if not difference.limit and difference.plugin == "fail"]
    if not open_:
        return found
    samples = read_jsonl(samples_file)
    rechecked = []
    for difference in found:
        if difference in open_:
            request = {
                "problems": str(problems_file),
                "sample": samples[difference.line],
                "suite": difference.suite,
                "time_limit_scale": RECHECK_SCALE,
            }
            judged = subprocess.run(
                [python, str(PLUGIN_SUITE)],
                input=json.dumps(request),
                capture_output=True,
                text=True,
                check=True,
            )
            status = json.loads(judged.stdout)["status"]
            if status == difference.evalplus:
                limits = f"{RECHECK_SCALE:g}x its time limits"
                difference = replace(
                    difference, limit=f"the plugin with {limits}, on that suite alone, says {status}"
                )
        rechecked.append(difference)
    return rechecked


def _recheck_open(
    found: list[Difference],
    problems_file: Path,
    samples_file: Path,
    dataset: str,
    directory: Path,
    memory_gib: float | None,
) -> list[Difference]:
    open_ = [difference for difference in found if not difference.limit and difference.evalplus == "fail"]
    if not open_:
        return found
    lines = sorted({difference.line for difference in open_})
    samples = read_jsonl(samples_file)
    tasks = {samples[line]["task_id"] for line in lines}
    subset_problems = write_jsonl(
        directory / "recheck-problems.jsonl",
        [problem for problem in read_jsonl(problems_file) if problem["task_id"] in tasks],
    )
    subset_samples = write_jsonl(directory / "recheck.samples.jsonl", [samples[line] for line in lines])
    rows = run_oracle(subset_samples, dataset, 2, DEFAULT_VENV, subset_problems, RECHECK_SCALE, memory_gib)[
        "samples"
    ]
    again = {line: row for line, row in zip(lines, rows, strict=True)}
    limits = f"{RECHECK_SCALE:g}x its time limits"
    if memory_gib is not None:
        limits += f" and {memory_gib:g} GiB of memory (its default: 4)"
    rechecked = []
    for difference in found:
        row = again.get(difference.line)
        if difference in open_ and row is not None and row[f"{difference.suite}_status"] == difference.plugin:
            difference = replace(difference, limit=f"EvalPlus with {limits} says {difference.plugin}")
        rechecked.append(difference)
    return rechecked
