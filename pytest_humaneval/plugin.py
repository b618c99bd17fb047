"""The pytest hooks of pytest-humaneval: options, and wiring of the other modules.

Imports the modules it wires; nothing imports it (it is pytest's entry point).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Generator
from typing import Any

import pytest
from _pytest.runner import runtestprotocol  # no public equivalent; xdist imports it too

from pytest_humaneval.collection import SampleItem, build_items
from pytest_humaneval.controller import Controller
from pytest_humaneval.evaluation import Evaluation, HumanEvalSample
from pytest_humaneval.merge import Merge
from pytest_humaneval.options import add_options
from pytest_humaneval.remote import LINES_KEY, is_local, read_through_controller, refusal, serve_lines
from pytest_humaneval.runner import cpu_for_worker, join_server_cpu
from pytest_humaneval.selection import SampleArguments, samples_requested, take_sample_arguments
from pytest_humaneval.settings import Settings, resolve
from pytest_humaneval.shards import WORKER_KEY, ShardMembers, ShardToWorkers
from pytest_humaneval.wire import (
    WIRE_KEY,
    evaluation_from_wire,
    evaluation_to_wire,
    settings_from_wire,
    verdict_from_properties,
)

SAMPLE_ARGUMENT = "humaneval_sample"

# Terminal categories for samples that did not pass. Without --humaneval-strict a verdict is
# a measurement: the item passes (exit status, -x, JUnit XML agree) and these words say how
# the sample did; the results file holds the detail.
SAMPLE_STATUS = {
    "failed": ("sample failed", "f", ("sample failed", {"yellow": True})),
    "error": ("sample error", "e", ("sample error", {"yellow": True})),
    "timed out": ("sample timeout", "t", ("sample timeout", {"yellow": True})),
    "crashed": ("sample crashed", "c", ("sample crashed", {"yellow": True})),
}

settings_key = pytest.StashKey[Settings]()
evaluation_key = pytest.StashKey[Evaluation]()
controller_key = pytest.StashKey[Controller]()
shard_key = pytest.StashKey[ShardMembers]()
sample_arguments_key = pytest.StashKey[SampleArguments]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def _shows_information_only(config: pytest.Config) -> bool:
    """Whether the command only prints something (help, markers, fixtures, the cache) and
    collects nothing that could run: the samples are not even read."""
    option = config.option
    return bool(
        option.help
        or getattr(option, "markers", False)
        or getattr(option, "showfixtures", False)
        or getattr(option, "cacheshow", False)
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "humaneval: a HumanEval sample item (added by pytest-humaneval)")
    if _shows_information_only(config):  # a bad setting must not hide the help
        config.stash[settings_key] = Settings()
        return
    settings = _worker_settings(config)
    if settings is None:
        settings = resolve(config)
    config.stash[settings_key] = settings
    workerinput = getattr(config, "workerinput", None)
    if settings.merge:  # no sample is read or run: the shards' results files hold the run
        if workerinput is None:
            config.pluginmanager.register(Merge.load(config, settings), "humaneval-merge")
        return
    if not settings.samples:
        return
    if workerinput is not None:  # the controller decided whether samples run
        if WIRE_KEY in workerinput:
            _configure_worker(config, settings, workerinput)
        if WORKER_KEY in workerinput:
            config.stash[shard_key] = ShardMembers.from_plain(workerinput[WORKER_KEY])
        return
    if not samples_requested(config, settings):
        return
    controller = Controller.start(config, settings)
    config.stash[controller_key] = controller
    config.stash[evaluation_key] = controller.evaluation
    config.pluginmanager.register(controller, "humaneval-controller")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistHooks(controller), "humaneval-xdist")
    if controller.shard is not None:
        config.stash[shard_key] = controller.shard
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(ShardToWorkers(controller.shard), "humaneval-shard")
    _interrupt_on_sigterm()


def _worker_settings(config: pytest.Config) -> Settings | None:
    """In an xdist worker, the controller's settings (the defaults when it runs no samples):
    a worker on another host may not find the files its own command line and ini file name."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return None
    return settings_from_wire(workerinput[WIRE_KEY]) if WIRE_KEY in workerinput else Settings()


def _configure_worker(config: pytest.Config, settings: Settings, workerinput: dict[str, Any]) -> None:
    cpu = cpu_for_worker(int(str(workerinput.get("workerid", "gw0"))[2:] or 0))
    evaluation = evaluation_from_wire(settings, workerinput[WIRE_KEY], cpu)
    if LINES_KEY in workerinput:  # a remote worker: it may not see the samples files
        read_through_controller(evaluation, workerinput[LINES_KEY])
    join_server_cpu(cpu, int(workerinput.get("workercount", 0)))
    config.stash[evaluation_key] = evaluation


