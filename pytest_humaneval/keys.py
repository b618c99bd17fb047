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

from pytest_humaneval._version import __version__
from pytest_humaneval.model import Limits, Problem, Sample


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
_HARNESS_NAMES = ("keys.py", "model.py", "runner.py", "_sandbox_main.py")
HARNESS_FILES = (
    *(_PACKAGE / name for name in _HARNESS_NAMES),
    *sorted((_PACKAGE / "_sandbox").glob("*.py")),
)
"""Every file whose change can change a verdict: the keys, the types, the runner (the
program sent, the limits), the server's script and every module of the sandbox (the
judge, the zygote and the sample process)."""
HARNESS_DIGEST = harness_digest(HARNESS_FILES)


def verdict_key(problem: Problem, code: str, limits: Limits) -> str:
    """A digest of everything that decides a verdict (for deduplication and caching)."""
    return limited_key(content_digest(problem, code), limits)


def content_digest(problem: Problem, code: str) -> bytes:
    """A digest of what decides a verdict apart from the limits: versions (the harness's
    source included), problem, code."""
    digest = hashlib.sha256()
    versions = f"pytest-humaneval {__version__} ({HARNESS_DIGEST}); Python {sys.version}"
    for part in (versions, problem.prompt, problem.test, problem.entry_point, code):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.digest()


def limited_key(content: bytes, limits: Limits) -> str:
    """The verdict key of a :func:`content_digest` under ``limits`` (so the limits can be
    decided after the samples were read, as ``--humaneval-timeout=auto`` does)."""
    return hashlib.sha256(content + repr(limits).encode()).hexdigest()
