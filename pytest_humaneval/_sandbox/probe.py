"""What the judge learns of a problem's test before any sample runs: the names it may take
from the sample's program (:func:`helper_names`), and the calls it makes whatever the
answers (:func:`probe_calls`), which each sample answers without waiting to be asked.

Imports only the standard library.
"""

from __future__ import annotations

import builtins
import dis
import pickle
import random
import signal
import types
from collections.abc import Iterator
from typing import Any

MAX_EXPECTED_CALLS = 10_000
"""The most calls a probe records."""
PROBE_SECONDS = 1.0
"""How long a probe of a test may run."""


class _DependsOnAnswers(Exception):
    """A call whose arguments are made from a placeholder answer."""


class _ProbeOver(BaseException):
    """Ends a probe: too many calls, too long, or arguments made from an answer."""


class _Placeholder:
    """The probe's answer to every call: equal to anything, true, closed under arithmetic,
    so that ``assert candidate(x) == y`` and ``abs(candidate(x) - y) < eps`` go on to the
    next call. It cannot be pickled: a call whose arguments hold one depends on answers."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return True

    def __lt__(self, other: object) -> bool:
        return True

    __le__ = __gt__ = __ge__ = __lt__

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise _DependsOnAnswers

    def __iter__(self) -> Iterator[Any]:  # not the endless one ``__getitem__`` would give
        return iter(())

    def _same(self, *args: Any) -> _Placeholder:
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __pow__ = _same
    __neg__ = __pos__ = __abs__ = __round__ = __getitem__ = _same


class _CallRecorder:
    """The probe's ``candidate``: records each call's pickled arguments."""

    def __init__(self, name: str) -> None:
        self._name = name
        self.__name__ = name
        self.calls: list[bytes] = []
        self.over = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.over or len(self.calls) >= MAX_EXPECTED_CALLS:
            self.over = True
            raise _ProbeOver
        try:
            self.calls.append(pickle.dumps((self._name, args, kwargs), protocol=4))
        except Exception:  # made from an answer, or not picklable: the calls end here
            self.over = True
            raise _ProbeOver from None
        return _Placeholder()


def _end_probe(number: int, frame: Any) -> None:
    raise _ProbeOver


_GLOBAL_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "LOAD_FROM_DICT_OR_GLOBALS"})
_NAME_STORES = frozenset({"STORE_NAME", "STORE_GLOBAL"})


def helper_names(test_code: types.CodeType, entry_point: str) -> list[str]:
    """The names a problem's test may take from the sample's program.

    The reference harness runs program and test as one module: the test sees a helper
    of the prompt (``encode_cyclic``) only if the program defines it, which a whole
    solution need not, and sees the program's own version of it. These names are the
    globals the test's code loads, less the builtins (a program's own ``abs`` must not
    judge its answers), ``check``, ``candidate``, the entry point (the candidate) and
    the names the test binds at its top level (it runs after the program: its own win).
    """
    loaded: set[str] = set()
    codes = [test_code]
    while codes:
        code = codes.pop()
        loaded.update(step.argval for step in dis.get_instructions(code) if step.opname in _GLOBAL_LOADS)
        codes.extend(constant for constant in code.co_consts if isinstance(constant, types.CodeType))
    bound = {step.argval for step in dis.get_instructions(test_code) if step.opname in _NAME_STORES}
    return sorted(loaded - bound - set(vars(builtins)) - {"check", "candidate", entry_point})


def probe_calls(test_code: types.CodeType, entry_point: str, seconds: float = PROBE_SECONDS) -> list[bytes]:
    """The calls a problem's test makes whatever the answers: ``check`` run in the judge
    against placeholder answers, up to the first call made from an answer (or the
    first failed assertion, or any error, or ``seconds``).

    Only the test's own data go into these calls, never another sample's answers, so
    sending them to a sample ahead tells it nothing it would not be asked anyway. Only
    for a test that takes nothing from the sample's program (see :func:`helper_names`):
    calls to the program's helpers are not streamed, and the probe runs no code of the
    problem's prompt, which the sample may not define or may define otherwise.
    """
    random.seed(0)
    namespace: dict[str, Any] = {}
    recorder = _CallRecorder(entry_point)
    previous = signal.signal(signal.SIGALRM, _end_probe)
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            exec(test_code, namespace)
            namespace[entry_point] = recorder
            namespace["check"](recorder)
        except (Exception, _ProbeOver):
            pass
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _ProbeOver:  # the timer fired as the probe ended (it fires once)
        pass
    signal.signal(signal.SIGALRM, previous)
    return recorder.calls
