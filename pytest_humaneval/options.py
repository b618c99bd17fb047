"""The settings' declarations: each one's option and ini key, help text and parser, and the
usage error that names a setting as it was given.

Declared once here, registered with pytest by :func:`add_options`, read and validated by
``settings.resolve``. Imports pytest (the parser, usage errors), errors (quoting a value),
postprocess (stop sequences), ranking (the fields it derives) and the value parsers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_humaneval.errors import quoted
from pytest_humaneval.option_values import (
    parse_extract,
    parse_k_list,
    parse_positive_int,
    parse_rank_field,
    parse_rank_missing,
    parse_report,
    parse_servers,
    parse_shard,
    parse_temperatures,
    parse_threshold,
    parse_timeout,
)
from pytest_humaneval.postprocess import parse_stop_sequences
from pytest_humaneval.ranking import DERIVED_FIELDS

DEFAULT_TIMEOUT = 3.0
DEFAULT_K = (1, 10, 100)
DEFAULT_MEMORY_MB = 4096


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

    def given_as(self, source: str) -> str:
        """The setting's name as the user gave it: its option on the command line, else its ini key."""
        return self.cli if source == "command line" else self.ini


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
        parse_timeout,
        metavar="SECONDS|auto",
    ),
    Option("k", "values of k for pass@k (default 1,10,100).", parse_k_list, metavar="K,K,..."),
    Option("results", "write one JSON line per sample, in input order.", metavar="PATH"),
    Option("json", "write the summary (pass@k, counts, settings) as JSON.", metavar="PATH"),
    Option(
        "fail_under",
        "exit non-zero when pass@K is below the fraction (pass@K+: EvalPlus's base + plus "
        "inputs); repeatable.",
        parse_threshold,
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
        parse_positive_int,
        metavar="MIB",
    ),
    Option("no_cache", "neither read nor write the verdict cache.", flag=True),
    Option(
        "extract",
        "'auto': take the code out of markdown fences in chat outputs (a block defining the entry "
        "point runs after the prompt as a whole program); 'none' (default): use outputs as they are.",
        parse_extract,
        metavar="auto|none",
    ),
    Option("plot", "draw pass@k against k, with 95% intervals, as a PNG (needs matplotlib).", metavar="PATH"),
    Option(
        "report",
        "extra terminal report: 'problems' (per problem: samples, passed, pass@1, most common failure).",
        parse_report,
        metavar="problems",
    ),
    Option(
        "servers",
        "sandbox servers that run samples ahead of their items, side by side, in a session "
        "without xdist workers (default auto: one per usable CPU); each xdist worker has one.",
        parse_servers,
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
        parse_shard,
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
        parse_rank_field,
        repeat=True,
        metavar="FIELD",
    ),
    Option(
        "rank_missing",
        "a sample without a --humaneval-rank field: 'error' (default: a usage error naming its "
        "line) or 'exclude' (its problem is left out of the rankings, and counted).",
        parse_rank_missing,
        metavar="error|exclude",
    ),
    Option(
        "temperature",
        "each samples file's sampling temperature, comma-separated in the order the files are "
        "given (default: the samples' 'temperature' field); with several, the best per k is shown.",
        parse_temperatures,
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


def usage_error(option: Option, value: str, source: str, detail: str) -> pytest.UsageError:
    """An error that names the setting as it was given (option or ini key), and where
    (the value capped: an ini value can be of any size)."""
    return pytest.UsageError(f"{option.given_as(source)}={quoted(value)} (from {source}): {detail}")


def parsed(option: Option, value: str, source: str) -> Any:
    assert option.parse is not None
    try:
        return option.parse(value)
    except ValueError as exc:
        raise usage_error(option, value, source, str(exc)) from None
