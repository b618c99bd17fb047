"""``--humaneval-merge``: the table, results file, JSON summary, comparisons, plot and gate of
a sharded run, rebuilt from its shards' results files. Nothing runs: no sample, no sandbox
server; the samples and problems files are not read (the shards describe them).

The shards are checked before anything else happens: each file a shard's whole results,
the N shards of one run once each, with the same samples files, problems, settings that
decide verdicts and harness. Any fault is one usage error naming the files.

Imports the shards' description, the tally, the outputs, the exit status's decision, the
settings, loading's samples sets and the domain types; nothing that runs samples.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_humaneval.errors import FieldError
from pytest_humaneval.exit_status import Decision, Gate, SessionEnd, decide, exit_status
from pytest_humaneval.loading import SampleSet
from pytest_humaneval.model import OUTCOME_KINDS, FailedInput, SampleEntry, Verdict
from pytest_humaneval.outputs.checks import check_outputs
from pytest_humaneval.outputs.files import write_output
from pytest_humaneval.outputs.plot import write_summary_plot
from pytest_humaneval.outputs.summary_json import write_summary
from pytest_humaneval.outputs.terminal import auto_limits_line, section_lines, write_lines
from pytest_humaneval.settings import Settings
from pytest_humaneval.shard_description import (
    DESCRIPTION_FIELD,
    POSITION_FIELD,
    SHARD_FIELD,
    SHARD_FIELDS,
    ShardDescription,
)
from pytest_humaneval.tally import Comparison, SampleFields, Summary, Tally, comparisons

NOT_RUN = "not run"


class MergeError(Exception):
    """A shard's results file that cannot be merged, or shards that do not make one run."""


@dataclass
class ShardFile:
    """One shard's results file as read: its description, and where each of its lines is."""

    path: str
    description: ShardDescription
    positions: array[int]
    """Each line's ``input_position``, in file order."""
    offsets: array[int]
    sizes: array[int]
    task_ids: list[str]
    verdicts: list[Verdict | None]
    """Each line's verdict (None: the sample did not run)."""

    @property
    def name(self) -> str:
        return f"{self.path} ({self.description.label})"


def _verdict(record: dict[str, Any]) -> Verdict | None:
    """The verdict a results line holds (None: the sample did not run); ``ValueError`` if none."""
    outcome = record.get("outcome")
    if outcome == NOT_RUN:
        return None
    if outcome not in OUTCOME_KINDS:
        raise ValueError(f"its outcome is {outcome!r}, not one of {', '.join(OUTCOME_KINDS)}, {NOT_RUN}")
    failed = record.get("failed_input")
    return Verdict(
        str(outcome),
        str(record.get("message", "")),
        float(record.get("duration") or 0.0),
        str(record.get("result") or ""),
        base_status=str(record.get("base_status", "")),
        plus_status=str(record.get("plus_status", "")),
        failed_input=FailedInput(**failed) if isinstance(failed, dict) else None,
    )


def read_shard(path: str, fields: SampleFields | None = None) -> ShardFile:
    """Read and check a shard's results file; raise :class:`MergeError` naming the file and line.

    ``fields`` note each line's input fields (scores to rank by, temperatures): the results
    lines carry them, as the samples files did."""
    positions, offsets, sizes = array("q"), array("q"), array("q")
    task_ids: list[str] = []
    verdicts: list[Verdict | None] = []
    description: ShardDescription | None = None
    file_starts: list[int] = []  # where each samples file's positions end (the next one's start)
    offset = 0
    try:
        with open(path, "rb") as stream:
            for number, line in enumerate(stream, start=1):
                start, offset = offset, offset + len(line)
                try:
                    data = json.loads(line)
                    if not isinstance(data, dict):
                        raise ValueError("it is not a JSON object")
                    if number == 1:
                        if DESCRIPTION_FIELD not in data:
                            raise ValueError(
                                f"it has no {DESCRIPTION_FIELD!r}: not the results file of a shard "
                                "(--humaneval-shard=I/N), or one whose run did not finish"
                            )
                        description = ShardDescription.from_plain(data[DESCRIPTION_FIELD])
                        file_starts = list(itertools.accumulate(f.samples for f in description.samples_files))
                    assert description is not None
                    if data.get(SHARD_FIELD) != description.label:
                        raise ValueError(
                            f"its {SHARD_FIELD!r} is not {description.label!r}, the file's shard"
                        )
                    position = data.get(POSITION_FIELD)
                    if not isinstance(position, int) or not 0 <= position < description.total:
                        raise ValueError(f"its {POSITION_FIELD!r} is not a sample of the run")
                    task_id = data.get("task_id")
                    if task_id not in description.known_tasks:
                        raise ValueError(f"its task_id {task_id!r} is not a problem of the run")
                    verdicts.append(_verdict(data))
                    if fields is not None:
                        fields.note(bisect.bisect_right(file_starts, position), position, data)
                except (ValueError, TypeError, FieldError) as exc:  # JSONDecodeError is a ValueError
                    raise MergeError(f"{path}, line {number}: {exc}") from None
                task_ids.append(task_id)
                positions.append(position)
                offsets.append(start)
                sizes.append(len(line))
    except OSError as exc:
        raise MergeError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if description is None:
        raise MergeError(f"{path}: the file is empty: not the results file of a shard")
    if len(positions) != description.samples_in_shard:
        raise MergeError(
            f"{path}: it has {len(positions)} samples, its shard {description.samples_in_shard}: "
            "the file is incomplete"
        )
    return ShardFile(path, description, positions, offsets, sizes, task_ids, verdicts)


