"""Canonical outputs too large to carry (more than ``MAX_VALUE_NODES`` values), kept as the
digest of their pickle and compared by digest: right outputs pass, wrong ones and forgeries
fail, small outputs are compared as before, the tasks EvalPlus does not decide by ``==``
alone are refused, and the real ``Mbpp/255`` of the built-in ``mbpp+`` runs whole.

A list of ``MAX_VALUE_NODES`` ints holds one value too many (the list itself counts), and
its digest takes a tenth of a second: the real limit is small enough to test with."""

from __future__ import annotations

import json
import pickle
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from support.results import read_results, text_of
from support.sessions import RunHumaneval

from pytest_humaneval._sandbox.inputs import SPECIAL_ORACLES, compared_by_equality
from pytest_humaneval._sandbox.protocol import (
    MAX_MESSAGE,
    PICKLED_AS,
    REPLY_DIGEST,
    REPLY_VALUE_OR_DIGEST,
    OutputDigest,
)
from pytest_humaneval._sandbox.suites import DIGESTED, OTHER_DIGEST
from pytest_humaneval._sandbox.values import (
    MAX_VALUE_NODES,
    Digest,
    SampleGone,
    decode_reply,
    encode_output,
    output_digest,
)
from pytest_humaneval.loading import load_problems
from pytest_humaneval.model import SUITE_FAIL, SUITE_PASS, ExpectedOutputs, InputsSuite, Limits, SuiteVerdict
from pytest_humaneval.runner import SandboxRunner

LIMITS = Limits(timeout=60.0, memory=1 << 30)
BIG = MAX_VALUE_NODES
"""``list(range(BIG))`` is one value over the budget; ``list(range(BIG - 1))`` just fits."""
RANGE = "def f(n):\n    return list(range(n))\n"
INPUTS = [[3], [BIG]]


@pytest.fixture(scope="module")
def runner() -> Iterator[SandboxRunner]:
    sandbox_runner = SandboxRunner()
    yield sandbox_runner
    sandbox_runner.close()


@pytest.fixture(scope="module")
def expected(runner: SandboxRunner) -> ExpectedOutputs:
    """The canonical ``list(range(n))`` on ``INPUTS``: a small output and a digest."""
    outputs = runner.expected_outputs(RANGE, "f", INPUTS, LIMITS)
    assert outputs.error == ""
    return outputs


def judge(
    runner: SandboxRunner,
    code: str,
    expected: ExpectedOutputs,
    inputs: list[Any] = INPUTS,
    entry_point: str = "f",
    dataset: str = "humaneval",
    atol: float = 0.0,
) -> SuiteVerdict:
    suite = InputsSuite("plus", inputs, expected.outputs, [1.0] * len(inputs))
    (verdict,) = runner.judge_inputs(textwrap.dedent(code), entry_point, [suite], LIMITS, dataset, atol)
    return verdict


def test_an_output_too_large_to_carry_is_kept_as_its_digest(
    runner: SandboxRunner, expected: ExpectedOutputs
) -> None:
    small, digest = expected.outputs
    assert small == [0, 1, 2]
    assert type(digest) is OutputDigest and len(digest.sha256) == 64
    assert digest == OutputDigest(output_digest(list(range(BIG)))[0])
    assert len(expected.times) == 2
    fitting = runner.expected_outputs(RANGE, "f", [[BIG - 1]], LIMITS)
    assert fitting.outputs == [list(range(BIG - 1))]  # exactly the budget: carried as it is


def test_a_right_output_passes_by_digest(runner: SandboxRunner, expected: ExpectedOutputs) -> None:
    for code in (
        RANGE,
        "def f(n):\n    out = []\n    for i in range(n):\n        out.append(i)\n    return out\n",
    ):
        verdict = judge(runner, code, expected)
        assert (verdict.status, verdict.passed, verdict.failure) == (SUITE_PASS, 2, None), verdict


