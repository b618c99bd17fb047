"""The plain-data codec: what a sample process may send the judge, and what it becomes there.

The sample sends ("P", value) when the value is made of plain built-in data only, else
("X", tree) with every node tagged; an exception crosses as its class name and text. The
judge unpickles with no globals at all (no class, no callable can come through) and walks
the result within a node budget, so a reply can neither run code nor cost unbounded time.

Imports only the standard library.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

MAX_VALUE_NODES = 2_000_000


class SampleGone(BaseException):
    """The sample process ended, or broke the protocol, while the judge was waiting for it."""


class CandidateError(Exception):
    """An exception the candidate raised, as the judge sees it: class name and text."""


_PLAIN_SCALARS = (int, float, str, bytes, bool, type(None))
_CONTAINER_TAGS: dict[type, str] = {list: "L", tuple: "T", set: "S", frozenset: "F"}
_TAG_CONTAINERS = {tag: kind for kind, tag in _CONTAINER_TAGS.items()}


class Opaque:
    """Stands in the judge for a value that is not plain data; equal only to itself."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object returned by the sample>"


def _tree(value: Any, depth: int = 0) -> Any:
    """The tagged form of a value, in the sample process (see ``_from_tree``)."""
    from decimal import Decimal
    from fractions import Fraction

    if depth > 200:
        raise RecursionError("value nested too deeply to return")
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return value
    if kind is complex:
        return ("C", value.real, value.imag)
    if kind is Fraction:
        return ("Q", str(value.numerator), str(value.denominator))
    if kind is Decimal:
        return ("M", str(value))
    if kind is bytearray:
        return ("B", bytes(value))
    if kind is dict:
        return ("D", [(_tree(k, depth + 1), _tree(v, depth + 1)) for k, v in value.items()])
    if kind in _CONTAINER_TAGS:
        return (_CONTAINER_TAGS[kind], [_tree(item, depth + 1) for item in value])
    # Subclasses of built-in types (bool is final) compare like their base type.
    scalar: Any
    for scalar in (int, float, str, bytes, complex):
        if isinstance(value, scalar):
            return _tree(scalar(value), depth)
    if isinstance(value, dict):
        return _tree(dict(dict.items(value)), depth)
    container: Any
    for container in (list, tuple, set, frozenset):
        if isinstance(value, container):
            return _tree(container(value), depth)
    if kind.__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return _tree(value.item(), depth)
    if hasattr(kind, "__next__") and hasattr(kind, "__iter__"):
        return ("I", [_tree(item, depth + 1) for item in value])
    return ("O", f"{kind.__module__}.{kind.__qualname__}")


def _is_plain(value: Any) -> bool:
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return True
    if kind in (list, tuple, set, frozenset):
        return all(_is_plain(item) for item in value)
    if kind is dict:
        return all(_is_plain(k) and _is_plain(v) for k, v in value.items())
    return False


def encode_value(value: Any) -> bytes:
    """The sample's reply for a returned value."""
    if _is_plain(value):
        return pickle.dumps(("P", value), protocol=4)
    return pickle.dumps(("X", _tree(value)), protocol=4)


class _DataOnlyUnpickler(pickle.Unpickler):
    """Unpickles data only: no class, function or module can be named."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed")


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_VALUE_NODES

    def spend(self, nodes: int = 1) -> None:
        self.left -= nodes
        if self.left < 0:
            raise SampleGone("the sample returned a value too large to check")


_REPLY_SCALARS: frozenset[type] = frozenset((*_PLAIN_SCALARS, bytearray))
"""The leaves a reply's plain value may hold."""
_SEQUENCES = (list, tuple, set, frozenset)


def _check_plain(value: Any, budget: _Budget, scalars: frozenset[type] = _REPLY_SCALARS) -> None:
    """Walk a plain value as a tree (shared parts counted each time they appear); SampleGone
    for a leaf not of ``scalars``. Each container's items are counted and their types
    looked at in bulk, so a long list of numbers costs no Python step per number."""
    pending: list[Any] = [(value,)]
    """Collections of items not yet looked at."""
    while pending:
        items = pending.pop()
        budget.spend(len(items))
        kinds = set(map(type, items))
        if kinds <= scalars:
            continue
        if not all(kind in _SEQUENCES or kind is dict or kind in scalars for kind in kinds):
            raise SampleGone("the sample sent a malformed reply")
        for item in items:
            kind = type(item)
            if kind is dict:
                pending.append(item.keys())
                pending.append(item.values())
            elif kind in _SEQUENCES:
                pending.append(item)


