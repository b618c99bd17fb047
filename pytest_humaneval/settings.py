"""The plugin's settings: read from the command line or the ini file and validated, in one place.

Each setting has a command-line option ``--humaneval-NAME`` and an ini key
``humaneval_NAME``; the command line wins. An invalid value is a usage error that
names the setting and where the value came from.

The settings are declared in ``options`` (each one's text parsed by ``option_values``);
the files they name are checked by ``path_checks``. Imports pytest (options, ini values),
errors (quoting a value), loading (the default problems) and those three modules; nothing
that runs samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_humaneval.errors import quoted
from pytest_humaneval.loading import DEFAULT_PROBLEMS
from pytest_humaneval.options import (
    DEFAULT_K,
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
    OPTIONS,
    OPTIONS_BY_NAME,
    Option,
    parsed,
    usage_error,
)
from pytest_humaneval.path_checks import (
    INPUT_OPTIONS,
    SPECIAL_VALUES,
    check_outputs_apart,
    check_path,
    distinct_files,
    merge_files,
)


@dataclass(frozen=True)
class Settings:
    """Resolved, validated settings of a session."""

    samples: tuple[str, ...] = ()
    """The samples files (or ``canonical``), in the order given; each is a run of its own."""
    ini_samples: bool = False
    """True when the samples come from the ini file: they join a session only when its
    command line names no path or names them (see ``selection.samples_requested``)."""
    problems: str = DEFAULT_PROBLEMS
    timeout: float = DEFAULT_TIMEOUT
    """The time limit per sample; with ``auto_timeout``, the most a problem's limit can be."""
    auto_timeout: bool = False
    k: tuple[int, ...] = DEFAULT_K
    results: str | None = None
    json: str | None = None
    fail_under: dict[int, float] = field(default_factory=dict)
    fail_under_plus: dict[int, float] = field(default_factory=dict)
    """The thresholds on EvalPlus's pass@k on base + plus inputs (``pass@K+``), by k."""
    allow_partial: bool = False
    """Gate a partial evaluation on what finished, instead of failing it."""
    strict: bool = False
    memory_mb: int = DEFAULT_MEMORY_MB
    cache: bool = True
    plot: str | None = None
    report: tuple[str, ...] = ()
    """Extra reports for the terminal: ``problems``."""
    stop: tuple[str, ...] = ()
    """Stop sequences: each completion is cut at the first one before it runs."""
    extract: bool = False
    """Take the code out of markdown fences in chat models' outputs."""
    servers: int | None = None
    """Sandbox servers a session without xdist workers runs samples on (None: one per CPU)."""
    shard: tuple[int, int] | None = None
    """This session's share of the samples, (I, N): shard I of N (see ``shards``)."""
    merge: tuple[str, ...] = ()
    """Shards' results files to merge instead of running samples (globs expanded)."""
    rank: tuple[str, ...] = ()
    """Fields of the samples to rank them by (see ``ranking``), in the order given."""
    rank_missing: str = "error"
    """A sample without a ranking's field: ``error`` (a usage error) or ``exclude`` (its
    problem is left out of that ranking)."""
    temperature: tuple[float, ...] = ()
    """Each samples file's sampling temperature, in the order given (empty: from the
    samples' ``temperature`` field, if they carry one)."""
    sources: dict[str, str] = field(default_factory=dict, compare=False)
    """Where each setting that was given came from: ``command line`` or the ini file's name."""

    @property
    def shard_label(self) -> str | None:
        """``I/N``, the shard the session runs (None: it runs every sample)."""
        return "{}/{}".format(*self.shard) if self.shard else None

    def given_as(self, name: str) -> tuple[str, str]:
        """The setting's name as the user gave it (option or ini key), and where: for messages."""
        source = self.sources.get(name, "command line")
        return OPTIONS_BY_NAME[name].given_as(source), source

    def as_dict(self) -> dict[str, Any]:
        """The settings that decide the measurement, for the JSON summary."""
        return {
            "samples": self.samples[0] if len(self.samples) == 1 else list(self.samples),
            "problems": self.problems,
            "timeout": "auto" if self.auto_timeout else self.timeout,
            "k": list(self.k),
            "memory_mb": self.memory_mb,
            "strict": self.strict,
            "fail_under": {
                **{f"pass@{k}": v for k, v in self.fail_under.items()},
                **{f"pass@{k}+": v for k, v in self.fail_under_plus.items()},
            },
            "allow_partial": self.allow_partial,
            "stop": list(self.stop),
            "extract": "auto" if self.extract else "none",
            **({"shard": self.shard_label} if self.shard else {}),
            **({"rank": list(self.rank), "rank_missing": self.rank_missing} if self.rank else {}),
            **({"temperature": list(self.temperature)} if self.temperature else {}),
        }


PATH_OPTIONS = ("samples", "problems", "results", "json", "plot", "merge")


def _raw_value(config: pytest.Config, option: Option) -> tuple[Any, str]:
    """The value given for ``option`` and where it came from, or (None, "").

    Relative paths in the ini file are relative to the ini file's directory.
    """
    value = config.getoption(option.cli)
    if value is not None:
        return value, "command line"
    inifile = config.inipath.name if config.inipath else "ini file"
    source = inifile
    try:
        ini_value = config.getini(option.ini)
    except (ValueError, pytest.UsageError) as exc:  # a flag that is not a truth value
        raise pytest.UsageError(f"{option.ini} (from {source}): {quoted(str(exc))}") from None
    if option.flag:
        return (True, source) if ini_value else (None, "")
    if ini_value in ("", []):
        return None, ""
    if option.name in PATH_OPTIONS and config.inipath:
        directory = config.inipath.parent
        if isinstance(ini_value, list):
            ini_value = [_from_directory(directory, path) for path in ini_value]
        else:
            ini_value = _from_directory(directory, ini_value)
    return ini_value, source


