"""What crosses between the controller and its xdist workers, as plain data.

Out (``workerinput``): the evaluation the controller loaded and prepared: the problems,
each samples file's path and the places of its samples in it (local workers read the
samples they run from the same file), the limits, the verdicts known from the cache,
the keys that repeat. Back: each verdict as the item's ``user_properties`` (on its
report), and the sandbox's isolation in ``workeroutput``.

Imports the evaluation, the cache's packed table, loading and the domain types.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pytest_humaneval.cache import KnownVerdicts
from pytest_humaneval.evaluation import Evaluation
from pytest_humaneval.loading import SampleSet
from pytest_humaneval.model import Problem, ProblemSet, SampleEntry, Verdict
from pytest_humaneval.settings import Settings

WIRE_KEY = "humaneval"
"""The key of the plugin's data in ``workerinput`` and ``workeroutput``."""
PROPERTY_PREFIX = "humaneval_"
INPUT_CHANGED_PROPERTY = PROPERTY_PREFIX + "input_changed"


def evaluation_to_wire(evaluation: Evaluation) -> dict[str, Any]:
    """The problems and samples as plain data, for an xdist worker.

    A plain samples file goes as its path and the samples' places in it (workers read it
    themselves; a gzip file's decompressed copy, likewise); ``canonical`` goes as its records.
    """
    repeated = evaluation.runner.repeated_keys
    return {
        "problems_source": evaluation.problem_set.source,
        "problems": [asdict(problem) for problem in evaluation.problem_set.problems.values()],
        "sample_sets": [sample_set.to_plain() for sample_set in evaluation.sample_sets],
        "timeouts": evaluation.timeouts,
        "known_at": evaluation.known_at.to_plain(),
        "repeated_keys": None if repeated is None else sorted(repeated),
    }


def evaluation_from_wire(settings: Settings, data: dict[str, Any], cpu: int | None) -> Evaluation:
    """Rebuild, in a worker, what the controller sent (its sandbox server to run on ``cpu``)."""
    problems = {row["task_id"]: Problem(**row) for row in data["problems"]}
    evaluation = Evaluation(
        settings,
        ProblemSet(data["problems_source"], problems),
        [SampleSet.from_plain(plain) for plain in data["sample_sets"]],
        timeouts=dict(data["timeouts"]),
        known_at=KnownVerdicts.from_plain(data["known_at"]),
    )
    repeated = data["repeated_keys"]
    evaluation.prepare_as_sent(cpu, None if repeated is None else frozenset(repeated))
    return evaluation


_POSITION = PROPERTY_PREFIX + "position"
_OUTCOME = PROPERTY_PREFIX + "outcome"
_MESSAGE = PROPERTY_PREFIX + "message"
_DURATION = PROPERTY_PREFIX + "duration"
_RESULT = PROPERTY_PREFIX + "result"
_REUSED = PROPERTY_PREFIX + "reused"
_VERDICT_PROPERTIES = frozenset((_POSITION, _OUTCOME, _MESSAGE, _DURATION, _RESULT, _REUSED))


def outcome_properties(entry: SampleEntry, verdict: Verdict) -> list[tuple[str, Any]]:
    """The verdict as ``user_properties``: plain values that travel from xdist workers."""
    return [
        (_POSITION, entry.position),
        (_OUTCOME, verdict.kind),
        (_MESSAGE, verdict.message),
        (_DURATION, verdict.duration),
        (_RESULT, verdict.reference_result),
        (_REUSED, verdict.reused),
    ]


def verdict_from_properties(properties: list[tuple[str, Any]]) -> tuple[int, Verdict] | None:
    """The (position, verdict) recorded by :func:`outcome_properties`, if any."""
    found = {
        name: value for name, value in properties if isinstance(name, str) and name in _VERDICT_PROPERTIES
    }
    if _OUTCOME not in found:
        return None
    plain = (found[_OUTCOME], found[_MESSAGE], found[_DURATION], found.get(_RESULT, ""))
    verdict = Verdict.from_plain(plain, reused=bool(found.get(_REUSED)))
    return found[_POSITION], verdict


def input_change_from_properties(properties: list[tuple[str, Any]]) -> str | None:
    """The error of an item that found its samples file changed, if it did."""
    return next((str(value) for name, value in properties if name == INPUT_CHANGED_PROPERTY), None)
