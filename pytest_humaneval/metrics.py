"""pass@k: the unbiased estimator of the Codex paper, per task and over tasks.

numpy is imported on first use: it costs about 80 ms to import, and xdist workers,
which import this module with the plugin, never compute pass@k.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    import numpy as np

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


@functools.lru_cache(maxsize=4)
def _bootstrap_picks(tasks: int) -> np.ndarray:
    """The resampled tasks' indices, the same for every bootstrap over ``tasks`` tasks (the
    seed is fixed): drawn once, they are the bulk of a bootstrap's cost."""
    import numpy as np

    rng = np.random.default_rng(BOOTSTRAP_SEED)
    picks = rng.integers(0, tasks, size=(BOOTSTRAP_RESAMPLES, tasks))
    picks.flags.writeable = False
    return picks


@functools.lru_cache(maxsize=4)
def _bootstrap_weights(tasks: int) -> np.ndarray:
    """How many times each resample of :func:`_bootstrap_picks` picks each task."""
    import numpy as np

    picks = _bootstrap_picks(tasks)
    cells = (np.arange(BOOTSTRAP_RESAMPLES)[:, None] * tasks + picks).ravel()
    counts = np.bincount(cells, minlength=BOOTSTRAP_RESAMPLES * tasks)
    weights = counts.reshape(BOOTSTRAP_RESAMPLES, tasks).astype(np.float64)
    weights.flags.writeable = False
    return weights


def bootstrap_ci95_rows(per_task_rows: np.ndarray) -> list[tuple[float, float]]:
    """The :func:`bootstrap_ci95` of each row of a matrix (one row per figure, one column per
    task), the same resamples for every row, in one product of the rows with how often each
    resample picks each task: for rows of 0s and 1s (whether a problem's pick passed) the
    sums are whole numbers, so the intervals are exactly :func:`bootstrap_ci95`'s."""
    import numpy as np

    tasks = per_task_rows.shape[1]
    means = per_task_rows @ _bootstrap_weights(tasks).T / tasks
    lows, highs = np.percentile(means, [2.5, 97.5], axis=1)
    return [(float(low), float(high)) for low, high in zip(lows, highs, strict=True)]


def bootstrap_ci95(per_task: np.ndarray) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the mean of ``per_task``, resampling tasks.

    The seed is fixed, so the same data always give the same interval.
    """
    import numpy as np

    means = per_task[_bootstrap_picks(len(per_task))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def _per_task_pass_at_k(rows: list[tuple[str, int, int]], k: int) -> np.ndarray | str:
    """pass@k of each task given as (task id, samples, correct), or why it cannot be computed."""
    if not rows:
        return "no task has a finished sample"
    fewest_task, fewest = min(((task, n) for task, n, _ in rows), key=lambda row: row[1])
    if k > fewest:
        return f"needs {k} samples per task, {fewest_task} has {fewest}"
    import numpy as np

    return np.array([pass_at_k(n, c, k) for _, n, c in rows])


def mean_pass_at_k(counts: Iterable[tuple[str, int, int]], k: int) -> PassAtK:
    """Average pass@k over tasks given as (task id, samples, correct) with samples > 0."""
    per_task = _per_task_pass_at_k(list(counts), k)
    if isinstance(per_task, str):
        return PassAtK(k, None, per_task)
    return PassAtK(k, float(per_task.mean()), ci95=bootstrap_ci95(per_task))


@dataclass(frozen=True)
class PassAtKDifference(PassAtK):
    """pass@k of B minus pass@k of A over the tasks both have.

    Its ``ci95`` is paired: the bootstrap resamples the same tasks for both runs.
    """

    @property
    def excludes_zero(self) -> bool | None:
        """Whether the interval lies wholly on one side of 0 (None when not computable)."""
        if self.ci95 is None:
            return None
        return self.ci95[0] > 0.0 or self.ci95[1] < 0.0


def paired_difference(
    counts_a: Iterable[tuple[str, int, int]], counts_b: Iterable[tuple[str, int, int]], k: int
) -> PassAtKDifference:
    """pass@k of B minus that of A, both over the tasks with finished samples in both.

    The interval resamples tasks, the same ones for A and B (a paired bootstrap): it is the
    bootstrap interval of the mean of the per-task differences, with the same fixed seed.
    """
    in_b = {task: (n, c) for task, n, c in counts_b}
    shared_a = [(task, n, c) for task, n, c in counts_a if task in in_b]
    shared_b = [(task, *in_b[task]) for task, _, _ in shared_a]
    if not shared_a:
        return PassAtKDifference(k, None, "no task has finished samples in both")
    per_task_a = _per_task_pass_at_k(shared_a, k)
    per_task_b = _per_task_pass_at_k(shared_b, k)
    if isinstance(per_task_a, str) or isinstance(per_task_b, str):
        return PassAtKDifference(k, None, per_task_a if isinstance(per_task_a, str) else str(per_task_b))
    differences = per_task_b - per_task_a
    return PassAtKDifference(k, float(differences.mean()), ci95=bootstrap_ci95(differences))
