"""Collection: one collector per problem, one item per sample (and, with several samples files,
one collector per file above them).

Imports pytest, the evaluation, loading, the domain types and the wire format; it runs
nothing itself: an item asks the evaluation for its verdict.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pytest_humaneval.errors import SamplesFileChanged
from pytest_humaneval.evaluation import Evaluation
from pytest_humaneval.loading import SampleSet
from pytest_humaneval.model import Problem, SampleEntry, Verdict
from pytest_humaneval.wire import INPUT_CHANGED_PROPERTY, outcome_properties


class SamplesFileCollector(pytest.Collector):
    """Groups the samples of one file when the session has several, e.g. ``modelA.jsonl``."""

    def __init__(self, *, sample_set: SampleSet, evaluation: Evaluation, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sample_set = sample_set
        self.evaluation = evaluation

    def collect(self) -> list[ProblemCollector]:
        return list(problem_collectors(self, self.evaluation, self.sample_set))


class ProblemCollector(pytest.Collector):
    """Groups the samples of one problem, e.g. ``HumanEval/0``."""

    def __init__(
        self, *, problem: Problem, entries: list[SampleEntry], evaluation: Evaluation, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.problem = problem
        self.entries = entries
        self.evaluation = evaluation
        if self.config.pluginmanager.has_plugin("timeout"):  # not with ``-p no:timeout``
            # pytest-timeout, as an outer backstop should the sandbox server stop answering.
            backstop = evaluation.wall_backstop(problem.task_id) + 60.0
            self.add_marker(pytest.mark.timeout(backstop))
        self.add_marker(pytest.mark.humaneval)

    def collect(self) -> list[SampleItem]:
        return [
            SampleItem.from_parent(self, name=entry.test_id, nodeid=entry.nodeid, entry=entry)
            for entry in self.entries
        ]


class SampleItem(pytest.Item):
    """One sample, run against its problem's tests in the sandbox."""

    def __init__(self, *, entry: SampleEntry, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entry = entry
        parent = self.parent
        assert isinstance(parent, ProblemCollector)
        self.evaluation = parent.evaluation
        self.next_item: pytest.Item | None = None
        """The item this process runs next (set as this one starts): its sample is started
        in the sandbox while pytest reports this one."""
        self.failed_verdict: Verdict | None = None
        """The verdict of a sample that did not pass (see :meth:`mark_failed`)."""

    def runtest(self) -> None:
        try:
            verdict = self.evaluation.run(self.entry)
        except SamplesFileChanged as exc:
            self.user_properties.append((INPUT_CHANGED_PROPERTY, str(exc)))
            raise
        following = self.next_item
        if isinstance(following, SampleItem) and following.evaluation is self.evaluation:
            self.evaluation.prefetch(following.entry)
        self.user_properties.extend(outcome_properties(self.entry, verdict))
        self.failed_verdict = None if verdict.passed_plus else verdict

    def mark_failed(self, report: pytest.TestReport) -> None:
        """With ``--humaneval-strict``, make the call's report of a sample that did not pass a
        failure, rendered as one short line. Without it the report stays passed: the verdict
        is a measurement, and exit status, ``-x`` and JUnit XML agree that nothing failed.
        Nothing is raised either way, so ``--pdb`` and ``pytest_exception_interact`` leave
        samples alone."""
        verdict = self.failed_verdict if self.evaluation.settings.strict else None
        if verdict is not None and report.when == "call" and report.passed:
            report.outcome = "failed"
            report.longrepr = f"{self.entry.test_id} {verdict.describe()}"

    def reportinfo(self) -> tuple[str, int | None, str]:
        source = self.evaluation.sample_set_of(self.entry).source
        return source, self.entry.line - 1, self.entry.test_id


def problem_collectors(
    parent: pytest.Session | SamplesFileCollector, evaluation: Evaluation, sample_set: SampleSet
) -> Iterator[ProblemCollector]:
    """A collector for each problem with samples in ``sample_set``, in problem-file order."""
    for task_id, entries in evaluation.entries_by_task(sample_set).items():
        if entries:
            yield ProblemCollector.from_parent(
                parent,
                name=task_id,
                nodeid=entries[0].problem_nodeid,
                problem=evaluation.problem_set.problems[task_id],
                entries=entries,
                evaluation=evaluation,
            )


def build_items(session: pytest.Session, evaluation: Evaluation) -> Iterator[pytest.Item]:
    """Collect the sample items: files in the order given, then problems in problem-file order,
    then each problem's samples in file order.

    The order depends only on the data, so every xdist worker collects the same list.
    """
    if len(evaluation.sample_sets) == 1:
        collectors: Iterator[pytest.Collector] = problem_collectors(
            session, evaluation, evaluation.sample_sets[0]
        )
    else:
        collectors = (
            SamplesFileCollector.from_parent(
                session,
                name=sample_set.label,
                nodeid=sample_set.label,
                sample_set=sample_set,
                evaluation=evaluation,
            )
            for sample_set in evaluation.sample_sets
        )
    for collector in collectors:
        yield from session.genitems(collector)
