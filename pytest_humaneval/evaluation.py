"""What every pytest process of a session knows: the problems, the samples, the limits, a runner.

The controller builds it from the files; xdist workers build it from the data the
controller sends them (``to_wire`` / ``from_wire``), so a worker never reads the
controller's paths.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pytest_humaneval.execution import Limits, SandboxRunner, Verdict
from pytest_humaneval.loading import (
    Problem,
    ProblemSet,
    Sample,
    SampleSet,
    load_problems,
    load_samples,
)
from pytest_humaneval.settings import Settings


@dataclass
class Evaluation:
    """The samples to evaluate and how; runs them on demand."""

    settings: Settings
    problem_set: ProblemSet
    sample_set: SampleSet
    runner: SandboxRunner = field(default_factory=SandboxRunner)

    @classmethod
    def load(cls, settings: Settings) -> Evaluation:
        """Read and validate the problem and sample files named in ``settings``."""
        assert settings.samples is not None
        problem_set = load_problems(settings.problems)
        return cls(settings, problem_set, load_samples(settings.samples, problem_set))

    @property
    def limits(self) -> Limits:
        return Limits(timeout=self.settings.timeout, memory=self.settings.memory_mb * 1024 * 1024)

    def problem(self, sample: Sample) -> Problem:
        return self.problem_set.problems[sample.task_id]

    def run(self, sample: Sample) -> Verdict:
        """Run ``sample`` in the sandbox and return its verdict."""
        return self.runner.run(self.problem(sample), sample, self.limits)

    def samples_by_task(self) -> dict[str, list[Sample]]:
        """The samples grouped by task, tasks in problem-file order, samples in file order."""
        grouped: dict[str, list[Sample]] = {task_id: [] for task_id in self.problem_set.problems}
        for sample in self.sample_set.samples:
            grouped[sample.task_id].append(sample)
        return grouped

    def to_wire(self) -> dict[str, Any]:
        """The problems and samples as plain data, for an xdist worker."""
        return {
            "problems_source": self.problem_set.source,
            "problems": [asdict(problem) for problem in self.problem_set.problems.values()],
            "samples_source": self.sample_set.source,
            "samples": [
                (s.task_id, s.index, s.text, s.is_solution, s.line) for s in self.sample_set.samples
            ],
        }

    @classmethod
    def from_wire(cls, settings: Settings, data: dict[str, Any]) -> Evaluation:
        """Rebuild, in a worker, what the controller sent with :meth:`to_wire`."""
        problems = {row["task_id"]: Problem(**row) for row in data["problems"]}
        samples = [
            Sample(position, task_id, index, text, is_solution, line, {})
            for position, (task_id, index, text, is_solution, line) in enumerate(data["samples"])
        ]
        return cls(
            settings,
            ProblemSet(data["problems_source"], problems),
            SampleSet(data["samples_source"], samples),
        )


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
        """The completion or solution, as given in the samples file."""
        return self.sample.text

    def run(self) -> Verdict:
        """Run the sample against its problem's tests in the sandbox."""
        return self.evaluation.run(self.sample)
