"""The best sampling temperature for each k: with samples files of one model at several
temperatures, the file whose pass@k is highest, for each k (the Codex paper's Figure 5:
the best temperature grows with k).

A file's temperature is given per file (``--humaneval-temperature``, one per samples file
in the order given) or is the ``temperature`` field its samples all carry. Files are
compared as if they differed in temperature alone (the plugin cannot see the model).

Imports the metrics; nothing else of the package.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pytest_humaneval.metrics import PassAtK

TEMPERATURE_FIELD = "temperature"
DISTINCT_SHOWN = 3
"""How many of a file's different temperatures a message names."""


@dataclass(frozen=True)
class FileTemperature:
    """A samples file's temperature, or why it has none although its samples carry some."""

    value: float | None
    problem: str = ""


NO_TEMPERATURE = FileTemperature(None)
"""A file whose samples carry no temperature, none being given for it."""


@dataclass
class _Seen:
    """What one file's samples carry in their ``temperature`` field, as they are read."""

    values: list[float] = field(default_factory=list)
    """The different temperatures, at most :data:`DISTINCT_SHOWN` + 1 of them."""
    without: int = 0
    samples: int = 0


class TemperatureBook:
    """Each samples file's ``temperature`` fields, as its samples are read."""

    def __init__(self) -> None:
        self.files: list[_Seen] = []

    def note(self, file_index: int, record: dict[str, Any]) -> None:
        while len(self.files) <= file_index:
            self.files.append(_Seen())
        seen = self.files[file_index]
        seen.samples += 1
        value = record.get(TEMPERATURE_FIELD)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            seen.without += 1
        elif value not in seen.values and len(seen.values) <= DISTINCT_SHOWN:
            seen.values.append(float(value))

    def temperature(self, file_index: int) -> FileTemperature:
        """The file's temperature: the one its samples all carry (None if they carry none)."""
        seen = self.files[file_index] if file_index < len(self.files) else _Seen()
        if seen.without == seen.samples:
            return NO_TEMPERATURE
        if seen.without:
            return FileTemperature(
                None, f"{seen.without} of its {seen.samples} samples have no numeric {TEMPERATURE_FIELD!r}"
            )
        if len(seen.values) > 1:
            shown = ", ".join(f"{value:g}" for value in seen.values[:DISTINCT_SHOWN])
            more = ", ..." if len(seen.values) > DISTINCT_SHOWN else ""
            return FileTemperature(None, f"its samples carry different temperatures ({shown}{more})")
        return FileTemperature(seen.values[0])


def file_temperatures(given: tuple[float, ...], book: TemperatureBook, files: int) -> list[FileTemperature]:
    """The files' temperatures: as given per file (``--humaneval-temperature``), else from
    their samples."""
    if given:
        return [FileTemperature(value) for value in given]
    return [book.temperature(index) for index in range(files)]


@dataclass(frozen=True)
class BestAtK:
    """For one k, the file with the highest pass@k (its index in the order given) and that
    pass@k, or why there is none."""

    k: int
    file: int | None
    rate: PassAtK | None
    reason: str = ""


@dataclass(frozen=True)
class BestTemperatures:
    """The best file for each k, or (``per_k`` empty) why the files cannot be compared."""

    per_k: list[BestAtK]
    reason: str = ""


def best_per_k(
    temperatures: list[FileTemperature], rates: list[list[PassAtK]], labels: list[str]
) -> BestTemperatures | None:
    """For each k, the file with the highest pass@k (ties: the first given) among those where
    it is computable. None when there is nothing to compare, said or not: fewer than two
    files carry a temperature, or all are at one (models compared at one temperature); why
    not, when two files carry temperatures but some file has none of its own."""
    carrying = [t for t in temperatures if t.value is not None or t.problem]
    if len(carrying) < 2 or (
        len(carrying) == len(temperatures) and len({t.value for t in temperatures}) == 1
    ):
        return None
    unknown = [(label, t) for label, t in zip(labels, temperatures, strict=True) if t.value is None]
    if unknown:
        reasons = "; ".join(f"{label}: {t.problem or 'no temperature'}" for label, t in unknown)
        return BestTemperatures([], f"not every file has one temperature ({reasons})")
    per_k = []
    for column, first in enumerate(rates[0]):
        computable = [
            (index, rate[column]) for index, rate in enumerate(rates) if rate[column].value is not None
        ]
        if not computable:
            per_k.append(BestAtK(first.k, None, None, first.reason))
            continue
        index, rate = max(computable, key=lambda found: found[1].value or 0.0)
        per_k.append(BestAtK(first.k, index, rate))
    return BestTemperatures(per_k)
