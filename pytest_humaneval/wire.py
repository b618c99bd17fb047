"""What crosses between the controller and its xdist workers, as plain data.

Out (``workerinput``): the settings the controller resolved (a worker on another host may
not find the files its own command line names) and the evaluation it loaded and prepared:
the problems, each samples file's path and the places of its samples in it (workers read
the samples they run from the same file, or else through the controller: see
:mod:`pytest_humaneval.remote`), the limits, the verdicts known from the cache,
the keys that repeat, the EvalPlus problems' tests and expected outputs (pickled: their
values are any of Python's plain types, sets and tuples included). Back: each verdict as
the item's ``user_properties`` (on its report), and the sandbox's isolation in
``workeroutput``.

Imports the evaluation, the cache's packed table, loading and the domain types.
"""

from __future__ import annotations

import pickle
from dataclasses import asdict, replace
from typing import Any

from pytest_humaneval.cache import KnownVerdicts
from pytest_humaneval.evaluation import Evaluation
from pytest_humaneval.loading import SampleSet
from pytest_humaneval.model import PlusExpected, PlusTests, Problem, ProblemSet, SampleEntry, Verdict
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
    problem_set = evaluation.problem_set
    return {
        "settings": pickle.dumps(evaluation.settings, protocol=4),
        "problems_source": problem_set.source,
        "problems": [asdict(replace(problem, plus=None)) for problem in problem_set.problems.values()],
        "plus": pickle.dumps(
            {
                task_id: (problem.plus, evaluation.expected.get(task_id))
                for task_id, problem in problem_set.problems.items()
                if problem.plus is not None
            },
            protocol=4,
        ),
        "sample_sets": [sample_set.to_plain() for sample_set in evaluation.sample_sets],
        "timeouts": evaluation.timeouts,
        "known_at": evaluation.known_at.to_plain(),
        "repeated_keys": None if repeated is None else sorted(repeated),
    }


def settings_from_wire(data: dict[str, Any]) -> Settings:
    """The controller's settings, in a worker (which does not resolve its own)."""
    settings: Settings = pickle.loads(data["settings"])
    return settings


def evaluation_from_wire(settings: Settings, data: dict[str, Any], cpu: int | None) -> Evaluation:
    """Rebuild, in a worker, what the controller sent (its sandbox server to run on ``cpu``)."""
    plus: dict[str, tuple[PlusTests, PlusExpected | None]] = pickle.loads(data["plus"])
    problems = {row["task_id"]: Problem(**row) for row in data["problems"]}
    for task_id, (tests, _) in plus.items():
        problems[task_id] = replace(problems[task_id], plus=tests)
    expected = {task_id: outputs for task_id, (_, outputs) in plus.items() if outputs is not None}
    evaluation = Evaluation(
        settings,
        ProblemSet(data["problems_source"], problems),
        [SampleSet.from_plain(plain) for plain in data["sample_sets"]],
        timeouts=dict(data["timeouts"]),
        known_at=KnownVerdicts.from_plain(data["known_at"]),
        expected=expected,
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
_BASE_STATUS = PROPERTY_PREFIX + "base_status"
_PLUS_STATUS = PROPERTY_PREFIX + "plus_status"
_FAILED_INPUT = PROPERTY_PREFIX + "failed_input"
_EVALPLUS_PROPERTIES = (_BASE_STATUS, _PLUS_STATUS, _FAILED_INPUT)
"""An EvalPlus verdict's own (its statuses, its failed input as JSON): absent from others."""
_VERDICT_PROPERTIES = frozenset(
    (_POSITION, _OUTCOME, _MESSAGE, _DURATION, _RESULT, _REUSED, *_EVALPLUS_PROPERTIES)
)


def outcome_properties(entry: SampleEntry, verdict: Verdict) -> list[tuple[str, Any]]:
    """The verdict as ``user_properties``: plain values that travel from xdist workers."""
    properties = [
        (_POSITION, entry.position),
        (_OUTCOME, verdict.kind),
        (_MESSAGE, verdict.message),
        (_DURATION, verdict.duration),
        (_RESULT, verdict.reference_result),
        (_REUSED, verdict.reused),
    ]
    if verdict.by_inputs:
        properties += zip(_EVALPLUS_PROPERTIES, verdict.to_plain()[4:], strict=True)
    return properties


def verdict_from_properties(properties: list[tuple[str, Any]]) -> tuple[int, Verdict] | None:
    """The (position, verdict) recorded by :func:`outcome_properties`, if any."""
    found = {
        name: value for name, value in properties if isinstance(name, str) and name in _VERDICT_PROPERTIES
    }
    if _OUTCOME not in found:
        return None
    plain = (
        found[_OUTCOME],
        found[_MESSAGE],
        found[_DURATION],
        found.get(_RESULT, ""),
        *(found.get(name, "") for name in _EVALPLUS_PROPERTIES),
    )
    verdict = Verdict.from_plain(plain, reused=bool(found.get(_REUSED)))
    return found[_POSITION], verdict


def input_change_from_properties(properties: list[tuple[str, Any]]) -> str | None:
    """The error of an item that found its samples file changed, if it did."""
    return next((str(value) for name, value in properties if name == INPUT_CHANGED_PROPERTY), None)
