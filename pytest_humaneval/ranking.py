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
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_humaneval.errors import FieldError
from pytest_humaneval.metrics import (
    PassAtK,
    PassAtKDifference,
    bootstrap_ci95,
    bootstrap_ci95_rows,
    mean_pass_at_k,
)
from pytest_humaneval.model import Verdict

if TYPE_CHECKING:
    import numpy as np

LOGPROBS_FIELD = "logprobs"
DERIVED_FIELDS: dict[str, Callable[[float, int], float]] = {
    "mean_logprob": lambda total, tokens: total / tokens,
    "sum_logprob": lambda total, tokens: total,
}
"""The scores understood from ``logprobs`` (from their sum and number) when a sample has no
field of that name."""
MISSING_POLICIES = ("error", "exclude")
"""What a sample without the ranking's field does (``--humaneval-rank-missing``): stop the
session naming its line, or leave its problem out of the rankings (counted)."""


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _logprobs_total(record: dict[str, Any], field: str) -> tuple[float, int]:
    """The sum and the number of the sample's token log-probabilities; raises
    :class:`FieldError` unless they are a non-empty list of numbers."""
    logprobs = record[LOGPROBS_FIELD]
    try:  # fsum, in C, refuses what is not a number; the sum is finite if every term is
        total = math.fsum(logprobs) if isinstance(logprobs, list) and logprobs else math.nan
    except TypeError:
        total = math.nan
    if not math.isfinite(total):
        raise FieldError(
            f"field {LOGPROBS_FIELD!r} must be a non-empty list of numbers (the token "
            f"log-probabilities {field!r} is derived from)"
        )
    return total, len(logprobs)


def sample_scores(record: dict[str, Any], fields: tuple[str, ...]) -> list[float | None]:
    """The sample's score by each field, or None where it has none (its ``logprobs`` summed
    once for both derived scores); raises :class:`FieldError` for a value that is not a
    finite number."""
    scores: list[float | None] = []
    logprobs: tuple[float, int] | None = None
    for field in fields:
        value = record.get(field)
        if value is None and field in DERIVED_FIELDS and record.get(LOGPROBS_FIELD) is not None:
            logprobs = logprobs or _logprobs_total(record, field)
            scores.append(DERIVED_FIELDS[field](*logprobs))
        elif value is None:
            scores.append(None)
        elif _number(value):
            scores.append(float(value))
        else:
            raise FieldError(
                f"field {field!r} must be a finite number to rank by, found {type(value).__name__}"
            )
    return scores


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
        for (field, column), score in zip(
            self.scores.items(), sample_scores(record, self.fields), strict=True
        ):
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


@dataclass(frozen=True)
class RankedSelection:
    """One samples file ranked by one field: the pass rates of the top-ranked, a random and
    the best sample over the problems ranked, and what the curve of the top-ranked of k
    samples needs (each problem's samples, their scores and verdicts)."""

    field: str
    task_ids: list[str]
    """The problems ranked, in problem-file order."""
    scores: np.ndarray
    """The finished samples' scores, problem after problem, each problem's in file order."""
    passed: np.ndarray
    """Whether each of those samples passed."""
    starts: np.ndarray
    """Where each problem's samples start in :attr:`scores` and :attr:`passed`."""
    tops: np.ndarray
    """Whether each problem's top-ranked sample passed."""
    excluded: list[str]
    """Problems left out: some of their samples lack a field (``--humaneval-rank-missing``)."""
    top_ranked: Rate
    random: Rate
    """pass@1: a sample picked at random."""
    oracle: Rate
    """pass@n: some sample passes (an oracle picks it)."""

    @property
    def passes(self) -> dict[str, list[bool]]:
        """For each problem ranked, whether each finished sample passed, the top-ranked first
        (for the curve: the table needs only the top-ranked)."""
        ends = [*self.starts[1:].tolist(), len(self.scores)] if self.task_ids else []
        ranked = {}
        for task_id, start, end in zip(self.task_ids, self.starts.tolist(), ends, strict=True):
            order = sorted(range(start, end), key=lambda at: -self.scores[at])  # stable: ties in file order
            ranked[task_id] = [bool(self.passed[at]) for at in order]
        return ranked

    @property
    def top_passes(self) -> dict[str, float]:
        """1 for each problem whose top-ranked sample passes, else 0."""
        return dict(zip(self.task_ids, self.tops.astype(float).tolist(), strict=True))


NO_VERDICT, PASSES, DOES_NOT_PASS = 0, 1, 2
"""A sample's outcome as ranking reads it, one byte per sample (see ``Tally.outcomes``)."""


def outcome_code(verdict: Verdict) -> int:
    return PASSES if verdict.passed else DOES_NOT_PASS


