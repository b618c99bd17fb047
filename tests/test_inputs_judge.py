"""Judging by inputs as EvalPlus 0.3.1 does, and expected outputs from a canonical
solution, both in the sandbox, through :class:`SandboxRunner`: exact and float comparison
(with EvalPlus's tolerance that sticks once set), the special oracles, the first failure's
index and values, per-input and whole-suite time limits, hostile samples, and real
HumanEval+ tasks end to end (when the shared data is on this machine).

Wall-clock bounds are the sandbox's own (a limit times its slowdown cap) plus slack for
a loaded machine, never a measured speed."""

from __future__ import annotations

import gzip
import json
import textwrap
import time
from collections.abc import Iterator
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest

from pytest_humaneval.model import (
    FAILED,
    PASSED,
    SUITE_FAIL,
    SUITE_PASS,
    SUITE_TIMEOUT,
    ExpectedOutputs,
    InputsSuite,
    Limits,
    PlusExpected,
    PlusTests,
    Problem,
    Sample,
    SampleEntry,
    SuiteVerdict,
    input_time_limits,
)
from pytest_humaneval.runner import SandboxRunner

LIMITS = Limits(timeout=20.0, memory=1 << 30)
SLACK = 5.0
"""Seconds beyond the sandbox's wall-clock bound for the server to fork, judge and answer."""
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "HumanEvalPlus-v0.1.10.jsonl.gz"


@pytest.fixture(scope="module")
def runner() -> Iterator[SandboxRunner]:
    sandbox_runner = SandboxRunner()
    yield sandbox_runner
    sandbox_runner.close()


def suite(inputs: list[Any], expected: list[Any], limits: list[float] | None = None) -> InputsSuite:
    return InputsSuite("base", inputs, expected, limits or [1.0] * len(inputs))


def judge(
    runner: SandboxRunner,
    code: str,
    inputs: list[Any],
    expected: list[Any],
    entry_point: str = "f",
    dataset: str = "humaneval",
    atol: float = 0.0,
    limits: list[float] | None = None,
) -> SuiteVerdict:
    (verdict,) = runner.judge_inputs(
        textwrap.dedent(code), entry_point, [suite(inputs, expected, limits)], LIMITS, dataset, atol
    )
    return verdict


ADD = "def f(a, b):\n    return a + b\n"
ADD_INPUTS = [[1, 2], [3, 4], [5, 6], [7, 8]]
ADD_EXPECTED = [3, 7, 11, 15]


def test_right_outputs_pass(runner: SandboxRunner) -> None:
    verdict = judge(runner, ADD, ADD_INPUTS, ADD_EXPECTED)
    assert (verdict.status, verdict.passed, verdict.message, verdict.failure) == (SUITE_PASS, 4, "", None)
    assert verdict.passed_all


def test_a_wrong_output_fails_at_its_index_with_both_values(runner: SandboxRunner) -> None:
    code = "def f(a, b):\n    return a * b if a == 5 else a + b\n"
    verdict = judge(runner, code, ADD_INPUTS, ADD_EXPECTED)
    assert (verdict.status, verdict.passed, verdict.message) == (SUITE_FAIL, 2, "input 2: wrong output")
    assert verdict.failure is not None
    assert (verdict.failure.index, verdict.failure.input) == (2, "[5, 6]")
    assert (verdict.failure.expected, verdict.failure.actual) == ("11", "30")


def test_a_wrong_output_is_shown_the_same_on_every_run(runner: SandboxRunner) -> None:
    """An iterator's default repr holds its memory address; a failure shows it without, so
    two runs' results files agree on the field."""
    code = "def f(a, b):\n    return iter([a, b]) if a == 3 else a + b\n"
    verdicts = [judge(runner, code, ADD_INPUTS, ADD_EXPECTED) for _ in range(2)]
    assert [v.failure and v.failure.actual for v in verdicts] == ["<list_iterator object>"] * 2


