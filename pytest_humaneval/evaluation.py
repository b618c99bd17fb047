"""What every pytest process of a session knows: the problems, the samples, the limits, a
runner, and how to run a sample on demand.

The controller loads it from the files and prepares it (:meth:`Evaluation.prepare`);
xdist workers rebuild it from what the controller sends (see :mod:`pytest_humaneval.wire`).
Imports the domain, loading, the runner and its pool, calibration, EvalPlus's expected
outputs and the cache; nothing of pytest.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from pytest_humaneval._sandbox.suites import suite_limit
from pytest_humaneval.cache import KnownVerdicts, VerdictCache
from pytest_humaneval.calibration import calibrate
from pytest_humaneval.errors import SamplesFileChanged
from pytest_humaneval.keys import content_digest, limited_key, sample_code
from pytest_humaneval.loading import SampleSet, file_labels, load_problems, load_samples
from pytest_humaneval.model import (
    Limits,
    PlusExpected,
    Problem,
    ProblemSet,
    Sample,
    SampleEntry,
    Verdict,
    input_suites,
)
from pytest_humaneval.plus import compute_expected
from pytest_humaneval.postprocess import prepare
from pytest_humaneval.run_ahead import Job, RunAhead
from pytest_humaneval.runner import SandboxError, SandboxRunner, cpu_for_worker
from pytest_humaneval.settings import Settings


def _nothing_known(keys: list[str]) -> dict[str, Any]:
    return {}


def _both(first: Callable[[Sample], None], then: Callable[[Sample], None], sample: Sample) -> None:
    """Show a sample being read to two readers: the verdict key's, then the caller's."""
    first(sample)
    then(sample)


@functools.cache
def _limits(timeout: float, memory: int, calls_timeout: float | None = None) -> Limits:
    return Limits(timeout=timeout, memory=memory, calls_timeout=calls_timeout)


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
    expected: dict[str, PlusExpected] = field(default_factory=dict)
    """The expected outputs of the EvalPlus problems that have samples (judged by inputs)."""
    expected_cached: int = 0
    """How many problems' expected outputs came from the verdict cache (on the controller)."""
    keys: list[str] = field(default_factory=list)
    """Each sample's verdict key, by position (on the controller; see :meth:`compute_keys`)."""
    known_at: KnownVerdicts = field(default_factory=KnownVerdicts)
    """Verdicts known before the session (from the verdict cache), by sample position: such
    a sample is not even read back from its file."""
    entries: list[SampleEntry] = field(init=False, repr=False)
    """Every sample of every file, by position."""
    _contents: list[bytes] = field(default_factory=list, init=False, repr=False)
    """Each sample's :func:`content_digest`, by position, until :meth:`compute_keys` (auto)."""
    _side_servers: list[SandboxRunner] = field(default_factory=list, init=False, repr=False)
    """The servers that measured canonical solutions beside :attr:`runner` (stopping)."""
    _started_ahead: tuple[Sample, str] | None = field(default=None, init=False, repr=False)
    """The sample :meth:`prefetch` read back from its file and its verdict key, until
    :meth:`run` takes them."""
    pool: RunAhead | None = field(default=None, init=False, repr=False)
    """The servers that run samples ahead of their items, if this process plans them
    (see :meth:`use_pool`); else :attr:`runner` runs each sample, the next one started
    while the last is reported (:meth:`prefetch`)."""

    def __post_init__(self) -> None:
        self.entries = []
        self._sets_by_file_label: dict[str, SampleSet] = {}
        for sample_set in self.sample_sets:
            self._index(sample_set)

    def _index(self, sample_set: SampleSet) -> None:
        self.entries.extend(sample_set.entries)
        self._sets_by_file_label[sample_set.entries[0].file_label] = sample_set

    @classmethod
    def load(cls, settings: Settings, also: Callable[[int, Sample], None] | None = None) -> Evaluation:
        """Read and check the problem file and every samples file named in ``settings``.

        The files are read as streams, and each sample's verdict key is computed as it is
        read; when the time limits wait for calibration (``--humaneval-timeout=auto``), all
        of it but the limits (see :meth:`compute_keys`). ``also`` sees each sample as it is
        read, with its file's index (its ``FieldError`` is an error at the sample's line).
        With several samples files, node ids start with each file's label.
        """
        assert settings.samples
        evaluation = cls(settings, load_problems(settings.problems, evalplus=True), [])
        note = evaluation._note_content if settings.auto_timeout else evaluation._note_key
        specs = list(settings.samples)
        labels = file_labels(specs) if len(specs) > 1 else [""]
        first_position = 0
        try:
            for file_index, (spec, label) in enumerate(zip(specs, labels, strict=True)):
                on_sample = note
                if also is not None:
                    on_sample = functools.partial(_both, note, functools.partial(also, file_index))
                sample_set = load_samples(spec, evaluation.problem_set, first_position, label, on_sample)
                evaluation.sample_sets.append(sample_set)
                evaluation._index(sample_set)
                first_position += len(sample_set.entries)
        except BaseException:
            evaluation.close()  # the files loaded before the bad one
            raise
        return evaluation

    def prepare(
        self,
        cpu: int | None,
        cache: VerdictCache | None,
        measure_limits: bool,
        runs_here: bool,
        runs_samples: bool = True,
    ) -> None:
        """Get ready to run samples, in the one order that works (on the controller).

        The sandbox server goes on ``cpu``. With ``measure_limits`` (``auto``) the problems'
        limits are measured first, since a verdict key includes the limits, then the keys
        are finished. If samples ``runs_samples``, the EvalPlus problems' expected outputs
        are computed (or found in the ``cache``). Unless samples ``runs_here``, the server
        that measured stops (xdist workers run the samples). Then the verdicts the
        ``cache`` knows, and which keys repeat (only those verdicts are kept for identical
        samples). Raises ``InputError`` if a canonical solution gives no expected outputs.
        """
        self.runner.cpu = cpu
        if measure_limits:
            self._measure_limits(cache)
            self.compute_keys()
        if runs_samples:
            self._compute_expected(cache)
        if not runs_here:
            self.runner.close(wait=False)
        cached = cache.lookup(self.keys) if cache else {}
        self.known_at = KnownVerdicts(
            {position: cached[key] for position, key in enumerate(self.keys) if key in cached}
        )
        self.runner.repeated_keys = self.repeated_keys()

    def prepare_as_sent(self, cpu: int | None, repeated_keys: frozenset[str] | None) -> None:
        """Get ready as the controller decided (in an xdist worker): its own server's CPU,
        and the keys that repeat."""
        self.runner.cpu = cpu
        self.runner.repeated_keys = repeated_keys

    def _measure_limits(self, cache: VerdictCache | None) -> None:
        """``--humaneval-timeout=auto``: per-problem limits from the canonical solutions."""
        limits = _limits(self.settings.timeout, self.settings.memory_mb * 1024 * 1024)
        problems = self.problem_set.problems
        calibration = calibrate(
            self.problem_set,
            {entry.task_id for entry in self.entries if problems[entry.task_id].plus is None},
            limits,
            self.runner,
            cache.lookup if cache else _nothing_known,
        )
        self._side_servers += calibration.helpers
        self.timeouts = calibration.timeouts
        if cache is not None:
            for key, verdict in calibration.measured.items():
                cache.store(key, verdict)

    def _compute_expected(self, cache: VerdictCache | None) -> None:
        """The expected outputs of the EvalPlus problems with samples, before any sample runs."""
        with_samples = {entry.task_id for entry in self.entries}
        problems = [
            problem
            for problem in self.problem_set.problems.values()
            if problem.plus is not None and problem.task_id in with_samples
        ]
        if not problems:
            return
        run = compute_expected(
            self.problem_set.source,
            problems,
            self.settings.memory_mb * 1024 * 1024,
            self.runner,
            cache.lookup_expected if cache else _nothing_known,
        )
        self._side_servers += run.helpers
        self.expected = run.expected
        self.expected_cached = len(problems) - len(run.computed)
        if cache is not None and run.computed:
            cache.store_expected(run.computed)

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

    def wall_backstop(self, task_id: str) -> float:
        """The most wall time a sample of the task can take, however busy the machine: its
        limit times the slowdown cap, or for a problem judged by inputs, each suite's limit
        (EvalPlus's, from the canonical solution's times) times the cap."""
        limits = self.limits(task_id)
        tests, expected = self.problem_set.problems[task_id].plus, self.expected.get(task_id)
        if tests is None or expected is None:
            return limits.wall_backstop
        suites = input_suites(tests, expected)
        return limits.slowdown_cap * sum(suite_limit(suite.time_limits) for suite in suites)

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

    def use_pool(self, servers: int) -> None:
        """Run the samples on ``servers`` sandbox servers (this one's and more), ahead of
        their items, once :meth:`plan` says which come."""
        runners = [self.runner, *(SandboxRunner(cpu_for_worker(index)) for index in range(1, servers))]
        self.pool = RunAhead(runners, self._job, self.runner.repeated_keys)

    def plan(self, entries: Iterable[SampleEntry]) -> None:
        """The entries this process will run, in order, for the pool to start ahead."""
        if self.pool is not None:
            self.pool.plan(entry for entry in entries if entry.position not in self.known_at)

    def _job(self, entry: SampleEntry) -> Job:
        sample = self.sample(entry)
        limits = self.limits(entry.task_id)
        return Job(
            self.problem(entry), sample, limits, self._key_to_run(sample), self.expected.get(entry.task_id)
        )

    def verdicts_ahead(self) -> list[tuple[str, Verdict]]:
        """Verdicts that came ahead of items that did not run (the session stopped first),
        with their keys: for the verdict cache."""
        return [] if self.pool is None else self.pool.leftovers()

    def run(self, entry: SampleEntry) -> Verdict:
        """Run the entry's sample in the sandbox (or reuse a known verdict) and return its verdict."""
        known = self.known_at.get(entry.position)
        if known is not None:
            return replace(known, reused=True)
        if self.pool is not None:
            return self.pool.verdict(entry)
        started, self._started_ahead = self._started_ahead, None
        if started is not None and started[0].entry is entry:
            sample, key = started
        else:
            sample = self.sample(entry)
            key = self._key_to_run(sample)
        return self.runner.run(
            self.problem(entry), sample, self.limits(entry.task_id), key, self.expected.get(entry.task_id)
        )

    def prefetch(self, entry: SampleEntry) -> None:
        """Start the entry's sample in the sandbox now; :meth:`run` collects its verdict later.

        Whatever fails here (a server, a changed file) fails again in that later run, on
        its own item: the sample asking for the prefetch is not affected.
        """
        if entry.position in self.known_at or self.pool is not None:
            return
        try:
            sample = self.sample(entry)
            key = self._key_to_run(sample)
            self._started_ahead = (sample, key)
            self.runner.prefetch(
                self.problem(entry), sample, self.limits(entry.task_id), key, self.expected.get(entry.task_id)
            )
        except (OSError, SandboxError, SamplesFileChanged):
            pass

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
        if self.pool is not None:
            self.pool.close()  # its runners, this one's among them
        self.runner.close()
        for helper in self._side_servers:
            helper.close()
        for sample_set in self.sample_sets:
            sample_set.close()


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
