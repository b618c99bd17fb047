"""Judging by inputs, in the server (trusted): one suite of inputs against a sample
process (:func:`judge_suite`), and a canonical solution's outputs (:func:`expected_outputs`).

The sample process gets its program and every input at once, and answers the calls one
after the other without waiting to be asked (as it answers a test's expected calls,
:mod:`.probe`): the judge reads each answer, compares it with the expected output
(:mod:`.inputs`; the expected outputs never reach the sample) and stops at the first
failure. Each input has its own time limit, counted with the sample's load-independent
time (:meth:`.judge.SampleProcess.elapsed`) from the moment the judge has judged the
answer before it; the program's top level counts only toward the suite's limit.

A canonical output too large to carry (more than :data:`.values.MAX_VALUE_NODES` values,
or a pickle over :data:`.protocol.MAX_MESSAGE` bytes) is kept as its digest
(:class:`.protocol.OutputDigest`) where EvalPlus compares by ``==`` alone; a sample's
output for that input then comes back as its digest too, and passes when the two are
the same.

Imports only the standard library and its sibling modules.
"""

from __future__ import annotations

import pickle
import re
import reprlib
from typing import Any

from .inputs import compared_by_equality, is_floats, output_passes
from .judge import SampleProcess, SampleTimeout, TimeLimitAlarm, describe
from .protocol import (
    MAX_MESSAGE,
    REPLY_DIGEST,
    REPLY_VALUE,
    REPLY_VALUE_OR_DIGEST,
    SUITE_FAIL,
    SUITE_PASS,
    SUITE_TIMEOUT,
    InputFailure,
    LimitsMessage,
    OutputDigest,
    OutputsReply,
    Suite,
    SuiteReply,
)
from .values import MAX_VALUE_NODES, Digest, SampleGone, decode_reply, is_data

SHOWN = 300
"""The most characters of an input, an output or an exception a failure shows."""
MAX_SUITE_SECONDS = 60.0
"""EvalPlus's bound on a suite's time (``EVALPLUS_TIMEOUT_PER_TASK``), before its extra second."""
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")


class _Repr(reprlib.Repr):
    """reprlib's, without the memory address of an object's default repr (an iterator's,
    say): a failure shows the same text on every run, so results files compare equal."""

    def repr_instance(self, obj: Any, level: int) -> str:
        return _ADDRESS.sub(">", super().repr_instance(obj, level))


_REPR = _Repr()
_REPR.maxlevel = 8
_REPR.maxtuple = _REPR.maxlist = _REPR.maxdict = _REPR.maxset = _REPR.maxfrozenset = 40
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = SHOWN
DIGESTED = (
    f"<an output of more than {MAX_VALUE_NODES:,} values or {MAX_MESSAGE >> 20} MiB, compared by digest>"
)
"""What a failure shows as an expected output kept as its digest."""
OTHER_DIGEST = "<an output with another digest>"
"""What a failure shows as a sample's output whose digest is not the expected one."""


def shown(value: Any) -> str:
    """A value's repr, at most :data:`SHOWN` characters (and cheap for a huge value)."""
    try:
        text = _REPR.repr(value)
    except Exception:
        text = f"<unprintable {type(value).__name__}>"
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


def suite_limit(time_limits: list[float]) -> float:
    """The whole suite's limit in seconds, as EvalPlus sets it (with fast check)."""
    return min(MAX_SUITE_SECONDS, sum(time_limits)) + 1.0


def _calls(entry_point: str, inputs: list[Any], replies: list[str]) -> list[bytes]:
    """Each input as the call a sample process makes, ``entry_point(*input)``, and how it
    replies (a ``REPLY_*``)."""
    return [
        pickle.dumps((entry_point, tuple(inp), {}, reply), protocol=4)
        for inp, reply in zip(inputs, replies, strict=True)
    ]