def test_each_suite_runs_in_a_fresh_process_and_is_judged_on_its_own(runner: SandboxRunner) -> None:
    """The program runs again for each suite (its state does not carry over), and a failed
    first suite does not keep the second from being judged, as in EvalPlus."""
    code = "calls = []\ndef f(a, b):\n    calls.append(a)\n    return len(calls)\n"
    base, plus = (
        InputsSuite("base", [[0, 0]], [1], [1.0]),
        InputsSuite("plus", [[0, 0], [0, 0]], [9, 2], [1.0, 1.0]),
    )
    verdicts = runner.judge_inputs(code, "f", [plus, base], LIMITS)
    assert [(v.name, v.status, v.passed) for v in verdicts] == [
        ("plus", SUITE_FAIL, 0),
        ("base", SUITE_PASS, 1),
    ]


def test_an_exception_fails_at_its_input(runner: SandboxRunner) -> None:
    code = "def f(a, b):\n    if a == 5:\n        raise ValueError('no fives')\n    return a + b\n"
    verdict = judge(runner, code, ADD_INPUTS, ADD_EXPECTED)
    assert (verdict.status, verdict.passed) == (SUITE_FAIL, 2)
    assert verdict.failure is not None and verdict.failure.index == 2
    assert verdict.failure.actual == "ValueError: no fives"
    assert verdict.message == "input 2 raised ValueError: no fives"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("def f(a, b):\n    return a +\n", "the program raised SyntaxError"),
        ("def g(a, b):\n    return a + b\n", "the program raised NameError: name 'f' is not defined"),
        ("raise KeyError('top')\n", "the program raised KeyError: 'top'"),
        ("import sys\nsys.exit(0)\n", "the program raised SystemExit"),
    ],
)
def test_a_program_that_does_not_run_fails_every_suite(
    runner: SandboxRunner, code: str, message: str
) -> None:
    verdicts = runner.judge_inputs(code, "f", [suite(ADD_INPUTS, ADD_EXPECTED)] * 2, LIMITS)
    assert [(v.status, v.passed, v.failure) for v in verdicts] == [(SUITE_FAIL, 0, None)] * 2
    assert all(v.message.startswith(message) for v in verdicts)


def test_floats_get_a_tolerance(runner: SandboxRunner) -> None:
    """atol 0 with an expected float: EvalPlus compares within 1e-6 (and rtol 1e-7)."""
    code = "def f(x):\n    return x + 0.2 if x < 1 else x + 1e-4\n"
    verdict = judge(runner, code, [[0.1], [2.0]], [0.30000000000000004 + 5e-7, 2.0])
    assert (verdict.status, verdict.passed) == (SUITE_FAIL, 1)
    assert verdict.failure is not None and verdict.failure.actual == "2.0001"
    lists = "def f(x):\n    return [x + 1e-9, x]\n"
    assert judge(runner, lists, [[1.0]], [[1.0, 1.0]]).status == SUITE_PASS
    assert judge(runner, lists, [[1.0]], [(1.0, 1.0)]).status == SUITE_FAIL  # another type
    assert judge(runner, "def f(x):\n    return 1\n", [[1.0]], [1.0 + 1e-9]).status == SUITE_FAIL
    assert judge(runner, "def f(x):\n    return x + 1e-5\n", [[1.0]], [1.0], atol=1e-4).status == SUITE_PASS


def test_the_float_tolerance_sticks_for_the_rest_of_the_suite(runner: SandboxRunner) -> None:
    """EvalPlus sets its suite's atol to 1e-6 at the first expected float, for good: an int
    output 5 away from 10**8 then passes (5 <= 1e-6 + 1e-7 * 10**8), but not on its own."""
    code = "def f(x):\n    return x / 2 if x < 10 else x + 5\n"
    assert judge(runner, code, [[1], [10**8]], [0.5, 10**8]).status == SUITE_PASS
    alone = judge(runner, code, [[10**8]], [10**8])
    assert (alone.status, alone.failure and alone.failure.actual) == (SUITE_FAIL, "100000005")


def test_find_zero_passes_on_any_root(runner: SandboxRunner) -> None:
    """HumanEval/32: the output is judged by the polynomial's value there, within atol."""
    code = "def find_zero(xs):\n    return {(-6, 11, -6, 1): 3.0, (1, 1): 0.5}[tuple(xs)]\n"
    inputs, expected = [[[-6, 11, -6, 1]], [[1, 1]]], [1.0, -1.0]
    verdict = judge(runner, code, inputs, expected, "find_zero", atol=1e-4)
    assert (verdict.status, verdict.passed) == (
        SUITE_FAIL,
        1,
    )  # 3 is a root of the first, 0.5 not of the second
    assert judge(
        runner, "def find_zero(xs):\n    return 'x'\n", inputs[:1], [1.0], "find_zero", atol=1e-4
    ).message == ("comparing the output of input 0 raised TypeError: must be real number, not str")


