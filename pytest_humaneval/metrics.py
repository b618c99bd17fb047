"""pass@k: the unbiased estimator of the Codex paper, per task and over tasks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of ``k`` of ``n`` samples, ``c`` of them correct, passes.

    ``1 - C(n - c, k) / C(n, k)``, computed as a product so it stays exact for
    large ``n`` (the form used by the Codex paper's reference code).
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


@dataclass(frozen=True)
class PassAtK:
    """pass@k over the tasks, its 95% interval, or why it cannot be computed."""

    k: int
    value: float | None
    reason: str = ""
    ci95: tuple[float, float] | None = None
    """Percentile bootstrap over tasks (BOOTSTRAP_RESAMPLES resamples, fixed seed)."""


BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20211


def bootstrap_ci95(per_task: np.ndarray) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the mean of ``per_task``, resampling tasks.

    The seed is fixed, so the same data always give the same interval.
    """
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    picks = rng.integers(0, len(per_task), size=(BOOTSTRAP_RESAMPLES, len(per_task)))
    means = per_task[picks].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def mean_pass_at_k(counts: Iterable[tuple[str, int, int]], k: int) -> PassAtK:
    """Average pass@k over tasks given as (task id, samples, correct) with samples > 0."""
    rows = list(counts)
    if not rows:
        return PassAtK(k, None, "no task has a finished sample")
    fewest_task, fewest = min(((task, n) for task, n, _ in rows), key=lambda row: row[1])
    if k > fewest:
        reason = f"needs {k} samples per task, {fewest_task} has {fewest}"
        return PassAtK(k, None, reason)
    per_task = np.array([pass_at_k(n, c, k) for _, n, c in rows])
    return PassAtK(k, float(per_task.mean()), ci95=bootstrap_ci95(per_task))
