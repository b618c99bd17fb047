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
import pickle
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pytest_humaneval.model import ExpectedOutputs, PlusExpected, Verdict

SCHEMA = 3
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
            "message TEXT NOT NULL, duration REAL NOT NULL, reference TEXT NOT NULL, "
            "base_status TEXT NOT NULL, plus_status TEXT NOT NULL, failed_input TEXT NOT NULL)"
        )
        self._connection.execute(
            "CREATE TABLE IF NOT EXISTS expected (key TEXT PRIMARY KEY, outputs BLOB NOT NULL)"
        )
        self._pending: list[tuple[str, str, str, float, str, str, str, str]] = []
        self._last_flush = time.monotonic()

    def lookup(self, keys: Iterable[str]) -> dict[str, Verdict]:
        """The cached verdicts among ``keys``."""
        columns = "kind, message, duration, reference, base_status, plus_status, failed_input"
        return {key: Verdict.from_plain(plain) for key, *plain in self._rows("verdicts", columns, keys)}

    def _rows(self, table: str, columns: str, keys: Iterable[str]) -> Iterable[tuple[Any, ...]]:
        """The rows of ``table`` (key first, then ``columns``) among ``keys``, a chunk at a time."""
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), LOOKUP_CHUNK):
            chunk = unique[start : start + LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            yield from self._connection.execute(
                f"SELECT key, {columns} FROM {table} WHERE key IN ({marks})", chunk
            )

    def lookup_expected(self, keys: Iterable[str]) -> dict[str, PlusExpected]:
        """The EvalPlus problems' expected outputs cached among ``keys``."""
        found = {}
        for key, outputs in self._rows("expected", "outputs", keys):
            base_outputs, base_times, plus_outputs, plus_times = pickle.loads(outputs)
            found[key] = PlusExpected(
                ExpectedOutputs(base_outputs, base_times), ExpectedOutputs(plus_outputs, plus_times)
            )
        return found

    def store_expected(self, computed: dict[str, PlusExpected]) -> None:
        """Remember expected outputs (written now: they are computed once, before the samples)."""
        rows = [
            (key, pickle.dumps((e.base.outputs, e.base.times, e.plus.outputs, e.plus.times), protocol=4))
            for key, e in computed.items()
        ]
        with self._connection:
            self._connection.execute("BEGIN IMMEDIATE")
            self._connection.executemany("INSERT OR REPLACE INTO expected VALUES (?, ?)", rows)

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
            marks = ", ".join("?" * 8)
            self._connection.executemany(f"INSERT OR REPLACE INTO verdicts VALUES ({marks})", pending)

    def close(self) -> None:
        """Flush and close the file."""
        self.flush()
        self._connection.close()


_TEXTS_PER_VERDICT = 6
"""A verdict's kind, message, reference result, base and plus statuses and failed input."""


class KnownVerdicts:
    """Verdicts known before the session (from the verdict cache), by sample position.

    Kept as packed columns, its texts numbered in one table (failure messages repeat
    a lot): about 40 bytes per verdict instead of several hundred as objects, in the
    controller and in every xdist worker, which all receive the whole table.
    """

    def __init__(self, verdicts: dict[int, Verdict] | None = None) -> None:
        self._positions = array.array("q")
        self._durations = array.array("d")
        self._text_numbers = array.array("I")
        """Per verdict, the numbers of its texts (see :data:`_TEXTS_PER_VERDICT`) in ``_texts``."""
        numbers: dict[str, int] = {}
        for position, verdict in sorted((verdicts or {}).items()):
            self._positions.append(position)
            self._durations.append(verdict.duration)
            kind, message, _, reference, *texts = verdict.to_plain()
            for text in (kind, message, reference, *texts):
                self._text_numbers.append(numbers.setdefault(text, len(numbers)))
        self._texts = list(numbers)
        """The distinct texts (kinds, messages, reference results, EvalPlus's statuses and
        failed inputs), numbered in order."""

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
        width = _TEXTS_PER_VERDICT
        kind, message, reference, *texts = (
            self._texts[n] for n in self._text_numbers[width * index : width * (index + 1)]
        )
        return Verdict.from_plain((kind, message, self._durations[index], reference, *texts))

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
