"""What a shard's results file records so that ``--humaneval-merge`` can rebuild the whole run.

Every line of a shard's results file has ``shard`` (``I/N``) and ``input_position`` (the
sample's place in the whole input); the first line also has ``shard_run``, this module's
description: the samples files (label, size, a digest of their lines), the problems (a
digest, their ids), the settings that decide verdicts, the per-problem limits, the
versions (the harness digest included), what confined the samples, and what the shard
lost. Shards merge only when their descriptions agree (:func:`disagreement`).

Imports the keys' digests, loading's samples sets, the settings and the domain types.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

from pytest_humaneval.keys import plus_digest
from pytest_humaneval.loading import SampleSet
from pytest_humaneval.model import PlusTests, Problem, ProblemSet
from pytest_humaneval.settings import Settings

FORMAT = 1
"""The description's format: a merge refuses a shard written in another."""
SHARD_FIELD = "shard"
POSITION_FIELD = "input_position"
DESCRIPTION_FIELD = "shard_run"
SHARD_FIELDS = (SHARD_FIELD, POSITION_FIELD, DESCRIPTION_FIELD)
"""The fields a shard adds to its results lines (the merge removes them)."""
AGREEING_VERSIONS = ("pytest-humaneval", "python", "harness")
"""The versions that decide verdicts (they are part of every verdict key)."""