MBPP_ORACLES = [
    ("similar_elements", "return [4, 3]", [[[3, 4, 5], [4, 3]]], [[3, 4]], SUITE_PASS),
    ("similar_elements", "return [3]", [[[3, 4, 5], [4, 3]]], [[3, 4]], SUITE_FAIL),
    ("similar_elements", "return 3", [[[3, 4, 5], [4, 3]]], [[3, 4]], SUITE_FAIL),  # set(3) raises
    ("check_str", "import re\n    return re.match('a', 'abc')", [["abc"]], [True], SUITE_PASS),
    ("check_str", "return None", [["abc"]], [True], SUITE_FAIL),
    ("check_str", "return False", [["xyz"]], [False], SUITE_PASS),
    ("check_str", "return 'yes'", [["xyz"]], [False], SUITE_FAIL),
    ("sum_div", "return 0", [[8]], [7], SUITE_PASS),
    ("sum_div", "return 1", [[8]], [7], SUITE_FAIL),
    ("are_equivalent", "return 'anything'", [[36, 57]], [False], SUITE_PASS),
    ("surface_Area", "return 35", [[3, 4]], [33], SUITE_PASS),  # round(9 + 2 * 3 * sqrt(18.25))
    ("surface_Area", "return 34", [[3, 4]], [33], SUITE_FAIL),
    ("digit_distance_nums", "return 6", [[123, 456]], [9], SUITE_FAIL),
    ("digit_distance_nums", "return 7", [[13, 9]], [12], SUITE_PASS),  # 13 and 09: 1 + 6
]


@pytest.mark.parametrize(("entry_point", "body", "inputs", "expected", "status"), MBPP_ORACLES)
def test_mbpp_special_oracles(
    runner: SandboxRunner, entry_point: str, body: str, inputs: list[Any], expected: list[Any], status: str
) -> None:
    code = f"def {entry_point}(*args):\n    {body}\n"
    assert judge(runner, code, inputs, expected, entry_point, dataset="mbpp").status == status
    if entry_point != "are_equivalent":  # the oracles are MBPP's only
        assert judge(runner, code, inputs, expected, entry_point).status == (
            SUITE_PASS if body == f"return {expected[0]!r}" else SUITE_FAIL
        )


def test_surface_area_oracle_takes_the_tolerance(runner: SandboxRunner) -> None:
    """Mbpp/581 with floats: the oracle's value (round(...)) within the suite's atol."""
    code = "def surface_Area(b, h):\n    return 35.0000001\n"
    assert judge(runner, code, [[3, 4]], [40], "surface_Area", "mbpp", atol=1e-6).status == SUITE_PASS
    assert judge(runner, code, [[3, 4]], [40], "surface_Area", "mbpp").status == SUITE_FAIL


def test_an_endless_loop_on_one_input_costs_that_inputs_limit(runner: SandboxRunner) -> None:
    """Input 1 loops: it fails at its 1 s limit, not at the suite's (min(60, 32) + 1 s)."""
    code = "def f(a, b):\n    while a == 3:\n        pass\n    return a + b\n"
    started = time.monotonic()
    verdict = judge(runner, code, ADD_INPUTS[:3], ADD_EXPECTED[:3], limits=[1.0, 1.0, 30.0])
    wall = time.monotonic() - started
    assert (verdict.status, verdict.passed, verdict.message) == (
        SUITE_FAIL,
        1,
        "input 1: time limit of 1 s exceeded",
    )
    assert verdict.failure is not None and verdict.failure.actual == "time limit of 1 s exceeded"
    assert verdict.duration >= 1.0
    assert wall < LIMITS.slowdown_cap * 1.0 + SLACK


def test_an_endless_top_level_loop_times_the_suite_out(runner: SandboxRunner) -> None:
    started = time.monotonic()
    verdict = judge(runner, "while True:\n    pass\n", [[1, 2]], [3], limits=[1.0])
    wall = time.monotonic() - started
    assert (verdict.status, verdict.passed, verdict.failure) == (SUITE_TIMEOUT, 0, None)
    assert verdict.message == "time limit of 2 s for the suite exceeded"
    assert verdict.duration >= 2.0
    assert wall < LIMITS.slowdown_cap * 2.0 + SLACK


