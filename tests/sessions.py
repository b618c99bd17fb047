"""Helpers for tests that start real pytest sessions on the demo set.

The demo set (``problems/demo.jsonl`` + ``problems/demo-samples.jsonl``) has 12
samples, 3 per task; in file order their outcomes are ``DEMO_OUTCOMES``:
6 passed, 3 failed, 2 error, 1 timed out, pass@1 = 0.5.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
DEMO_PROBLEMS = REPOSITORY / "problems" / "demo.jsonl"
DEMO_SAMPLES = REPOSITORY / "problems" / "demo-samples.jsonl"
SUBPROCESS_TIMEOUT = 180

DEMO_OUTCOMES = [
    "passed",
    "failed",
    "passed",
    "passed",
    "error",
    "passed",
    "passed",
    "timed out",
    "failed",
    "failed",
    "passed",
    "error",
]
DEMO_TEST_IDS = [f"Demo/{task}[{index}]" for task in range(4) for index in range(3)]
DEMO_NODE_IDS = [f"{test_id[:6]}::{test_id}" for test_id in DEMO_TEST_IDS]


def demo_args(*extra: str, samples: str | Path = DEMO_SAMPLES) -> list[str]:
    return [
        f"--humaneval-problems={DEMO_PROBLEMS}",
        f"--humaneval-samples={samples}",
        "--humaneval-timeout=1",
        *extra,
    ]


def run(pytester: pytest.Pytester, *args: str | Path) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*args, timeout=SUBPROCESS_TIMEOUT)


def text_of(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines + result.errlines)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_results(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def copy_demo_files(directory: Path) -> None:
    (directory / "demo.jsonl").write_bytes(DEMO_PROBLEMS.read_bytes())
    (directory / "demo-samples.jsonl").write_bytes(DEMO_SAMPLES.read_bytes())


def fingerprints(*paths: Path) -> dict[str, str]:
    """Each file's digest (or "absent"): to check that a session left them byte for byte."""
    return {
        str(path): hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"
        for path in paths
    }
