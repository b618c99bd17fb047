"""Gathering verdicts on the controller and summarizing them as counts and pass@k.

Imports the domain, the metrics, the ranking, the temperatures and the samples files' index;
nothing that runs samples, so the outputs can take its summaries.
"""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pytest_humaneval.loading import SampleSet
from pytest_humaneval.metrics import PassAtK, PassAtKDifference, mean_pass_at_k, paired_difference
from pytest_humaneval.model import OUTCOME_KINDS, PASSED, ProblemSet, Sample, Verdict
from pytest_humaneval.ranking import (
    RankedSelection,
    ScoreBook,
    outcome_code,
    ranked_difference,
    ranked_selections,
)
from pytest_humaneval.temperature import (
    NO_TEMPERATURE,
    BestTemperatures,
    FileTemperature,
    TemperatureBook,
    best_per_k,
    file_temperatures,
)

FAILING_INPUTS_KEPT = 3
"""How many of a problem's most often failed inputs the report and the JSON summary keep."""


@dataclass(frozen=True)
class FailingInput:
    """An EvalPlus input that was the first failed input of some of a problem's samples."""

    suite: str
    index: int
    input: str
    """The input's repr, as the sandbox capped it (see ``FailedInput``)."""
    samples: int
    """How many samples failed first on it."""


def failing_inputs(verdicts: list[Verdict]) -> list[FailingInput]:
    """The inputs most samples failed first on, most first (ties: base before plus, by
    index): where a problem's failures concentrate, which one failed input does not show."""
    counts = Counter(
        (failed.suite, failed.index, failed.input)
        for failed in (verdict.failed_input for verdict in verdicts)
        if failed is not None
    )
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0][0] != "base", item[0][1]))
    return [FailingInput(*where, samples) for where, samples in ranked[:FAILING_INPUTS_KEPT]]


@dataclass(frozen=True)
class ProblemRow:
    """One problem's line of the per-problem report."""

    task_id: str
    samples: int
    passed: int
    most_common_failure: str | None
    passed_plus: int = 0
    """Samples that passed EvalPlus's base and plus inputs (see ``Verdict.passed_plus``)."""
    failing_inputs: list[FailingInput] = field(default_factory=list)
    """For an EvalPlus problem, the inputs its samples most often failed first on."""

    @property
    def pass_at_1(self) -> float:
        return self.passed / self.samples


def failure_label(verdict: Verdict) -> str:
    """What a failing verdict is, in a few words: its kind and the exception's class."""
    head = verdict.message.split(":", 1)[0].strip()
    return f"{verdict.kind}: {head}" if head and " " not in head else verdict.kind


@dataclass(frozen=True)
class Summary:
    """The measurement of one samples file: what ran, what passed, pass@k."""

    label: str
    """The file's short name (its label in node ids when the session has several files)."""
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
    pass_at_k_plus: list[PassAtK] | None = None
    """EvalPlus's pass@k on base + plus inputs, when problems with samples have EvalPlus's
    inputs (else None)."""
    ranked: list[RankedSelection] = field(default_factory=list)
    """The selection by each ``--humaneval-rank`` field, in the order given."""
    temperature: FileTemperature = NO_TEMPERATURE
    """The file's sampling temperature, if it has one (see ``temperature``)."""

    @property
    def missing(self) -> int:
        return self.samples - self.finished

    @property
    def task_counts(self) -> list[tuple[str, int, int]]:
        """(task id, finished samples, passed samples) for each task with a finished sample."""
        return [(row.task_id, row.samples, row.passed) for row in self.per_problem]

    @property
    def task_counts_plus(self) -> list[tuple[str, int, int]]:
        """Like :attr:`task_counts`, with the samples that passed base and plus inputs."""
        return [(row.task_id, row.samples, row.passed_plus) for row in self.per_problem]

    @property
    def partial(self) -> bool:
        """True when some task had no samples or some sample has no verdict."""
        return (
            bool(self.tasks_without_samples)
            or self.missing > 0
            or self.interrupted
            or self.harness_failures > 0
        )


