"""The demo set, what it is known to give, and the inputs tests build from it.

The demo set (``problems/demo.jsonl`` + ``problems/demo-samples.jsonl``) has 12
samples, 3 per task; in file order their outcomes are ``DEMO_OUTCOMES``:
6 passed, 3 failed, 2 error, 1 timed out, pass@1 = 0.5.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[2]
SHARED_DATA = REPOSITORY.parent / "shared" / "data"
DEMO_PROBLEMS = REPOSITORY / "problems" / "demo.jsonl"
DEMO_SAMPLES = REPOSITORY / "problems" / "demo-samples.jsonl"

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
DEMO_COUNTS = {"passed": 6, "failed": 3, "error": 2, "timed out": 1, "crashed": 0}
DEMO_TEST_IDS = [f"Demo/{task}[{index}]" for task in range(4) for index in range(3)]
DEMO_NODE_IDS = [f"{test_id[:6]}::{test_id}" for test_id in DEMO_TEST_IDS]
DEMO_FAILING = [node for node, kind in zip(DEMO_NODE_IDS, DEMO_OUTCOMES, strict=True) if kind != "passed"]


def demo_sample_lines() -> list[str]:
    """The lines of the demo samples file, as written."""
    return DEMO_SAMPLES.read_text(encoding="utf-8").splitlines()


def demo_records() -> list[dict[str, Any]]:
    """The demo samples, parsed: to change some and write them anew."""
    return [json.loads(line) for line in demo_sample_lines()]


def copy_demo_files(directory: Path) -> None:
    """The demo problems and samples as ``demo.jsonl`` and ``demo-samples.jsonl`` in ``directory``,
    for a project that names them relative to its ini file."""
    (directory / "demo.jsonl").write_bytes(DEMO_PROBLEMS.read_bytes())
    (directory / "demo-samples.jsonl").write_bytes(DEMO_SAMPLES.read_bytes())
