"""What every pytest process of a session knows: the problems, the samples, the limits, a runner.

The controller builds it from the files; xdist workers build it from the data the
controller sends them (``to_wire`` / ``from_wire``), so a worker never reads the
controller's paths.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from pytest_humaneval.execution import (
    PASSED,
    Limits,
    SandboxError,
    SandboxRunner,
    Verdict,
    sample_code,
    verdict_key,
)
from pytest_humaneval.loading import (
    Problem,
    ProblemSet,
    Sample,
    SampleSet,
    file_labels,
    load_problems,
    load_samples,
)
from pytest_humaneval.postprocess import prepare
from pytest_humaneval.settings import Settings

AUTO_TIMEOUT_FLOOR = 0.5
AUTO_TIMEOUT_FACTOR = 20.0


def auto_timeout(canonical_seconds: float, cap: float) -> float:
    """A problem's limit under ``--humaneval-timeout=auto``: max(floor, factor x canonical), capped."""
    limit = max(AUTO_TIMEOUT_FLOOR, AUTO_TIMEOUT_FACTOR * canonical_seconds)
    return min(cap, float(f"{limit:.2g}"))


@functools.cache
def _limits(timeout: float, memory: int) -> Limits:
    return Limits(timeout=timeout, memory=memory)


@dataclass
class Evaluation:
    """The samples to evaluate and how; runs them on demand."""

    settings: Settings
    problem_set: ProblemSet
    sample_sets: list[SampleSet]
    """One per samples file, in the order given; sample positions run on across them."""
    runner: SandboxRunner = field(default_factory=SandboxRunner)
    timeouts: dict[str, float] = field(default_factory=dict)
    """Per-problem time limits (``--humaneval-timeout=auto``); others use the setting."""
    samples: list[Sample] = field(init=False, repr=False)
    """Every sample of every file, by position."""

    def __post_init__(self) -> None:
        self.samples = [sample for sample_set in self.sample_sets for sample in sample_set.samples]
        self._sets_by_file_label = {
            sample.file_label: sample_set
            for sample_set in self.sample_sets
            for sample in sample_set.samples[:1]
        }

    @classmethod
    def load(cls, settings: Settings) -> Evaluation:
        """Read and validate the problem file and every samples file named in ``settings``.

        With several samples files, node ids start with each file's label.
        """
        assert settings.samples
        problem_set = load_problems(settings.problems)
        specs = list(settings.samples)
        labels = file_labels(specs) if len(specs) > 1 else [""]
        sample_sets: list[SampleSet] = []
        first_position = 0
        for spec, label in zip(specs, labels, strict=True):
            sample_set = load_samples(spec, problem_set, first_position, label)
            if settings.stop or settings.extract:
                prepared = [
                    prepare(sample, problem_set.problems[sample.task_id], settings.extract, settings.stop)
                    for sample in sample_set.samples
                ]
                sample_set = replace(sample_set, samples=prepared)
            sample_sets.append(sample_set)
            first_position += len(sample_set.samples)
        return cls(settings, problem_set, sample_sets)

    def limits(self, task_id: str) -> Limits:
        """The resource limits of the samples of a task."""
        timeout = self.timeouts.get(task_id, self.settings.timeout)
        return _limits(timeout, self.settings.memory_mb * 1024 * 1024)

    def problem(self, sample: Sample) -> Problem:
        return self.problem_set.problems[sample.task_id]

    def key(self, sample: Sample) -> str:
        """The digest of everything that decides the sample's verdict."""
        problem = self.problem(sample)
        return verdict_key(problem, sample_code(problem, sample), self.limits(sample.task_id))

    def run(self, sample: Sample) -> Verdict:
        """Run ``sample`` in the sandbox (or reuse a known verdict) and return its verdict."""
        return self.runner.run(self.problem(sample), sample, self.limits(sample.task_id))

    def prefetch(self, sample: Sample) -> None:
        """Start ``sample`` in the sandbox now; :meth:`run` collects its verdict later.

        A server that fails here is restarted by that later run, which then fails or
        succeeds on its own: the sample asking for the prefetch is not affected.
        """
        try:
            self.runner.prefetch(self.problem(sample), sample, self.limits(sample.task_id))
        except (OSError, SandboxError):
            pass

    def calibrate(self, lookup: Callable[[list[str]], dict[str, Verdict]]) -> dict[str, Verdict]:
        """Set per-problem limits from the canonical solutions' cost; return new measurements.

        ``lookup`` finds earlier measurements by key (in the verdict cache).
        """
        cap = self.settings.timeout
        limits = _limits(cap, self.settings.memory_mb * 1024 * 1024)
        with_samples = {sample.task_id for sample in self.samples}
        programs = {
            task_id: problem.prompt + problem.canonical_solution
            for task_id, problem in self.problem_set.problems.items()
            if task_id in with_samples
        }
        keys = {
            task_id: "canonical:" + verdict_key(self.problem_set.problems[task_id], code, limits)
            for task_id, code in programs.items()
        }
        known = lookup(list(keys.values()))
        measured: dict[str, Verdict] = {}
        for task_id, key in keys.items():
            problem = self.problem_set.problems[task_id]
            verdict = known.get(key)
            if verdict is None:
                verdict = measured[key] = self.runner.run_code(problem, programs[task_id], limits)
            self.timeouts[task_id] = auto_timeout(verdict.duration, cap) if verdict.kind == PASSED else cap
        return measured

    def samples_by_task(self, sample_set: SampleSet) -> dict[str, list[Sample]]:
        """A file's samples grouped by task, tasks in problem-file order, samples in file order."""
        grouped: dict[str, list[Sample]] = {task_id: [] for task_id in self.problem_set.problems}
        for sample in sample_set.samples:
            grouped[sample.task_id].append(sample)
        return grouped

    def sample_set_of(self, sample: Sample) -> SampleSet:
        """The samples file the sample came from."""
        return self._sets_by_file_label[sample.file_label]

    def to_wire(self) -> dict[str, Any]:
        """The problems and samples as plain data, for an xdist worker."""
        return {
            "problems_source": self.problem_set.source,
            "problems": [asdict(problem) for problem in self.problem_set.problems.values()],
            "sample_sets": [
                (
                    sample_set.source,
                    sample_set.label,
                    sample_set.samples[0].file_label,
                    len(sample_set.samples),
                )
                for sample_set in self.sample_sets
            ],
            "samples": [(s.task_id, s.index, s.text, s.is_solution, s.line) for s in self.samples],
            "timeouts": self.timeouts,
            "known": {key: verdict.to_plain() for key, verdict in self.runner.known().items()},
        }

    @classmethod
    def from_wire(cls, settings: Settings, data: dict[str, Any]) -> Evaluation:
        """Rebuild, in a worker, what the controller sent with :meth:`to_wire`."""
        problems = {row["task_id"]: Problem(**row) for row in data["problems"]}
        rows = data["samples"]
        sample_sets = []
        position = 0
        for source, label, file_label, count in data["sample_sets"]:
            samples = [
                Sample(position + number, task_id, index, text, is_solution, line, {}, file_label=file_label)
                for number, (task_id, index, text, is_solution, line) in enumerate(
                    rows[position : position + count]
                )
            ]
            sample_sets.append(SampleSet(source, samples, label))
            position += count
        evaluation = cls(
            settings,
            ProblemSet(data["problems_source"], problems),
            sample_sets,
            timeouts=dict(data["timeouts"]),
        )
        for key, plain in data["known"].items():
            evaluation.runner.remember(key, Verdict.from_plain(plain))
        return evaluation


@dataclass(frozen=True)
class HumanEvalSample:
    """What a test asking for the ``humaneval_sample`` argument receives."""

    sample: Sample
    problem: Problem
    evaluation: Evaluation = field(repr=False, compare=False)

    @property
    def task_id(self) -> str:
        return self.sample.task_id

    @property
    def index(self) -> int:
        return self.sample.index

    @property
    def text(self) -> str:
        """The code that runs (after ``--humaneval-extract`` and ``--humaneval-stop``)."""
        return self.sample.text

    def run(self) -> Verdict:
        """Run the sample against its problem's tests in the sandbox."""
        return self.evaluation.run(self.sample)
