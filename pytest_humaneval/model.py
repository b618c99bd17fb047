"""The domain's plain types: problems, samples, limits and verdicts.

Nearly a leaf: its one import of the package is the sandbox's protocol (itself a leaf of
the standard library), whose outcome words and reference result text verdicts share with
the server; so every module (loading, the cache, the outputs) can name these types
without importing any I/O.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

# The outcome words and EvalPlus's suite statuses, re-exported: the package's other
# modules import them from here.
from pytest_humaneval._sandbox.protocol import CRASHED as CRASHED
from pytest_humaneval._sandbox.protocol import ERROR as ERROR
from pytest_humaneval._sandbox.protocol import FAILED as FAILED
from pytest_humaneval._sandbox.protocol import OUTCOME_KINDS as OUTCOME_KINDS
from pytest_humaneval._sandbox.protocol import PASSED as PASSED
from pytest_humaneval._sandbox.protocol import SUITE_FAIL as SUITE_FAIL
from pytest_humaneval._sandbox.protocol import SUITE_PASS as SUITE_PASS
from pytest_humaneval._sandbox.protocol import SUITE_TIMEOUT as SUITE_TIMEOUT
from pytest_humaneval._sandbox.protocol import TIMED_OUT as TIMED_OUT
from pytest_humaneval._sandbox.protocol import reference_result


@dataclass(frozen=True)
class PlusTests:
    """A problem's EvalPlus tests: inputs whose outputs are compared with the canonical
    solution's, rather than test code.

    Plain values only (lists, tuples, sets, numbers, strings): they cross to xdist
    workers and into the sandbox as data, never as code.
    """

    kind: str
    """The EvalPlus dataset, ``humaneval`` (HumanEval+) or ``mbpp`` (MBPP+): they differ in how
    EvalPlus reads a few tasks' inputs and compares some tasks' outputs."""
    base_inputs: list[list[Any]]
    """The original benchmark's inputs, each the argument list of one call."""
    plus_inputs: list[list[Any]]
    """EvalPlus's extra inputs, each the argument list of one call."""
    atol: float
    """The absolute tolerance of float comparisons (0: exact)."""


@dataclass(frozen=True)
class Problem:
    """One benchmark task in the HumanEval format, with its EvalPlus tests when it has them.

    An MBPP+ problem has no test code: its ``test`` is empty and ``plus`` holds its tests.
    """

    task_id: str
    prompt: str
    entry_point: str
    canonical_solution: str
    test: str
    plus: PlusTests | None = None


@dataclass(frozen=True)
class ProblemSet:
    """The problems of a session, in file order, and where they came from."""

    source: str
    problems: dict[str, Problem]
    evalplus_inputs: bool = False
    """The file has EvalPlus's extra test inputs (``plus_input``), which were not read and
    are not run (loaded without ``evalplus``; see ``loading.load_problems``)."""


@dataclass(frozen=True, slots=True)
class SampleEntry:
    """What the session keeps of a sample: its ids, and where its line is in its file.

    Not its text: that is read back from the file when it is needed (see :class:`SampleSet`).
    """

    position: int
    """Index of the sample in the session: files in the order given, samples (not lines) from 0."""
    task_id: str
    index: int
    """Index of the sample among the samples of its task, in file order."""
    line: int
    file_label: str = ""
    """The label of the sample's file in node ids; empty when the session has one samples file."""
    offset: int = 0
    """Where the sample's line starts in its file, in bytes (for a file read back by offset)."""
    size: int = 0
    """The length of the line in bytes."""
    digest: int = 0
    """A 64-bit digest of the line, checked when the line is read back."""

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
class Sample:
    """One sample's content: a completion (appended to the prompt) or a whole solution program."""

    entry: SampleEntry
    text: str
    """The completion or the solution (as given, or as prepared: see ``postprocess.prepare``)."""
    is_solution: bool
    """True for a whole program (``solution``), False for a completion."""
    record: dict[str, Any]
    """The input record with all its fields, copied to the results file."""
    preparation: str = ""
    """How the text was taken from the model's output (``--humaneval-extract``), if it was."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sample's process."""

    timeout: float
    """Seconds for the whole sample: its program, then the test's calls."""
    memory: int
    calls_timeout: float | None = None
    """Seconds for the test's calls alone (``--humaneval-timeout=auto``): the program's own
    top level (its imports, definitions) counts only toward ``timeout``."""
    file_size: int = 64 * 1024 * 1024
    open_files: int = 64
    processes: int = 64
    slowdown_cap: float = 3.0
    """However busy the machine, a sample gets at most this many times its limit in wall time."""

    @property
    def wall_backstop(self) -> float:
        """Wall-clock bound for a sample, whatever the machine's load (the sandbox's rule)."""
        return self.slowdown_cap * self.timeout


@dataclass(frozen=True)
class FailedInput:
    """The first input an EvalPlus problem's sample failed on: its suite (``base`` or
    ``plus``), its index in the suite and the reprs (capped by the sandbox) of its arguments,
    the expected output and the actual one."""

    suite: str
    index: int
    input: str
    expected: str
    actual: str