def _digest(parts: list[str]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()[:32]


def problems_digest(problem_set: ProblemSet) -> str:
    """A digest of the problems (ids, prompts, tests, canonical solutions, EvalPlus inputs)."""
    parts: list[str] = []
    for problem in problem_set.problems.values():
        parts += [problem.task_id, problem.prompt, problem.entry_point, problem.canonical_solution]
        parts += [problem.test, plus_digest(problem.plus) if problem.plus is not None else ""]
    return _digest(parts)


def samples_digest(sample_set: SampleSet) -> str:
    """A digest of a samples file's lines, from the digests taken as it was read (it is not
    read again)."""
    return _digest([f"{entry.task_id}\0{entry.size}\0{entry.digest}" for entry in sample_set.entries])


def describe(
    settings: Settings,
    problem_set: ProblemSet,
    sample_sets: list[SampleSet],
    label: str,
    size: int,
    time_limits: dict[str, float],
    versions: dict[str, Any],
    isolation: dict[str, Any],
    interrupted: bool,
    lost: set[int],
) -> dict[str, Any]:
    """The description of shard ``label`` (``I/N``) of ``size`` samples, as plain JSON data."""
    problems = problem_set.problems
    return {
        "format": FORMAT,
        "shard": label,
        "samples_in_shard": size,
        "samples_files": [
            {"file": s.source, "label": s.label, "samples": len(s.entries), "digest": samples_digest(s)}
            for s in sample_sets
        ],
        "problems": {
            "file": problem_set.source,
            "digest": problems_digest(problem_set),
            "task_ids": list(problems),
            "judged_by_inputs": [
                task_id for task_id, problem in problems.items() if problem.plus is not None
            ],
        },
        "settings": {
            "samples": list(settings.samples),
            "problems": settings.problems,
            "timeout": settings.timeout,
            "auto_timeout": settings.auto_timeout,
            "memory_mb": settings.memory_mb,
            "stop": list(settings.stop),
            "extract": settings.extract,
        },
        "time_limits": time_limits,
        "versions": versions,
        "isolation": isolation,
        "interrupted": interrupted,
        "lost": sorted(lost),
        **({"temperature": list(settings.temperature)} if settings.temperature else {}),
    }


def _typed(data: Any, name: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(name) if isinstance(data, dict) else None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ValueError(f"its shard_run has no valid {name!r}")
    return value


_PROBLEMS_FIELDS: list[tuple[str, type]] = [
    ("file", str),
    ("digest", str),
    ("task_ids", list),
    ("judged_by_inputs", list),
]
_SETTINGS_FIELDS: list[tuple[str, type | tuple[type, ...]]] = [
    ("samples", list),
    ("problems", str),
    ("timeout", (int, float)),
    ("auto_timeout", bool),
    ("memory_mb", int),
    ("stop", list),
    ("extract", bool),
]


@dataclass(frozen=True)
class SamplesFile:
    """A samples file as a shard describes it."""

    file: str
    label: str
    samples: int
    digest: str


@dataclass(frozen=True)
class ShardDescription:
    """A shard's ``shard_run``, read back and checked."""

    number: int
    count: int
    samples_in_shard: int
    samples_files: list[SamplesFile]
    task_ids: tuple[str, ...]
    """The problems' ids, in file order."""
    known_tasks: frozenset[str]
    plain: dict[str, Any]
    """The description as written (its settings, problems, limits, versions, isolation)."""

    @classmethod
    def from_plain(cls, data: Any) -> ShardDescription:
        """Check a description read from a results file; raise ``ValueError`` saying what is wrong."""
        if _typed(data, "format", int) != FORMAT:
            raise ValueError(f"its shard_run is of format {data['format']}, this version reads {FORMAT}")
        number, _, count = str(_typed(data, "shard", str)).partition("/")
        if not (number.isdigit() and count.isdigit() and 1 <= int(number) <= int(count)):
            raise ValueError(f"its shard_run names no valid shard: {data['shard']!r}")
        files = [
            SamplesFile(
                _typed(item, "file", str),
                _typed(item, "label", str),
                _typed(item, "samples", int),
                _typed(item, "digest", str),
            )
            for item in _typed(data, "samples_files", list)
        ]
        checks: list[tuple[Any, str, type | tuple[type, ...]]] = [
            (data, "samples_in_shard", int),
            (data, "time_limits", dict),
            (data, "versions", dict),
            (data, "isolation", dict),
            (data, "lost", list),
            (data, "interrupted", bool),
            *((_typed(data, "problems", dict), name, kind) for name, kind in _PROBLEMS_FIELDS),
            *((_typed(data, "settings", dict), name, kind) for name, kind in _SETTINGS_FIELDS),
        ]
        for where, name, kind in checks:
            _typed(where, name, kind)
        if not files:
            raise ValueError("its shard_run names no samples file")
        temperature = data.get("temperature", [])
        if not isinstance(temperature, list) or not all(
            isinstance(value, (int, float)) and not isinstance(value, bool) for value in temperature
        ):
            raise ValueError("its shard_run has no valid 'temperature'")
        task_ids = tuple(map(str, data["problems"]["task_ids"]))
        return cls(
            int(number), int(count), data["samples_in_shard"], files, task_ids, frozenset(task_ids), data
        )

    @property
    def label(self) -> str:
        return f"{self.number}/{self.count}"

    @property
    def temperature(self) -> tuple[float, ...]:
        """Each samples file's temperature as the shard was given it (``--humaneval-temperature``)."""
        return tuple(float(value) for value in self.plain.get("temperature", []))

    @property
    def total(self) -> int:
        """How many samples the whole run has, in every file."""
        return sum(samples_file.samples for samples_file in self.samples_files)

    def _agreeing(self) -> dict[str, Any]:
        """What must be the same in every shard of a run, by what it is called in messages."""
        plain = self.plain
        versions = plain["versions"]
        settings = {
            name: value for name, value in plain["settings"].items() if name not in ("samples", "problems")
        }
        return {
            "number of shards": self.count,
            "samples files (label, samples, digest of the lines)": [
                (f.label, f.samples, f.digest) for f in self.samples_files
            ],
            "problems (digest)": plain["problems"]["digest"],
            "settings that decide verdicts": settings,
            "per-problem time limits (--humaneval-timeout=auto)": plain["time_limits"],
            **{f"versions ({name})": versions.get(name) for name in AGREEING_VERSIONS},
        }

    def disagreement(self, other: ShardDescription) -> str | None:
        """What ``other`` has otherwise than this shard, in a few words (None: they agree)."""
        mine, theirs = self._agreeing(), other._agreeing()
        for what, value in mine.items():
            if theirs[what] != value:
                return f"{what}: {_shown(value)} against {_shown(theirs[what])}"
        return None

    def settings(self, merging: Settings) -> Settings:
        """The merge's settings: the shards' settings that decide verdicts, and the merge
        session's own for what it computes and writes (k, gates, outputs, rankings); the
        files' temperatures are the merge's if given, else the shards'."""
        given = self.plain["settings"]
        return replace(
            merging,
            samples=tuple(given["samples"]),
            problems=str(given["problems"]),
            timeout=float(given["timeout"]),
            auto_timeout=bool(given["auto_timeout"]),
            memory_mb=int(given["memory_mb"]),
            stop=tuple(given["stop"]),
            extract=bool(given["extract"]),
            temperature=merging.temperature or self.temperature,
        )

    def problem_set(self) -> ProblemSet:
        """The problems as far as the merge needs them: their ids, in file order, and which are
        judged by inputs (their tests and prompts stay with the shards)."""
        problems = self.plain["problems"]
        by_inputs = set(problems["judged_by_inputs"])
        marker = PlusTests("", [], [], 0.0)
        return ProblemSet(
            str(problems["file"]),
            {
                task_id: Problem(task_id, "", "", "", "", marker if task_id in by_inputs else None)
                for task_id in self.task_ids
            },
        )


def _shown(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
