"""What every pytest process of a session knows: the problems, the samples, the limits, a runner.

The controller builds it from the files; xdist workers build it from the data the
controller sends them (``to_wire`` / ``from_wire``): the problems, and each samples
file's path and the places of its samples in it, so a worker reads the samples it
runs from the same file (local workers see the controller's file system).
"""

from __future__ import annotations

import array
import bisect
import collections
import functools
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from pytest_humaneval.keys import content_digest, limited_key, sample_code, verdict_key
from pytest_humaneval.loading import SampleSet, SamplesFileChanged, file_labels, load_problems, load_samples
from pytest_humaneval.model import PASSED, Limits, Problem, ProblemSet, Sample, SampleEntry, Verdict
from pytest_humaneval.postprocess import prepare
from pytest_humaneval.runner import SandboxError, SandboxRunner, cpu_for_worker, run_codes, usable_cpus
from pytest_humaneval.settings import Settings

AUTO_TIMEOUT_FLOOR = 0.3
AUTO_TIMEOUT_FACTOR = 20.0
MAX_CALIBRATION_SERVERS = 4


def auto_timeout(canonical_seconds: float, cap: float) -> float:
    """The limit on a problem's test calls under ``--humaneval-timeout=auto``: max(floor,
    factor x canonical), at most ``cap`` (which bounds the whole sample)."""
    limit = max(AUTO_TIMEOUT_FLOOR, AUTO_TIMEOUT_FACTOR * canonical_seconds)
    return min(cap, float(f"{limit:.2g}"))


@functools.cache
def _limits(timeout: float, memory: int, calls_timeout: float | None = None) -> Limits:
    return Limits(timeout=timeout, memory=memory, calls_timeout=calls_timeout)


class KnownVerdicts:
    """Verdicts known before the session (from the verdict cache), by sample position.

    Kept as packed columns, its texts numbered in one table (failure messages repeat
    a lot): about 30 bytes per verdict instead of several hundred as objects, in the
    controller and in every xdist worker, which all receive the whole table.
    """

    def __init__(self, verdicts: dict[int, Verdict] | None = None) -> None:
        self._positions = array.array("q")
        self._durations = array.array("d")
        self._text_numbers = array.array("I")
        """Per verdict, the numbers of its kind, message and reference in ``_texts``."""
        numbers: dict[str, int] = {}
        for position, verdict in sorted((verdicts or {}).items()):
            self._positions.append(position)
            self._durations.append(verdict.duration)
            for text in (verdict.kind, verdict.message, verdict.reference):
                self._text_numbers.append(numbers.setdefault(text, len(numbers)))
        self._texts = list(numbers)
        """The distinct texts (kinds, messages, reference results), numbered in order."""

    def __len__(self) -> int:
        return len(self._positions)

    def __contains__(self, position: int) -> bool:
        return self._index(position) is not None

    def _index(self, position: int) -> int | None:
        index = bisect.bisect_left(self._positions, position)
        return index if index < len(self._positions) and self._positions[index] == position else None

    def get(self, position: int) -> Verdict | None:
        """The verdict known for the sample at ``position``, if any."""
        index = self._index(position)
        if index is None:
            return None
        kind, message, reference = (self._texts[n] for n in self._text_numbers[3 * index : 3 * index + 3])
        return Verdict(kind, message, self._durations[index], reference)

    def to_plain(self) -> dict[str, Any]:
        """The table as plain data (for xdist workers)."""
        return {
            "positions": self._positions.tobytes(),
            "durations": self._durations.tobytes(),
            "texts": self._texts,
            "text_numbers": self._text_numbers.tobytes(),
        }

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> KnownVerdicts:
        """Rebuild a table sent with :meth:`to_plain`."""
        known = cls()
        known._positions.frombytes(data["positions"])
        known._durations.frombytes(data["durations"])
        known._texts = list(data["texts"])
        known._text_numbers.frombytes(data["text_numbers"])
        return known


