"""Readers of what a session printed (its terminal lines) and wrote (its output files)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

OUTCOME_LINE = re.compile(r"(passed|failed|error|timed out|crashed) (\d+)")


def text_of(result: pytest.RunResult) -> str:
    """Everything the session printed: for an assertion's message."""
    return "\n".join(result.outlines + result.errlines)


def error_lines(result: pytest.RunResult) -> list[str]:
    """The ``ERROR:`` lines, on either stream: a usage error is exactly one of them."""
    return [line for line in result.outlines + result.errlines if line.startswith("ERROR:")]


def table_counts(result: pytest.RunResult) -> dict[str, int]:
    """The ``outcomes`` line of the humaneval table as a dict."""
    lines = [line for line in result.outlines if line.startswith("outcomes  ")]
    assert len(lines) == 1, text_of(result)
    return {kind: int(count) for kind, count in OUTCOME_LINE.findall(lines[0])}


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_results(path: Path) -> list[dict[str, Any]]:
    """A results file: one record per line."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def fingerprints(*paths: Path) -> dict[str, str]:
    """Each file's digest (or "absent"): to check that a session left them byte for byte."""
    return {
        str(path): hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"
        for path in paths
    }
