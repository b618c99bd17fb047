"""Reading a problem's EvalPlus tests: its ``base_input``, ``plus_input`` and ``atol``,
checked, and MBPP+'s inputs converted as EvalPlus 0.3.1 converts them.

Imports the domain types and the input errors only; :mod:`pytest_humaneval.loading` calls it
for each problem that has EvalPlus's fields.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pytest_humaneval.errors import InputError, quoted
from pytest_humaneval.model import PlusTests

PLUS_FIELDS = ("base_input", "plus_input", "atol")
MBPP_TASK_PREFIX = "Mbpp/"
"""The task ids of MBPP+: its problems' inputs are read the MBPP way (see ``_MBPP_CONVERSIONS``)."""


def plus_tests(record: dict[str, Any], task_id: str, source: str, line: int) -> PlusTests:
    """A problem's EvalPlus tests, checked, with MBPP+'s inputs converted as EvalPlus reads them."""
    missing = [name for name in PLUS_FIELDS if name not in record]
    if missing:
        raise InputError(
            source,
            line,
            f"an EvalPlus problem needs {', '.join(map(repr, PLUS_FIELDS))}: "
            f"missing {', '.join(map(repr, missing))}",
        )
    base_inputs = _argument_lists(record["base_input"], "base_input", source, line)
    plus_inputs = _argument_lists(record["plus_input"], "plus_input", source, line)
    atol = _tolerance(record["atol"], source, line)
    if not task_id.startswith(MBPP_TASK_PREFIX):
        return PlusTests("humaneval", base_inputs, plus_inputs, atol)
    convert = _MBPP_CONVERSIONS.get(task_id.removeprefix(MBPP_TASK_PREFIX))
    if convert is not None:
        base_inputs = _converted(convert, base_inputs, "base_input", source, line)
        plus_inputs = _converted(convert, plus_inputs, "plus_input", source, line)
    return PlusTests("mbpp", base_inputs, plus_inputs, atol)


def _argument_lists(value: Any, field: str, source: str, line: int) -> list[list[Any]]:
    """An inputs field: a list of argument lists, one per call.

    An empty JSON object counts as no inputs: EvalPlus iterates the field, and MBPP+ v0.2.0
    has one (``Mbpp/793``'s ``plus_input`` is ``{}``).
    """
    if value == {}:
        return []
    if not isinstance(value, list):
        raise InputError(
            source, line, f"field {field!r} must be a list of argument lists, found {type(value).__name__}"
        )
    for number, arguments in enumerate(value, start=1):
        if not isinstance(arguments, list):
            raise InputError(
                source,
                line,
                f"field {field!r}: input {number} must be a list of "
                f"arguments, found {type(arguments).__name__}",
            )
    return value


def _tolerance(value: Any, source: str, line: int) -> float:
    """The ``atol`` field: a number, or a string of one (as some EvalPlus files write it)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError(source, line, f"field 'atol' must be a number, found {type(value).__name__}")
    try:
        atol = float(value)
    except (ValueError, OverflowError):
        raise InputError(
            source, line, f"field 'atol' must be a number, found {quoted(str(value), as_repr=True)}"
        ) from None
    if not math.isfinite(atol) or atol < 0:
        raise InputError(source, line, f"field 'atol' must be a finite number >= 0, found {atol}")
    return atol


_Conversion = Callable[[list[Any]], list[Any]]


def _converted(
    convert: _Conversion, inputs: list[list[Any]], field: str, source: str, line: int
) -> list[list[Any]]:
    try:
        return [convert(arguments) for arguments in inputs]
    except (TypeError, ValueError, IndexError, KeyError, AttributeError, RecursionError) as exc:
        raise InputError(
            source,
            line,
            f"field {field!r}: an input is not of the shape EvalPlus "
            f"converts for this task ({type(exc).__name__}: {quoted(str(exc))})",
        ) from None


def _tuple_each(arguments: list[Any]) -> list[Any]:
    return [tuple(argument) for argument in arguments]


def _tuples_in_each(arguments: list[Any]) -> list[Any]:
    return [[tuple(item) for item in argument] for argument in arguments]


def _deep_tuple(value: Any) -> Any:
    return tuple(_deep_tuple(item) for item in value) if isinstance(value, list) else value


_MBPP_CONVERSION_GROUPS: list[tuple[str, _Conversion]] = [
    # Each argument becomes a tuple.
    ("2 116 132 143 222 261 273 394 399 421 424 429 470 560 579 596 616 630 726 740 744 809", _tuple_each),
    # Each argument is a list of tuples.
    ("63 64 70 94 120 237 272 299 400 409 417 438 473 614 780", _tuples_in_each),
    # Each argument is a tuple of tuples.
    ("259 401 445", lambda arguments: _tuple_each(_tuples_in_each(arguments))),
    # A list of tuples and one argument as it is (EvalPlus keeps only these two).
    ("75 413 444 753", lambda arguments: [[tuple(item) for item in arguments[0]], arguments[1]]),
    ("106 750", lambda arguments: [arguments[0], tuple(arguments[1])]),
    ("250 405 446 617 720 763 808", lambda arguments: [tuple(arguments[0]), arguments[1]]),
    ("307", lambda arguments: [tuple(arguments[0]), arguments[1], arguments[2]]),
    # A list of sets; an empty or non-list item becomes an empty dict, as EvalPlus makes it.
    (
        "115",
        lambda arguments: [[set(item) if isinstance(item, list) and item else {} for item in arguments[0]]],
    ),
    ("124", lambda arguments: [float(arguments[0]), complex(arguments[1])]),
    ("252", lambda arguments: [complex(arguments[0])]),
    (
        "278",
        lambda arguments: [tuple(tuple(item) if isinstance(item, list) else item for item in arguments[0])],
    ),
    ("722", lambda arguments: [{key: tuple(value) for key, value in arguments[0].items()}, *arguments[1:]]),
    # Every list, at any depth, is a tuple.
    ("580 615 791", lambda arguments: [_deep_tuple(argument) for argument in arguments]),
]
_MBPP_CONVERSIONS = {task: convert for tasks, convert in _MBPP_CONVERSION_GROUPS for task in tasks.split()}
"""How EvalPlus 0.3.1 turns some MBPP+ tasks' JSON inputs into tuples, sets and complex
numbers once it has read them (its ``mbpp_deserialize_inputs``): the tasks' functions take
those types. Each conversion maps one input's argument list; EvalPlus's own results are
argument tuples for some tasks, argument lists here, the same calls."""
