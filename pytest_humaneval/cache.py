"""The verdict cache: verdicts by key in one SQLite file under pytest's cache directory.

Only the controller (or the single process) reads and writes it, as pytest's own
cache provider does. SQLite's locking lets concurrent sessions share the file;
keys are digests of everything that decides a verdict, so sessions with
different problems, limits or versions never see each other's entries.

Imports only the domain types (:mod:`pytest_humaneval.model`).
"""

from __future__ import annotations

import array
import bisect
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pytest_humaneval.model import Verdict

SCHEMA = 2
FLUSH_EVERY_SECONDS = 1.0
LOOKUP_CHUNK = 500


class VerdictCache:
    """Read many verdicts at once; write them in small transactions as they arrive."""

    def __init__(self, path: Path) -> None:
        self.path = path.with_name(f"{path.stem}-v{SCHEMA}{path.suffix}")
        self._connection = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute(
            "CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, kind TEXT NOT NULL, "
            "message TEXT NOT NULL, duration REAL NOT NULL, reference TEXT NOT NULL)"
        )
        self._pending: list[tuple[str, str, str, float, str]] = []
        self._last_flush = time.monotonic()

    def lookup(self, keys: Iterable[str]) -> dict[str, Verdict]:
        """The cached verdicts among ``keys``."""
        unique = list(dict.fromkeys(keys))
        found: dict[str, Verdict] = {}
        for start in range(0, len(unique), LOOKUP_CHUNK):
            chunk = unique[start : start + LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._connection.execute(
                f"SELECT key, kind, message, duration, reference FROM verdicts WHERE key IN ({marks})", chunk
            )
            for key, *plain in rows:
                found[key] = Verdict.from_plain(plain)
        return found

    def store(self, key: str, verdict: Verdict) -> None:
        """Remember a verdict; written at the latest a second later (or on ``flush``)."""
        self._pending.append((key, *verdict.to_plain()))
        if time.monotonic() - self._last_flush >= FLUSH_EVERY_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write the remembered verdicts in one transaction."""
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        with self._connection:
            self._connection.execute("BEGIN IMMEDIATE")
            self._connection.executemany("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?)", pending)

    def close(self) -> None:
        """Flush and close the file."""
        self.flush()
        self._connection.close()


class KnownVerdicts:
    """Verdicts known before the session (from the verdict cache), by sample position.

    Kept as packed columns, its texts numbered in one table (failure messages repeat
    a lot): about 30 bytes per verdict instead of several hundred as objects, in the
    controller and in every xdist worker, which all receive the whole table.
    """

    def __init__(self, verdicts: dict[int, Verdict] | None = None) -> None:
        self._positions = array.array("q")
        self._durations = array.array("d")
        self._text_numbers = array.array("I")
        """Per verdict, the numbers of its kind, message and reference in ``_texts``."""
        numbers: dict[str, int] = {}
        for position, verdict in sorted((verdicts or {}).items()):
            self._positions.append(position)
            self._durations.append(verdict.duration)
            for text in (verdict.kind, verdict.message, verdict.reference):
                self._text_numbers.append(numbers.setdefault(text, len(numbers)))
        self._texts = list(numbers)
        """The distinct texts (kinds, messages, reference results), numbered in order."""

    def __len__(self) -> int:
        return len(self._positions)

    def __contains__(self, position: int) -> bool:
        return self._index(position) is not None

    def _index(self, position: int) -> int | None:
        index = bisect.bisect_left(self._positions, position)
        return index if index < len(self._positions) and self._positions[index] == position else None

    def get(self, position: int) -> Verdict | None:
        """The verdict known for the sample at ``position``, if any."""
        index = self._index(position)
        if index is None:
            return None
        kind, message, reference = (self._texts[n] for n in self._text_numbers[3 * index : 3 * index + 3])
        return Verdict(kind, message, self._durations[index], reference)

    def to_plain(self) -> dict[str, Any]:
        """The table as plain data (for xdist workers)."""
        return {
            "positions": self._positions.tobytes(),
            "durations": self._durations.tobytes(),
            "texts": self._texts,
            "text_numbers": self._text_numbers.tobytes(),
        }

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> KnownVerdicts:
        """Rebuild a table sent with :meth:`to_plain`."""
        known = cls()
        known._positions.frombytes(data["positions"])
        known._durations.frombytes(data["durations"])
        known._texts = list(data["texts"])
        known._text_numbers.frombytes(data["text_numbers"])
        return known
