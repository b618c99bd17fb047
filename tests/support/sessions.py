"""Starting real pytest sessions (each in a subprocess of its own) on the demo set.

Tests get a ``RunHumaneval`` as the ``run_humaneval`` fixture (``tests/conftest.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from support.problems import DEMO_PROBLEMS, DEMO_SAMPLES

SUBPROCESS_TIMEOUT = 180
"""Seconds a session may take: far more than any takes on a loaded machine, so that a hang fails."""


def demo_args(*extra: str, samples: str | Path = DEMO_SAMPLES) -> list[str]:
    """The command line of a session on the demo problems (and by default the demo samples)."""
    return [
        f"--humaneval-problems={DEMO_PROBLEMS}",
        f"--humaneval-samples={samples}",
        "--humaneval-timeout=1",
        *extra,
    ]


def serial(worker_args: list[str]) -> bool:
    """Whether ``worker_args`` (the fixture) run the session without xdist workers."""
    return worker_args == ["-n", "0"]


@dataclass(frozen=True)
class RunHumaneval:
    """Runs pytest in ``pytester``'s directory, in a subprocess: the plugin is loaded the way a
    user's session loads it, and a session that hangs is stopped after ``timeout`` seconds."""

    pytester: pytest.Pytester

    def __call__(self, *args: str | Path, timeout: float = SUBPROCESS_TIMEOUT) -> pytest.RunResult:
        return self.pytester.runpytest_subprocess(*args, timeout=timeout)


def run_shards(
    run_humaneval: RunHumaneval, count: int, args: list[str], name: str = "shard"
) -> list[pytest.RunResult]:
    """Shards 1/count to count/count, each writing ``{name}-{I}-of-{count}.jsonl``."""
    return [
        run_humaneval(
            *args,
            f"--humaneval-shard={number}/{count}",
            f"--humaneval-results={name}-{number}-of-{count}.jsonl",
        )
        for number in range(1, count + 1)
    ]