def _from_directory(directory: Path, path: str) -> str:
    return path if path in SPECIAL_VALUES else str(directory / path)


def _rank_fields(option: Option, given: list[str], source: str) -> tuple[str, ...]:
    """The ranking fields in the order given; the same one twice is an error."""
    fields: list[str] = []
    for text in given:
        name = parsed(option, text, source)
        if name in fields:
            raise usage_error(option, text, source, f"{name!r} is given twice")
        fields.append(name)
    return tuple(fields)


def _thresholds(option: Option, given: list[str], source: str) -> tuple[dict[int, float], dict[int, float]]:
    """The thresholds by k, on base (``pass@K``) and on base + plus (``pass@K+``); the same
    one twice is an error (which one was meant?)."""
    thresholds: tuple[dict[int, float], dict[int, float]] = ({}, {})
    for text in given:
        k, plus, value = parsed(option, text, source)
        if k in thresholds[plus]:
            raise usage_error(option, text, source, f"pass@{k}{'+' if plus else ''} is given twice")
        thresholds[plus][k] = value
    return thresholds


def _check_combination(values: dict[str, Any], sources: dict[str, str]) -> None:
    """Settings that cannot go together, or one that needs another, said before anything runs."""

    def named(name: str) -> str:
        return f"{OPTIONS_BY_NAME[name].given_as(sources[name])} (from {sources[name]})"

    if "shard" in values and "merge" in values:
        raise pytest.UsageError(
            f"{named('shard')} cannot go with {named('merge')}: a session runs a shard or merges them"
        )
    for name in INPUT_OPTIONS:
        if "merge" in values and sources.get(name) == "command line":
            raise pytest.UsageError(
                f"{named(name)} cannot go with {named('merge')}: the merge runs no sample, and the "
                f"shards' results files name their {name} files"
            )
    files = len(values.get("samples", ()))
    if "temperature" in values and "merge" not in values and len(values["temperature"]) != files:
        raise pytest.UsageError(
            f"{named('temperature')} gives {len(values['temperature'])} temperatures for {files} "
            "samples files: give one per file, in the order of --humaneval-samples"
        )
    if "shard" in values and "results" not in values:
        raise pytest.UsageError(
            f"{named('shard')} needs --humaneval-results (or humaneval_results): "
            "--humaneval-merge builds the whole run from each shard's results file"
        )


def resolve(config: pytest.Config) -> Settings:
    """Read and validate every setting; raise ``pytest.UsageError`` naming a bad one."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    merging = _raw_value(config, OPTIONS_BY_NAME["merge"])[0] is not None
    for option in OPTIONS:
        raw, source = _raw_value(config, option)
        if raw is None or (merging and option.name in INPUT_OPTIONS and source != "command line"):
            continue  # a merge reads no input: the ini file's need not be on this machine
        sources[option.name] = source
        if option.flag:
            values[option.name] = True
        elif option.name == "merge":
            given = [path for item in raw for path in item] if source == "command line" else raw
            values[option.name] = merge_files(option, given, source)
        elif option.name in PATH_OPTIONS:
            paths = raw if option.repeat else [str(raw)]
            for path in paths:
                check_path(option, path, source)
            values[option.name] = distinct_files(option, paths, source) if option.repeat else paths[0]
        elif option.name == "stop":
            values[option.name] = tuple(seq for item in raw for seq in parsed(option, item, source))
        elif option.name == "rank":
            values[option.name] = _rank_fields(option, raw, source)
        elif option.name == "fail_under":
            given = [word for line in raw for word in line.split()] if source != "command line" else raw
            values[option.name], values["fail_under_plus"] = _thresholds(option, given, source)
        elif option.parse is not None:
            values[option.name] = parsed(option, str(raw), source)
        else:
            values[option.name] = str(raw)
    _check_combination(values, sources)
    check_outputs_apart(values, sources)
    timeout = values.get("timeout", DEFAULT_TIMEOUT)
    return Settings(
        samples=values.get("samples", ()),
        ini_samples=sources.get("samples", "command line") != "command line",
        problems=values.get("problems", DEFAULT_PROBLEMS),
        timeout=DEFAULT_TIMEOUT if timeout == "auto" else timeout,
        auto_timeout=timeout == "auto",
        k=values.get("k", DEFAULT_K),
        results=values.get("results"),
        json=values.get("json"),
        fail_under=values.get("fail_under", {}),
        fail_under_plus=values.get("fail_under_plus", {}),
        allow_partial=values.get("allow_partial", False),
        strict=values.get("strict", False),
        memory_mb=values.get("memory", DEFAULT_MEMORY_MB),
        cache=not values.get("no_cache", False),
        stop=tuple(dict.fromkeys(values.get("stop", ()))),
        servers=values.get("servers"),
        report=values.get("report", ()),
        plot=values.get("plot"),
        extract=values.get("extract", False),
        shard=values.get("shard"),
        merge=values.get("merge", ()),
        rank=values.get("rank", ()),
        rank_missing=values.get("rank_missing", "error"),
        temperature=values.get("temperature", ()),
        sources=sources,
    )
