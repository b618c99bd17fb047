"""The pytest hooks of pytest-humaneval: they only wire the other modules together."""

from __future__ import annotations

import signal
import threading
from typing import Any

import pytest

from pytest_humaneval.cache import VerdictCache
from pytest_humaneval.collection import build_items, verdict_from_properties
from pytest_humaneval.evaluation import Evaluation, HumanEvalSample
from pytest_humaneval.execution import Verdict
from pytest_humaneval.loading import InputError
from pytest_humaneval.metrics import mean_pass_at_k
from pytest_humaneval.reporting import ResultsStream, check_output_path, table_lines, write_summary
from pytest_humaneval.settings import Settings, add_options, resolve
from pytest_humaneval.summary import Summary, Tally

WIRE_KEY = "humaneval"
SAMPLE_ARGUMENT = "humaneval_sample"

# Terminal categories for samples that did not pass: they stay out of the
# FAILURES section and the short summary (the results file holds the detail).
SAMPLE_STATUS = {
    "failed": ("sample failed", "F", ("FAILED", {"red": True})),
    "error": ("sample error", "E", ("ERROR", {"red": True})),
    "timed out": ("sample timeout", "T", ("TIMEOUT", {"yellow": True})),
    "crashed": ("sample crashed", "C", ("CRASHED", {"red": True})),
}


class HumanEvalWarning(pytest.PytestWarning):
    """A problem with the evaluation's input that does not stop it."""


settings_key = pytest.StashKey[Settings]()
evaluation_key = pytest.StashKey[Evaluation]()
controller_key = pytest.StashKey["Controller"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def _nothing_known(keys: list[str]) -> dict[str, Verdict]:
    return {}


def _open_cache(config: pytest.Config, settings: Settings) -> VerdictCache | None:
    """The verdict cache, unless disabled (``--humaneval-no-cache``, ``-p no:cacheprovider``)."""
    pytest_cache = getattr(config, "cache", None)
    if not settings.cache or pytest_cache is None:
        return None
    return VerdictCache(pytest_cache.mkdir("humaneval") / "verdicts.sqlite3")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "humaneval: a HumanEval sample item (added by pytest-humaneval)")
    settings = resolve(config)
    config.stash[settings_key] = settings
    if settings.samples is None or config.option.help:
        return
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and WIRE_KEY in workerinput:
        config.stash[evaluation_key] = Evaluation.from_wire(settings, workerinput[WIRE_KEY])
        return
    try:
        evaluation = Evaluation.load(settings)
    except InputError as exc:
        raise pytest.UsageError(str(exc)) from None
    try:
        for path, option in ((settings.results, "--humaneval-results"), (settings.json, "--humaneval-json")):
            if path:
                check_output_path(path, option)
        results = ResultsStream(settings.results) if settings.results else None
    except OSError as exc:
        raise pytest.UsageError(str(exc)) from None
    cache = _open_cache(config, settings)
    if settings.auto_timeout:
        measured = evaluation.calibrate(cache.lookup if cache else _nothing_known)
        for key, verdict in measured.items():
            if cache:
                cache.store(key, verdict)
    keys = [evaluation.key(sample) for sample in evaluation.sample_set.samples]
    cached = cache.lookup(keys) if cache else {}
    for key, verdict in cached.items():
        evaluation.runner.remember(key, verdict)
    config.stash[evaluation_key] = evaluation
    controller = Controller(config, settings, Tally(evaluation), cache, keys, results)
    config.stash[controller_key] = controller
    config.pluginmanager.register(controller, "humaneval-controller")
    _interrupt_on_sigterm()
    missing = [task for task, samples in evaluation.samples_by_task().items() if not samples]
    if missing:
        config.issue_config_time_warning(
            HumanEvalWarning(
                f"{len(missing)} of {len(evaluation.problem_set.problems)} problems have no samples "
                f"in {evaluation.sample_set.source} (first: {missing[0]}); pass@k is over the others"
            ),
            stacklevel=2,
        )
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistHooks(evaluation), "humaneval-xdist")