HOSTILE = {
    "an object equal to anything": """
        class Anything:
            def __eq__(self, other):
                return True
            __ne__ = lambda self, other: False
            __hash__ = lambda self: 0
        def f(a, b):
            return Anything()
    """,
    "an int subclass equal to anything": """
        class Anything(int):
            def __eq__(self, other):
                return True
        def f(a, b):
            return Anything(0)
    """,
    "patched builtins": """
        import builtins
        builtins.isinstance = lambda *args: True
        builtins.type = lambda *args: int
        builtins.set = lambda *args: {1}
        def f(a, b):
            return 0
    """,
    "fake results on every descriptor": """
        import os
        def f(a, b):
            for fd in range(10):
                try:
                    os.write(fd, b"pass\\n{'status': 'pass'}\\n")
                except OSError:
                    pass
            print("pass")
            return 0
    """,
    "SystemExit mid-suite": """
        def f(a, b):
            if a == 3:
                raise SystemExit(0)
            return a + b
    """,
    "StopIteration mid-suite": """
        def f(a, b):
            if a == 3:
                raise StopIteration
            return a + b
    """,
}


@pytest.mark.parametrize(("name", "code"), HOSTILE.items(), ids=HOSTILE.keys())
def test_hostile_samples_fail(runner: SandboxRunner, name: str, code: str) -> None:
    verdict = judge(runner, code, ADD_INPUTS, ADD_EXPECTED)
    assert (verdict.status, verdict.passed) == (SUITE_FAIL, 1 if "mid-suite" in name else 0)


def test_a_malformed_answer_fails_at_its_input(runner: SandboxRunner) -> None:
    """A sample that writes a pickle naming a class on its channel (to run code in the judge)."""
    code = """
        import os, pickle, stat, struct, time
        class Evil:
            def __reduce__(self):
                return (exec, ("print('in the judge')",))
        def f(a, b):
            if a == 3:
                payload = pickle.dumps(("P", Evil()))
                for fd in range(3, 256):
                    try:
                        if stat.S_ISSOCK(os.fstat(fd).st_mode):
                            os.write(fd, struct.pack("!I", len(payload)) + payload)
                    except OSError:
                        pass
                time.sleep(100)
            return a + b
    """
    verdict = judge(runner, code, ADD_INPUTS, ADD_EXPECTED)
    assert (verdict.status, verdict.passed, verdict.message) == (
        SUITE_FAIL,
        1,
        "the sample sent a malformed reply",
    )
    assert verdict.failure is not None and verdict.failure.index == 1


def test_an_exit_mid_suite_is_a_timeout_as_in_evalplus(runner: SandboxRunner) -> None:
    """``os._exit(0)`` leaves EvalPlus's process without a status, which it reports as timeout."""
    code = "import os\ndef f(a, b):\n    if a == 5:\n        os._exit(0)\n    return a + b\n"
    verdict = judge(runner, code, ADD_INPUTS, ADD_EXPECTED)
    assert (verdict.status, verdict.passed) == (SUITE_TIMEOUT, 2)
    assert verdict.message == "the program exited (status 0) before its tests finished"


CANONICAL = """
    import re
    def f(xs, k):
        xs.append(k)  # mutates its input: each call gets its own copy, as with deepcopy
        return {"sum": sum(xs), "sorted": sorted(xs), "pair": (k, k / 2), "set": set(xs), "none": None}
"""
CANONICAL_INPUTS = [[[1, 2], 3], [[], 0], [[5, 5, 5], -1.5]]


def test_expected_outputs_are_what_plain_python_gives(runner: SandboxRunner) -> None:
    namespace: dict[str, Any] = {}
    exec(textwrap.dedent(CANONICAL), namespace)
    plain = [namespace["f"](*deepcopy(inp)) for inp in CANONICAL_INPUTS]
    result = runner.expected_outputs(textwrap.dedent(CANONICAL), "f", CANONICAL_INPUTS, LIMITS)
    assert (result.outputs, result.error) == (plain, "")
    assert len(result.times) == 3 and all(0 <= seconds < LIMITS.timeout for seconds in result.times)
    assert input_time_limits(result.times) == [1.0, 1.0, 1.0]
    assert input_time_limits([0.1, 0.5]) == [1.0, 2.0]


