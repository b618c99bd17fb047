"""Writing an output file as a user names it, and checking before the run that it can be.

Every output (results, JSON summary, plot) goes through :func:`write_output`, so each
follows the same rules: through symbolic links, FIFOs and devices as they are,
atomic replacement of regular files, modes from the umask, missing directories made.

Imports only :func:`pytest_humaneval.loading.quoted` (messages quote paths).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import time
from collections.abc import Iterable
from pathlib import Path

from pytest_humaneval.errors import quoted


def cannot_write(exc: OSError) -> OSError:
    """One line for the user, after the option and path that the controller names."""
    return OSError(f"cannot write it: {exc.strerror or exc}")


def write_output(path: str, chunks: Iterable[bytes]) -> None:
    """Write ``chunks`` to ``path`` as to any file a user names: through a symbolic link,
    into a FIFO or a device as it is (never replacing it), in missing directories.

    A regular file (or a new one) is replaced atomically by a temporary file beside it, so a
    reader never sees half a file. Raises ``OSError`` whose message is one line and does not
    name the path (the caller names it, as the option it was given with).
    """
    try:
        try:
            status: os.stat_result | None = os.stat(path)
        except FileNotFoundError:
            status = None
        if status is not None and not stat.S_ISREG(status.st_mode):
            if stat.S_ISDIR(status.st_mode):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
            with open(_open_as_it_is(path, status), "wb") as stream:
                stream.writelines(chunks)
        else:
            _replace(os.path.realpath(path), status, chunks)
    except OSError as exc:
        raise cannot_write(exc) from None


FIFO_READER_WAIT = 10.0
"""Seconds a FIFO output may wait for its reader to open it."""


def _open_as_it_is(path: str, status: os.stat_result) -> int:
    """Open a FIFO or a device for writing, without creating or truncating it. A FIFO that
    no process reads would block the session's end for ever: that is an error instead."""
    flags = os.O_WRONLY | os.O_CLOEXEC
    if not stat.S_ISFIFO(status.st_mode):
        return os.open(path, flags)
    deadline = time.monotonic() + FIFO_READER_WAIT
    while True:
        try:
            descriptor = os.open(path, flags | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            if time.monotonic() > deadline:
                raise OSError(errno.ENXIO, "it is a FIFO that no process reads") from None
            time.sleep(0.05)
            continue
        os.set_blocking(descriptor, True)
        return descriptor


def _replace(target: str, status: os.stat_result | None, chunks: Iterable[bytes]) -> None:
    """Replace the regular file ``target`` (``status``: its own, None if it is new) atomically."""
    directory, name = os.path.split(target)
    os.makedirs(directory, exist_ok=True)  # as --junitxml does
    temporary = os.path.join(directory, f".{name[:100]}.{secrets.token_hex(8)}.tmp")
    # Mode 0o666: the kernel applies the umask (and a directory's default ACL), as for any new file.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        with open(descriptor, "wb") as stream:
            if status is not None:
                _keep_owner_and_mode(stream.fileno(), status)
            stream.writelines(chunks)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)  # only the file made here, never what the path named
        raise


def _keep_owner_and_mode(descriptor: int, status: os.stat_result) -> None:
    """The replacement keeps who may read the file: its mode, and its owner where allowed."""
    if (status.st_uid, status.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.fchown(descriptor, status.st_uid, status.st_gid)
        except PermissionError:  # another user's file, and not root: it becomes ours
            pass
    os.fchmod(descriptor, stat.S_IMODE(status.st_mode))


MIN_FREE_BYTES = 1024 * 1024


def check_output_path(path: str, option: str, source: str = "command line") -> None:
    """Fail now, not after the run, if ``path`` cannot be written (see :func:`write_output`).

    ``option`` and ``source`` name the setting as it was given (``--humaneval-json`` from the
    command line, ``humaneval_json`` from an ini file)."""
    shown = f"{option}={quoted(path)} (from {source})"
    try:
        status = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):  # its directory is checked below
        pass
    except OSError as exc:
        raise OSError(f"{shown}: {exc.strerror or exc}") from None
    else:
        if stat.S_ISDIR(status.st_mode):
            raise OSError(f"{shown}: is a directory")
        if stat.S_ISSOCK(status.st_mode):
            raise OSError(f"{shown}: is a socket")
        if not stat.S_ISREG(status.st_mode):  # a FIFO or a device: written as it is
            if not os.access(path, os.W_OK):
                raise OSError(f"{shown}: not writable")
            return
    directory = Path(os.path.realpath(path)).parent
    existing = next(parent for parent in (directory, *directory.parents) if parent.exists())
    where = f"directory {existing}" if existing == directory else f"cannot create {directory}: {existing}"
    if not existing.is_dir():
        raise OSError(f"{shown}: {where} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OSError(f"{shown}: {where} is not writable")
    space = os.statvfs(existing)
    if space.f_bavail * space.f_frsize < MIN_FREE_BYTES:
        raise OSError(f"{shown}: no space left on the device holding {existing}")