def check_shards(shards: list[ShardFile]) -> None:
    """The shards make one run: the same run, each shard once, none missing; raise
    :class:`MergeError` naming the files."""
    first = shards[0]
    by_number: dict[int, ShardFile] = {}
    for shard in shards:
        difference = first.description.disagreement(shard.description)
        if difference is not None:
            raise MergeError(
                f"{first.name} and {shard.name} are not shards of one run: they differ in {difference}"
            )
        number = shard.description.number
        if number in by_number:
            raise MergeError(
                f"shard {shard.description.label} is given twice: {by_number[number].path} and {shard.path}"
            )
        by_number[number] = shard
    count = first.description.count
    missing = [f"{number}/{count}" for number in range(1, count + 1) if number not in by_number]
    if missing:
        given = ", ".join(shard.name for shard in sorted(shards, key=lambda s: s.description.number))
        which = f"shard {missing[0]} is" if len(missing) == 1 else f"shards {', '.join(missing)} are"
        raise MergeError(f"{which} missing (given: {given})")


class Merge:
    """The session of a merge: the shards read and checked at its start, its outputs and
    gate at its end."""

    def __init__(
        self, config: pytest.Config, settings: Settings, shards: list[ShardFile], tally: Tally
    ) -> None:
        self.config = config
        self.shards = shards
        description = shards[0].description
        self.description = description
        self.settings = description.settings(settings)
        """The merge's settings with the shards' own that decide verdicts (as the JSON shows them)."""
        self.tally = tally
        self.summaries: list[Summary] = []
        self.comparisons: list[Comparison] = []
        self.messages: list[str] = []

    @classmethod
    def load(cls, config: pytest.Config, settings: Settings) -> Merge:
        """Read and check the shards and the output paths; raise ``pytest.UsageError`` if bad."""
        option, source = settings.given_as("merge")
        fields = SampleFields(settings.rank, settings.rank_missing == "exclude")
        try:
            shards = [read_shard(path, fields) for path in settings.merge]
            check_shards(shards)
            found = _samples(shards)
        except MergeError as exc:
            raise pytest.UsageError(f"{option} (from {source}): {exc}") from None
        description = shards[0].description
        temperatures = description.settings(settings).temperature
        if len(temperatures) not in (0, len(description.samples_files)):
            given, where = settings.given_as("temperature")
            raise pytest.UsageError(
                f"{given} (from {where}) gives {len(temperatures)} temperatures for the shards' "
                f"{len(description.samples_files)} samples files: give one per file, in their order"
            )
        tally = Tally(description.problem_set(), _sample_sets(description, found), fields, temperatures)
        for position, (_, verdict) in found.items():
            if verdict is not None:
                tally.record(position, verdict)
        tally.lost = {position for shard in shards for position in shard.description.plain["lost"]}
        merge = cls(config, settings, shards, tally)
        check_outputs(settings)
        return merge

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            session.exitstatus = pytest.ExitCode.OK  # the merge is the session's work
        if self.config.option.collectonly:
            return
        settings = self.settings
        interrupted = any(shard.description.plain["interrupted"] for shard in self.shards)
        self.summaries = self.tally.summaries(settings.k, interrupted)
        self.comparisons = comparisons(self.summaries, settings.k)
        total = self.description.total
        end = SessionEnd(
            selected=total,
            recorded=total,
            summaries=self.summaries,
            lost=len(self.tally.lost),
            interrupted=interrupted,
            write_failures=self._write_outputs(),
        )
        gate = Gate(
            settings.fail_under,
            settings.given_as("fail_under")[0],
            settings.allow_partial,
            settings.fail_under_plus,
        )
        decision = decide(end, gate)
        names = ", ".join(shard.name for shard in sorted(self.shards, key=lambda s: s.description.number))
        self.messages += [f"merged {len(self.shards)} shards: {names}", *decision.lines]
        not_passed = sum(
            1 for verdict in self.tally.verdicts if verdict is not None and not verdict.passed_plus
        )
        if settings.strict and not_passed:
            self.messages.append(f"FAIL: {not_passed} samples did not pass (--humaneval-strict)")
            decision = Decision(decision.lines, True)
        session.exitstatus = exit_status(session.exitstatus, decision)

    def _write_outputs(self) -> list[str]:
        """Write the results file, the JSON summary and the plot; a line for each that failed."""
        settings = self.settings
        writers: list[tuple[str, str | None, Callable[[str], None]]] = [
            ("--humaneval-results", settings.results, lambda path: write_output(path, self._results_lines())),
            ("--humaneval-json", settings.json, self._write_summary),
            (
                "--humaneval-plot",
                settings.plot,
                lambda path: write_summary_plot(path, self.summaries),
            ),
        ]
        failures = []
        for option, path, write in writers:
            if path is not None:
                try:
                    write(path)
                except OSError as exc:
                    failures.append(f"{option}={path}: {exc}")
        return failures

    def _results_lines(self) -> Iterator[bytes]:
        """Every shard's lines in input order, without the shard's fields: the lines one
        unsharded run writes."""
        total = self.description.total
        shard_at, index_at = array("q", [0] * total), array("q", [0] * total)
        for number, shard in enumerate(self.shards):
            for index, position in enumerate(shard.positions):
                shard_at[position], index_at[position] = number, index
        descriptors = [os.open(shard.path, os.O_RDONLY | os.O_CLOEXEC) for shard in self.shards]
        try:
            for position in range(total):
                shard, index = self.shards[shard_at[position]], index_at[position]
                line = os.pread(descriptors[shard_at[position]], shard.sizes[index], shard.offsets[index])
                record = json.loads(line)
                for name in SHARD_FIELDS:
                    record.pop(name, None)
                yield (json.dumps(record) + "\n").encode("ascii")
        finally:
            for descriptor in descriptors:
                os.close(descriptor)

    def _write_summary(self, path: str) -> None:
        plain = self.description.plain
        write_summary(
            path,
            self.summaries,
            self.comparisons,
            self.settings,
            plain["isolation"],
            plain["time_limits"],
            plain["versions"],
        )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.summaries:
            write_lines(
                terminalreporter,
                section_lines(self.summaries, self.comparisons, "problems" in self.settings.report),
            )
            time_limits = self.description.plain["time_limits"]
            if time_limits:
                terminalreporter.write_line("limits    " + auto_limits_line(time_limits))
        for message in self.messages:
            failed = message.startswith("FAIL")
            terminalreporter.write_line(message, red=failed, green=not failed)