@dataclass(frozen=True)
class Comparison:
    """pass@k of run B minus that of run A, for each k, paired over the problems both have."""

    a: Summary
    b: Summary
    differences: list[PassAtKDifference]
    differences_plus: list[PassAtKDifference] | None = None
    """The same for EvalPlus's pass@k on base + plus inputs, when both runs have it."""
    ranked_differences: list[tuple[str, PassAtKDifference]] = field(default_factory=list)
    """The top-ranked pass rate of B minus A's, by ranking field, paired likewise."""

    @property
    def shared_problems(self) -> int:
        """How many problems have finished samples in both runs."""
        return len({row.task_id for row in self.a.per_problem} & {row.task_id for row in self.b.per_problem})

    @property
    def named_differences(self) -> list[tuple[str, PassAtKDifference]]:
        """Every difference with its name as the outputs show it (``pass@K``, ``pass@K+``)."""
        named = [(f"pass@{d.k}", d) for d in self.differences]
        return named + [(f"pass@{d.k}+", d) for d in self.differences_plus or []]


def comparisons(summaries: list[Summary], k_values: tuple[int, ...]) -> list[Comparison]:
    """Each run after the first against the first (the baseline); on base + plus inputs too
    when both runs have EvalPlus's problems (a model can gain on base and lose on plus)."""
    baseline = summaries[0]

    def paired(a: list[tuple[str, int, int]], b: list[tuple[str, int, int]]) -> list[PassAtKDifference]:
        return [paired_difference(a, b, k) for k in k_values]

    return [
        Comparison(
            baseline,
            other,
            paired(baseline.task_counts, other.task_counts),
            paired(baseline.task_counts_plus, other.task_counts_plus)
            if baseline.pass_at_k_plus is not None and other.pass_at_k_plus is not None
            else None,
            [(a.field, ranked_difference(a, b)) for a, b in zip(baseline.ranked, other.ranked, strict=True)],
        )
        for other in summaries[1:]
    ]


def best_temperatures(summaries: list[Summary]) -> BestTemperatures | None:
    """For each k, the samples file (temperature) with the highest pass@k; None when the
    files carry no temperature."""
    return best_per_k(
        [summary.temperature for summary in summaries],
        [summary.pass_at_k for summary in summaries],
        [summary.label for summary in summaries],
    )


class SampleFields:
    """What a session keeps of the samples' own fields, noted as they are read (the samples
    files, or a merge's shards): the scores to rank them by, and their temperatures."""

    def __init__(self, rank: tuple[str, ...], exclude_missing: bool) -> None:
        self.scores = ScoreBook(rank, exclude_missing) if rank else None
        self.temperatures = TemperatureBook()

    def note(self, file_index: int, position: int, record: dict[str, Any]) -> None:
        """Raises ``FieldError`` for a score the sample lacks or that cannot rank."""
        if self.scores is not None:
            self.scores.note(position, record)
        self.temperatures.note(file_index, record)

    def note_sample(self, file_index: int, sample: Sample) -> None:
        self.note(file_index, sample.entry.position, sample.record)


