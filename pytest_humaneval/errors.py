"""The errors that bad input raises, and how a message quotes input.

Every reader (problems, samples, EvalPlus inputs, settings) raises :class:`InputError`,
which names the file and the line. A leaf: it imports nothing of the package.
"""

from __future__ import annotations

QUOTE_LIMIT = 200
"""The most characters of an input value that a message quotes."""


def quoted(text: str, limit: int = QUOTE_LIMIT, *, as_repr: bool = False) -> str:
    """``text`` as a message quotes it: its first ``limit`` characters, then how many were cut.

    Input can be any size (a 200 MB line); a message quoting it must stay a line.
    ``as_repr`` quotes it as Python would (quotes, escapes), showing stray whitespace.
    """
    shown = text[:limit]
    if as_repr:
        shown = repr(shown)
    cut = len(text) - limit
    return f"{shown}... ({cut:,} more characters)" if cut > 0 else shown


class InputError(Exception):
    """A problem or sample file that cannot be used, with the place it went wrong."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source = source
        self.line = line
        self.message = message
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")


class SamplesFileChanged(InputError):
    """A samples file that is no longer what it was when the session checked it."""


class FieldError(Exception):
    """A sample's field that cannot be used (a score to rank by); the reader that found it
    adds the file and the line."""