def is_data(value: Any) -> bool:
    """Whether a decoded value is data the pytest side can keep (an expected output): no
    opaque object, no iterator."""
    from decimal import Decimal
    from fractions import Fraction

    try:
        _check_plain(value, _Budget(), _REPLY_SCALARS | {complex, Fraction, Decimal})
    except SampleGone:
        return False
    return True


def _from_tree(node: Any, budget: _Budget) -> Any:
    """Rebuild, in the judge, a value sent in tagged form."""
    from decimal import Decimal
    from fractions import Fraction

    budget.spend()
    kind = type(node)
    if kind in _PLAIN_SCALARS:
        return node
    if kind is not tuple or not node or not isinstance(node[0], str):
        raise SampleGone("the sample sent a malformed reply")
    tag, rest = node[0], node[1:]
    if tag in _TAG_CONTAINERS and len(rest) == 1 and type(rest[0]) is list:
        return _TAG_CONTAINERS[tag](_from_tree(item, budget) for item in rest[0])
    if tag == "D" and len(rest) == 1 and type(rest[0]) is list:
        return {_from_tree(k, budget): _from_tree(v, budget) for k, v in rest[0]}
    if tag == "I" and len(rest) == 1 and type(rest[0]) is list:
        return iter([_from_tree(item, budget) for item in rest[0]])
    if tag == "C" and len(rest) == 2 and all(type(part) is float for part in rest):
        return complex(*rest)
    if tag == "Q" and len(rest) == 2 and all(type(part) is str and len(part) < 4000 for part in rest):
        return Fraction(int(rest[0]), int(rest[1]))
    if tag == "M" and len(rest) == 1 and type(rest[0]) is str and len(rest[0]) < 100:
        number = Decimal(rest[0])
        if number.is_finite() and abs(number.adjusted()) > 4000:
            raise SampleGone("the sample returned a Decimal too large to check")
        return number
    if tag == "B" and len(rest) == 1 and type(rest[0]) is bytes:
        return bytearray(rest[0])
    if tag == "O" and len(rest) == 1 and type(rest[0]) is str:
        return Opaque(rest[0][:200])
    raise SampleGone("the sample sent a malformed reply")


def decode_reply(reply: bytes) -> Any:
    """The value in a sample's reply, or the exception it reports, raised in the judge."""
    try:
        head = _DataOnlyUnpickler(io.BytesIO(reply)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError):
        raise SampleGone("the sample sent a malformed reply") from None
    if type(head) is not tuple or len(head) < 2:
        raise SampleGone("the sample sent a malformed reply")
    tag, payload = head[0], head[1]
    budget = _Budget()
    if tag == "P" and len(head) == 2:
        _check_plain(payload, budget)
        return payload
    if tag == "X" and len(head) == 2:
        try:
            return _from_tree(payload, budget)
        except (ValueError, TypeError, ArithmeticError):
            raise SampleGone("the sample sent a malformed reply") from None
    if tag == "raised" and len(head) == 3 and all(type(part) is str for part in head[1:]):
        raise _rebuild_exception(head[1], head[2])
    raise SampleGone("the sample sent a malformed reply")


def exception_reply(exc: BaseException) -> bytes:
    """The sample's reply for an exception: class name and text."""
    kind = type(exc)
    try:
        text = str(exc)
    except BaseException:
        text = "<unprintable exception>"
    qualname = kind.__qualname__ if isinstance(kind.__qualname__, str) else "?"
    if kind.__module__ != "builtins":
        qualname = "~" + qualname
    return pickle.dumps(("raised", qualname, text[:2000]), protocol=4)


# Exceptions the judge never re-raises as themselves: StopIteration would end a
# `map` or generator in the test code early (a forged pass), the others would
# stop the judge.
_NOT_REBUILT = (StopIteration, StopAsyncIteration, GeneratorExit, SystemExit, KeyboardInterrupt)


def _rebuild_exception(qualname: str, text: str) -> BaseException:
    import builtins

    kind = getattr(builtins, qualname, None)
    if isinstance(kind, type) and issubclass(kind, BaseException) and not issubclass(kind, _NOT_REBUILT):
        try:
            error = kind(text) if text else kind()
            error.candidate_text = text  # type: ignore[attr-defined]
            return error
        except Exception:
            pass
    error = CandidateError(f"{qualname.lstrip('~')}: {text}" if text else qualname.lstrip("~"))
    error.candidate_text = text  # type: ignore[attr-defined]
    return error
