"""The controller's side of a session (or the single process's): it loads and checks the
input, gathers every verdict, writes the outputs and decides the exit status.

It never runs a sample. Under xdist it is the only process that reads the input
files, touches the verdict cache and writes the outputs.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from pytest_humaneval._sandbox.tempfiles import remove_abandoned
from pytest_humaneval.cache import VerdictCache
from pytest_humaneval.collection import input_change_from_properties, verdict_from_properties
from pytest_humaneval.evaluation import Evaluation, KnownVerdicts
from pytest_humaneval.loading import InputError, SamplesFileChanged
from pytest_humaneval.metrics import mean_pass_at_k
from pytest_humaneval.model import Verdict
from pytest_humaneval.outputs.files import check_output_path
from pytest_humaneval.outputs.plot import (
    MISSING_MATPLOTLIB,
    check_plot_path,
    matplotlib_available,
    pass_at_k_curve,
    write_plot,
)
from pytest_humaneval.outputs.results_file import ResultsStream
from pytest_humaneval.outputs.summary_json import write_summary
from pytest_humaneval.outputs.terminal import (
    auto_limits_line,
    comparison_lines,
    partial_reason,
    problem_report_lines,
    runs_table_lines,
    table_lines,
)
from pytest_humaneval.runner import cpu_for_worker
from pytest_humaneval.settings import Settings
from pytest_humaneval.tally import Comparison, Summary, Tally, comparisons


class HumanEvalWarning(pytest.PytestWarning):
    """A problem with the evaluation's input that does not stop it."""


def _nothing_known(keys: list[str]) -> dict[str, Verdict]:
    return {}


def _open_cache(config: pytest.Config, settings: Settings) -> VerdictCache | None:
    """The verdict cache, unless disabled (``--humaneval-no-cache``, ``-p no:cacheprovider``)."""
    pytest_cache = getattr(config, "cache", None)
    if not settings.cache or pytest_cache is None:
        return None
    return VerdictCache(pytest_cache.mkdir("humaneval") / "verdicts.sqlite3")


def _warn(config: pytest.Config, text: str, source: str) -> None:
    """A :class:`HumanEvalWarning` located at the start of an input file. Its line is given
    as empty: else pytest would quote the file's first line, which may be huge."""
    record = warnings.WarningMessage(HumanEvalWarning(text), HumanEvalWarning, source, 1, line="")
    config.hook.pytest_warning_recorded.call_historic(
        kwargs=dict(warning_message=record, when="config", nodeid="", location=None)
    )


def _warn_about_the_input(config: pytest.Config, evaluation: Evaluation) -> None:
    """Warnings for samples files that leave problems without samples, and for EvalPlus
    problems, whose extra inputs are not run."""
    problem_set = evaluation.problem_set
    if problem_set.evalplus_inputs:
        _warn(
            config,
            "the problems have EvalPlus's 'plus_input': only each problem's 'test' code runs "
            "(for HumanEval+, HumanEval's original tests), so pass@k is not EvalPlus's",
            problem_set.source,
        )
    for sample_set in evaluation.sample_sets:
        missing = [task for task, entries in evaluation.entries_by_task(sample_set).items() if not entries]
        if missing:
            _warn(
                config,
                f"{len(missing)} of {len(problem_set.problems)} problems have no samples "
                f"(first: {missing[0]}); pass@k is over the others",
                sample_set.source,
            )