@dataclass
class Evaluation:
    """The samples to evaluate and how; runs them on demand."""

    settings: Settings
    problem_set: ProblemSet
    sample_sets: list[SampleSet]
    """One per samples file, in the order given; sample positions run on across them."""
    runner: SandboxRunner = field(default_factory=SandboxRunner)
    timeouts: dict[str, float] = field(default_factory=dict)
    """Per-problem limits on the test's calls (``--humaneval-timeout=auto``); a problem's whole
    sample, its program included, stays within the setting."""
    keys: list[str] = field(default_factory=list)
    """Each sample's verdict key, by position (on the controller; see :meth:`compute_keys`)."""
    known_at: KnownVerdicts = field(default_factory=KnownVerdicts)
    """Verdicts known before the session (from the verdict cache), by sample position: such
    a sample is not even read back from its file."""
    entries: list[SampleEntry] = field(init=False, repr=False)
    """Every sample of every file, by position."""
    _contents: list[bytes] = field(default_factory=list, init=False, repr=False)
    """Each sample's :func:`content_digest`, by position, until :meth:`compute_keys` (auto)."""
    _calibration_helpers: list[SandboxRunner] = field(default_factory=list, init=False, repr=False)
    """The servers that measured canonical solutions beside :attr:`runner` (stopping)."""
    _started_ahead: tuple[Sample, str] | None = field(default=None, init=False, repr=False)
    """The sample :meth:`prefetch` read back from its file and its verdict key, until
    :meth:`run` takes them."""

    def __post_init__(self) -> None:
        self.entries = []
        self._sets_by_file_label: dict[str, SampleSet] = {}
        for sample_set in self.sample_sets:
            self._index(sample_set)

    def _index(self, sample_set: SampleSet) -> None:
        self.entries.extend(sample_set.entries)
        self._sets_by_file_label[sample_set.entries[0].file_label] = sample_set

    @classmethod
    def load(cls, settings: Settings) -> Evaluation:
        """Read and check the problem file and every samples file named in ``settings``.

        The files are read as streams, and each sample's verdict key is computed as it is
        read; when the time limits wait for calibration (``--humaneval-timeout=auto``), all
        of it but the limits (see :meth:`compute_keys`). With several samples files, node
        ids start with each file's label.
        """
        assert settings.samples
        evaluation = cls(settings, load_problems(settings.problems), [])
        on_sample = evaluation._note_content if settings.auto_timeout else evaluation._note_key
        specs = list(settings.samples)
        labels = file_labels(specs) if len(specs) > 1 else [""]
        first_position = 0
        try:
            for spec, label in zip(specs, labels, strict=True):
                sample_set = load_samples(spec, evaluation.problem_set, first_position, label, on_sample)
                evaluation.sample_sets.append(sample_set)
                evaluation._index(sample_set)
                first_position += len(sample_set.entries)
        except BaseException:
            evaluation.close()  # the files loaded before the bad one
            raise
        return evaluation

    def _note_key(self, sample: Sample) -> None:
        self.keys.append(self.key(self.prepared(sample)))

    def _note_content(self, sample: Sample) -> None:
        self._contents.append(self._content(self.prepared(sample)))

    def repeated_keys(self) -> frozenset[str]:
        """The verdict keys that occur more than once (identical samples)."""
        counts = collections.Counter(self.keys)
        return frozenset(key for key, count in counts.items() if count > 1)

    def copy_groups(self) -> dict[str, int]:
        """For the samples that have identical copies: a group number by node id, the same
        for all copies of a sample (xdist sends a group to one worker, which runs it once)."""
        repeated = self.runner.repeated_keys or frozenset()
        numbers: dict[str, int] = {}
        return {
            entry.nodeid: numbers.setdefault(key, len(numbers))
            for entry in self.entries
            if (key := self.keys[entry.position]) in repeated
        }

    def compute_keys(self) -> None:
        """Every sample's verdict key, once the limits are known, from what was noted of it
        while the files were read (they are not read again)."""
        contents, self._contents = self._contents, []
        limits = self.limits
        self.keys = [
            limited_key(content, limits(entry.task_id))
            for entry, content in zip(self.entries, contents, strict=True)
        ]

    def limits(self, task_id: str) -> Limits:
        """The resource limits of the samples of a task."""
        calls_timeout = self.timeouts.get(task_id)
        if calls_timeout == self.settings.timeout:
            calls_timeout = None  # no shorter than the whole sample's limit
        return _limits(self.settings.timeout, self.settings.memory_mb * 1024 * 1024, calls_timeout)

    def problem(self, entry: SampleEntry) -> Problem:
        return self.problem_set.problems[entry.task_id]

    def prepared(self, sample: Sample) -> Sample:
        """The sample as it runs (after ``--humaneval-extract`` and ``--humaneval-stop``)."""
        settings = self.settings
        if not (settings.stop or settings.extract):
            return sample
        return prepare(sample, self.problem(sample.entry), settings.extract, settings.stop)

    def sample(self, entry: SampleEntry) -> Sample:
        """The entry's sample as it runs, read back from its file if it is not in memory."""
        return self.prepared(self.sample_set_of(entry).read(entry))

    def key(self, sample: Sample) -> str:
        """The digest of everything that decides the sample's verdict."""
        return limited_key(self._content(sample), self.limits(sample.entry.task_id))

    def _content(self, sample: Sample) -> bytes:
        problem = self.problem(sample.entry)
        return content_digest(problem, sample_code(problem, sample))

    def _key_to_run(self, sample: Sample) -> str:
        """The sample's key: as computed on loading (on the controller), else computed now."""
        position = sample.entry.position
        return self.keys[position] if position < len(self.keys) else self.key(sample)

    def run(self, entry: SampleEntry) -> Verdict:
        """Run the entry's sample in the sandbox (or reuse a known verdict) and return its verdict."""
        known = self.known_at.get(entry.position)
        if known is not None:
            return replace(known, reused=True)
        started, self._started_ahead = self._started_ahead, None
        if started is not None and started[0].entry is entry:
            sample, key = started
        else:
            sample = self.sample(entry)
            key = self._key_to_run(sample)
        return self.runner.run(self.problem(entry), sample, self.limits(entry.task_id), key)

    def prefetch(self, entry: SampleEntry) -> None:
        """Start the entry's sample in the sandbox now; :meth:`run` collects its verdict later.

        Whatever fails here (a server, a changed file) fails again in that later run, on
        its own item: the sample asking for the prefetch is not affected.
        """
        if entry.position in self.known_at:
            return
        try:
            sample = self.sample(entry)
            key = self._key_to_run(sample)
            self._started_ahead = (sample, key)
            self.runner.prefetch(self.problem(entry), sample, self.limits(entry.task_id), key)
        except (OSError, SandboxError, SamplesFileChanged):
            pass

    def calibrate(self, lookup: Callable[[list[str]], dict[str, Verdict]]) -> dict[str, Verdict]:
        """Set per-problem limits from the canonical solutions' cost; return new measurements.

        ``lookup`` finds earlier measurements by key (in the verdict cache). The others
        are measured on servers side by side, one per usable CPU (nothing else runs yet).
        """
        cap = self.settings.timeout
        limits = _limits(cap, self.settings.memory_mb * 1024 * 1024)
        with_samples = {entry.task_id for entry in self.entries}
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
        unknown = [task_id for task_id, key in keys.items() if key not in known]
        servers = min(MAX_CALIBRATION_SERVERS, usable_cpus(), len(unknown))
        helpers = [SandboxRunner(cpu_for_worker(index)) for index in range(1, servers)]
        try:
            jobs = [(self.problem_set.problems[task_id], programs[task_id]) for task_id in unknown]
            verdicts = run_codes([self.runner, *helpers], jobs, limits)
            measured = {keys[task_id]: verdict for task_id, verdict in zip(unknown, verdicts, strict=True)}
        finally:
            for helper in helpers:
                helper.close(wait=False)  # each exits on its own; waited for in close()
            self._calibration_helpers = helpers
        for task_id, key in keys.items():
            verdict = known.get(key) or measured[key]
            self.timeouts[task_id] = auto_timeout(verdict.duration, cap) if verdict.kind == PASSED else cap
        return measured

    def entries_by_task(self, sample_set: SampleSet) -> dict[str, list[SampleEntry]]:
        """A file's samples grouped by task, tasks in problem-file order, samples in file order."""
        grouped: dict[str, list[SampleEntry]] = {task_id: [] for task_id in self.problem_set.problems}
        for entry in sample_set.entries:
            grouped[entry.task_id].append(entry)
        return grouped

    def sample_set_of(self, entry: SampleEntry) -> SampleSet:
        """The samples file the sample came from."""
        return self._sets_by_file_label[entry.file_label]

    def close(self) -> None:
        """Stop the sandbox servers and close the samples files."""
        self.runner.close()
        for helper in self._calibration_helpers:
            helper.close()
        for sample_set in self.sample_sets:
            sample_set.close()

    def to_wire(self) -> dict[str, Any]:
        """The problems and samples as plain data, for an xdist worker.

        A plain samples file goes as its path and the samples' places in it (workers
        read it themselves; a gzip file's decompressed copy, likewise); ``canonical`` goes
        as its records.
        """
        repeated = self.runner.repeated_keys
        return {
            "problems_source": self.problem_set.source,
            "problems": [asdict(problem) for problem in self.problem_set.problems.values()],
            "sample_sets": [sample_set.to_plain() for sample_set in self.sample_sets],
            "timeouts": self.timeouts,
            "known_at": self.known_at.to_plain(),
            "repeated_keys": None if repeated is None else sorted(repeated),
        }

    @classmethod
    def from_wire(cls, settings: Settings, data: dict[str, Any]) -> Evaluation:
        """Rebuild, in a worker, what the controller sent with :meth:`to_wire`."""
        problems = {row["task_id"]: Problem(**row) for row in data["problems"]}
        evaluation = cls(
            settings,
            ProblemSet(data["problems_source"], problems),
            [SampleSet.from_plain(plain) for plain in data["sample_sets"]],
            timeouts=dict(data["timeouts"]),
        )
        evaluation.known_at = KnownVerdicts.from_plain(data["known_at"])
        if data["repeated_keys"] is not None:
            evaluation.runner.repeated_keys = frozenset(data["repeated_keys"])
        return evaluation


@dataclass(frozen=True)
class HumanEvalSample:
    """What a test asking for the ``humaneval_sample`` argument receives."""

    entry: SampleEntry
    problem: Problem
    evaluation: Evaluation = field(repr=False, compare=False)

    @property
    def task_id(self) -> str:
        return self.entry.task_id

    @property
    def index(self) -> int:
        return self.entry.index

    @property
    def text(self) -> str:
        """The code that runs (after ``--humaneval-extract`` and ``--humaneval-stop``), read back
        from the samples file."""
        return self.evaluation.sample(self.entry).text

    def run(self) -> Verdict:
        """Run the sample against its problem's tests in the sandbox."""
        return self.evaluation.run(self.entry)
