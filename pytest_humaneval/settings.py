"""The plugin's settings: declared once, read from the command line or the ini file, validated.

Each setting has a command-line option ``--humaneval-NAME`` and an ini key
``humaneval_NAME``; the command line wins. An invalid value is a usage error that
names the setting and where the value came from.

Imports pytest (options, ini values), loading (the built-in names), postprocess (stop
sequences) and ranking (the fields it derives); nothing that runs samples.
"""

from __future__ import annotations

import glob
import math
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_humaneval.errors import quoted
from pytest_humaneval.loading import CANONICAL_SAMPLES, DEFAULT_PROBLEMS, EVALPLUS_PROBLEMS
from pytest_humaneval.postprocess import parse_stop_sequences
from pytest_humaneval.ranking import DERIVED_FIELDS, MISSING_POLICIES

DEFAULT_TIMEOUT = 3.0
MAX_TIMEOUT = 86400.0
"""The longest time limit: the sandbox's waits (``poll`` in milliseconds, a C int) allow
no more than 24 days, and a day already means no limit in practice."""
DEFAULT_K = (1, 10, 100)
DEFAULT_MEMORY_MB = 4096


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
        option = OPTIONS_BY_NAME[name]
        return (option.cli if source == "command line" else option.ini), source

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


def _timeout(text: str) -> float | str:
    if text.strip() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT:
        raise ValueError(f"must be a positive number of seconds, at most {MAX_TIMEOUT:g} (a day), or auto")
    return value


MAX_SERVERS = 256
"""The most sandbox servers one pytest process runs samples on."""


def _servers(text: str) -> int | None:
    """A pool's size, or None for ``auto`` (one server per CPU the process may use)."""
    if text.strip() == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_SERVERS:
        raise ValueError(f"must be a number of servers from 1 to {MAX_SERVERS}, or auto")
    return value


def _k_list(text: str) -> tuple[int, ...]:
    message = "must be a comma-separated list of positive integers, e.g. 1,10,100"
    try:
        values = tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise ValueError(message) from None
    if not values or any(k < 1 for k in values):
        raise ValueError(message)
    return tuple(sorted(set(values)))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError("must be a positive integer")
    return value


def _extract(text: str) -> bool:
    if text.strip() not in ("auto", "none"):
        raise ValueError("must be 'auto' or 'none'")
    return text.strip() == "auto"


_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def _shard(text: str) -> tuple[int, int]:
    match = _SHARD.fullmatch(text)
    if match is None:
        raise ValueError("must be I/N, shard I of N (whole numbers, 1 <= I <= N), e.g. 1/4")
    index, count = int(match[1]), int(match[2])
    if count < 1:
        raise ValueError("N, the number of shards, must be at least 1")
    if not 1 <= index <= count:
        raise ValueError(f"I must be from 1 to N ({count}): shards are numbered 1/{count} to {count}/{count}")
    return index, count


_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_FIELDS = ("task_id", "completion", "solution", "result", "passed", "outcome", "message", "duration")
"""The sample's own fields and those the plugin writes on its results lines: no score."""


def _rank_field(text: str) -> str:
    name = text.strip()
    if not _FIELD_NAME.fullmatch(name):
        raise ValueError("must be the name of a numeric field of the samples, e.g. mean_logprob")
    if name in RESERVED_FIELDS:
        raise ValueError(f"{name!r} is not a score: give a numeric field of the samples, e.g. mean_logprob")
    return name


def _rank_fields(option: Option, given: list[str], source: str) -> tuple[str, ...]:
    """The ranking fields in the order given; the same one twice is an error."""
    fields: list[str] = []
    for text in given:
        name = _parsed(option, text, source)
        if name in fields:
            raise _usage_error(option, text, source, f"{name!r} is given twice")
        fields.append(name)
    return tuple(fields)


def _rank_missing(text: str) -> str:
    if text.strip() not in MISSING_POLICIES:
        raise ValueError(f"must be one of: {', '.join(MISSING_POLICIES)}")
    return text.strip()


