"""The verdict cache: verdicts by key in one SQLite file under pytest's cache directory.

Only the controller (or the single process) reads and writes it, as pytest's own
cache provider does. SQLite's locking lets concurrent sessions share the file;
keys are digests of everything that decides a verdict, so sessions with
different problems, limits or versions never see each other's entries.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

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
