"""Gathering verdicts on the controller and summarizing them as counts and pass@k."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pytest_humaneval.evaluation import Evaluation
from pytest_humaneval.execution import OUTCOME_KINDS, PASSED, Verdict
from pytest_humaneval.metrics import PassAtK, mean_pass_at_k


@dataclass(frozen=True)
class ProblemRow:
    """One problem's line of the per-problem report."""

    task_id: str
    samples: int
    passed: int
    most_common_failure: str | None

    @property
    def pass_at_1(self) -> float:
        return self.passed / self.samples


def failure_label(verdict: Verdict) -> str:
    """What a failing verdict is, in a few words: its kind and the exception's class."""
    head = verdict.message.split(":", 1)[0].strip()
    return f"{verdict.kind}: {head}" if head and " " not in head else verdict.kind


@dataclass(frozen=True)
class Summary:
    """The measurement of a session: what ran, what passed, pass@k."""

    samples_source: str
    problems_source: str
    problems: int
    tasks_with_samples: int
    samples: int
    finished: int
    counts: dict[str, int]
    pass_at_k: list[PassAtK]
    tasks_without_samples: list[str]
    interrupted: bool
    harness_failures: int = 0
    """Samples whose verdict is "crashed" because the harness failed (not the sample)."""
    per_problem: list[ProblemRow] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return self.samples - self.finished

    @property
    def task_counts(self) -> list[tuple[str, int, int]]:
        """(task id, finished samples, passed samples) for each task with a finished sample."""
        return [(row.task_id, row.samples, row.passed) for row in self.per_problem]

    @property
    def partial(self) -> bool:
        """True when some task had no samples or some sample has no verdict."""
        return (
            bool(self.tasks_without_samples)
            or self.missing > 0
            or self.interrupted
            or self.harness_failures > 0
        )


class Tally:
    """Every sample's verdict, by input position, as reports arrive."""

    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        self.verdicts: list[Verdict | None] = [None] * len(evaluation.sample_set.samples)
        self.lost = 0
        self.positions = {sample.nodeid: sample.position for sample in evaluation.sample_set.samples}

    def record(self, position: int, verdict: Verdict) -> None:
        if 0 <= position < len(self.verdicts):
            self.verdicts[position] = verdict

    def record_lost(self, nodeid: str, message: str) -> int | None:
        """Record a sample whose item ended without a verdict (e.g. its worker died).

        Returns the sample's position, or None when it already had a verdict.
        """
        position = self.positions.get(nodeid)
        if position is None or self.verdicts[position] is not None:
            return None
        self.verdicts[position] = Verdict("crashed", message, 0.0)
        self.lost += 1
        return position

    def problem_rows(self) -> list[ProblemRow]:
        """Per problem with finished samples: counts and the most common kind of failure."""
        finished: dict[str, list[Verdict]] = {}
        for sample, verdict in zip(self.evaluation.sample_set.samples, self.verdicts, strict=True):
            if verdict is not None:
                finished.setdefault(sample.task_id, []).append(verdict)
        rows = []
        for task_id, verdicts in finished.items():
            failures = Counter(failure_label(v) for v in verdicts if v.kind != PASSED)
            common = failures.most_common(1)[0][0] if failures else None
            passed = sum(v.kind == PASSED for v in verdicts)
            rows.append(ProblemRow(task_id, len(verdicts), passed, common))
        return rows

    def summary(self, k_values: tuple[int, ...], interrupted: bool) -> Summary:
        """Counts per outcome and pass@k over the tasks that have finished samples."""
        counts = dict.fromkeys(OUTCOME_KINDS, 0)
        for verdict in self.verdicts:
            if verdict is not None:
                counts[verdict.kind] = counts.get(verdict.kind, 0) + 1
        per_problem = self.problem_rows()
        rows = [(row.task_id, row.samples, row.passed) for row in per_problem]
        with_samples = {sample.task_id for sample in self.evaluation.sample_set.samples}
        problems = self.evaluation.problem_set.problems
        return Summary(
            samples_source=self.evaluation.sample_set.source,
            problems_source=self.evaluation.problem_set.source,
            problems=len(problems),
            tasks_with_samples=len(with_samples),
            samples=len(self.verdicts),
            finished=sum(counts.values()),
            counts=counts,
            pass_at_k=[mean_pass_at_k(rows, k) for k in k_values],
            tasks_without_samples=[task for task in problems if task not in with_samples],
            interrupted=interrupted,
            harness_failures=self.lost,
            per_problem=per_problem,
        )