def _temperatures(text: str) -> tuple[float, ...]:
    message = "must be a comma-separated list of temperatures (numbers >= 0), one per samples file"
    try:
        values = tuple(float(part) for part in text.replace(" ", "").split(","))
    except ValueError:
        raise ValueError(message) from None
    if not all(math.isfinite(value) and value >= 0 for value in values):
        raise ValueError(message)
    return values


REPORTS = ("problems",)


def _report(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names or any(name not in REPORTS for name in names):
        raise ValueError(f"must be one of: {', '.join(REPORTS)}")
    return names


def _threshold(text: str) -> tuple[int, bool, float]:
    """A threshold: its k, whether it is on EvalPlus's base + plus inputs (``pass@K+``), its value."""
    message = (
        "must look like pass@K=FRACTION (or pass@K+=FRACTION, EvalPlus's base + plus) with K >= 1 "
        "and a fraction from 0 to 1, e.g. pass@1=0.30"
    )
    name, sep, number = text.partition("=")
    name = name.strip()
    plus = name.endswith("+")
    try:
        k, value = int(name.removeprefix("pass@").removesuffix("+")), float(number)
    except ValueError:
        raise ValueError(message) from None
    if not sep or not name.startswith("pass@") or k < 1 or not 0.0 <= value <= 1.0:
        raise ValueError(message)
    return k, plus, value


def _thresholds(option: Option, given: list[str], source: str) -> tuple[dict[int, float], dict[int, float]]:
    """The thresholds by k, on base (``pass@K``) and on base + plus (``pass@K+``); the same
    one twice is an error (which one was meant?)."""
    thresholds: tuple[dict[int, float], dict[int, float]] = ({}, {})
    for text in given:
        k, plus, value = _parsed(option, text, source)
        if k in thresholds[plus]:
            raise _usage_error(option, text, source, f"pass@{k}{'+' if plus else ''} is given twice")
        thresholds[plus][k] = value
    return thresholds


@dataclass(frozen=True)
class Option:
    """One setting: its name, help text, and how to parse it."""

    name: str
    help: str
    parse: Callable[[str], Any] | None = None
    flag: bool = False
    repeat: bool = False
    several: bool = False
    """A repeatable option that also takes several values after it (``--opt A B``)."""
    metavar: str | None = None

    @property
    def cli(self) -> str:
        return "--humaneval-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return "humaneval_" + self.name


OPTIONS = (
    Option(
        "samples",
        "JSONL(.gz) file of samples to evaluate, or 'canonical' for the problems' own solutions; "
        "repeatable: several files are evaluated and compared in one session.",
        repeat=True,
        metavar="PATH",
    ),
    Option(
        "problems",
        "problem file in the HumanEval format (an EvalPlus file's 'base_input'/'plus_input' are "
        "judged as EvalPlus does), or a built-in set: 'humaneval' (default, the official 164 "
        "problems), 'humaneval+', 'humaneval+mini', 'mbpp+' (EvalPlus's).",
        metavar="PATH",
    ),
    Option(
        "timeout",
        f"time limit per sample in seconds (default {DEFAULT_TIMEOUT:g}); time "
        "spent waiting for a busy CPU does not count. 'auto': the test's calls get a shorter "
        "limit per problem, from its canonical solution's cost.",
        _timeout,
        metavar="SECONDS|auto",
    ),
    Option("k", "values of k for pass@k (default 1,10,100).", _k_list, metavar="K,K,..."),
    Option("results", "write one JSON line per sample, in input order.", metavar="PATH"),
    Option("json", "write the summary (pass@k, counts, settings) as JSON.", metavar="PATH"),
    Option(
        "fail_under",
        "exit non-zero when pass@K is below the fraction (pass@K+: EvalPlus's base + plus "
        "inputs); repeatable.",
        _threshold,
        repeat=True,
        metavar="pass@K[+]=FRACTION",
    ),
    Option(
        "allow_partial",
        "apply --humaneval-fail-under to a partial evaluation (a selection, an interrupted run, "
        "problems without samples) instead of failing it.",
        flag=True,
    ),
    Option("strict", "report failing samples as ordinary test failures (exit status 1).", flag=True),
    Option(
        "memory",
        f"address-space limit per sample in MiB (default {DEFAULT_MEMORY_MB}).",
        _positive_int,
        metavar="MIB",
    ),
    Option("no_cache", "neither read nor write the verdict cache.", flag=True),
    Option(
        "extract",
        "'auto': take the code out of markdown fences in chat outputs (a block defining the entry "
        "point runs after the prompt as a whole program); 'none' (default): use outputs as they are.",
        _extract,
        metavar="auto|none",
    ),
    Option("plot", "draw pass@k against k, with 95% intervals, as a PNG (needs matplotlib).", metavar="PATH"),
    Option(
        "report",
        "extra terminal report: 'problems' (per problem: samples, passed, pass@1, most common failure).",
        _report,
        metavar="problems",
    ),
    Option(
        "servers",
        "sandbox servers that run samples ahead of their items, side by side, in a session "
        "without xdist workers (default auto: one per usable CPU); each xdist worker has one.",
        _servers,
        metavar="N|auto",
    ),
    Option(
        "stop",
        "cut each completion at the first stop sequence before it runs: 'codex' (the Codex "
        "paper's) or comma-separated strings with \\n escapes; repeatable.",
        parse_stop_sequences,
        repeat=True,
        metavar="SEQUENCES",
    ),
    Option(
        "shard",
        "run shard I of N: a fixed share of the samples, the same on every machine (identical "
        "samples together, balanced across problems); needs --humaneval-results, which "
        "--humaneval-merge reads.",
        _shard,
        metavar="I/N",
    ),
    Option(
        "merge",
        "build the table, results, JSON, plot and gate from the shards' results files (globs "
        "expanded) without running any sample; repeatable.",
        repeat=True,
        several=True,
        metavar="RESULTS",
    ),
    Option(
        "rank",
        "also report, per samples file, how often the sample with the highest FIELD passes, "
        "beside pass@1 (a random pick) and pass@n (an oracle); "
        f"{' and '.join(DERIVED_FIELDS)} are derived from a 'logprobs' list when absent; repeatable.",
        _rank_field,
        repeat=True,
        metavar="FIELD",
    ),
    Option(
        "rank_missing",
        "a sample without a --humaneval-rank field: 'error' (default: a usage error naming its "
        "line) or 'exclude' (its problem is left out of the rankings, and counted).",
        _rank_missing,
        metavar="error|exclude",
    ),
    Option(
        "temperature",
        "each samples file's sampling temperature, comma-separated in the order the files are "
        "given (default: the samples' 'temperature' field); with several, the best per k is shown.",
        _temperatures,
        metavar="T,T,...",
    ),
)


OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}