def test_expected_outputs_not_none(runner: SandboxRunner) -> None:
    code = "import re\ndef check_str(s):\n    return re.match('a', s)\n"
    inputs = [["abc"], ["xyz"]]
    assert runner.expected_outputs(code, "check_str", inputs, LIMITS, "mbpp").outputs == [True, False]
    assert runner.expected_outputs(code, "check_str", inputs, LIMITS, output_not_none=True).outputs == [
        True,
        False,
    ]
    opaque = runner.expected_outputs(code, "check_str", inputs, LIMITS)  # humaneval: the match itself
    assert opaque.outputs == [] and opaque.error.startswith(
        "the output of input 0 is not plain data: <re.Match"
    )


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (
            "def f(x):\n    return 1 // x\n",
            "input 1 raised ZeroDivisionError: integer division or modulo by zero",
        ),
        ("def f(x):\n    return iter([x])\n", "the output of input 0 is not plain data: <list_iterator"),
        ("def g(x):\n    return x\n", "the program raised NameError: name 'f' is not defined"),
        ("def f(x):\n    while x == 0:\n        pass\n", "time limit of 1 s exceeded at input 1"),
    ],
)
def test_expected_outputs_report_what_kept_them(runner: SandboxRunner, code: str, error: str) -> None:
    result = runner.expected_outputs(code, "f", [[1], [0], [2]], Limits(timeout=1.0, memory=1 << 30))
    assert (result.outputs, result.times) == ([], [])
    assert result.error.startswith(error)


def test_suites_must_give_each_input_an_output_and_a_limit(runner: SandboxRunner) -> None:
    with pytest.raises(ValueError, match="differ in number"):
        runner.judge_inputs(ADD, "f", [InputsSuite("base", [[1, 2]], [3, 4], [1.0])], LIMITS)
    with pytest.raises(ValueError, match="unknown dataset"):
        runner.judge_inputs(ADD, "f", [], LIMITS, dataset="apps")


def humaneval_plus(task_ids: list[str]) -> list[dict[str, Any]]:
    if not DATA.is_file():
        pytest.skip(f"no HumanEval+ data at {DATA}")
    with gzip.open(DATA, "rt") as lines:
        tasks = {task["task_id"]: task for task in map(json.loads, lines)}
    return [tasks[task_id] for task_id in task_ids]


@pytest.mark.parametrize("task_id", ["HumanEval/2", "HumanEval/32", "HumanEval/53"])
def test_humaneval_plus_canonical_solutions_pass_their_own_outputs(
    runner: SandboxRunner, task_id: str
) -> None:
    """Expected outputs from the canonical solution, then the canonical solution judged
    on them: base and plus both pass (HumanEval/2 has atol 1e-6, /32 the find_zero oracle)."""
    (task,) = humaneval_plus([task_id])
    code = task["prompt"] + task["canonical_solution"]
    suites = []
    for name in ("base", "plus"):
        inputs = task[f"{name}_input"]
        result = runner.expected_outputs(code, task["entry_point"], inputs, LIMITS)
        assert result.error == "" and len(result.outputs) == len(inputs)
        suites.append(InputsSuite(name, inputs, result.outputs, input_time_limits(result.times)))
    verdicts = runner.judge_inputs(code, task["entry_point"], suites, LIMITS, atol=task["atol"])
    assert [(v.name, v.status, v.passed) for v in verdicts] == [
        ("base", SUITE_PASS, len(task["base_input"])),
        ("plus", SUITE_PASS, len(task["plus_input"])),
    ]


def test_a_wrong_humaneval_plus_completion_fails_both_suites(runner: SandboxRunner) -> None:
    (task,) = humaneval_plus(["HumanEval/53"])
    code = task["prompt"] + task["canonical_solution"]
    suites = []
    for name in ("base", "plus"):
        result = runner.expected_outputs(code, "add", task[f"{name}_input"], LIMITS)
        suites.append(
            InputsSuite(name, task[f"{name}_input"], result.outputs, input_time_limits(result.times))
        )
    verdicts = runner.judge_inputs(task["prompt"] + "    return x - y\n", "add", suites, LIMITS)
    assert [v.status for v in verdicts] == [SUITE_FAIL, SUITE_FAIL]
    assert all(v.failure is not None and v.failure.index == v.passed for v in verdicts)


