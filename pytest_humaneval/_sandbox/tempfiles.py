"""The session's temporary files: their prefix, the locks that mark them in use, removal.

Each sandbox server holds its directory (samples work inside it), and the loading of a
gzip samples file holds its decompressed copy; a later session removes what no live one
holds (what sessions killed with SIGKILL left behind). Both ends import this module.

Imports only the standard library.
"""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import time

TEMPORARY_PREFIX = "pytest-humaneval-"
"""The prefix of the session's temporary files and directories: each server's (its samples'
work directory is inside) and the decompressed copy of a gzip samples file."""
ABANDONED_AFTER = 60.0
"""Seconds after its last change that an unheld temporary entry counts as abandoned."""


def clean_directory(path: str) -> None:
    """Empty a sample's working directory (kept: the Landlock rule names it)."""
    with os.scandir(path) as entries:
        leftovers = [entry.path for entry in entries]
    if not leftovers:
        return
    for leftover in leftovers:
        remove_tree(leftover)
    if os.listdir(path):
        raise RuntimeError(f"cannot empty the sample directory {path}")


def remove_tree(path: str) -> None:
    """Remove a file or tree whatever its depth, names or permissions (never following links)."""
    fix_modes = ["find", "-P", "--", path, "-type", "d", "-exec", "chmod", "u+rwx", "--", "{}", "+"]
    subprocess.run(fix_modes, capture_output=True, check=False)
    subprocess.run(["rm", "-rf", "--", path], capture_output=True, check=False)


def hold(path: str) -> int:
    """A descriptor holding a shared lock on a temporary file or directory of this session:
    while it is open, :func:`remove_abandoned` leaves the path alone."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    fcntl.flock(descriptor, fcntl.LOCK_SH)
    return descriptor


def remove_abandoned(directory: str, min_age: float = ABANDONED_AFTER) -> list[str]:
    """Remove this user's ``pytest-humaneval-*`` entries in ``directory`` that no process
    holds (see :func:`hold`) and that have not changed for ``min_age`` seconds: what
    sessions killed with SIGKILL left behind. Returns the paths removed."""
    removed: list[str] = []
    now = time.time()
    try:
        entries = [entry for entry in os.scandir(directory) if entry.name.startswith(TEMPORARY_PREFIX)]
    except OSError:
        return removed
    for entry in entries:
        try:
            status = entry.stat(follow_symlinks=False)
            if (
                status.st_uid != os.geteuid()
                or now - status.st_mtime < min_age
                or not (stat.S_ISDIR(status.st_mode) or stat.S_ISREG(status.st_mode))  # no link, no FIFO
            ):
                continue
            descriptor = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            opened = os.fstat(descriptor)
            if (opened.st_dev, opened.st_ino) != (status.st_dev, status.st_ino):  # replaced meanwhile
                continue
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # OSError if held: its session lives
            if stat.S_ISDIR(status.st_mode):
                remove_tree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue
        finally:
            os.close(descriptor)
        if not os.path.lexists(entry.path):
            removed.append(entry.path)
    return removed
