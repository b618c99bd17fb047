"""The plain-data codec: what a sample process may send the judge, and what it becomes there.

The sample sends ("P", value) when the value is made of plain built-in data only, else
("X", tree) with every node tagged; an exception crosses as its class name and text. The
judge unpickles with no globals at all (no class, no callable can come through) and walks
the result within a node budget, so a reply can neither run code nor cost unbounded time.

A value too large for that budget can cross as ("H", digest) instead, when the call asks
for it (:data:`.protocol.REPLY_DIGEST`): the sha256 of its memo-less pickle, streamed into
the hash, so the huge value is neither walked as data nor held as bytes (a canonical
output adds what keeps EvalPlus from comparing it by ``==``: see :class:`Digest`).

Imports only the standard library and its siblings :mod:`.protocol` and :mod:`.inputs`.
"""

from __future__ import annotations

import io
import pickle
import re
from typing import Any, NamedTuple

from .inputs import is_floats
from .protocol import MAX_MESSAGE, REPLY_DIGEST, REPLY_VALUE, REPLY_VALUE_OR_DIGEST

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


def decode_reply(reply: bytes, digests: bool = False) -> Any:
    """The value in a sample's reply, or the exception it reports, raised in the judge;
    with ``digests``, a :class:`Digest` where the sample sent its output's digest."""
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
    if tag == _DIGEST and digests and type(payload) is str and len(payload) == _DIGEST_LENGTH:
        if len(head) == 2 or (len(head) == 4 and all(type(part) is bool for part in head[2:])):
            return Digest(payload, *head[2:])
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


# -- outputs too large to carry: their digests ------------------------------------------

_DIGEST = "H"
_DIGEST_LENGTH = 64
"""A sha256's length in hexadecimal digits."""
_DIGESTED_TYPES = frozenset((*_PLAIN_SCALARS, bytearray, *_SEQUENCES, dict))
"""What a digested value may be made of: the types that decode as themselves."""
_NAN_LIKE = re.compile(rb"G[\x7f\xff][\xf0-\xff]")
"""Where a pickle may hold a NaN: every float is ``G`` and its 8 bytes, big-endian, and a
NaN's exponent is all ones (an infinity's too; other bytes may match by chance)."""


class Digest(NamedTuple):
    """A sample's output as its digest arrives in the judge: the sha256 of its memo-less
    pickle (see :func:`output_digest`). For a canonical output
    (:data:`.protocol.REPLY_VALUE_OR_DIGEST`), also what keeps EvalPlus from deciding by
    ``==``, which is all a digest can tell: whether it is floats (EvalPlus's ``is_floats``:
    compared with a tolerance) or holds a NaN (equal to nothing, so no output matches it in
    EvalPlus, where its pickle would)."""

    sha256: str
    floats: bool = False
    nan: bool = False


def encode_output(value: Any, reply: str = REPLY_VALUE) -> bytes:
    """The sample's reply for a call's returned value, as the call asks (a ``REPLY_*``)."""
    if reply == REPLY_DIGEST:
        return pickle.dumps((_DIGEST, output_digest(value)[0]), protocol=4)
    if reply != REPLY_VALUE_OR_DIGEST:
        return encode_value(value)
    if _fits(value):
        encoded = encode_value(value)
        if len(encoded) <= MAX_MESSAGE:
            return encoded
    # Too many values, or too many bytes (a long string, say): its digest instead.
    sha256, nan_like = output_digest(value)
    nan = nan_like and _holds_nan(value)
    return pickle.dumps((_DIGEST, sha256, is_floats(value), nan), protocol=4)


def _fits(value: Any) -> bool:
    """Whether the judge's node budget takes ``value`` (its plain containers and every item
    in them, a dict's keys and values): found out by counting up to the budget, not beyond."""
    left = MAX_VALUE_NODES
    pending: list[Any] = [(value,)]
    while pending:
        items = pending.pop()
        left -= len(items)
        if left < 0:
            return False
        if set(map(type, items)) <= _REPLY_SCALARS:
            continue
        _push_containers(items, pending)
    return True


def _holds_nan(value: Any) -> bool:
    """Whether a plain value holds a float NaN anywhere (a walk of all of it)."""
    pending: list[Any] = [(value,)]
    while pending:
        items = pending.pop()
        kinds = set(map(type, items))
        if float in kinds and any(item != item for item in items if type(item) is float):
            return True
        if not kinds <= _REPLY_SCALARS:
            _push_containers(items, pending)
    return False


def _push_containers(items: Any, pending: list[Any]) -> None:
    """Add to ``pending`` what of ``items`` holds further items: sequences, a dict's keys and values."""
    for item in items:
        kind = type(item)
        if kind in _SEQUENCES:
            pending.append(item)
        elif kind is dict:
            pending.append(item.keys())
            pending.append(item.values())


class _HashSink:
    """Where the digest's pickler writes: each frame goes into the hash (none is kept) and
    is looked at for what may be a NaN."""

    def __init__(self) -> None:
        import hashlib

        self.hash = hashlib.sha256()
        self.nan_like = False
        self._tail = b""
        """The last bytes written, where a match may begin."""

    def write(self, data: bytes) -> None:
        self.hash.update(data)
        if not self.nan_like:
            self.nan_like = _NAN_LIKE.search(self._tail + data) is not None
            self._tail = bytes(data[-2:])


class _PlainPickler(pickle.Pickler):
    """Pickles plain data only: another object (a subclass, an iterator) raises, where the
    ``P`` form would have converted it, so equal digests mean values equal as plain data."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) in _DIGESTED_TYPES:
            return NotImplemented
        raise TypeError(f"an output compared by digest must be plain data, not {type(obj).__name__}")


def output_digest(value: Any) -> tuple[str, bool]:
    """The sha256 (hexadecimal) of ``value``'s protocol-4 pickle without a memo (parts that
    are the same object are pickled each time they appear, so sharing does not change it),
    and whether that pickle may hold a NaN."""
    sink = _HashSink()
    pickler = _PlainPickler(sink, protocol=4)
    pickler.fast = True
    pickler.dump(value)
    return sink.hash.hexdigest(), sink.nan_like
