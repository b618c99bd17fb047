"""Judging by inputs as EvalPlus 0.3.1 does, in the judge (trusted): whether one output
matches its expected output (:func:`output_passes`), with EvalPlus's special oracles
and its float tolerance, and ``numpy.allclose``'s decision in pure Python (:func:`allclose`).

Every function here works on plain data only (the sample's answers as :mod:`.values`
decodes them), so no object of the sample's can take part in a comparison.

Imports only the standard library.
"""

from __future__ import annotations

import cmath
import math
from itertools import product
from typing import Any

HUMANEVAL, MBPP = "humaneval", "mbpp"
DATASETS = (HUMANEVAL, MBPP)

OUTPUT_NOT_NONE = frozenset({"check_str", "text_match_three", "text_starta_endb"})
"""MBPP entry points whose expected output is only whether the output is not None."""
OUTPUT_SET_EQUAL = frozenset(
    {
        "similar_elements",
        "find_char_long",
        "common_in_nested_lists",
        "extract_singly",
        "larg_nnum",
        "intersection_array",
        "find_dissimilar",
        "Diff",
    }
)
"""MBPP entry points whose output is compared with the expected one as a set."""
RTOL = 1e-07
"""EvalPlus's relative tolerance (``numpy.testing.assert_allclose``'s default)."""
FLOAT_ATOL = 1e-06
"""The absolute tolerance EvalPlus sets once an expected output is a float (or floats)."""


def output_not_none(dataset: str, entry_point: str) -> bool:
    """Whether EvalPlus records ``out is not None`` as the expected output of this task."""
    return dataset == MBPP and entry_point in OUTPUT_NOT_NONE


def _surface_area(base_edge: Any, height: Any) -> Any:
    """Mbpp/581's oracle: ``height`` is the pyramid's perpendicular height."""
    slant = math.sqrt((base_edge / 2) ** 2 + height**2)
    return round(base_edge**2 + 4 * (base_edge * slant) / 2)


def _digit_distance(first: Any, second: Any) -> int:
    """Mbpp/558's oracle: the numbers' digits, zero-padded to the same length."""
    left, right = str(first), str(second)
    width = max(len(left), len(right))
    return sum(abs(int(a) - int(b)) for a, b in zip(left.zfill(width), right.zfill(width), strict=True))


def _poly(xs: Any, x: Any) -> Any:
    """HumanEval/32's polynomial with coefficients ``xs`` at ``x``."""
    return sum([coefficient * math.pow(x, i) for i, coefficient in enumerate(xs)])


def is_floats(value: Any) -> bool:
    """A float, or a non-empty list or tuple of floats only (EvalPlus's ``is_floats``)."""
    if isinstance(value, float):
        return True
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(item, float) for item in value)


def output_passes(
    dataset: str, entry_point: str, inp: Any, out: Any, expected: Any, atol: float
) -> tuple[bool, float]:
    """Whether ``out`` passes for input ``inp`` (its arguments), and the tolerance for the
    suite's later inputs: EvalPlus sets it to 1e-6 for good at the first expected float.
    An exception here (``set()`` of an int, say) is a failure too, as in EvalPlus."""
    exact = out == expected
    if dataset == MBPP:
        if entry_point == "are_equivalent":
            exact = True
        elif entry_point == "sum_div":
            exact = exact or out == 0
        elif entry_point == "surface_Area":
            exact = exact or abs(out - _surface_area(*inp)) <= atol
        elif entry_point == "digit_distance_nums":
            exact = exact or out == _digit_distance(*inp)
        elif entry_point in OUTPUT_SET_EQUAL:
            exact = set(out) == set(expected)
        elif entry_point in OUTPUT_NOT_NONE:
            exact = out == expected if isinstance(out, bool) else expected == (out is not None)
    if dataset == HUMANEVAL and entry_point == "find_zero":
        return bool(abs(_poly(*[*inp, out])) <= atol), atol
    if atol == 0 and is_floats(expected):
        atol = FLOAT_ATOL
    if not exact and atol != 0:
        if type(out) is not type(expected):
            return False, atol
        if isinstance(expected, (list, tuple)) and len(out) != len(expected):
            return False, atol
        return allclose(out, expected, RTOL, atol), atol
    return bool(exact), atol


_MBPP_ORACLES = frozenset({"are_equivalent", "sum_div", "surface_Area", "digit_distance_nums"})
SPECIAL_ORACLES = {
    HUMANEVAL: frozenset({"find_zero"}),
    MBPP: _MBPP_ORACLES | OUTPUT_SET_EQUAL | OUTPUT_NOT_NONE,
}
"""Per dataset, the entry points whose outputs :func:`output_passes` decides otherwise than by ``==``."""


