"""The sample process's own part: run the program, tell the judge which of its test's names
it defined, answer the judge's calls with plain data only.

This code runs in the untrusted process, after the zygote confined it; :func:`exercise`
runs it in the zygote first, so that each sample process finds it specialized.

Imports only the standard library and its sibling modules.
"""

from __future__ import annotations

import marshal
import pickle
import socket
from collections.abc import Callable
from typing import Any

from .protocol import LimitsMessage, read_message, write_message
from .values import encode_output, encode_value, exception_reply


def start_program(channel_fd: int, limit: Callable[[LimitsMessage], None]) -> dict[str, Callable[..., Any]]:
    """Receive the compiled program, the names its test may take from it, limits and
    expected calls; run the program, tell the judge which of those names it defined (see
    :func:`.probe.helper_names`), then make the expected calls, writing each reply as soon as it is
    known. Returns the functions the judge may call, by name: the entry point and the
    test's helpers."""
    program, entry_point, names, limits, expected_calls = pickle.loads(read_message(channel_fd))
    limit(limits)
    namespace: dict[str, Any] = {}
    exec(marshal.loads(program), namespace)
    if entry_point not in namespace:
        raise NameError(f"name {entry_point!r} is not defined")
    functions = {entry_point: namespace[entry_point]}
    defined: list[tuple[str, bool, Any]] = []
    for name in names:
        if name in namespace:
            value = namespace[name]
            is_function = callable(value)
            if is_function:
                functions[name] = value
            defined.append((name, is_function, None if is_function else value))
    write_message(channel_fd, encode_value(defined))
    for call in expected_calls:
        if not _make_call(channel_fd, functions, call):
            break
    return functions


def answer_call(channel_fd: int, functions: dict[str, Callable[..., Any]]) -> None:
    """Read one call from the judge, make it, write the value or the exception back."""
    _make_call(channel_fd, functions, read_message(channel_fd))


def _make_call(channel_fd: int, functions: dict[str, Callable[..., Any]], call: bytes) -> bool:
    """Make one pickled call (the function's name, its arguments and, if given, how to reply:
    see :data:`.protocol.REPLY_VALUE`) and write its reply; False if it raised."""
    name, args, kwargs, *reply_as = pickle.loads(call)
    try:
        reply = encode_output(functions[name](*args, **kwargs), *reply_as)
        returned = True
    except BaseException as exc:
        reply = exception_reply(exc)
        returned = False
    write_message(channel_fd, reply)
    return returned


_EXERCISE_PROGRAM = """
from typing import Any, List
import math

def candidate(value: Any, twice: bool = False) -> Any:
    if isinstance(value, BaseException):
        raise value
    if isinstance(value, list) and all(isinstance(item, int) for item in value):
        return sorted(value, key=lambda item: (math.floor(abs(item)), -item))
    return value
"""
_EXERCISE_VALUES: tuple[Any, ...] = (
    1,
    -2.5,
    True,
    None,
    "a text",
    b"bytes",
    [3, 1, 2],
    (4, "five", 6.0),
    {"key": [7, 8]},
    {9, 10},
    [[1.0, 2.0], [3.0]],
    1 + 2j,
    ValueError("an exception"),
    AssertionError(),
)
_EXERCISE_NAMES = ("math", "List", "missing")
"""Names a test might take from the exercise program: a module, a callable, an undefined name."""


def exercise() -> None:
    """Run a sample process's own code here, before forking any, until CPython has
    specialized it: specializing rewrites bytecode, and every page written after a
    fork is copied into the sample process."""
    judge, sample = socket.socketpair()
    program = marshal.dumps(compile(_EXERCISE_PROGRAM, "<sample>", "exec", dont_inherit=True))
    calls = [
        pickle.dumps(("candidate", (value,), {"twice": False}), protocol=4) for value in _EXERCISE_VALUES
    ]
    start = pickle.dumps((program, "candidate", _EXERCISE_NAMES, {}, calls[:2]), protocol=4)
    for _ in range(16):
        write_message(judge.fileno(), start)
        functions = start_program(sample.fileno(), lambda limits: None)
        for _ in range(3):  # the program's names and the replies to the two expected calls
            read_message(judge.fileno())
        for call in calls:
            write_message(judge.fileno(), call)
            answer_call(sample.fileno(), functions)
            read_message(judge.fileno())
    judge.close()
    sample.close()