@dataclass(frozen=True)
class Verdict:
    """The outcome of running one sample against its problem's tests.

    For an EvalPlus problem (judged by inputs), ``kind`` follows the base suite's status, so
    counts and pass@k mean what they mean for HumanEval; both suites' statuses are kept too.
    """

    kind: str
    message: str
    duration: float
    reference: str = ""
    """The ``result`` the reference harness prints: passed, timed out or "failed: ..."."""
    reused: bool = False
    """True when the verdict comes from the cache or an identical sample, not a new run."""
    base_status: str = ""
    """EvalPlus's status of the base inputs (pass, fail, timeout); empty for a problem
    judged by its test code."""
    plus_status: str = ""
    """EvalPlus's status of the plus inputs, likewise."""
    failed_input: FailedInput | None = None
    """The first input that failed (base inputs first), if one did."""

    @property
    def passed(self) -> bool:
        return self.kind == PASSED

    @property
    def by_inputs(self) -> bool:
        """Whether the verdict is EvalPlus's (by inputs) rather than a test's."""
        return bool(self.base_status)

    @property
    def passed_plus(self) -> bool:
        """EvalPlus's base + plus verdict: both suites passed. A test's verdict (a problem
        without EvalPlus's inputs, in a file that mixes them) counts as its own pass."""
        if not self.by_inputs:
            return self.passed
        return self.base_status == SUITE_PASS and self.plus_status == SUITE_PASS

    @property
    def reference_result(self) -> str:
        """The reference harness's ``result`` string for this verdict."""
        return self.reference or reference_result(self.kind, self.message)

    def describe(self) -> str:
        """One line for the terminal: the kind and, when there is one, the message."""
        return f"{self.kind}: {self.message}" if self.message else self.kind

    def to_plain(self) -> tuple[str, str, float, str, str, str, str]:
        """The verdict as plain values (for xdist, the cache and junitxml); the failed input
        as JSON text (empty if none)."""
        failed = "" if self.failed_input is None else json.dumps(asdict(self.failed_input))
        statuses = (self.base_status, self.plus_status)
        return (self.kind, self.message, self.duration, self.reference, *statuses, failed)

    @classmethod
    def from_plain(cls, plain: Any, reused: bool = False) -> Verdict:
        kind, message, duration, reference, base_status, plus_status, failed = plain
        return cls(
            str(kind),
            str(message),
            float(duration),
            str(reference),
            reused,
            str(base_status),
            str(plus_status),
            FailedInput(**json.loads(failed)) if failed else None,
        )


MIN_INPUT_SECONDS = 1.0
"""EvalPlus's least time limit of one input (``min_time_limit``)."""
INPUT_TIME_FACTOR = 4.0
"""EvalPlus's time limit of one input, in multiples of the canonical solution's time."""


def input_time_limits(
    times: list[float], least: float = MIN_INPUT_SECONDS, factor: float = INPUT_TIME_FACTOR
) -> list[float]:
    """Each input's time limit from the canonical solution's times, as EvalPlus sets them."""
    return [max(least, factor * seconds) for seconds in times]


@dataclass(frozen=True)
class ExpectedOutputs:
    """A canonical solution's output and time (seconds) for each input; or, if it could
    not give them all, no outputs and the ``error``."""

    outputs: list[Any]
    times: list[float]
    error: str = ""


@dataclass(frozen=True)
class InputsSuite:
    """A suite of inputs (EvalPlus's ``base`` or ``plus``): each input's arguments, its
    expected output and its time limit in seconds (see :func:`input_time_limits`)."""

    name: str
    inputs: list[Any]
    expected: list[Any]
    time_limits: list[float]


@dataclass(frozen=True)
class InputFailure:
    """A suite's first failing input: its index and, as reprs of a few hundred characters
    at most, its arguments, the expected output and the actual one (or the exception)."""

    index: int
    input: str
    expected: str
    actual: str


@dataclass(frozen=True)
class SuiteVerdict:
    """EvalPlus's verdict on one suite: ``pass``, ``fail`` or ``timeout``, how many inputs
    passed, why it did not pass, its first failing input (if one input failed) and its time."""

    name: str
    status: str
    passed: int
    message: str = ""
    failure: InputFailure | None = None
    duration: float = 0.0

    @property
    def passed_all(self) -> bool:
        return self.status == SUITE_PASS


@dataclass(frozen=True)
class PlusExpected:
    """A problem's expected outputs (and the canonical solution's times) on its base and
    its plus inputs: computed once per problem on the controller, before any sample runs."""

    base: ExpectedOutputs
    plus: ExpectedOutputs


def input_suites(tests: PlusTests, expected: PlusExpected) -> list[InputsSuite]:
    """A problem's suites, ``base`` then ``plus``, each input's limit from the canonical
    solution's time (EvalPlus's rule)."""
    return [
        InputsSuite(name, inputs, outputs.outputs, input_time_limits(outputs.times))
        for name, inputs, outputs in (
            ("base", tests.base_inputs, expected.base),
            ("plus", tests.plus_inputs, expected.plus),
        )
    ]


_SUITE_KINDS = {SUITE_PASS: PASSED, SUITE_FAIL: FAILED, SUITE_TIMEOUT: TIMED_OUT}
"""A verdict's kind from the base suite's status, so counts and pass@k keep their meaning."""


def verdict_by_inputs(suites: Sequence[SuiteVerdict]) -> Verdict:
    """The verdict on a sample from its suites, base then plus (EvalPlus runs plus even when
    base failed): the kind follows base; the message and the failed input are the first
    failing suite's."""
    base, plus = suites
    failing = next((suite for suite in suites if not suite.passed_all), None)
    failed_input = None
    if failing is not None and failing.failure is not None:
        failed_input = FailedInput(failing.name, **asdict(failing.failure))
    return Verdict(
        _SUITE_KINDS[base.status],
        "" if failing is None else f"{failing.name}: {failing.message}",
        base.duration + plus.duration,
        base_status=base.status,
        plus_status=plus.status,
        failed_input=failed_input,
    )
