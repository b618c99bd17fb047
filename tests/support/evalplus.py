"""A small hand-written EvalPlus problem file and its samples, for the sessions that judge by
inputs (``test_evalplus_sessions``, ``test_selection``).

Its samples pass both suites, pass base and fail plus, fail both, hang on one plus input (a
failure, as in EvalPlus: the input's own limit) and hang before any input (the suites'
limits: a timeout).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PROBLEMS = [
    {
        "task_id": "Plus/0",
        "prompt": "def add(a, b):\n",
        "entry_point": "add",
        "canonical_solution": "    return a + b\n",
        "base_input": [[1, 2], [3, 4]],
        "plus_input": [[10**6, 1], [-5, 5], [0, 0]],
        "atol": 0,
    },
    {
        "task_id": "Plus/1",
        "prompt": "def mean(xs):\n",
        "entry_point": "mean",
        "canonical_solution": "    return sum(xs) / len(xs)\n",
        "base_input": [[[1.0, 2.0]]],
        "plus_input": [[[0.1, 0.2, 0.3]], [[1e-3, 2e-3]]],
        "atol": 1e-6,
    },
    {
        "task_id": "Plus/2",
        "prompt": "def count_up(n):\n",
        "entry_point": "count_up",
        "canonical_solution": "    return list(range(n))\n",
        "base_input": [[3]],
        "plus_input": [[0], [50]],
        "atol": 0,
    },
]
SAMPLES: list[tuple[str, str, tuple[str, str, str]]] = [
    # task, completion, (outcome, base status, plus status)
    ("Plus/0", "    return a + b\n", ("passed", "pass", "pass")),
    ("Plus/0", "    return a + b if abs(a) < 100 else 0\n", ("passed", "pass", "fail")),
    ("Plus/0", "    return a - b\n", ("failed", "fail", "fail")),
    ("Plus/0", "    while a == b == 0:\n        pass\n    return a + b\n", ("passed", "pass", "fail")),
    ("Plus/1", "    return sum(xs) / len(xs) + 1e-9\n", ("passed", "pass", "pass")),  # within atol
    ("Plus/1", "    return sum(xs)\n", ("failed", "fail", "fail")),
    ("Plus/2", "    return list(range(n))\n", ("passed", "pass", "pass")),
    ("Plus/2", "    return list(range(n))\nwhile True:\n    pass\n", ("timed out", "timeout", "timeout")),
]
EXPECTED_LINE = "expected outputs of 3 problems: 3 computed, 0 from the cache"
PASS_AT_1 = (3 / 4 + 1 / 2 + 1 / 2) / 3
PASS_AT_1_PLUS = (1 / 4 + 1 / 2 + 1 / 2) / 3


def write_files(
    directory: Path,
    problems: list[dict[str, Any]] = PROBLEMS,
    samples: list[tuple[str, str]] | None = None,
    samples_name: str = "samples.jsonl",
) -> None:
    """``plus.jsonl`` (the problems) and a samples file (by default ``SAMPLES``'s completions)."""
    completions = samples if samples is not None else [(task, completion) for task, completion, _ in SAMPLES]
    (directory / "plus.jsonl").write_text("".join(json.dumps(p) + "\n" for p in problems))
    rows = [{"task_id": task, "completion": completion} for task, completion in completions]
    (directory / samples_name).write_text("".join(json.dumps(r) + "\n" for r in rows))


def plus_args(*extra: str) -> list[str]:
    return [
        "--humaneval-problems=plus.jsonl",
        "--humaneval-samples=samples.jsonl",
        "--humaneval-results=results.jsonl",
        "--humaneval-json=summary.json",
        "--humaneval-k=1",
        *extra,
    ]


def judged(records: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(r["outcome"], r["base_status"], r["plus_status"]) for r in records]