def test_shared_parts_do_not_change_a_digest(runner: SandboxRunner) -> None:
    """The pickle has no memo: an output that repeats one tuple object matches one made of
    equal but distinct tuples."""
    canonical = "def f(n):\n    return [tuple(['a', str(n)]) for _ in range(n)]\n"
    outputs = runner.expected_outputs(canonical, "f", [[BIG // 3 + 1]], LIMITS)
    assert [type(output) for output in outputs.outputs] == [OutputDigest]
    shared = "def f(n):\n    pair = tuple(['a', str(n)])\n    return [pair] * n\n"
    assert judge(runner, shared, outputs, [[BIG // 3 + 1]]).status == SUITE_PASS


@pytest.mark.parametrize(
    ("code", "actual"),
    [
        pytest.param("return list(range(n - 1))", OTHER_DIGEST, id="one-short"),
        pytest.param("return [*range(n - 1), -1]", OTHER_DIGEST, id="one-different"),
        pytest.param("return tuple(range(n))", OTHER_DIGEST, id="a-tuple"),
        pytest.param("return [float(i) for i in range(n)]", OTHER_DIGEST, id="floats-equal-by-=="),
        pytest.param("return []", OTHER_DIGEST, id="small"),
        pytest.param("return ('H', '0' * 64)", OTHER_DIGEST, id="a-digest-shaped-value"),
        pytest.param(
            "class L(list):\n        pass\n    return L(range(n))",
            "TypeError: an output compared by digest must be plain data, not L",
            id="a-subclass",
        ),
        pytest.param(
            "return (i for i in range(n))",
            "TypeError: an output compared by digest must be plain data, not generator",
            id="a-generator",
        ),
    ],
)
def test_a_wrong_output_fails_by_digest(
    runner: SandboxRunner, expected: ExpectedOutputs, code: str, actual: str
) -> None:
    """Only the same pickle passes: a list of equal floats is the known case where EvalPlus's
    ``==`` would pass (docs/known-limitations.md)."""
    verdict = judge(runner, f"def f(n):\n    if n == 3:\n        return [0, 1, 2]\n    {code}\n", expected)
    assert (verdict.status, verdict.passed) == (SUITE_FAIL, 1), verdict
    assert verdict.failure is not None
    assert (verdict.failure.index, verdict.failure.input, verdict.failure.expected) == (
        1,
        f"[{BIG}]",
        DIGESTED,
    )
    assert verdict.failure.actual == actual


def test_an_output_of_few_values_but_too_many_bytes_is_kept_as_its_digest(runner: SandboxRunner) -> None:
    """One string longer than an answer may be (``MAX_MESSAGE``): one value, compared by
    digest like an output of too many values (it stopped the session as an output the
    canonical solution could not give)."""
    canonical = "def f(n, c):\n    return c * n\n"
    inputs = [[3, "a"], [MAX_MESSAGE + 1, "a"]]
    outputs = runner.expected_outputs(canonical, "f", inputs, LIMITS)
    assert outputs.error == ""
    assert outputs.outputs[0] == "aaa"
    assert outputs.outputs[1] == OutputDigest(output_digest("a" * (MAX_MESSAGE + 1))[0])
    assert judge(runner, canonical, outputs, inputs).status == SUITE_PASS
    wrong = judge(
        runner, "def f(n, c):\n    return c * n if n == 3 else c * (n - 1) + 'b'\n", outputs, inputs
    )
    assert (wrong.status, wrong.passed) == (SUITE_FAIL, 1), wrong
    assert wrong.failure is not None and (wrong.failure.expected, wrong.failure.actual) == (
        DIGESTED,
        OTHER_DIGEST,
    )


def test_a_small_output_is_compared_as_before(runner: SandboxRunner, expected: ExpectedOutputs) -> None:
    verdict = judge(runner, "def f(n):\n    return list(range(n - 1)) + [7]\n", expected)
    assert (verdict.status, verdict.passed, verdict.message) == (SUITE_FAIL, 0, "input 0: wrong output")
    assert verdict.failure is not None
    assert (verdict.failure.expected, verdict.failure.actual) == ("[0, 1, 2]", "[0, 1, 7]")


FORGERIES = {
    "eq-always-true": """
        class Anything(list):
            def __eq__(self, other):
                return True
            __hash__ = None
        def f(n):
            return Anything(range(n)) if n > 3 else [0, 1, 2]
    """,
    "reduce-lies": """
        class Liar:
            def __reduce__(self):
                return (list, (range(3),))
        def f(n):
            return Liar() if n > 3 else [0, 1, 2]
    """,
    "patched-hashlib": """
        import hashlib
        class Fixed:
            def update(self, data):
                pass
            def hexdigest(self):
                return "0" * 64
        hashlib.sha256 = lambda *args, **kwargs: Fixed()
        def f(n):
            return [] if n > 3 else [0, 1, 2]
    """,
    "patched-pickler-and-codec": """
        import pickle, sys
        class Silent(pickle.Pickler):
            def dump(self, obj):
                pass
        for module in list(sys.modules.values()):
            if hasattr(module, "_PlainPickler"):
                module._PlainPickler = Silent
            if hasattr(module, "encode_output"):
                encode = module.encode_output
                def forged(value, reply="value", encode=encode):
                    return pickle.dumps(("H", "f" * 64)) if reply == "digest" else encode(value, reply)
                module.encode_output = forged
        def f(n):
            return [] if n > 3 else [0, 1, 2]
    """,
    "fake-bytes-on-every-descriptor": """
        import os, pickle, struct
        def forge(payload):
            message = struct.pack("!I", len(payload)) + payload
            for fd in range(3, 64):
                try:
                    os.write(fd, message)
                except OSError:
                    pass
        def f(n):
            if n > 3:
                forge(pickle.dumps(("H", "0" * 64), protocol=4))
                forge(pickle.dumps(("P", "0" * 64), protocol=4))
                return []
            return [0, 1, 2]
    """,
    "garbage-on-every-descriptor": """
        import os
        def f(n):
            if n > 3:
                for fd in range(3, 64):
                    try:
                        os.write(fd, b"\\x00\\x00\\x00\\x05junk!")
                    except OSError:
                        pass
                return []
            return [0, 1, 2]
    """,
}


@pytest.mark.parametrize("code", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forgery_fails(runner: SandboxRunner, expected: ExpectedOutputs, code: str) -> None:
    """Nothing the sample does in its own process makes a digest it cannot compute pass: a
    lying ``__eq__`` or ``__reduce__``, patched ``hashlib``, ``pickle`` or codec, fake messages
    written to any descriptor (the channel among them)."""
    verdict = judge(runner, code, expected)
    assert verdict.status == SUITE_FAIL and verdict.passed == 1, verdict
    assert verdict.failure is not None and verdict.failure.index == 1


@pytest.mark.parametrize(
    ("code", "inputs", "entry_point", "dataset", "reason"),
    [
        pytest.param(
            "def f(n):\n    return [0.5] * n\n",
            [[BIG]],
            "f",
            "humaneval",
            "input 0 * EvalPlus compares floats with a tolerance",
            id="floats",
        ),
        pytest.param(
            "def f(n):\n    return 0.5 if n == 1 else list(range(n))\n",
            [[1], [BIG]],
            "f",
            "humaneval",
            "input 1 * EvalPlus compares it with a tolerance (an earlier output was floats)",
            id="after-floats",
        ),
        pytest.param(
            "def f(n):\n    return [float('nan'), *range(n)]\n",
            [[BIG]],
            "f",
            "humaneval",
            "input 0 * it holds a NaN, which EvalPlus finds equal to nothing",
            id="nan",
        ),
        pytest.param(
            "def Diff(a, b):\n    return list(range(a))\n",
            [[BIG, 0]],
            "Diff",
            "mbpp",
            "input 0 * EvalPlus compares the outputs of 'Diff' with a special oracle",
            id="set-oracle",
        ),
        pytest.param(
            "def find_zero(n):\n    return list(range(n))\n",
            [[BIG]],
            "find_zero",
            "humaneval",
            "input 0 * EvalPlus compares the outputs of 'find_zero' with a special oracle",
            id="find-zero",
        ),
    ],
)
def test_digests_are_refused_where_evalplus_does_not_decide_by_equality(
    runner: SandboxRunner, code: str, inputs: list[Any], entry_point: str, dataset: str, reason: str
) -> None:
    outputs = runner.expected_outputs(code, entry_point, inputs, LIMITS, dataset=dataset)
    assert outputs.outputs == []
    assert outputs.error.startswith("the output of input ")
    assert (
        f"has more than {MAX_VALUE_NODES:,} values, too many to carry, and cannot be compared by digest"
        in (outputs.error)
    )
    head, tail = reason.split(" * ")
    assert outputs.error.startswith(f"the output of {head} ") and outputs.error.endswith(tail)


def test_a_tolerance_refuses_the_digest_when_computing(runner: SandboxRunner) -> None:
    outputs = runner.expected_outputs(RANGE, "f", [[BIG]], LIMITS, atol=1e-6)
    assert outputs.outputs == []
    assert outputs.error.endswith(
        "cannot be compared by digest: the task's atol=1e-06 makes EvalPlus compare its outputs "
        "with a tolerance"
    )


def test_an_infinity_is_not_a_nan(runner: SandboxRunner) -> None:
    """An infinity's pickle looks like a NaN's at first sight: the value is then looked at."""
    canonical = "def f(n):\n    return [float('inf'), *range(n)]\n"
    outputs = runner.expected_outputs(canonical, "f", [[BIG]], LIMITS)
    assert [type(output) for output in outputs.outputs] == [OutputDigest], outputs.error
    assert judge(runner, canonical, outputs, [[BIG]]).status == SUITE_PASS


def test_a_tolerance_refuses_the_digest_when_judging(
    runner: SandboxRunner, expected: ExpectedOutputs
) -> None:
    """Expected outputs kept as digests (computed without a tolerance), then a suite judged
    with one: the judge refuses to decide such an input by digest, for every sample."""
    verdict = judge(runner, RANGE, expected, atol=1e-6)
    assert (verdict.status, verdict.passed) == (SUITE_FAIL, 1)
    assert verdict.message == (
        "input 1: its expected output was kept as a digest, which cannot be compared "
        "with a tolerance or a special oracle"
    )


# -- in-process units -----------------------------------------------------------------------------------


def test_the_marker_pickles_under_a_name_both_sides_resolve() -> None:
    """The verdict cache and xdist workers pickle it in pytest; the server, where this module
    is ``_sandbox.protocol``, unpickles the same bytes (the judging tests above)."""
    digest = OutputDigest("ab" * 32)
    data = pickle.dumps([digest], protocol=4)
    assert PICKLED_AS.encode() in data
    assert pickle.loads(data) == [digest]


def test_a_reply_carries_no_marker_and_a_digest_only_when_asked() -> None:
    with pytest.raises(SampleGone, match="malformed"):
        decode_reply(pickle.dumps(("P", OutputDigest("ab" * 32)), protocol=4))
    reply = encode_output(list(range(3)), REPLY_DIGEST)
    with pytest.raises(SampleGone, match="malformed"):
        decode_reply(reply)
    assert decode_reply(reply, digests=True) == Digest(output_digest([0, 1, 2])[0])
    assert decode_reply(encode_output([0, 1, 2], REPLY_VALUE_OR_DIGEST), digests=True) == [0, 1, 2]
    with pytest.raises(SampleGone, match="malformed"):
        decode_reply(pickle.dumps(("H", "short", False, False), protocol=4), digests=True)


def test_a_digest_is_stricter_than_equality() -> None:
    """Values ``==`` finds equal but whose pickles differ (docs/known-limitations.md)."""
    stricter = [([1], [True]), ([1], [1.0]), ([0.0], [-0.0]), ({1: 0, 2: 0}, {2: 0, 1: 0})]
    for first, second in stricter:
        assert first == second and output_digest(first)[0] != output_digest(second)[0]
    pair = ("a", "b")
    assert output_digest([pair, pair]) == output_digest([pair, tuple(["a", "b"])])


def test_every_special_oracle_keeps_its_task_from_digests() -> None:
    for dataset, entry_points in SPECIAL_ORACLES.items():
        for entry_point in entry_points:
            assert not compared_by_equality(dataset, entry_point, 0.0)
            assert not compared_by_equality(None, entry_point, 0.0)
    assert compared_by_equality("mbpp", "find_zero", 0.0)  # HumanEval's oracle only
    assert compared_by_equality("mbpp", "combinations_colors", 0.0)
    assert not compared_by_equality("mbpp", "combinations_colors", 1e-6)


# -- the real Mbpp/255 ----------------------------------------------------------------------------------


def test_mbpp_255_runs_whole_with_its_canonical_solution(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """Its plus input 85's output is 1,663,740 tuples of 77 strings (about 130 million
    values, 1.2 GB in the sample process, within the default memory limit): the canonical
    solution passes base and plus. A second session reads the digests back from the verdict
    cache (and the canonical's verdict): a sample that drops the last tuple of the large
    outputs fails plus at the first of them, input 85, by digest."""
    problem = load_problems("mbpp+", evalplus=True).problems["Mbpp/255"]
    assert problem.plus is not None and problem.plus.atol == 0
    body = problem.canonical_solution
    drops = body.replace("return list(", "out = list(") + "    return out if len(out) < 80000 else out[:-1]\n"
    samples = pytester.path / "samples.jsonl"
    args = [
        "--humaneval-problems=mbpp+",
        f"--humaneval-samples={samples}",
        "--humaneval-results=results.jsonl",
    ]

    def run(*completions: str) -> list[dict[str, Any]]:
        rows = [{"task_id": "Mbpp/255", "completion": completion} for completion in completions]
        samples.write_text("".join(json.dumps(row) + "\n" for row in rows))
        result = run_humaneval(*args, *worker_args)
        assert result.ret == 0, text_of(result)
        cached = int(len(completions) > 1)
        line = f"evalplus  expected outputs of 1 problems: {1 - cached} computed, {cached} from the cache"
        result.stdout.fnmatch_lines([line])
        return read_results(pytester.path / "results.jsonl")

    (right,) = run(body)
    assert (right["outcome"], right["base_status"], right["plus_status"]) == ("passed", "pass", "pass")
    reused, wrong = run(body, drops)
    assert reused == right
    assert (wrong["outcome"], wrong["base_status"], wrong["plus_status"]) == ("passed", "pass", "fail")
    assert wrong["failed_input"] == {
        "suite": "plus",
        "index": 85,
        "input": "[['Dog', 'Cat', 'CatBird', 'Bird', 'Fish'], 77]",
        "expected": DIGESTED,
        "actual": OTHER_DIGEST,
    }
