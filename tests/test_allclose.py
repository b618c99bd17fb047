"""The judge's pure-Python ``allclose`` decides as ``numpy.allclose`` does (numpy is not in
the sandbox): True exactly where numpy returns True; False where numpy returns False or
raises (EvalPlus's check fails either way). Hand-picked edge cases, then many random
values of every kind that can cross from a sample."""

from __future__ import annotations

import math
import random
import warnings
from fractions import Fraction
from typing import Any

import pytest

from pytest_humaneval._sandbox.inputs import RTOL, allclose

np = pytest.importorskip("numpy")


def numpy_says_close(actual: Any, expected: Any, atol: float) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return bool(np.allclose(actual, expected, rtol=RTOL, atol=atol))
        except Exception:
            return False


INF, NAN = math.inf, math.nan
EDGE_CASES: list[tuple[Any, Any]] = [
    (1.0, 1.0 + 1e-7),
    (1.0, 1.0 + 1e-5),
    (1e8, 1e8 + 5.0),
    (10**8, 10**8 + 5),
    (2**70, 2**70 + 1),
    (2**1100, 2**1100 + 1),
    (True, False),
    (INF, INF),
    (INF, -INF),
    (NAN, NAN),
    (1.0, NAN),
    (INF, 1.0),
    (1.0, INF),
    (1 + 2j, 1 + 2j + 1e-9),
    (1 + 2j, complex(INF, 0)),
    ([], []),
    ([[]], [[1.0]]),
    ([[1.0], [2.0]], [[1.0, 1.0], [2.0, 2.0]]),
    ([[1.0, 2.0]], [[1.0], [2.0]]),
    ([1.0, 2.0], [1.0, 2.0, 3.0]),
    ([1.0, [2.0]], [1.0, [2.0]]),
    ([[1.0], [2.0, 3.0]], [[1.0], [2.0, 3.0]]),
    ([2**70 + 1], [float(2**70)]),
    ([2**70], [2**70 + 1]),
    ([2**63, -1], [2**63, -1.0]),
    ([2**64 - 1], [2**64 - 2]),
    ([True, False], [1.0, 0.0]),
    ([True], [True]),
    ([Fraction(1, 3)], [1 / 3]),
    ([Fraction(1, 3)], [Fraction(1, 3)]),
    (Fraction(1, 3), 1 / 3),
    ("a", "a"),
    (["a"], ["a"]),
    ([1.0, "a"], [1.0, "a"]),
    ([None], [None]),
    ([1.0, None], [1.0, 1.0]),
    ({1.0}, {1.0}),
    ({"a": 1.0}, {"a": 1.0}),
    ((1.0, 2.0), (1.0, 2.0 + 1e-9)),
    ([(1.0, 2.0)], [[1.0, 2.0]]),
    ([b"x"], [b"x"]),
    ([1e308], [-1e308]),
    ([[1.0, 2.0], [3.0, 4.0]], [1.0, 2.0]),
]


@pytest.mark.parametrize("atol", [0.0, 1e-6, 1e-4, 2.0])
@pytest.mark.parametrize(("actual", "expected"), EDGE_CASES, ids=[repr(case)[:50] for case in EDGE_CASES])
def test_edge_cases_decide_as_numpy(actual: Any, expected: Any, atol: float) -> None:
    assert allclose(actual, expected, RTOL, atol) == numpy_says_close(actual, expected, atol)


def random_leaf(rng: random.Random, near: Any = None) -> Any:
    """A leaf of any kind a sample's answer may hold, often close to ``near``."""
    if near is not None and type(near) in (int, float) and rng.random() < 0.7:
        return near + rng.choice([0, 1e-9, -1e-7, 1e-6, 3e-6, 1e-3, 1, 2**40]) * rng.choice([1, -1])
    return rng.choice(
        [
            rng.uniform(-10, 10),
            rng.randint(-5, 5),
            rng.choice([True, False]),
            rng.choice([INF, -INF, NAN, 0.0, -0.0, 1e308, 5e-324]),
            rng.choice([2**63, 2**64, -(2**63) - 1, 2**53 + 1, 10**30]),
            complex(rng.uniform(-2, 2), rng.uniform(-2, 2)),
            Fraction(rng.randint(-9, 9), rng.randint(1, 9)),
            rng.choice([None, "s", b"b", {1.0}]),
        ]
    )


def random_value(rng: random.Random, shape: tuple[int, ...], near: Any = None) -> Any:
    """A nested list (or tuple) of ``shape``; sometimes ragged, sometimes a scalar inside."""
    if not shape:
        return random_leaf(rng, near)
    kind = tuple if rng.random() < 0.2 else list
    items = []
    for index in range(shape[0]):
        inner = shape[1:]
        if rng.random() < 0.03:
            inner = inner[:-1] if inner else (1,)  # ragged
        nearby = near[index] if isinstance(near, (list, tuple)) and index < len(near) else None
        items.append(random_value(rng, inner, nearby))
    return kind(items)


def random_shapes(rng: random.Random) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two shapes, mostly equal, sometimes broadcastable, sometimes not."""
    shape = tuple(rng.randint(0, 3) for _ in range(rng.randint(0, 3)))
    other = list(shape)
    if other and rng.random() < 0.3:
        other[rng.randrange(len(other))] = rng.choice([1, 2])
    if rng.random() < 0.1:
        other = [1, *other]
    return shape, tuple(other)


def test_random_values_decide_as_numpy() -> None:
    rng = random.Random(20240601)
    disagreements = []
    closes = 0
    for _ in range(6000):
        expected_shape, actual_shape = random_shapes(rng)
        expected = random_value(rng, expected_shape)
        actual = random_value(rng, actual_shape, expected)
        atol = rng.choice([0.0, 1e-6, 1e-4, 0.5])
        numpy_close = numpy_says_close(actual, expected, atol)
        closes += numpy_close
        if allclose(actual, expected, RTOL, atol) != numpy_close:
            disagreements.append((actual, expected, atol, numpy_close))
    assert disagreements == []
    assert closes > 500  # the cases are not all trivially apart
