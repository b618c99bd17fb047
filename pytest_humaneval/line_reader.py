"""Reading a samples file's lines back by offset, checked against what was loaded.

The session keeps each sample's place in its file, not its text (see
:class:`pytest_humaneval.loading.SampleSet`); a line read back must be the line that was
checked, or the session stops. Imports the input errors and the domain types only.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from pytest_humaneval.errors import InputError, SamplesFileChanged
from pytest_humaneval.model import SampleEntry

FileStamp = tuple[int, int]
"""A file's size and modification time (ns) when it was checked."""


def _stamp(stat: os.stat_result) -> FileStamp:
    return (stat.st_size, stat.st_mtime_ns)


def line_digest(line: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(line, digest_size=8).digest(), "big")


class LineReader:
    """Reads a plain samples file's lines back by offset, opening it on first use.

    Each read checks the file's size and modification time and the line's digest
    against what was checked when the file was loaded.
    """

    def __init__(self, path: str, source: str, stamp: FileStamp) -> None:
        self.path = path
        """The file's absolute path (xdist workers open it themselves)."""
        self.source = source
        self.stamp = stamp
        self._descriptor: int | None = None

    def read(self, entry: SampleEntry) -> bytes:
        """The entry's line, exactly as it was when the file was checked."""
        line = os.pread(self._unchanged_file(entry), entry.size, entry.offset)
        return checked_line(line, entry, self.source)

    def pieces(self, entry: SampleEntry, size: int) -> Iterator[bytes]:
        """The entry's line in pieces of at most ``size`` bytes (for a worker that cannot see
        the file: a huge line is never whole in this process), exactly ``entry.size`` bytes in
        all. The file is checked as :meth:`read` checks it; the line's digest is checked where
        the pieces are put together (:func:`checked_line`)."""
        descriptor = self._unchanged_file(entry)
        done = 0
        while done < entry.size:
            piece = os.pread(descriptor, min(size, entry.size - done), entry.offset + done)
            if not piece:
                raise _line_changed(self.source, entry)
            done += len(piece)
            yield piece

    def _unchanged_file(self, entry: SampleEntry) -> int:
        """The file's descriptor, once its size and modification time are as when it was checked."""
        if self._descriptor is None:
            try:
                self._descriptor = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                raise SamplesFileChanged(
                    self.source, None, f"cannot read it again: {exc.strerror or exc}"
                ) from None
        if _stamp(os.fstat(self._descriptor)) != self.stamp:
            raise SamplesFileChanged(
                self.source,
                entry.line,
                "the file changed during the session (its size or modification time differ "
                "from when it was checked); run again on an unchanged file",
            )
        return self._descriptor

    def close(self) -> None:
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is not None:
            os.close(descriptor)


def checked_line(line: bytes, entry: SampleEntry, source: str) -> bytes:
    """``line``, if it is the entry's line as it was checked (its length and digest)."""
    if len(line) != entry.size or line_digest(line) != entry.digest:
        raise _line_changed(source, entry)
    return line


def _line_changed(source: str, entry: SampleEntry) -> SamplesFileChanged:
    return SamplesFileChanged(
        source, entry.line, "the line changed during the session; run again on an unchanged file"
    )


def file_stamp(path: Path) -> FileStamp:
    try:
        return _stamp(path.stat())
    except OSError as exc:
        raise InputError(str(path), None, f"cannot read: {exc.strerror or exc}") from None