def _first_highest(scores: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """In each group of ``scores`` (from each of ``starts``), the index of the highest, the
    first of equal ones: without sorting, so that ranking costs next to nothing."""
    import numpy as np

    sizes = np.diff(np.r_[starts, len(scores)])
    highest = np.repeat(np.maximum.reduceat(scores, starts), sizes)
    at_highest = np.flatnonzero(scores == highest)
    return at_highest[np.searchsorted(at_highest, starts)]


def ranked_selections(
    book: ScoreBook,
    task_ids: list[str],
    task_numbers: array[int],
    outcomes: bytes,
    first_position: int = 0,
    pass_at_1: PassAtK | None = None,
) -> list[RankedSelection]:
    """A samples file's selection by each field of ``book``, over its finished samples:
    highest score first, ties to the sample earlier in the file. The file's samples start at
    ``first_position``; each has its problem's number in ``task_numbers`` (an index of
    ``task_ids``) and its :func:`outcome_code` in ``outcomes``. ``pass_at_1``, the file's
    over every problem, is the random pick's figure when no problem is left out.

    A problem some of whose samples lack a field is left out of every ranking, so that the
    rankings, the random pick and the oracle are all over the same problems. It is all done
    in arrays, so that it adds no measurable time to the summary of a large run."""
    import numpy as np

    codes = np.frombuffer(outcomes, dtype=np.uint8)
    finished = codes != NO_VERDICT
    tasks = np.frombuffer(task_numbers, dtype=np.int64)[finished]
    end = first_position + len(codes)
    columns = [
        np.frombuffer(column, dtype=np.float64)[first_position:end][finished]
        for column in book.scores.values()
    ]
    lacking = np.zeros(len(task_ids), dtype=np.bool_)
    for scores in columns:
        lacking[tasks[np.isnan(scores)]] = True
    present = np.zeros(len(task_ids), dtype=np.bool_)
    present[tasks] = True
    excluded = [task_id for task_id, lacks in zip(task_ids, lacking.tolist(), strict=True) if lacks]
    ranked_ids = [
        task_id for task_id, ranked in zip(task_ids, (present & ~lacking).tolist(), strict=True) if ranked
    ]
    by_task = np.flatnonzero(~lacking[tasks])
    by_task = by_task[np.argsort(tasks[by_task], kind="stable")]  # problem after problem, in file order
    tasks, passed = tasks[by_task], codes[finished][by_task] == PASSES
    starts = np.flatnonzero(np.r_[True, tasks[1:] != tasks[:-1]]) if len(tasks) else tasks
    solved = np.add.reduceat(passed, starts) if len(tasks) else starts
    sizes = np.diff(np.r_[starts, len(tasks)])
    sorted_columns = [scores[by_task] for scores in columns]
    tops = [passed[_first_highest(scores, starts)] if len(tasks) else passed for scores in sorted_columns]
    figures = np.array([*tops, solved > 0], dtype=float)
    rates = [Rate(None)] * len(figures)
    if ranked_ids:
        rates = [
            Rate(float(row.mean()), interval)
            for row, interval in zip(figures, bootstrap_ci95_rows(figures), strict=True)
        ]
    *top_rates, oracle = rates
    if pass_at_1 is None or excluded:
        pass_at_1 = mean_pass_at_k(zip(ranked_ids, sizes.tolist(), solved.tolist(), strict=True), 1)
    random = Rate(pass_at_1.value, pass_at_1.ci95)
    return [
        RankedSelection(field, ranked_ids, scores, passed, starts, top, excluded, rate, random, oracle)
        for field, scores, top, rate in zip(book.scores, sorted_columns, tops, top_rates, strict=True)
    ]


def top_ranked_curve(selection: RankedSelection) -> list[PassAtK]:
    """The pass rate of the top-ranked of k samples drawn at random, for every k from 1 to
    the fewest samples of a problem ranked (the Codex paper's Figure 7), with its interval.

    Of k samples drawn from a problem's n, the top-ranked is the one at rank i (from 0) with
    probability S(i) - S(i + 1), where S(i) = C(n - i, k) / C(n, k) is the chance that all k
    rank at i or below; so the rate is a weighted sum of the problem's passes in ranked order.
    """
    import numpy as np

    passes = list(selection.passes.values())
    fewest = min(map(len, passes), default=0)
    if not fewest:
        return []
    ks = np.arange(1, fewest + 1)[:, None]
    per_task = np.empty((fewest, len(passes)))
    for column, ranked in enumerate(passes):
        n = len(ranked)
        ranks = np.arange(n)[None, :]
        below = np.cumprod(np.clip(n - ranks - ks, 0, None) / (n - ranks), axis=1)
        all_at_or_below = np.hstack([np.ones((fewest, 1)), below])
        per_task[:, column] = (all_at_or_below[:, :-1] - all_at_or_below[:, 1:]) @ np.array(
            ranked, dtype=float
        )
    intervals = bootstrap_ci95_rows(per_task)
    return [
        PassAtK(k, float(per_task[k - 1].mean()), ci95=interval)
        for k, interval in zip(range(1, fewest + 1), intervals, strict=True)
    ]


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