def _escaped(help_text: str) -> str:
    """Help for argparse, which formats it with ``%`` (a bare ``95%`` crashed ``pytest --help``)."""
    return help_text.replace("%", "%%")


def add_options(parser: pytest.Parser) -> None:
    """Register every setting as a command-line option and an ini key."""
    group = parser.getgroup("humaneval", "HumanEval functional-correctness evaluation")
    for option in OPTIONS:
        if option.flag:
            group.addoption(option.cli, action="store_true", default=None, help=_escaped(option.help))
            parser.addini(option.ini, option.help, type="bool", default=False)
        elif option.repeat:
            group.addoption(
                option.cli,
                action="append",
                nargs="+" if option.several else None,
                default=None,
                metavar=option.metavar,
                help=_escaped(option.help),
            )
            # One value per line, as written (a line of shell-like words costs shlex.split
            # time quadratic in its length: a 1 MB line took minutes).
            parser.addini(option.ini, option.help, type="linelist", default=[])
        else:
            group.addoption(option.cli, default=None, metavar=option.metavar, help=_escaped(option.help))
            parser.addini(option.ini, option.help, default="")


PATH_OPTIONS = ("samples", "problems", "results", "json", "plot", "merge")
SPECIAL_VALUES = (CANONICAL_SAMPLES, DEFAULT_PROBLEMS, *EVALPLUS_PROBLEMS)


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


