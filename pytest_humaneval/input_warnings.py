"""Warnings about the input that do not stop the evaluation, located at the input file.

Recorded as pytest warnings (``-W`` and ``filterwarnings`` apply), never printed directly.

Imports pytest and the evaluation (to see which problems lack samples).
"""

from __future__ import annotations

import warnings

import pytest

from pytest_humaneval.evaluation import Evaluation


class HumanEvalWarning(pytest.PytestWarning):
    """A problem with the evaluation's input that does not stop it."""


def _warn(config: pytest.Config, text: str, source: str) -> None:
    """A :class:`HumanEvalWarning` located at the start of an input file. Its line is given
    as empty: else pytest would quote the file's first line, which may be huge."""
    record = warnings.WarningMessage(HumanEvalWarning(text), HumanEvalWarning, source, 1, line="")
    config.hook.pytest_warning_recorded.call_historic(
        kwargs=dict(warning_message=record, when="config", nodeid="", location=None)
    )


def warn_about_the_input(config: pytest.Config, evaluation: Evaluation) -> None:
    """Warnings for samples files that leave problems without samples."""
    problem_set = evaluation.problem_set
    for sample_set in evaluation.sample_sets:
        missing = [task for task, entries in evaluation.entries_by_task(sample_set).items() if not entries]
        if missing:
            _warn(
                config,
                f"{len(missing)} of {len(problem_set.problems)} problems have no samples "
                f"(first: {missing[0]}); pass@k is over the others",
                sample_set.source,
            )
