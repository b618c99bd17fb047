"""Each setting's value parser: the text of an option or ini key, turned into its value.

A parser takes the text alone and raises ``ValueError`` with what the value must be;
``options`` declares which setting each one parses, and the caller names the setting and
where the value came from. Imports ranking (its policies for a missing field) only; nothing
of pytest.
"""

from __future__ import annotations

import math
import re

from pytest_humaneval.ranking import MISSING_POLICIES

MAX_TIMEOUT = 86400.0
"""The longest time limit: the sandbox's waits (``poll`` in milliseconds, a C int) allow
no more than 24 days, and a day already means no limit in practice."""


def parse_timeout(text: str) -> float | str:
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


def parse_servers(text: str) -> int | None:
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


def parse_k_list(text: str) -> tuple[int, ...]:
    message = "must be a comma-separated list of positive integers, e.g. 1,10,100"
    try:
        values = tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise ValueError(message) from None
    if not values or any(k < 1 for k in values):
        raise ValueError(message)
    return tuple(sorted(set(values)))


def parse_positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError("must be a positive integer")
    return value


def parse_extract(text: str) -> bool:
    if text.strip() not in ("auto", "none"):
        raise ValueError("must be 'auto' or 'none'")
    return text.strip() == "auto"


_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse_shard(text: str) -> tuple[int, int]:
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


def parse_rank_field(text: str) -> str:
    name = text.strip()
    if not _FIELD_NAME.fullmatch(name):
        raise ValueError("must be the name of a numeric field of the samples, e.g. mean_logprob")
    if name in RESERVED_FIELDS:
        raise ValueError(f"{name!r} is not a score: give a numeric field of the samples, e.g. mean_logprob")
    return name


def parse_rank_missing(text: str) -> str:
    if text.strip() not in MISSING_POLICIES:
        raise ValueError(f"must be one of: {', '.join(MISSING_POLICIES)}")
    return text.strip()


def parse_temperatures(text: str) -> tuple[float, ...]:
    message = "must be a comma-separated list of temperatures (numbers >= 0), one per samples file"
    try:
        values = tuple(float(part) for part in text.replace(" ", "").split(","))
    except ValueError:
        raise ValueError(message) from None
    if not all(math.isfinite(value) and value >= 0 for value in values):
        raise ValueError(message)
    return values


REPORTS = ("problems",)


def parse_report(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names or any(name not in REPORTS for name in names):
        raise ValueError(f"must be one of: {', '.join(REPORTS)}")
    return names


def parse_threshold(text: str) -> tuple[int, bool, float]:
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
