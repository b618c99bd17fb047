"""EvalPlus 0.3.1's verdicts on a samples file, as one normalized JSON: the oracle that the
plugin's judging by inputs is compared with (agreement tests, the benchmark).

EvalPlus is never a dependency: it runs in its own virtualenv (``.evalplus-venv/``, made by
``benchmarks/evalplus_venv.sh``), called as a subprocess, so this script needs only the
standard library and any Python 3.10+. EvalPlus writes its results next to the samples
file, and keeps a ground-truth cache and a download cache of its own; so it runs on a copy
of the samples in a temporary directory, offline, on a decompressed copy of the release
file (``HUMANEVAL_OVERRIDE_PATH`` / ``MBPP_OVERRIDE_PATH``), with its caches there too:
nothing is written but the output file.

    python3 benchmarks/evalplus_oracle.py SAMPLES.jsonl humaneval --parallel 2 --output out.json

``--problems FILE`` runs EvalPlus on another problem file of the dataset's format instead of
the release (EvalPlus wants samples for every problem it has: e.g. MBPP+ without a task);
``--time-limit-scale S`` multiplies EvalPlus's time limits by ``S`` (its ``--min-time-limit``
and ``--gt-time-limit-factor``), to see whether a verdict was a wall-clock limit's.

The output has, per sample in file order, its ``task_id``, ``base_status`` and
``plus_status``, and for a suite that failed, the input EvalPlus reports (``base_failed_input``,
``plus_failed_input``: its index, EvalPlus's canonical time on it and its time limit, so that
a failure a wall-clock limit may have decided can be told); pass@k on the base tests and on
base + plus as EvalPlus computes them (its
own ``estimate_pass_at_k``) and as it printed them (3 decimals); the wall time of
``evalplus.evaluate``; and the versions.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_VENV = REPOSITORY / ".evalplus-venv"
DATA = REPOSITORY / "pytest_humaneval" / "data"

DATASETS = {
    # name: (evalplus.evaluate's dataset, its extra flags, the release file, the override variable)
    "humaneval": ("humaneval", [], "HumanEvalPlus-v0.1.10.jsonl.gz", "HUMANEVAL_OVERRIDE_PATH"),
    "humaneval-mini": (
        "humaneval",
        ["--mini"],
        "HumanEvalPlus-Mini-v0.1.10.jsonl.gz",
        "HUMANEVAL_OVERRIDE_PATH",
    ),
    "mbpp": ("mbpp", [], "MbppPlus-v0.2.0.jsonl.gz", "MBPP_OVERRIDE_PATH"),
}
"""The release files are the ones the package ships (byte for byte EvalPlus's; see
``pytest_humaneval/data/README.md``), so the oracle needs no download and no ``../shared``."""

FIGURES = """
import json, pickle, sys
from pathlib import Path
import numpy, evalplus
from evalplus.config import DEFAULT_GT_TIME_LIMIT_FACTOR, DEFAULT_MIN_TIME_LIMIT
from evalplus.data.utils import CACHE_DIR
from evalplus.eval import PASS, estimate_pass_at_k

results = json.load(open(sys.argv[1]))["eval"].values()
total = numpy.array([len(task) for task in results])
base = numpy.array([sum(r["base_status"] == PASS for r in task) for task in results])
plus = numpy.array([sum(r["base_status"] == r["plus_status"] == PASS for r in task) for task in results])
def at(correct, every):
    return {f"pass@{k}": float(estimate_pass_at_k(total, correct, k).mean()) for k in (1, 10, 100)
            if every(k)}
# evalplus.evaluate's own conditions: base pass@k needs k samples in the least task; base + plus,
# in every task
pass_at_k = {"base": at(base, lambda k: total.min() >= k),
             "base+plus": at(plus, lambda k: (total >= k).all())}
versions = {"evalplus": evalplus.__version__, "python": sys.version.split()[0], "numpy": numpy.__version__}
(ground_truth,) = Path(CACHE_DIR).glob("*.pkl")  # the one evalplus.evaluate just computed
times = {task_id: {"base": oracle["base_time"], "plus": oracle["plus_time"]}
         for task_id, oracle in pickle.loads(ground_truth.read_bytes()).items()}
scale = float(sys.argv[2])
limits = {"least": scale * DEFAULT_MIN_TIME_LIMIT, "factor": scale * DEFAULT_GT_TIME_LIMIT_FACTOR}
print(json.dumps({"pass_at_k": pass_at_k, "versions": versions, "canonical_times": times,
                  "time_limits": limits}))