class XdistHooks:
    """Hooks that exist only with pytest-xdist: data to workers, worker facts back."""

    def __init__(self, evaluation: Evaluation) -> None:
        self.wire = evaluation.to_wire()

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[WIRE_KEY] = self.wire

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        controller = node.config.stash.get(controller_key, None)
        isolation = getattr(node, "workeroutput", {}).get(WIRE_KEY)
        if controller is not None and isolation:
            controller.isolation = isolation


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    evaluation = config.stash.get(evaluation_key, None)
    if evaluation is not None:
        items.extend(build_items(session, evaluation))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if SAMPLE_ARGUMENT not in metafunc.fixturenames:
        return
    evaluation = metafunc.config.stash.get(evaluation_key, None)
    if evaluation is None:
        metafunc.parametrize(SAMPLE_ARGUMENT, [])
        return
    samples = evaluation.sample_set.samples
    metafunc.parametrize(
        SAMPLE_ARGUMENT,
        [HumanEvalSample(sample, evaluation.problem(sample), evaluation) for sample in samples],
        ids=[sample.test_id for sample in samples],
    )


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    if report.when != "call" or config.stash[settings_key].strict:
        return None
    found = verdict_from_properties(report.user_properties)
    if found is None:
        return None
    return SAMPLE_STATUS.get(found[1].kind)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    evaluation = config.stash.get(evaluation_key, None)
    if evaluation is not None and hasattr(config, "workerinput"):
        config.workeroutput[WIRE_KEY] = evaluation.runner.isolation  # type: ignore[attr-defined]


class Controller:
    """The controller's (or single process's) view: gathers verdicts, reports, decides exit status."""

    def __init__(
        self,
        config: pytest.Config,
        settings: Settings,
        tally: Tally,
        cache: VerdictCache | None,
        keys: list[str],
        results: ResultsStream | None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.tally = tally
        self.cache = cache
        self.keys = keys
        self.results = results
        self.reused = 0
        self.other_failures = 0
        self.summary: Summary | None = None
        self.messages: list[str] = []
        self.isolation: dict[str, Any] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self.tally.positions:
            if report.failed:
                self.other_failures += 1
            return
        found = verdict_from_properties(report.user_properties)
        when: str = report.when or ""
        verdict: Verdict | None
        if found is not None and when == "call":
            position, verdict = found
            self.tally.record(position, verdict)
            if verdict.reused:
                self.reused += 1
            elif self.cache is not None:
                self.cache.store(self.keys[position], verdict)
        elif report.failed and found is None:
            lines = str(report.longrepr).strip().splitlines() if report.longrepr else []
            detail = lines[-1] if lines else "no verdict"
            if when == "???":
                detail = "the xdist worker running it died: " + detail
            lost = self.tally.record_lost(report.nodeid, detail[:500])
            if lost is None:
                return
            position, verdict = lost, self.tally.verdicts[lost]
        else:
            return
        if self.results is not None and verdict is not None:
            self.results.add(self.tally.evaluation.sample_set.samples[position], verdict)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        evaluation = self.tally.evaluation
        if self.cache is not None:
            self.cache.close()
        self.isolation = self.isolation or evaluation.runner.isolation
        settings = self.settings
        summary = self.tally.summary(settings.k, exitstatus == pytest.ExitCode.INTERRUPTED)
        self.summary = summary
        if self.results is not None:
            self.results.finish(evaluation.sample_set.samples, self.tally.verdicts)
        if settings.json:
            write_summary(settings.json, summary, settings, self.isolation)
        if not settings.strict and exitstatus == pytest.ExitCode.TESTS_FAILED and self.other_failures == 0:
            session.exitstatus = pytest.ExitCode.OK
        self._check_thresholds(session)

    def _check_thresholds(self, session: pytest.Session) -> None:
        rows = self.tally.task_counts()
        for k, threshold in sorted(self.settings.fail_under.items()):
            rate = mean_pass_at_k(rows, k)
            if rate.value is not None and rate.value >= threshold:
                self.messages.append(
                    f"pass@{k} = {rate.value:.4f} meets --humaneval-fail-under {threshold:g}"
                )
                continue
            shown = f"{rate.value:.4f}" if rate.value is not None else f"not computable ({rate.reason})"
            self.messages.append(f"FAIL: pass@{k} = {shown} is below --humaneval-fail-under {threshold:g}")
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.summary is None or self.config.option.collectonly:
            return
        terminalreporter.write_sep("=", "humaneval")
        for line in table_lines(self.summary):
            terminalreporter.write_line(line)
        if self.reused:
            terminalreporter.write_line(
                f"reused    {self.reused} verdicts from the cache or identical samples"
            )
        for message in self.messages:
            terminalreporter.write_line(
                message, red=message.startswith("FAIL"), green=not message.startswith("FAIL")
            )


def _raise_keyboard_interrupt(number: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"received signal {number}")


def _interrupt_on_sigterm() -> None:
    """Make SIGTERM stop the session like Ctrl-C, so finished verdicts are reported and written."""
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    ):
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)


def pytest_unconfigure(config: pytest.Config) -> None:
    evaluation = config.stash.get(evaluation_key, None)
    if evaluation is not None:
        evaluation.runner.close()
    if signal.getsignal(signal.SIGTERM) is _raise_keyboard_interrupt:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
