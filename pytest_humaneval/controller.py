"""The controller's side of a session (or the single process's): it loads and checks the
input, gathers every verdict, writes the outputs and decides the exit status.

It never runs a sample. Under xdist it is the only process that reads the input
files, touches the verdict cache and writes the outputs.

Imports every module below the hooks (evaluation, cache, outputs, exit status, wire);
nothing imports it but :mod:`pytest_humaneval.plugin`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from pytest_humaneval._sandbox.tempfiles import remove_abandoned
from pytest_humaneval.cache import VerdictCache
from pytest_humaneval.errors import InputError, SamplesFileChanged
from pytest_humaneval.evaluation import Evaluation
from pytest_humaneval.exit_status import Gate, SessionEnd, decide, exit_status, stopped_early_status
from pytest_humaneval.input_warnings import warn_about_the_input
from pytest_humaneval.model import Verdict
from pytest_humaneval.outputs.checks import check_outputs
from pytest_humaneval.outputs.plot import write_summary_plot
from pytest_humaneval.outputs.results_file import ResultsStream
from pytest_humaneval.outputs.summary_json import versions, write_summary
from pytest_humaneval.outputs.terminal import (
    auto_limits_line,
    expected_outputs_line,
    section_lines,
    write_lines,
)
from pytest_humaneval.runner import cpu_for_worker, usable_cpus
from pytest_humaneval.settings import Settings
from pytest_humaneval.shard_description import describe
from pytest_humaneval.shards import ShardMembers, members_of
from pytest_humaneval.tally import Comparison, SampleFields, Summary, Tally, comparisons
from pytest_humaneval.wire import input_change_from_properties, verdict_from_properties


def _open_cache(config: pytest.Config, settings: Settings) -> VerdictCache | None:
    """The verdict cache, unless disabled (``--humaneval-no-cache``, ``-p no:cacheprovider``)."""
    pytest_cache = getattr(config, "cache", None)
    if not settings.cache or pytest_cache is None:
        return None
    return VerdictCache(pytest_cache.mkdir("humaneval") / "verdicts.sqlite3")


class Controller:
    """Gathers verdicts as reports arrive; summarizes, writes and judges the session."""

    def __init__(
        self, config: pytest.Config, settings: Settings, evaluation: Evaluation, fields: SampleFields
    ) -> None:
        self.config = config
        self.settings = settings
        self.evaluation = evaluation
        self.tally = Tally(evaluation.problem_set, evaluation.sample_sets, fields, settings.temperature)
        self.runs_samples = not (config.option.collectonly or config.option.setuponly)
        """False for ``--collect-only``, ``--setup-only`` and ``--setup-plan``: no sample runs."""
        self.cache: VerdictCache | None = None
        self.results: ResultsStream | None = None
        self.input_changed: str | None = None
        """The error of a samples file found changed during the session, if one was."""
        self.selected: int | None = None
        """How many sample items were selected to run (None until known)."""
        self.recorded = 0
        """How many sample items reported a verdict (or its loss) in this session."""
        self.reused = 0
        self.summaries: list[Summary] = []
        """One per samples file, once the session has finished."""
        self.comparisons: list[Comparison] = []
        self.messages: list[str] = []
        self.isolation: dict[str, Any] = {}
        self.shard: ShardMembers | None = None
        """The samples this session runs, with ``--humaneval-shard`` (the others are deselected)."""

    @classmethod
    def start(cls, config: pytest.Config, settings: Settings) -> Controller:
        """Load and check everything before any sample runs; raise ``pytest.UsageError`` if bad."""
        abandoned = remove_abandoned(tempfile.gettempdir())  # first: a killed session's copy may be large
        fields = SampleFields(settings.rank, settings.rank_missing == "exclude")
        try:
            evaluation = Evaluation.load(settings, fields.note_sample)
        except InputError as exc:
            raise pytest.UsageError(str(exc)) from None
        controller = cls(config, settings, evaluation, fields)
        if abandoned:
            controller.messages.append(
                f"removed {len(abandoned)} temporary files or directories that killed sessions "
                f"left in {os.path.dirname(abandoned[0])} (pytest-humaneval-*)"
            )
        try:
            controller._prepare()
        except InputError as exc:  # a canonical solution that gives no expected outputs
            evaluation.close()
            raise pytest.UsageError(str(exc)) from None
        except BaseException:
            evaluation.close()  # its sandbox servers, and the copy of a gzip samples file
            raise
        return controller

    def _prepare(self) -> None:
        """Outputs, cache, time limits and known verdicts, before any sample runs."""
        config, settings, evaluation = self.config, self.settings, self.evaluation
        if self.runs_samples:
            self._open_outputs()
        self.cache = _open_cache(config, settings)
        runs_here = config.getoption("dist", "no") == "no"
        measure_limits = settings.auto_timeout and self.runs_samples  # nothing runs to list the items
        evaluation.prepare(cpu_for_worker(0), self.cache, measure_limits, runs_here, self.runs_samples)
        servers = usable_cpus() if settings.servers is None else settings.servers
        if runs_here and self.runs_samples and servers > 1:
            evaluation.use_pool(servers)
        if settings.shard:
            try:
                self.shard = members_of(evaluation, *settings.shard)
            except ValueError as exc:
                option, source = settings.given_as("shard")
                raise pytest.UsageError(f"{option}={settings.shard_label} (from {source}): {exc}") from None
        warn_about_the_input(config, evaluation)

    def _open_outputs(self) -> None:
        settings = self.settings
        check_outputs(settings)
        try:
            sample_sets = self.evaluation.sample_sets
            sources = {s.label: s.source for s in sample_sets} if len(sample_sets) > 1 else {}
            results, shard = settings.results, settings.shard_label
            problems = self.evaluation.problem_set.problems
            by_inputs = frozenset(task for task, problem in problems.items() if problem.plus is not None)
            self.results = ResultsStream(results, sources, shard, by_inputs) if results else None
        except OSError as exc:
            raise pytest.UsageError(str(exc)) from None

    # -- what was selected ------------------------------------------------------------

    def count_selected(self, nodeids: list[str]) -> None:
        """Note how many sample items the session selected (first report wins)."""
        if self.selected is None:
            self.selected = sum(1 for nodeid in nodeids if nodeid in self.tally.positions)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.count_selected([item.nodeid for item in session.items])

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        """Give the pool the samples that run, in the final order (after selection and any
        reordering), unless collection failed and pytest stops before running anything."""
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            return
        positions, entries = self.tally.positions, self.evaluation.entries
        planned = (positions.get(item.nodeid) for item in session.items)
        self.evaluation.plan(entries[position] for position in planned if position is not None)

    # -- verdicts as they arrive ---------------------------------------------------------

    @pytest.hookimpl(trylast=True)  # after pytest's cache plugin (see _remember_failure)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" and not report.failed:
            return  # a verdict comes with the call; setup and teardown matter if they fail
        changed = input_change_from_properties(report.user_properties)
        if changed is not None:
            self._stop_on_changed_input(changed)
        if report.nodeid not in self.tally.positions:
            return
        found = verdict_from_properties(report.user_properties)
        when: str = report.when or ""
        verdict: Verdict | None
        if found is not None and when == "call":
            position, verdict = found
            self.tally.record(position, verdict)
            self.recorded += 1
            if not verdict.passed_plus:  # an EvalPlus sample that failed either suite
                self._remember_failure(report.nodeid)
            if verdict.reused:
                self.reused += 1
            elif self.cache is not None:
                self.cache.store(self.evaluation.keys[position], verdict)
        elif report.failed and found is None:
            crash = getattr(getattr(report.longrepr, "reprcrash", None), "message", None)
            lines = str(report.longrepr).strip().splitlines() if report.longrepr else []
            detail = crash or (lines[-1] if lines else "no verdict")
            if when == "???":
                detail = "the xdist worker running it died: " + detail
            lost = self.tally.record_lost(report.nodeid, detail[:500])
            if lost is None:
                return
            self.recorded += 1
            position, verdict = lost, self.tally.verdicts[lost]
        else:
            return
        if self.results is not None and verdict is not None:
            try:
                self.results.add(self.evaluation.sample(self.evaluation.entries[position]), verdict)
            except SamplesFileChanged as exc:
                self._stop_on_changed_input(str(exc))

    def _remember_failure(self, nodeid: str) -> None:
        """Keep a sample that did not pass among the last failures, for ``--lf``/``--ff``.

        Without ``--humaneval-strict`` its report passes (a verdict is a measurement), so
        pytest's cache plugin has just dropped it from the list.
        """
        last_failed = self.config.pluginmanager.get_plugin("lfplugin")
        if last_failed is not None:
            last_failed.lastfailed[nodeid] = True

    def _stop_on_changed_input(self, error: str) -> None:
        """End the session: a samples file changed, so no further sample can be trusted."""
        self.input_changed = error
        pytest.exit(error, returncode=pytest.ExitCode.USAGE_ERROR)

    # -- the end ------------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.cache is not None:
            for key, verdict in self.evaluation.verdicts_ahead():  # their items did not run
                self.cache.store(key, verdict)
            self.cache.close()
        if not self.runs_samples:
            return
        stopped = stopped_early_status(exitstatus, session.shouldfail)
        if stopped != exitstatus:  # else the status stays as the hooks before this one left it
            exitstatus = session.exitstatus = stopped
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        write_failures: list[str] = []
        if self.recorded:  # else nothing was measured: every output stays as it was
            if self.config.getoption("lf", False) or self.config.getoption("failedfirst", False):
                self._reuse_known_verdicts()
            self.isolation = self.isolation or self.evaluation.runner.isolation
            self.summaries = self.tally.summaries(self.settings.k, interrupted)
            self.comparisons = comparisons(self.summaries, self.settings.k)
            write_failures = self._write_outputs()
        end = SessionEnd(
            selected=self.selected or 0,
            recorded=self.recorded,
            summaries=self.summaries,
            lost=len(self.tally.lost),
            interrupted=interrupted,
            input_changed=self.input_changed,
            results_kept=bool(self.results and self.recorded),
            write_failures=write_failures,
        )
        settings = self.settings
        gate = Gate(
            settings.fail_under,
            settings.given_as("fail_under")[0],
            settings.allow_partial,
            settings.fail_under_plus,
        )
        if self.shard is not None:
            self.messages += self._shard_lines(gate) if self.recorded else []
            gate = Gate({}, gate.name, gate.allow_partial)
        decision = decide(end, gate)
        self.messages += decision.lines
        session.exitstatus = exit_status(session.exitstatus, decision)

    def _shard_lines(self, gate: Gate) -> list[str]:
        """What a shard's session says: its share, and that a gate waits for the merge (a
        shard is a part: it would fail any gate as partial)."""
        assert self.shard is not None
        shard = self.shard
        lines = [
            f"shard {shard.label}: {shard.size} of {len(self.evaluation.entries)} samples; "
            f"--humaneval-merge builds the whole run from the {shard.count} shards' results files"
        ]
        if gate.thresholds or gate.plus_thresholds:
            lines.append(f"{gate.name} is applied when the shards are merged, not to shard {shard.label}")
        return lines

    def _reuse_known_verdicts(self) -> None:
        """With ``--lf``/``--ff``, the samples not run take their verdicts from the cache, so
        the results stay whole and pass@k is over every sample."""
        for entry in self.evaluation.entries:
            position = entry.position
            known = self.evaluation.known_at.get(position)
            if self.tally.verdicts[position] is None and known is not None:
                self.tally.record(position, replace(known, reused=True))
                self.reused += 1

    def _write_outputs(self) -> list[str]:
        """Write the results file, the JSON summary and the plot; return a line for each that
        could not be written (the others are still written)."""
        settings = self.settings
        writers: list[tuple[str, str | None, Callable[[], None]]] = [
            ("--humaneval-results", settings.results, self._finish_results),
            ("--humaneval-json", settings.json, self._write_summary),
            ("--humaneval-plot", settings.plot, self._write_plot),
        ]
        failures = []
        for option, path, write in writers:
            if path is None:
                continue
            try:
                write()
            except OSError as exc:
                failures.append(f"{option}={path}: {exc}")
        return failures

    def _finish_results(self) -> None:
        assert self.results is not None
        if self.input_changed is not None:
            self.results.close()  # the file cannot be read back: keep the lines written so far
        elif self.shard is None:
            self.results.finish(self.evaluation.entries, self.tally.verdicts, self.evaluation.sample)
        else:
            self._finish_shard_results(self.results, self.shard)

    def _finish_shard_results(self, results: ResultsStream, shard: ShardMembers) -> None:
        """A shard's results file: its samples only, the first line describing the shard."""
        evaluation, verdicts = self.evaluation, self.tally.verdicts
        entries = [entry for entry in evaluation.entries if entry.position in shard]
        description = describe(
            self.settings,
            evaluation.problem_set,
            evaluation.sample_sets,
            shard.label,
            shard.size,
            evaluation.timeouts,
            versions(),
            self.isolation,
            self.summaries[0].interrupted,
            self.tally.lost,
        )
        shard_verdicts = (verdicts[entry.position] for entry in entries)
        results.finish(entries, shard_verdicts, evaluation.sample, description)

    def _write_summary(self) -> None:
        assert self.settings.json is not None
        write_summary(
            self.settings.json,
            self.summaries,
            self.comparisons,
            self.settings,
            self.isolation,
            self.evaluation.timeouts,
        )

    def _write_plot(self) -> None:
        assert self.settings.plot is not None
        write_summary_plot(self.settings.plot, self.summaries)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.summaries:
            self._write_table(terminalreporter)
        for message in self.messages:
            failed = message.startswith("FAIL")
            terminalreporter.write_line(message, red=failed, green=not failed)

    def _write_table(self, terminalreporter: Any) -> None:
        write_lines(
            terminalreporter,
            section_lines(self.summaries, self.comparisons, "problems" in self.settings.report),
        )
        if self.evaluation.timeouts:
            terminalreporter.write_line("limits    " + auto_limits_line(self.evaluation.timeouts))
        if self.evaluation.expected:
            problems, cached = len(self.evaluation.expected), self.evaluation.expected_cached
            terminalreporter.write_line("evalplus  " + expected_outputs_line(problems, cached))
        if self.reused:
            terminalreporter.write_line(
                f"reused    {self.reused} verdicts from the cache or identical samples"
            )
