"""What identifies a verdict: the program a sample runs and the digests of everything
that decides its verdict (harness source, versions, problem, code, limits).

Imports only :mod:`pytest_humaneval.model` (and the version), so the cache and the
xdist transfer can compute keys without the runner.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_humaneval._version import __version__
from pytest_humaneval.model import Limits, PlusTests, Problem, Sample


def sample_code(problem: Problem, sample: Sample) -> str:
    """The sample's part of the program: prompt + completion, or the whole solution."""
    return sample.text if sample.is_solution else problem.prompt + sample.text


def harness_digest(paths: Sequence[Path]) -> str:
    """A digest of the harness's own source: a verdict depends on it as much as on the
    version number, which a development install keeps while its code changes."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


_PACKAGE = Path(__file__).parent
_HARNESS_NAMES = ("keys.py", "model.py", "runner.py", "plus.py", "_sandbox_main.py")
HARNESS_FILES = (
    *(_PACKAGE / name for name in _HARNESS_NAMES),
    *sorted((_PACKAGE / "_sandbox").glob("*.py")),
)
"""Every file whose change can change a verdict: the keys, the types, the runner (the
program sent, the limits), the server's script and every module of the sandbox (the
judge, the zygote and the sample process) and what judges EvalPlus's problems."""
HARNESS_DIGEST = harness_digest(HARNESS_FILES)


def verdict_key(problem: Problem, code: str, limits: Limits) -> str:
    """A digest of everything that decides a verdict (for deduplication and caching)."""
    return limited_key(content_digest(problem, code), limits)


def content_digest(problem: Problem, code: str) -> bytes:
    """A digest of what decides a verdict apart from the limits: versions (the harness's
    source included), problem (an EvalPlus problem's inputs and canonical solution, which
    gives the expected outputs, too), code."""
    digest = hashlib.sha256()
    parts = [_versions(), problem.prompt, problem.test, problem.entry_point, code]
    if problem.plus is not None:
        parts += [problem.canonical_solution, plus_digest(problem.plus)]
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.digest()


def _versions() -> str:
    return f"pytest-humaneval {__version__} ({HARNESS_DIGEST}); Python {sys.version}"


_plus_digests: dict[int, tuple[PlusTests, str]] = {}
"""Each problem's :func:`plus_digest` by the identity of its tests (kept alive with them):
computed once, though every sample's key needs it."""


def plus_digest(plus: PlusTests) -> str:
    """A digest of an EvalPlus problem's tests that does not depend on the hash seed."""
    known = _plus_digests.get(id(plus))
    if known is not None and known[0] is plus:
        return known[1]
    digest = hashlib.sha256()
    for part in (plus.kind, repr(plus.atol), _stable_repr(plus.base_inputs), _stable_repr(plus.plus_inputs)):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    _plus_digests[id(plus)] = (plus, digest.hexdigest())
    return digest.hexdigest()


def _stable_repr(value: Any) -> str:
    """``repr``, with sets' elements in sorted order (a set of strings iterates in an order
    that changes with ``PYTHONHASHSEED``, from one session to the next)."""
    if isinstance(value, list | tuple):
        inner = ", ".join(map(_stable_repr, value))
        return f"[{inner}]" if isinstance(value, list) else f"({inner},)"
    if isinstance(value, set | frozenset):
        return f"{type(value).__name__}({{{', '.join(sorted(map(_stable_repr, value)))}}})"
    if isinstance(value, dict):
        items = sorted(f"{_stable_repr(key)}: {_stable_repr(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    return repr(value)


def expected_key(problem: Problem, limits: Limits) -> str:
    """The verdict cache's key of an EvalPlus problem's expected outputs: the harness, the
    problem, its canonical solution and its inputs, and the limits they are computed under."""
    return "expected:" + limited_key(content_digest(problem, problem.canonical_solution), limits)


def limited_key(content: bytes, limits: Limits) -> str:
    """The verdict key of a :func:`content_digest` under ``limits`` (so the limits can be
    decided after the samples were read, as ``--humaneval-timeout=auto`` does)."""
    return hashlib.sha256(content + repr(limits).encode()).hexdigest()