# -- samples of EvalPlus problems as a session runs them: run, and started ahead -------


def plus_problem(task_id: str, operator: str) -> tuple[Problem, PlusExpected]:
    """A two-argument problem ``f(x, y) = x <operator> y`` and its expected outputs."""
    inputs = [[1, 2], [5, 3], [-4, 9]]
    outputs = [eval(f"{x} {operator} {y}") for x, y in inputs]
    tests = PlusTests("humaneval", inputs[:1], inputs[1:], 0.0)
    problem = Problem(task_id, "def f(x, y):\n", "f", f"    return x {operator} y\n", "", tests)
    times = [0.001] * len(inputs)
    return problem, PlusExpected(
        ExpectedOutputs(outputs[:1], times[:1]), ExpectedOutputs(outputs[1:], times[1:])
    )


def completion(position: int, task_id: str, body: str) -> Sample:
    return Sample(SampleEntry(position, task_id, position, position + 1), body, False, {})


def test_samples_of_interleaved_problems_are_each_judged_on_their_own_inputs() -> None:
    """The server keeps the suites of the last problem: a sample of another problem, and a
    sample of the first one after it, bring their own (each verdict as if judged alone)."""
    add, add_expected = plus_problem("Plus/add", "+")
    sub, sub_expected = plus_problem("Plus/sub", "-")
    runs = [
        (add, add_expected, "    return x + y\n", PASSED),
        (add, add_expected, "    return x - y\n", FAILED),
        (sub, sub_expected, "    return x - y\n", PASSED),
        (add, add_expected, "    return x + y\n", PASSED),
        (sub, sub_expected, "    return x + y\n", FAILED),
    ]
    sandbox_runner = SandboxRunner()
    try:
        kinds = [
            sandbox_runner.run(problem, completion(n, problem.task_id, body), LIMITS, expected=expected).kind
            for n, (problem, expected, body, _) in enumerate(runs)
        ]
    finally:
        sandbox_runner.close()
    assert kinds == [kind for *_, kind in runs]


def test_a_new_server_is_sent_the_suites_again() -> None:
    """After its server stopped (here: closed), the runner sends a problem's suites to the
    next server with its next sample, not only the sample."""
    add, expected = plus_problem("Plus/add", "+")
    sandbox_runner = SandboxRunner()
    try:
        first = sandbox_runner.run(
            add, completion(0, add.task_id, "    return x + y\n"), LIMITS, expected=expected
        )
        sandbox_runner.close()
        again = sandbox_runner.run(
            add, completion(1, add.task_id, "    return y + x\n"), LIMITS, expected=expected
        )
    finally:
        sandbox_runner.close()
    assert (first.kind, again.kind) == (PASSED, PASSED)
    assert (again.base_status, again.plus_status) == (SUITE_PASS, SUITE_PASS)


def test_a_sample_started_ahead_gets_the_verdict_it_gets_when_run_alone() -> None:
    """Started while the last verdict is reported (``prefetch``), a sample judged by inputs
    is collected by its own run, with its failed input; the next one runs after it."""
    add, expected = plus_problem("Plus/add", "+")
    wrong = completion(0, add.task_id, "    return x * y\n")
    right = completion(1, add.task_id, "    return x + y\n")
    sandbox_runner = SandboxRunner()
    try:
        sandbox_runner.prefetch(add, wrong, LIMITS, expected=expected)
        ahead = sandbox_runner.run(add, wrong, LIMITS, expected=expected)
        after = sandbox_runner.run(add, right, LIMITS, expected=expected)
    finally:
        sandbox_runner.close()
    assert (ahead.kind, ahead.base_status, ahead.plus_status) == (FAILED, SUITE_FAIL, SUITE_FAIL)
    assert ahead.failed_input is not None
    assert (ahead.failed_input.suite, ahead.failed_input.index, ahead.failed_input.actual) == ("base", 0, "2")
    assert (after.kind, after.base_status, after.plus_status) == (PASSED, SUITE_PASS, SUITE_PASS)
