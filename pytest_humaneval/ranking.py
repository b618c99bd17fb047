"""Ranked selection (``--humaneval-rank``): how often the one sample a ranking picks for a
problem passes, beside a random pick (pass@1) and an oracle (pass@n), as the Codex paper
reports it (its Figure 7).

A sample's score is a field of its line (``mean_logprob``, ...); ``mean_logprob`` and
``sum_logprob``, when absent, are derived from ``logprobs``, the list of the completion's
token log-probabilities. The highest score ranks first; of samples with equal scores the
one earlier in its file ranks first, so the same samples always pick the same one.

Imports the metrics, the errors and the domain types; numpy on first use.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_humaneval.errors import FieldError
from pytest_humaneval.metrics import PassAtK, PassAtKDifference, bootstrap_ci95
from pytest_humaneval.model import SampleEntry, Verdict

if TYPE_CHECKING:
    import numpy as np

LOGPROBS_FIELD = "logprobs"
DERIVED_FIELDS: dict[str, Callable[[list[float]], float]] = {
    "mean_logprob": lambda logprobs: math.fsum(logprobs) / len(logprobs),
    "sum_logprob": math.fsum,
}
"""The scores understood from ``logprobs`` when a sample has no field of that name."""
MISSING_POLICIES = ("error", "exclude")
"""What a sample without the ranking's field does (``--humaneval-rank-missing``): stop the
session naming its line, or leave its problem out of that ranking (counted)."""


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def sample_score(record: dict[str, Any], field: str) -> float | None:
    """The sample's score by ``field``, or None when it has none; raises :class:`FieldError`
    when the value is not a finite number."""
    value = record.get(field)
    if value is None and field in DERIVED_FIELDS and record.get(LOGPROBS_FIELD) is not None:
        logprobs = record[LOGPROBS_FIELD]
        if not isinstance(logprobs, list) or not logprobs or not all(map(_number, logprobs)):
            raise FieldError(
                f"field {LOGPROBS_FIELD!r} must be a non-empty list of numbers (the token "
                f"log-probabilities {field!r} is derived from)"
            )
        return DERIVED_FIELDS[field]([float(logprob) for logprob in logprobs])
    if value is None:
        return None
    if not _number(value):
        raise FieldError(f"field {field!r} must be a finite number to rank by, found {type(value).__name__}")
    return float(value)


class ScoreBook:
    """Each sample's score by each ranking field, by position in the session (NaN: none), as
    the samples are read: their text is not read again for it."""

    def __init__(self, fields: tuple[str, ...], exclude_missing: bool) -> None:
        self.fields = fields
        self.exclude_missing = exclude_missing
        self.scores = {field: array("d") for field in fields}

    def note(self, position: int, record: dict[str, Any]) -> None:
        """Keep the sample's scores; raises :class:`FieldError` for one it lacks (unless
        problems without it are excluded) or cannot use."""
        for field, column in self.scores.items():
            score = sample_score(record, field)
            if score is None:
                if not self.exclude_missing:
                    derived = f" or {LOGPROBS_FIELD!r}" if field in DERIVED_FIELDS else ""
                    raise FieldError(
                        f"the sample has no field {field!r}{derived} to rank by (--humaneval-rank); "
                        "--humaneval-rank-missing=exclude leaves out the problems whose samples lack it"
                    )
                score = math.nan
            if position >= len(column):
                column.extend([math.nan] * (position + 1 - len(column)))
            column[position] = score


@dataclass(frozen=True)
class Rate:
    """A pass rate over problems and its 95% interval (the bootstrap of pass@k); None when
    no problem has one."""

    value: float | None
    ci95: tuple[float, float] | None = None


def mean_rate(per_task: np.ndarray) -> Rate:
    """The mean of per-problem rates with its bootstrap interval over problems."""
    if not len(per_task):
        return Rate(None)
    return Rate(float(per_task.mean()), bootstrap_ci95(per_task))


@dataclass(frozen=True)
class RankedSelection:
    """One samples file ranked by one field: each problem's verdicts in ranked order, and the
    pass rates of the top-ranked, a random and the best sample over the problems ranked."""

    field: str
    passes: dict[str, list[bool]]
    """For each problem ranked, whether each finished sample passed, the top-ranked first."""
    excluded: list[str]
    """Problems left out: some of their samples lack the field (``--humaneval-rank-missing``)."""
    top_ranked: Rate
    random: Rate
    """pass@1: a sample picked at random."""
    oracle: Rate
    """pass@n: some sample passes (an oracle picks it)."""

    @property
    def top_passes(self) -> dict[str, float]:
        """1 for each problem whose top-ranked sample passes, else 0."""
        return {task_id: float(passes[0]) for task_id, passes in self.passes.items()}


def ranked_selection(
    field: str, tasks: dict[str, list[tuple[float, bool]]], excluded: list[str]
) -> RankedSelection:
    """The selection by ``field`` from each problem's finished samples (score, passed), in
    file order, but the ``excluded``: highest score first, ties to the earlier sample
    (``sorted`` is stable)."""
    import numpy as np

    left_out = set(excluded)
    passes = {
        task_id: [passed for _, passed in sorted(samples, key=lambda sample: -sample[0])]
        for task_id, samples in tasks.items()
        if task_id not in left_out
    }
    counts = [(sum(task), len(task)) for task in passes.values()]
    return RankedSelection(
        field,
        passes,
        excluded,
        mean_rate(np.array([float(task[0]) for task in passes.values()])),
        mean_rate(np.array([passed / n for passed, n in counts])),
        mean_rate(np.array([float(passed > 0) for passed, _ in counts])),
    )


def ranked_selections(
    book: ScoreBook, entries: Sequence[SampleEntry], verdicts: Sequence[Verdict | None]
) -> list[RankedSelection]:
    """A samples file's selection by each field of ``book``, over its finished samples.

    A problem some of whose samples lack a field is left out of every ranking, so that the
    rankings, the random pick and the oracle are all over the same problems."""
    by_field: dict[str, dict[str, list[tuple[float, bool]]]] = {}
    excluded: dict[str, None] = {}
    for field, scores in book.scores.items():
        tasks = by_field[field] = {}
        for entry, verdict in zip(entries, verdicts, strict=True):
            if verdict is not None:
                score = scores[entry.position]
                tasks.setdefault(entry.task_id, []).append((score, verdict.passed))
                if math.isnan(score):
                    excluded[entry.task_id] = None
    return [ranked_selection(field, tasks, list(excluded)) for field, tasks in by_field.items()]


def top_ranked_curve(selection: RankedSelection) -> list[PassAtK]:
    """The pass rate of the top-ranked of k samples drawn at random, for every k from 1 to
    the fewest samples of a problem ranked (the Codex paper's Figure 7), with its interval.

    Of k samples drawn from a problem's n, the top-ranked is the one at rank i (from 0) with
    probability S(i) - S(i + 1), where S(i) = C(n - i, k) / C(n, k) is the chance that all k
    rank at i or below; so the rate is a weighted sum of the problem's passes in ranked order.
    """
    import numpy as np

    fewest = min((len(passes) for passes in selection.passes.values()), default=0)
    ks = np.arange(1, fewest + 1)[:, None]
    per_task = np.empty((fewest, len(selection.passes)))
    for column, passes in enumerate(selection.passes.values()):
        n = len(passes)
        ranks = np.arange(n)[None, :]
        ratios = np.clip(n - ranks - ks, 0, None) / (n - ranks)
        below = np.hstack([np.ones((fewest, 1)), np.cumprod(ratios, axis=1)])
        per_task[:, column] = (below[:, :-1] - below[:, 1:]) @ np.array(passes, dtype=float)
    curve = []
    for k in range(1, fewest + 1):
        rate = mean_rate(per_task[k - 1])
        curve.append(PassAtK(k, rate.value, ci95=rate.ci95))
    return curve


def ranked_difference(a: RankedSelection, b: RankedSelection) -> PassAtKDifference:
    """B's top-ranked pass rate minus A's over the problems both ranked, with the paired
    bootstrap interval of pass@k's comparisons (its ``k`` is 1: one sample is picked)."""
    import numpy as np

    tops_a, tops_b = a.top_passes, b.top_passes
    shared = [task_id for task_id in tops_a if task_id in tops_b]
    if not shared:
        return PassAtKDifference(1, None, f"no problem is ranked by {a.field!r} in both")
    differences = np.array([tops_b[task_id] - tops_a[task_id] for task_id in shared])
    return PassAtKDifference(1, float(differences.mean()), ci95=bootstrap_ci95(differences))