class XdistHooks:
    """Hooks that exist only with pytest-xdist: data to workers, facts back from them, and
    the scheduler that sends identical samples to one worker."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.wire = evaluation_to_wire(controller.evaluation)

    def pytest_xdist_newgateway(self, gateway: Any) -> None:
        """Refuse a host that runs another harness, before its worker starts or anything is copied to it."""
        if not is_local(gateway.spec):
            refused = refusal(gateway)
            if refused is not None:
                raise pytest.UsageError(refused)

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[WIRE_KEY] = self.wire
        if not is_local(node.gateway.spec):  # it may not see the samples files
            node.workerinput[LINES_KEY] = serve_lines(self.controller.evaluation, node.gateway)

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.controller.count_selected(ids)

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if config.getvalue("dist") != "load":
            return None
        copy_groups = self.controller.evaluation.copy_groups()
        if not copy_groups:
            return None
        from pytest_humaneval.scheduling import IdenticalSamplesTogether  # imports xdist

        return IdenticalSamplesTogether(config, log, copy_groups)

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        isolation = getattr(node, "workeroutput", {}).get(WIRE_KEY)
        if isolation:
            self.controller.isolation = isolation


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    """Take the arguments that name samples (node ids, samples files) before pytest looks
    for them on disk."""
    config = session.config
    evaluation = config.stash.get(evaluation_key, None)
    if evaluation is not None:
        config.stash[sample_arguments_key] = take_sample_arguments(
            config.args, evaluation, config.invocation_params.dir
        )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    evaluation = config.stash.get(evaluation_key, None)
    if evaluation is None:
        return
    named = config.stash.get(sample_arguments_key, None)
    built = build_items(session, evaluation)
    items.extend(built if not named else (item for item in built if _named(named, item)))
    shard = config.stash.get(shard_key, None)
    if shard is not None:
        _deselect_other_shards(config, items, shard)


def _deselect_other_shards(config: pytest.Config, items: list[pytest.Item], shard: ShardMembers) -> None:
    """Deselect, as ``-k`` does, the sample items of the other shards (``--humaneval-shard``)."""
    kept: list[pytest.Item] = []
    others: list[pytest.Item] = []
    for item in items:
        in_other = isinstance(item, SampleItem) and item.entry.position not in shard
        (others if in_other else kept).append(item)
    if others:
        config.hook.pytest_deselected(items=others)
        items[:] = kept


def _named(named: SampleArguments, item: pytest.Item) -> bool:
    assert isinstance(item, SampleItem)
    return named.select(item.nodeid, item.evaluation.sample_set_of(item.entry).source)


@pytest.fixture
def humaneval_sample() -> HumanEvalSample:
    """One sample of the evaluation: a test that takes it runs once per sample (``task_id``,
    ``index``, ``text``, ``problem``, ``run()``). Without samples in the session, skipped."""
    pytest.skip(
        "no samples in this session: give --humaneval-samples, or (for samples set in the ini "
        "file) name no path or the samples file on the command line"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if SAMPLE_ARGUMENT not in metafunc.fixturenames:
        return
    evaluation = metafunc.config.stash.get(evaluation_key, None)
    if evaluation is None:
        return  # the fixture skips the test, saying why
    shard = metafunc.config.stash.get(shard_key, None)
    entries = [entry for entry in evaluation.entries if shard is None or entry.position in shard]
    metafunc.parametrize(
        SAMPLE_ARGUMENT,
        [HumanEvalSample(entry, evaluation.problem(entry), evaluation) for entry in entries],
        ids=[entry.param_id for entry in entries],
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    """Run a sample item exactly once, as pytest's own protocol does.

    A sample's verdict is one attempt: plugins that rerun failing tests
    (pytest-rerunfailures' ``--reruns``, flaky) would give a timed-out sample a second
    chance and bias pass@k, so they do not get the sample items. Other items are theirs.
    """
    if not isinstance(item, SampleItem):
        return None
    item.next_item = nextitem
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    runtestprotocol(item, nextitem=nextitem)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """With ``--humaneval-strict``, a sample that did not pass makes its call report a
    failure (see ``mark_failed``)."""
    report = yield
    if isinstance(item, SampleItem):
        item.mark_failed(report)
    return report


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    if report.when != "call" or not report.passed or config.stash[settings_key].strict:
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
        evaluation.close()
    if signal.getsignal(signal.SIGTERM) is _raise_keyboard_interrupt:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