def _samples(shards: list[ShardFile]) -> dict[int, tuple[str, Verdict | None]]:
    """Each sample's task and verdict, by position: every sample of the run in one shard."""
    found: dict[int, tuple[str, Verdict | None]] = {}
    found_in: dict[int, ShardFile] = {}
    for shard in shards:
        for position, task_id, verdict in zip(shard.positions, shard.task_ids, shard.verdicts, strict=True):
            if position in found_in:
                raise MergeError(
                    f"the sample at {POSITION_FIELD} {position} is in {found_in[position].name} and in "
                    f"{shard.name}: the shards were not assigned alike"
                )
            found[position], found_in[position] = (task_id, verdict), shard
    total = shards[0].description.total
    if len(found) != total:
        raise MergeError(
            f"the shards hold {len(found)} of the run's {total} samples: the shards were not assigned alike"
        )
    return found


def _sample_sets(
    description: ShardDescription, found: dict[int, tuple[str, Verdict | None]]
) -> list[SampleSet]:
    """The run's samples files as the tally needs them: each sample's position and task (and
    its index among its task's samples; the merge knows no line numbers, and needs none)."""
    several = len(description.samples_files) > 1
    sample_sets, first = [], 0
    for samples_file in description.samples_files:
        file_label = samples_file.label if several else ""
        per_task: dict[str, int] = {}
        entries = []
        for position in range(first, first + samples_file.samples):
            task_id = found[position][0]
            index = per_task[task_id] = per_task.get(task_id, -1) + 1
            entries.append(SampleEntry(position, task_id, index, 0, file_label))
        first += samples_file.samples
        sample_sets.append(SampleSet(samples_file.file, entries, samples_file.label))
    return sample_sets