def _usage_error(option: Option, value: str, source: str, detail: str) -> pytest.UsageError:
    """An error that names the setting as it was given (option or ini key), and where
    (the value capped: an ini value can be of any size)."""
    name = option.cli if source == "command line" else option.ini
    return pytest.UsageError(f"{name}={quoted(value)} (from {source}): {detail}")


def _parsed(option: Option, value: str, source: str) -> Any:
    assert option.parse is not None
    try:
        return option.parse(value)
    except ValueError as exc:
        raise _usage_error(option, value, source, str(exc)) from None


def file_identity(path: str) -> tuple[int, int] | str:
    """What makes two paths the same file: device and inode if it exists, else its real path."""
    try:
        status = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return (status.st_dev, status.st_ino)


def _distinct_files(option: Option, paths: list[str], source: str) -> tuple[str, ...]:
    """The paths, unless two of them name the same file."""
    seen: dict[tuple[int, int] | str, str] = {}
    for path in paths:
        identity = path if path in SPECIAL_VALUES else file_identity(path)
        if identity in seen:
            also = f" (as {seen[identity]})" if seen[identity] != path else ""
            raise _usage_error(option, path, source, f"the same samples file is given twice{also}")
        seen[identity] = path
    return tuple(paths)


OUTPUT_OPTIONS = ("results", "json", "plot")
INPUT_OPTIONS = ("samples", "problems")


def _check_path(option: Option, path: str, source: str) -> None:
    """An empty path is a mistake, and an input must be a file this process can read: said
    now, naming the option, rather than after the run or by the file's name alone."""
    if not path.strip():
        raise _usage_error(option, path, source, "must be a path")
    if option.name not in INPUT_OPTIONS or path in SPECIAL_VALUES:
        return
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise _usage_error(option, path, source, f"cannot read: {exc.strerror or exc}") from None


def _merge_files(option: Option, given: list[str], source: str) -> tuple[str, ...]:
    """The shards' results files: each pattern's matches (sorted) or the path itself, each file
    once however many patterns match it (an ini file's patterns may overlap)."""
    files: dict[tuple[int, int] | str, str] = {}
    for pattern in given:
        _check_path(option, pattern, source)
        if any(mark in pattern for mark in "*?["):
            matches = sorted(glob.glob(pattern))
            if not matches:
                raise _usage_error(option, pattern, source, "no file matches")
        else:
            matches = [pattern]
        for path in matches:
            try:
                with open(path, "rb"):
                    pass
            except OSError as exc:
                raise _usage_error(option, path, source, f"cannot read: {exc.strerror or exc}") from None
            files.setdefault(file_identity(path), path)
    return tuple(files.values())


def _check_combination(values: dict[str, Any], sources: dict[str, str]) -> None:
    """Settings that cannot go together, or one that needs another, said before anything runs."""

    def named(name: str) -> str:
        option = OPTIONS_BY_NAME[name]
        source = sources[name]
        return f"{option.cli if source == 'command line' else option.ini} (from {source})"

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


def _is_device(path: str) -> bool:
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def _check_outputs_apart(values: dict[str, Any], sources: dict[str, str]) -> None:
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
            raise _usage_error(options[name], path, sources[name], f"would overwrite {taken[identity]}")
        taken[identity] = f"the output of {options[name].cli}"


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
            values[option.name] = _merge_files(option, given, source)
        elif option.name in PATH_OPTIONS:
            paths = raw if option.repeat else [str(raw)]
            for path in paths:
                _check_path(option, path, source)
            values[option.name] = _distinct_files(option, paths, source) if option.repeat else paths[0]
        elif option.name == "stop":
            values[option.name] = tuple(seq for item in raw for seq in _parsed(option, item, source))
        elif option.name == "rank":
            values[option.name] = _rank_fields(option, raw, source)
        elif option.name == "fail_under":
            given = [word for line in raw for word in line.split()] if source != "command line" else raw
            values[option.name], values["fail_under_plus"] = _thresholds(option, given, source)
        elif option.parse is not None:
            values[option.name] = _parsed(option, str(raw), source)
        else:
            values[option.name] = str(raw)
    _check_combination(values, sources)
    _check_outputs_apart(values, sources)
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