def _answer(sample: SampleProcess, digests: bool = False) -> tuple[bool, Any]:
    """The sample's next answer: (True, the value, or its :class:`.values.Digest` with
    ``digests``) or (False, the exception it raised)."""
    try:
        return True, decode_reply(sample.receive(), digests)
    except (SampleGone, SampleTimeout, SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:  # the sample's exception, rebuilt in the judge
        return False, exc


def _text(exc: BaseException) -> str:
    return describe(exc)[0][:SHOWN]


class _Failed(Exception):
    """The suite fails at its current input, for this reason and with this actual value."""

    def __init__(self, message: str, actual: str) -> None:
        super().__init__(message)
        self.actual = actual


def judge_suite(
    sample: SampleProcess,
    program: bytes,
    entry_point: str,
    dataset: str,
    atol: float,
    suite: Suite,
    limits: LimitsMessage,
) -> tuple[SuiteReply, bool]:
    """Judge one suite in a fresh sample process; also whether the process ended on its
    own (its status is ``timeout``, as in EvalPlus: the caller tells how it ended)."""
    inputs, expected, time_limits = suite["inputs"], suite["expected"], suite["time_limits"]
    whole = suite_limit(time_limits)
    reply: SuiteReply = {
        "name": suite["name"],
        "status": SUITE_FAIL,
        "passed": 0,
        "message": "",
        "failure": None,
        "duration": 0.0,
    }
    index = -1
    """The input being judged (-1: the program's top level)."""
    by_digest = [type(output) is OutputDigest for output in expected]
    try:
        sample.start(
            program,
            entry_point,
            [],
            {**limits, "timeout": whole, "calls_timeout": None},
            _calls(entry_point, inputs, [REPLY_DIGEST if digest else REPLY_VALUE for digest in by_digest]),
        )
        with TimeLimitAlarm(sample):  # the judge's own comparisons count toward the suite's time
            returned, value = _answer(sample)  # the program's names: it has run
            if not returned:
                reply["message"] = f"the program raised {_text(value)}"
                return reply, False
            for index, arguments in enumerate(inputs):
                sample.calls_from, sample.calls_limit = sample.elapsed(), time_limits[index]
                returned, out = _answer(sample, by_digest[index])
                sample.calls_limit = None
                if not returned:
                    raise _Failed(f"input {index} raised {_text(out)}", _text(out))
                if by_digest[index]:
                    by_equality = compared_by_equality(dataset, entry_point, atol)
                    _judge_digest(index, out, expected[index], by_equality)
                    reply["passed"] += 1
                    continue
                try:
                    passes, atol = output_passes(dataset, entry_point, arguments, out, expected[index], atol)
                except Exception as exc:
                    raise _Failed(
                        f"comparing the output of input {index} raised {_text(exc)}", shown(out)
                    ) from None
                if not passes:
                    raise _Failed(f"input {index}: wrong output", shown(out))
                reply["passed"] += 1
        reply["status"] = SUITE_PASS
    except _Failed as failure:
        reply["message"] = str(failure)
        reply["failure"] = _failure(index, inputs, expected, failure.actual)
    except SampleTimeout:
        if (
            sample.calls_limit is not None
            and sample.elapsed() - (sample.calls_from or 0.0) >= sample.calls_limit
        ):
            limit = f"time limit of {sample.calls_limit:g} s exceeded"
            reply["message"] = f"input {index}: {limit}"
            reply["failure"] = _failure(index, inputs, expected, limit)
        else:
            reply["status"], reply["message"] = (
                SUITE_TIMEOUT,
                f"time limit of {whole:g} s for the suite exceeded",
            )
    except SampleGone as exc:
        if not str(exc):  # the process ended: EvalPlus, which then has no status, says timeout
            reply["status"] = SUITE_TIMEOUT
            reply["duration"] = round(sample.elapsed(), 6)
            return reply, True
        reply["message"] = str(exc)  # a malformed or oversized answer
        if index >= 0:
            reply["failure"] = _failure(index, inputs, expected, str(exc))
    reply["duration"] = round(sample.elapsed(), 6)
    return reply, False


def _judge_digest(index: int, out: Any, expected: OutputDigest, by_equality: bool) -> None:
    """Judge an output sent as its digest (:class:`_Failed` unless it is the expected one);
    ``by_equality``: EvalPlus decides this input by ``==`` alone, as a digest can."""
    if not by_equality:
        raise _Failed(
            f"input {index}: its expected output was kept as a digest, which cannot be "
            "compared with a tolerance or a special oracle",
            "<not compared>",
        )
    if type(out) is not Digest or out.sha256 != expected.sha256:
        raise _Failed(f"input {index}: wrong output", OTHER_DIGEST if type(out) is Digest else shown(out))


def _failure(index: int, inputs: list[Any], expected: list[Any], actual: str) -> InputFailure:
    return {
        "index": index,
        "input": shown(inputs[index]),
        "expected": DIGESTED if type(expected[index]) is OutputDigest else shown(expected[index]),
        "actual": actual,
    }


def expected_outputs(
    sample: SampleProcess,
    program: bytes,
    entry_point: str,
    inputs: list[Any],
    not_none: bool,
    limits: LimitsMessage,
    comparison: tuple[str, float],
) -> OutputsReply:
    """Each input's output from a (canonical) solution, and its time, as EvalPlus's
    ``trusted_exec`` records them; or the error that kept it from giving them all. An output
    too large to carry is kept as its digest (its time includes the digest's) where EvalPlus
    compares it by ``==`` alone, as it does for the task's dataset and tolerance
    (``comparison``)."""
    outputs: list[Any] = []
    times: list[float] = []
    index = -1
    calls = _calls(entry_point, inputs, [REPLY_VALUE_OR_DIGEST] * len(inputs))
    try:
        sample.start(program, entry_point, [], {**limits, "calls_timeout": None}, calls)
        with TimeLimitAlarm(sample):
            returned, value = _answer(sample)
            if not returned:
                return _error(f"the program raised {_text(value)}")
            floats_before = False
            """Whether an earlier output was floats: EvalPlus compares the later ones with a tolerance."""
            for index in range(len(inputs)):
                started = sample.elapsed()
                returned, value = _answer(sample, digests=True)
                times.append(round(sample.elapsed() - started, 6))
                if not returned:
                    return _error(f"input {index} raised {_text(value)}")
                if not_none:
                    value = value is not None
                elif type(value) is Digest:
                    refusal = _digest_refusal(comparison, entry_point, value, floats_before)
                    if refusal:
                        return _error(
                            f"the output of input {index} has more than {MAX_VALUE_NODES:,} values, "
                            f"too many to carry, and cannot be compared by digest: {refusal}"
                        )
                    value = OutputDigest(value.sha256)
                elif not is_data(value):
                    return _error(f"the output of input {index} is not plain data: {shown(value)}")
                floats_before = floats_before or is_floats(value)
                outputs.append(value)
    except SampleTimeout:
        return _error(f"time limit of {limits['timeout']:g} s exceeded at input {index}")
    except SampleGone as exc:
        return _error(str(exc) or f"the process ended at input {index}")
    return {"outputs": outputs, "times": times, "error": ""}


def _digest_refusal(
    comparison: tuple[str, float], entry_point: str, digest: Digest, floats_before: bool
) -> str:
    """Why EvalPlus's decision on this output is not ``==`` alone, as a digest's must be
    (empty if it is), for the task's dataset and tolerance (``comparison``)."""
    dataset, atol = comparison
    if atol != 0:
        return f"the task's atol={atol:g} makes EvalPlus compare its outputs with a tolerance"
    if digest.floats:
        return "EvalPlus compares floats with a tolerance"
    if digest.nan:
        return "it holds a NaN, which EvalPlus finds equal to nothing"
    if floats_before:
        return "EvalPlus compares it with a tolerance (an earlier output was floats)"
    if not compared_by_equality(dataset, entry_point, 0.0):
        return f"EvalPlus compares the outputs of {entry_point!r} with a special oracle"
    return ""


def _error(message: str) -> OutputsReply:
    return {"outputs": [], "times": [], "error": message}