class Controller:
    """Gathers verdicts as reports arrive; summarizes, writes and judges the session."""

    def __init__(self, config: pytest.Config, settings: Settings, evaluation: Evaluation) -> None:
        self.config = config
        self.settings = settings
        self.evaluation = evaluation
        self.tally = Tally(evaluation)
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

    @classmethod
    def start(cls, config: pytest.Config, settings: Settings) -> Controller:
        """Load and check everything before any sample runs; raise ``pytest.UsageError`` if bad."""
        abandoned = remove_abandoned(tempfile.gettempdir())  # first: a killed session's copy may be large
        try:
            evaluation = Evaluation.load(settings)
        except InputError as exc:
            raise pytest.UsageError(str(exc)) from None
        controller = cls(config, settings, evaluation)
        if abandoned:
            controller.messages.append(
                f"removed {len(abandoned)} temporary files or directories that killed sessions "
                f"left in {os.path.dirname(abandoned[0])} (pytest-humaneval-*)"
            )
        try:
            controller._prepare()
        except BaseException:
            evaluation.close()  # its sandbox servers, and the copy of a gzip samples file
            raise
        return controller

    def _prepare(self) -> None:
        """Outputs, cache, time limits and known verdicts, before any sample runs."""
        config, settings, evaluation = self.config, self.settings, self.evaluation
        evaluation.runner.cpu = cpu_for_worker(0)
        if self.runs_samples:
            self._open_outputs()
        self.cache = cache = _open_cache(config, settings)
        if settings.auto_timeout and self.runs_samples:  # nothing runs to list the items
            for key, verdict in evaluation.calibrate(cache.lookup if cache else _nothing_known).items():
                if cache is not None:
                    cache.store(key, verdict)
            if config.getoption("dist", "no") != "no":
                evaluation.runner.close(wait=False)  # samples run on the xdist workers' servers
            evaluation.compute_keys()
        cached = cache.lookup(evaluation.keys) if cache else {}
        evaluation.known_at = KnownVerdicts(
            {position: cached[key] for position, key in enumerate(evaluation.keys) if key in cached}
        )
        evaluation.runner.repeated_keys = evaluation.repeated_keys()
        _warn_about_the_input(config, evaluation)

    def _open_outputs(self) -> None:
        settings = self.settings
        if settings.plot and not matplotlib_available():
            option, source = settings.given_as("plot")
            raise pytest.UsageError(f"{option}={settings.plot} (from {source}): {MISSING_MATPLOTLIB}")
        try:
            for name, path in (("results", settings.results), ("json", settings.json)):
                if path:
                    check_output_path(path, *settings.given_as(name))
            if settings.plot:
                check_plot_path(settings.plot, *settings.given_as("plot"))
            sample_sets = self.evaluation.sample_sets
            sources = {s.label: s.source for s in sample_sets} if len(sample_sets) > 1 else {}
            self.results = ResultsStream(settings.results, sources) if settings.results else None
        except OSError as exc:
            raise pytest.UsageError(str(exc)) from None

    # -- what was selected ------------------------------------------------------------

    def count_selected(self, nodeids: list[str]) -> None:
        """Note how many sample items the session selected (first report wins)."""
        if self.selected is None:
            self.selected = sum(1 for nodeid in nodeids if nodeid in self.tally.positions)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.count_selected([item.nodeid for item in session.items])

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
            if not verdict.passed:
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
            self.cache.close()
        if not self.runs_samples:
            return
        if exitstatus == pytest.ExitCode.INTERRUPTED and session.shouldfail:
            # -x or --maxfail under xdist, which stops its workers as for an interrupt:
            # the run stopped early, as it does without xdist (exit status 1, not 2).
            exitstatus = session.exitstatus = pytest.ExitCode.TESTS_FAILED
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        if self.recorded:  # else nothing was measured: every output stays as it was
            if self.config.getoption("lf", False) or self.config.getoption("failedfirst", False):
                self._reuse_known_verdicts()
            self.isolation = self.isolation or self.evaluation.runner.isolation
            self.summaries = self.tally.summaries(self.settings.k, interrupted)
            self.comparisons = comparisons(self.summaries, self.settings.k)
            self._write_outputs(session)
        self._report_unfinished(interrupted)
        if self.selected:  # no sample selected (-m "not humaneval", say): no gate
            self._check_thresholds(session)

    def _reuse_known_verdicts(self) -> None:
        """With ``--lf``/``--ff``, the samples not run take their verdicts from the cache, so
        the results stay whole and pass@k is over every sample."""
        for entry in self.evaluation.entries:
            position = entry.position
            known = self.evaluation.known_at.get(position)
            if self.tally.verdicts[position] is None and known is not None:
                self.tally.record(position, replace(known, reused=True))
                self.reused += 1

    def _write_outputs(self, session: pytest.Session) -> None:
        """Write the results file, the JSON summary and the plot. A failure to write one is
        a FAIL line and exit status 1; the others are still written."""
        settings = self.settings
        writers: list[tuple[str, str | None, Callable[[], None]]] = [
            ("--humaneval-results", settings.results, self._finish_results),
            ("--humaneval-json", settings.json, self._write_summary),
            ("--humaneval-plot", settings.plot, self._write_plot),
        ]
        for option, path, write in writers:
            if path is None:
                continue
            try:
                write()
            except OSError as exc:
                self.messages.append(f"FAIL: {option}={path}: {exc}")
                if session.exitstatus == pytest.ExitCode.OK:
                    session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _finish_results(self) -> None:
        assert self.results is not None
        if self.input_changed is None:
            self.results.finish(self.evaluation.entries, self.tally.verdicts, self.evaluation.sample)
        else:  # the file cannot be read back: keep the lines written so far
            self.results.close()

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
        curves = [(summary.label, pass_at_k_curve(summary.task_counts)) for summary in self.summaries]
        write_plot(self.settings.plot, curves)

    def _report_unfinished(self, interrupted: bool) -> None:
        """FAIL lines for samples that lost their verdict to the harness, and for a run that
        stopped before every selected sample ran."""
        if self.input_changed is not None:
            kept = (
                "; the results file holds the verdicts written before"
                if self.results and self.recorded
                else ""
            )
            self.messages.append(f"FAIL: {self.input_changed}{kept}")
        lost = len(self.tally.lost)
        if lost:
            self.messages.append(
                f"FAIL: {lost} samples have no verdict of their own (counted as crashed): "
                "the harness failed, see their reports"
            )
        unfinished = (self.selected or 0) - self.recorded
        if unfinished > 0 and not interrupted and self.input_changed is None:
            self.messages.append(f"FAIL: the run stopped early: {unfinished} selected samples did not run")

    def _check_thresholds(self, session: pytest.Session) -> None:
        """Apply ``--humaneval-fail-under`` to each file (each must meet it). A partial
        evaluation fails the gate unless ``--humaneval-allow-partial`` says to gate what finished."""
        thresholds = sorted(self.settings.fail_under.items())
        if not thresholds:
            return
        gate = self.settings.given_as("fail_under")[0]
        failed = False
        if not self.summaries:
            self.messages.append(f"FAIL: {gate}: no sample finished")
            failed = True
        for summary in self.summaries:
            of = f"{summary.label}: " if len(self.summaries) > 1 else ""
            refused = summary.partial and not self.settings.allow_partial
            on = " (on a partial run)" if summary.partial else ""
            for k, threshold in thresholds:
                rate = mean_pass_at_k(summary.task_counts, k)
                shown = f"{rate.value:.4f}" if rate.value is not None else f"not computable ({rate.reason})"
                if refused:
                    self.messages.append(
                        f"FAIL: {of}pass@{k} = {shown} is on a partial evaluation "
                        f"({partial_reason(summary)}): {gate} {threshold:g} gates "
                        "whole evaluations (--humaneval-allow-partial gates what finished)"
                    )
                    failed = True
                elif rate.value is not None and rate.value >= threshold:
                    self.messages.append(f"{of}pass@{k} = {shown} meets {gate} {threshold:g}{on}")
                else:
                    self.messages.append(f"FAIL: {of}pass@{k} = {shown} is below {gate} {threshold:g}{on}")
                    failed = True
        if failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.summaries:
            self._write_table(terminalreporter)
        for message in self.messages:
            failed = message.startswith("FAIL")
            terminalreporter.write_line(message, red=failed, green=not failed)

    def _write_table(self, terminalreporter: Any) -> None:
        terminalreporter.write_sep("=", "humaneval")
        several = len(self.summaries) > 1
        lines = runs_table_lines(self.summaries) if several else table_lines(self.summaries[0])
        for line in lines:
            terminalreporter.write_line(line)
        if self.comparisons:
            terminalreporter.write_sep("-", "humaneval: differences to the first file")
            for comparison in self.comparisons:
                for line in comparison_lines(comparison):
                    terminalreporter.write_line(line)
        if "problems" in self.settings.report:
            for summary in self.summaries:
                of = f": {summary.label}" if several else ""
                terminalreporter.write_sep("-", f"humaneval: per problem{of}")
                for line in problem_report_lines(summary):
                    terminalreporter.write_line(line)
        if self.evaluation.timeouts:
            terminalreporter.write_line("limits    " + auto_limits_line(self.evaluation.timeouts))
        if self.reused:
            terminalreporter.write_line(
                f"reused    {self.reused} verdicts from the cache or identical samples"
            )
