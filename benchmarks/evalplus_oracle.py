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

The output has, per sample in file order, its ``task_id``, ``base_status`` and
``plus_status``; pass@k on the base tests and on base + plus as EvalPlus computes them (its
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

PASS_AT_K = """
import json, sys
import numpy, evalplus
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
print(json.dumps({"pass_at_k": pass_at_k, "versions": versions}))
"""
"""Run by the venv's Python on EvalPlus's results: pass@k with EvalPlus's estimator and conditions."""

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


def _per_sample(
    samples: list[dict[str, Any]], results: dict[str, Any], prompts: dict[str, str]
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
            rows.append({"task_id": task_id, "base_status": None, "plus_status": None})
            continue
        index = taken.get(task_id, 0)
        taken[task_id] = index + 1
        result = results[task_id][index]
        solution = sample["solution"] if "solution" in sample else prompts[task_id] + sample["completion"]
        if result["solution"] != solution:
            raise SystemExit(
                f"EvalPlus's results do not line up with the samples at {task_id} sample {index}"
            )
        rows.append(
            {"task_id": task_id, "base_status": result["base_status"], "plus_status": result["plus_status"]}
        )
    return rows


def run_oracle(samples: Path, dataset: str, parallel: int, venv: Path) -> dict[str, Any]:
    """Run ``evalplus.evaluate`` on a copy of ``samples`` in a temporary directory and
    return the normalized result (see the module's docstring)."""
    evalplus_dataset, flags, release, override = DATASETS[dataset]
    python = venv / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"no EvalPlus venv at {venv}: run benchmarks/evalplus_venv.sh first")
    with tempfile.TemporaryDirectory(prefix="evalplus-oracle-") as directory:
        work = Path(directory)
        problems = _decompressed(DATA / release, work / release.removesuffix(".gz"))
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
        arguments = [evalplus_dataset, *flags, "--samples", copy.name, "--parallel", str(parallel)]
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
            [str(python), "-c", PASS_AT_K, str(results_path)],
            env=environment, capture_output=True, text=True, check=True,
        )  # fmt: skip
        figures = json.loads(computed.stdout)
        prompts = {problem["task_id"]: problem["prompt"] for problem in _records(problems)}
        rows = _per_sample(_records(copy), json.load(results_path.open())["eval"], prompts)
    return {
        "dataset": dataset,
        "release": release,
        "release_sha256": hashlib.sha256((DATA / release).read_bytes()).hexdigest(),
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
    args = parser.parse_args(argv)
    if args.output.resolve() == args.samples.resolve():
        parser.error("--output would overwrite the samples file")
    result = run_oracle(args.samples, args.dataset, args.parallel, args.venv)
    partial = args.output.with_name(args.output.name + ".partial")
    partial.write_text(json.dumps(result, indent=1) + "\n")
    partial.replace(args.output)
    base, plus = result["pass_at_k"]["base"], result["pass_at_k"]["base+plus"]
    print(f"{args.dataset}: base {base}, base+plus {plus}, {result['wall_seconds']} s -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