"""
"""Run by the venv's Python on EvalPlus's results: pass@k with EvalPlus's estimator and
conditions, and the canonical times per input from its ground truth (its own pickle)."""

PRINTED = re.compile(r"^(pass@\d+):\s+([0-9.]+)$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _decompressed(source: Path, target: Path) -> Path:
    """``source`` (gzip-compressed or not) as a plain file at ``target``: EvalPlus reads ``.jsonl``."""
    with gzip.open(source, "rb") if source.name.endswith(".gz") else source.open("rb") as stream:
        with target.open("wb") as copy:
            shutil.copyfileobj(stream, copy)
    return target


def _records(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a file, skipping blank ones as EvalPlus's ``stream_jsonl`` does."""
    with path.open(encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def _printed_pass_at_k(stdout: str) -> dict[str, dict[str, float]]:
    """The pass@k lines EvalPlus printed: after ``DATASET (base tests)``, then ``DATASET+ (...)``."""
    printed: dict[str, dict[str, float]] = {}
    section = ""
    for line in ANSI.sub("", stdout).splitlines():
        if line.endswith("(base tests)"):
            section = "base"
        elif line.endswith("(base + extra tests)"):
            section = "base+plus"
        elif section and (match := PRINTED.match(line.strip())):
            printed.setdefault(section, {})[match[1]] = float(match[2])
    return printed


def _failed_input(
    result: dict[str, Any], suite: str, problem: dict[str, Any], figures: dict[str, Any]
) -> dict[str, Any] | None:
    """The input a failed suite stopped at, as EvalPlus reports it (its value only: with
    ``fast_check`` the last input it ran), found again in the problem file by equality (both
    are the file's JSON), with EvalPlus's canonical time on it and the time limit it had,
    ``max(least, factor * time)``. None when the suite did not fail on an input; the index is
    None when the value cannot be found (a NaN in it)."""
    failed = result[f"{suite}_fail_tests"]
    if result[f"{suite}_status"] != "fail" or not failed:
        return None
    index = next((i for i, given in enumerate(problem[f"{suite}_input"]) if given == failed[0]), None)
    if index is None:
        return {"index": None, "canonical_seconds": None, "time_limit_seconds": None}
    seconds = figures["canonical_times"][problem["task_id"]][suite][index]
    limits = figures["time_limits"]
    return {
        "index": index,
        "canonical_seconds": seconds,
        "time_limit_seconds": max(limits["least"], limits["factor"] * seconds),
    }


def _per_sample(
    samples: list[dict[str, Any]],
    results: dict[str, Any],
    problems: dict[str, dict[str, Any]],
    figures: dict[str, Any],
) -> list[dict[str, Any]]:
    """EvalPlus's verdicts in the samples' file order (it groups them by task, in file order
    within a task); each result's solution is checked to be the sample's, so a mismatch
    of order cannot go unseen. A sample of a task not in the dataset (EvalPlus warns and
    skips it) has no statuses."""
    taken: dict[str, int] = {}
    rows = []
    for sample in samples:
        task_id = sample["task_id"]
        if task_id not in results:
            rows.append(
                {
                    "task_id": task_id,
                    "base_status": None,
                    "plus_status": None,
                    "base_failed_input": None,
                    "plus_failed_input": None,
                }
            )
            continue
        index = taken.get(task_id, 0)
        taken[task_id] = index + 1
        result = results[task_id][index]
        problem = problems[task_id]
        solution = sample["solution"] if "solution" in sample else problem["prompt"] + sample["completion"]
        if result["solution"] != solution:
            raise SystemExit(
                f"EvalPlus's results do not line up with the samples at {task_id} sample {index}"
            )
        rows.append(
            {
                "task_id": task_id,
                "base_status": result["base_status"],
                "plus_status": result["plus_status"],
                "base_failed_input": _failed_input(result, "base", problem, figures),
                "plus_failed_input": _failed_input(result, "plus", problem, figures),
            }
        )
    return rows


def run_oracle(
    samples: Path,
    dataset: str,
    parallel: int,
    venv: Path,
    problems_file: Path | None = None,
    time_limit_scale: float = 1.0,
    memory_gib: float | None = None,
) -> dict[str, Any]:
    """Run ``evalplus.evaluate`` on a copy of ``samples`` in a temporary directory and
    return the normalized result (see the module's docstring); on ``problems_file`` instead
    of the dataset's release file when it is given, with its time limits times
    ``time_limit_scale`` and, given ``memory_gib``, that address-space limit for a sample
    (``EVALPLUS_MAX_MEMORY_BYTES``; EvalPlus's default is 4 GiB)."""
    evalplus_dataset, flags, release, override = DATASETS[dataset]
    source = DATA / release if problems_file is None else problems_file
    python = venv / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"no EvalPlus venv at {venv}: run benchmarks/evalplus_venv.sh first")
    with tempfile.TemporaryDirectory(prefix="evalplus-oracle-") as directory:
        work = Path(directory)
        problems = _decompressed(source, work / source.name.removesuffix(".gz"))
        copy = _decompressed(samples, work / "samples.jsonl")
        environment = {
            **os.environ,
            override: str(problems),
            "XDG_CACHE_HOME": str(work / "cache"),  # EvalPlus's ground-truth cache (appdirs)
            "HF_HOME": str(work / "huggingface"),
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "NO_COLOR": "1",
        }
        if memory_gib is not None:
            environment["EVALPLUS_MAX_MEMORY_BYTES"] = str(int(memory_gib * 1024**3))
        arguments = [evalplus_dataset, *flags, "--samples", copy.name, "--parallel", str(parallel)]
        if time_limit_scale != 1.0:
            arguments += ["--min-time-limit", str(time_limit_scale * 1.0)]
            arguments += ["--gt-time-limit-factor", str(time_limit_scale * 4.0)]
        arguments.append("--i-just-wanna-run")
        command = [str(python), "-m", "evalplus.evaluate", *arguments]
        started = time.monotonic()
        finished = subprocess.run(
            command,
            cwd=work,
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.monotonic() - started
        results_path = work / "samples_eval_results.json"
        if finished.returncode != 0 or not results_path.exists():
            sys.stderr.write(finished.stdout[-4000:] + finished.stderr[-4000:])
            raise SystemExit(f"evalplus.evaluate failed (exit status {finished.returncode})")
        computed = subprocess.run(
            [str(python), "-c", FIGURES, str(results_path), str(time_limit_scale)],
            env=environment, capture_output=True, text=True, check=True,
        )  # fmt: skip
        figures = json.loads(computed.stdout)
        by_task = {problem["task_id"]: problem for problem in _records(problems)}
        rows = _per_sample(_records(copy), json.load(results_path.open())["eval"], by_task, figures)
    return {
        "dataset": dataset,
        "release": source.name,
        "release_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        "samples_file": str(samples),
        "command": " ".join(["evalplus.evaluate", *arguments]),
        "parallel": parallel,
        "wall_seconds": round(wall, 1),
        "versions": figures["versions"],
        "pass_at_k": figures["pass_at_k"],
        "printed_pass_at_k": _printed_pass_at_k(finished.stdout),
        "samples": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("samples", type=Path, help="samples file (JSONL, or gzip-compressed JSONL)")
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("--output", type=Path, required=True, help="where to write the JSON")
    parser.add_argument("--parallel", type=int, default=2, help="EvalPlus's worker processes (default 2)")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="the EvalPlus virtualenv")
    parser.add_argument(
        "--problems", type=Path, help="a problem file of the dataset's format instead of its release"
    )
    parser.add_argument(
        "--time-limit-scale",
        type=float,
        default=1.0,
        help="multiply EvalPlus's time limits (1 s least, 4x the canonical time) by this",
    )
    parser.add_argument(
        "--memory-gib",
        type=float,
        help="a sample's address-space limit in GiB (EVALPLUS_MAX_MEMORY_BYTES; EvalPlus's default: 4)",
    )
    args = parser.parse_args(argv)
    if args.output.resolve() == args.samples.resolve():
        parser.error("--output would overwrite the samples file")
    result = run_oracle(
        args.samples,
        args.dataset,
        args.parallel,
        args.venv,
        args.problems,
        args.time_limit_scale,
        args.memory_gib,
    )
    partial = args.output.with_name(args.output.name + ".partial")
    partial.write_text(json.dumps(result, indent=1) + "\n")
    partial.replace(args.output)
    base, plus = result["pass_at_k"]["base"], result["pass_at_k"]["base+plus"]
    print(f"{args.dataset}: base {base}, base+plus {plus}, {result['wall_seconds']} s -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
