"""The checks on the files the settings name, made before anything runs: an input this
process cannot read, an empty path, the same samples file given twice, a merge's pattern that
matches nothing, an output that would overwrite an input or another output; and what makes
two paths the same file (``selection`` asks it too).

Imports loading (the built-in names, which are no paths) and options (the usage errors that
name a setting as it was given); nothing that runs samples.
"""

from __future__ import annotations

import glob
import os
import stat
from typing import Any

from pytest_humaneval.loading import CANONICAL_SAMPLES, DEFAULT_PROBLEMS, EVALPLUS_PROBLEMS
from pytest_humaneval.options import OPTIONS_BY_NAME, Option, usage_error

SPECIAL_VALUES = (CANONICAL_SAMPLES, DEFAULT_PROBLEMS, *EVALPLUS_PROBLEMS)
"""The built-in samples and problems: names, not paths."""


def file_identity(path: str) -> tuple[int, int] | str:
    """What makes two paths the same file: device and inode if it exists, else its real path."""
    try:
        status = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return (status.st_dev, status.st_ino)


def distinct_files(option: Option, paths: list[str], source: str) -> tuple[str, ...]:
    """The paths, unless two of them name the same file."""
    seen: dict[tuple[int, int] | str, str] = {}
    for path in paths:
        identity = path if path in SPECIAL_VALUES else file_identity(path)
        if identity in seen:
            also = f" (as {seen[identity]})" if seen[identity] != path else ""
            raise usage_error(option, path, source, f"the same samples file is given twice{also}")
        seen[identity] = path
    return tuple(paths)


OUTPUT_OPTIONS = ("results", "json", "plot")
INPUT_OPTIONS = ("samples", "problems")


def check_path(option: Option, path: str, source: str) -> None:
    """An empty path is a mistake, and an input must be a file this process can read: said
    now, naming the option, rather than after the run or by the file's name alone."""
    if not path.strip():
        raise usage_error(option, path, source, "must be a path")
    if option.name not in INPUT_OPTIONS or path in SPECIAL_VALUES:
        return
    _check_readable(option, path, source)


def _check_readable(option: Option, path: str, source: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise usage_error(option, path, source, f"cannot read: {exc.strerror or exc}") from None


def merge_files(option: Option, given: list[str], source: str) -> tuple[str, ...]:
    """The shards' results files: each pattern's matches (sorted) or the path itself, each file
    once however many patterns match it (an ini file's patterns may overlap)."""
    files: dict[tuple[int, int] | str, str] = {}
    for pattern in given:
        check_path(option, pattern, source)
        if any(mark in pattern for mark in "*?["):
            matches = sorted(glob.glob(pattern))
            if not matches:
                raise usage_error(option, pattern, source, "no file matches")
        else:
            matches = [pattern]
        for path in matches:
            _check_readable(option, path, source)
            files.setdefault(file_identity(path), path)
    return tuple(files.values())


def _is_device(path: str) -> bool:
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def check_outputs_apart(values: dict[str, Any], sources: dict[str, str]) -> None:
    """Refuse an output file that is an input file or another output: it would be overwritten."""
    taken: dict[tuple[int, int] | str, str] = {}
    for path in values.get("samples", ()):
        if path not in SPECIAL_VALUES:
            taken[file_identity(path)] = f"the samples file {path}"
    problems = values.get("problems", DEFAULT_PROBLEMS)
    if problems not in SPECIAL_VALUES:
        taken[file_identity(problems)] = f"the problems file {problems}"
    for path in values.get("merge", ()):
        taken[file_identity(path)] = f"the shard's results file {path}"
    options = OPTIONS_BY_NAME
    for name in OUTPUT_OPTIONS:
        path = values.get(name)
        if path is None or _is_device(path):  # /dev/null for two outputs destroys nothing
            continue
        identity = file_identity(path)
        if identity in taken:
            raise usage_error(options[name], path, sources[name], f"would overwrite {taken[identity]}")
        taken[identity] = f"the output of {options[name].cli}"