class Tally:
    """Every sample's verdict, by position in the session, as reports arrive."""

    def __init__(
        self,
        problem_set: ProblemSet,
        sample_sets: list[SampleSet],
        fields: SampleFields | None = None,
        temperatures: tuple[float, ...] = (),
    ) -> None:
        """``temperatures``: each file's, as given (``--humaneval-temperature``); else the
        ``fields``' samples carry them, if they do."""
        self.problem_set = problem_set
        self.sample_sets = sample_sets
        self.scores = fields.scores if fields is not None else None
        """Each sample's scores by the ``--humaneval-rank`` fields (None: no ranking asked)."""
        self.task_ids = list(problem_set.problems)
        self.task_numbers = array("q")
        """Each sample's problem, as an index of :attr:`task_ids`, by position (for ranking)."""
        self.outcomes = bytearray()
        """Each sample's ``outcome_code``, by position, kept as verdicts arrive (for ranking)."""
        book = fields.temperatures if fields is not None else TemperatureBook()
        self.temperatures = file_temperatures(temperatures, book, len(sample_sets))
        entries = [entry for sample_set in sample_sets for entry in sample_set.entries]
        self.verdicts: list[Verdict | None] = [None] * len(entries)
        self.lost: set[int] = set()
        """Positions of the samples that got no verdict of their own (counted as crashed)."""
        self.positions = {entry.nodeid: entry.position for entry in entries}
        if self.scores is not None:
            numbers = {task_id: number for number, task_id in enumerate(self.task_ids)}
            self.task_numbers = array("q", [numbers[entry.task_id] for entry in entries])
            self.outcomes = bytearray(len(entries))

    def record(self, position: int, verdict: Verdict) -> None:
        if 0 <= position < len(self.verdicts):
            self.verdicts[position] = verdict
            if self.outcomes:
                self.outcomes[position] = outcome_code(verdict)

    def record_lost(self, nodeid: str, message: str) -> int | None:
        """Record a sample whose item ended without a verdict (e.g. its worker died).

        Returns the sample's position, or None when it already had a verdict.
        """
        position = self.positions.get(nodeid)
        if position is None or self.verdicts[position] is not None:
            return None
        self.record(position, Verdict("crashed", message, 0.0))
        self.lost.add(position)
        return position

    def verdicts_of(self, sample_set: SampleSet) -> list[Verdict | None]:
        """The verdicts of one file's samples, in file order."""
        first = sample_set.entries[0].position
        return self.verdicts[first : first + len(sample_set.entries)]

    def problem_rows(self, sample_set: SampleSet) -> list[ProblemRow]:
        """Per problem with finished samples in the file: counts and the most common kind of failure."""
        finished: dict[str, list[Verdict]] = {}
        for entry, verdict in zip(sample_set.entries, self.verdicts_of(sample_set), strict=True):
            if verdict is not None:
                finished.setdefault(entry.task_id, []).append(verdict)
        rows = []
        for task_id, verdicts in finished.items():
            failures = Counter(failure_label(v) for v in verdicts if v.kind != PASSED)
            common = failures.most_common(1)[0][0] if failures else None
            passed = sum(v.kind == PASSED for v in verdicts)
            passed_plus = sum(v.passed_plus for v in verdicts)
            rows.append(
                ProblemRow(task_id, len(verdicts), passed, common, passed_plus, failing_inputs(verdicts))
            )
        return rows

    def summary(
        self,
        sample_set: SampleSet,
        k_values: tuple[int, ...],
        interrupted: bool,
        temperature: FileTemperature = NO_TEMPERATURE,
    ) -> Summary:
        """One file's counts per outcome and pass@k over its tasks that have finished samples."""
        verdicts = self.verdicts_of(sample_set)
        counts = dict.fromkeys(OUTCOME_KINDS, 0)
        for verdict in verdicts:
            if verdict is not None:
                counts[verdict.kind] = counts.get(verdict.kind, 0) + 1
        per_problem = self.problem_rows(sample_set)
        rows = [(row.task_id, row.samples, row.passed) for row in per_problem]
        with_samples = {entry.task_id for entry in sample_set.entries}
        problems = self.problem_set.problems
        by_inputs = any(problems[task_id].plus is not None for task_id in with_samples)
        rows_plus = [(row.task_id, row.samples, row.passed_plus) for row in per_problem]
        pass_at_k = [mean_pass_at_k(rows, k) for k in k_values]
        pass_at_1 = next((rate for rate in pass_at_k if rate.k == 1), None)
        return Summary(
            label=sample_set.label,
            samples_source=sample_set.source,
            problems_source=self.problem_set.source,
            problems=len(problems),
            tasks_with_samples=len(with_samples),
            samples=len(verdicts),
            finished=sum(counts.values()),
            counts=counts,
            pass_at_k=pass_at_k,
            tasks_without_samples=[task for task in problems if task not in with_samples],
            interrupted=interrupted,
            harness_failures=sum(1 for entry in sample_set.entries if entry.position in self.lost),
            per_problem=per_problem,
            pass_at_k_plus=[mean_pass_at_k(rows_plus, k) for k in k_values] if by_inputs else None,
            ranked=[] if self.scores is None else self._ranked(sample_set, pass_at_1),
            temperature=temperature,
        )

    def _ranked(self, sample_set: SampleSet, pass_at_1: PassAtK | None) -> list[RankedSelection]:
        """The file's selection by each ``--humaneval-rank`` field."""
        assert self.scores is not None
        first = sample_set.entries[0].position
        end = first + len(sample_set.entries)
        task_numbers, outcomes = self.task_numbers[first:end], bytes(self.outcomes[first:end])
        return ranked_selections(self.scores, self.task_ids, task_numbers, outcomes, first, pass_at_1)

    def summaries(self, k_values: tuple[int, ...], interrupted: bool) -> list[Summary]:
        """One summary per samples file, in the order given."""
        return [
            self.summary(sample_set, k_values, interrupted, temperature)
            for sample_set, temperature in zip(self.sample_sets, self.temperatures, strict=True)
        ]