def compared_by_equality(dataset: str | None, entry_point: str, atol: float) -> bool:
    """Whether EvalPlus decides this task's outputs by ``==`` alone (no special oracle, no
    tolerance), at least where the expected output is not floats; ``dataset`` None: in
    either dataset (the entry point has a special oracle in neither)."""
    datasets = DATASETS if dataset is None else (dataset,)
    return atol == 0 and not any(entry_point in SPECIAL_ORACLES.get(name, ()) for name in datasets)


class _NotClose(Exception):
    """numpy would raise here (a string, a ragged list, shapes that do not broadcast)."""


_NUMBERS = (bool, int, float, complex)
_INT64_MIN, _UINT64_END = -(2**63), 2**64
"""numpy makes an object array of a list with an int outside [-2**63, 2**64)."""


def _as_array(value: Any, actual: bool) -> tuple[tuple[int, ...], list[Any]]:
    """numpy's array of ``value``: its shape and its items in C order. The actual output
    may hold anything (numpy makes an object array, worked on item by item with Python's
    operators, or a string array, which no arithmetic takes); the expected one only what
    makes a numeric array (``isfinite`` refuses the others)."""
    if type(value) in (list, tuple):
        parts = [_as_array(item, actual) for item in value]
        shapes = {shape for shape, _ in parts}
        if len(shapes) > 1:
            raise _NotClose("ragged")
        inner = shapes.pop() if shapes else ()
        return (len(value), *inner), [item for _, items in parts for item in items]
    if not actual and not _numeric(value):
        raise _NotClose(f"an array of {type(value).__name__}")
    return (), [value]


def _numeric(item: Any) -> bool:
    """Whether numpy would keep ``item`` in a numeric array."""
    return type(item) in _NUMBERS and (type(item) is not int or _INT64_MIN <= item < _UINT64_END)


def _string_array(items: list[Any]) -> bool:
    """Whether numpy makes a string array of these items (one no arithmetic takes)."""
    texts = [type(item) in (str, bytes) for item in items]
    return any(texts) and all(text or _numeric(item) for text, item in zip(texts, items, strict=True))


def _broadcast(first: tuple[int, ...], second: tuple[int, ...]) -> tuple[int, ...]:
    """numpy's broadcast shape of two shapes."""
    width = max(len(first), len(second))
    first, second = (1,) * (width - len(first)) + first, (1,) * (width - len(second)) + second
    shape = []
    for a, b in zip(first, second, strict=True):
        if a != b and 1 not in (a, b):
            raise _NotClose("shapes do not broadcast")
        shape.append(b if a == 1 else a)
    return tuple(shape)


def _strides(shape: tuple[int, ...], full: tuple[int, ...]) -> list[int]:
    """Each broadcast axis's step in an array of ``shape``'s flat items (0: repeated)."""
    shape = (1,) * (len(full) - len(shape)) + shape
    strides, step = [0] * len(shape), 1
    for axis in range(len(shape) - 1, -1, -1):
        strides[axis] = step if shape[axis] > 1 else 0
        step *= shape[axis]
    return strides


def _close(x: Any, y: Any, rtol: float, atol: float) -> bool:
    """numpy's ``isclose`` of two items (``y`` already inexact)."""
    finite = cmath.isfinite(y) if type(y) is complex else math.isfinite(y)
    return bool((abs(x - y) <= atol + rtol * abs(y)) and finite) or bool(x == y)


def allclose(actual: Any, expected: Any, rtol: float, atol: float) -> bool:
    """True exactly where ``numpy.allclose(actual, expected, rtol, atol)`` (numpy 2) is
    True; False where it is False or raises (as EvalPlus's check then fails)."""
    try:
        if type(expected) in (bool, int):  # numpy keeps a scalar as it is, an int as a float
            expected = float(expected)
        x_shape, xs = _as_array(actual, actual=True)
        y_shape, ys = _as_array(expected, actual=False)
        inexact: type = complex if any(type(y) is complex for y in ys) else float
        ys = [inexact(y) for y in ys]
        if x_shape == y_shape and xs:
            return all(_close(x, y, rtol, atol) for x, y in zip(xs, ys, strict=True))
        shape = _broadcast(x_shape, y_shape)
        if 0 in shape:  # nothing to compare: only a string array fails
            return not _string_array(xs)
        x_strides, y_strides = _strides(x_shape, shape), _strides(y_shape, shape)
        for index in product(*(range(size) for size in shape)):
            x = xs[sum(i * s for i, s in zip(index, x_strides, strict=True))]
            y = ys[sum(i * s for i, s in zip(index, y_strides, strict=True))]
            if not _close(x, y, rtol, atol):
                return False
        return True
    except (_NotClose, TypeError, ValueError, ArithmeticError):
        return False
