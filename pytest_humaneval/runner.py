"""Running samples: the pytest side of the sandbox server (the ``_sandbox`` package).

Each pytest process (the single process, or each xdist worker) starts one
sandbox server on its first sample and sends it one request per sample. The
server forks a fresh, confined process per sample; no sample code ever runs in
a pytest process. Requests and replies are those of :mod:`pytest_humaneval._sandbox.protocol`.
Besides the problem's test, the server judges by inputs as EvalPlus does
(:meth:`SandboxRunner.judge_inputs`) and computes expected outputs from a canonical
solution (:meth:`SandboxRunner.expected_outputs`), in the sandbox too.

Imports the sandbox's protocol and temporary-file helpers, the keys and the domain types:
never the sandbox's other modules, which run only in the server.
"""

from __future__ import annotations

import os
import pickle
import selectors
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pytest_humaneval._sandbox.protocol import (
    MAX_REQUEST,
    InputsReply,
    InputsRequest,
    Isolation,
    LimitsMessage,
    OutputsReply,
    OutputsRequest,
    Request,
    read_message,
    write_message,
)
from pytest_humaneval._sandbox.tempfiles import TEMPORARY_PREFIX, remove_tree
from pytest_humaneval.keys import sample_code, verdict_key
from pytest_humaneval.model import (
    ERROR,
    ExpectedOutputs,
    InputFailure,
    InputsSuite,
    Limits,
    PlusExpected,
    Problem,
    Sample,
    SuiteVerdict,
    Verdict,
    input_suites,
    verdict_by_inputs,
)

DATASETS = ("humaneval", "mbpp")
"""EvalPlus's datasets, whose special oracles :meth:`SandboxRunner.judge_inputs` applies."""

SANDBOX_SCRIPT = Path(__file__).with_name("_sandbox_main.py")


def usable_cpus() -> int:
    """How many CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return 1


def cpu_for_worker(worker_index: int) -> int | None:
    """The CPU for a worker's sandbox server: worker i gets the i-th usable CPU (round robin)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None
    return cpus[worker_index % len(cpus)] if cpus else None


def join_server_cpu(cpu: int | None, worker_count: int) -> None:
    """Pin this xdist worker to its server's CPU when there are at least as many workers as
    CPUs (each CPU is busy anyway, and hand-offs within a CPU are cheap)."""
    try:
        if cpu is not None and worker_count >= usable_cpus():
            os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):
        pass


MAX_SIDE_SERVERS = 4
"""The most sandbox servers that run canonical solutions side by side before the samples."""


def side_servers(jobs: int) -> list[SandboxRunner]:
    """Servers to run beside the caller's own before any sample (calibration, expected
    outputs): one per further usable CPU, at most :data:`MAX_SIDE_SERVERS` in all, and
    never more than ``jobs``. The caller stops them with ``close(wait=False)``."""
    count = min(MAX_SIDE_SERVERS, usable_cpus(), jobs)
    return [SandboxRunner(cpu_for_worker(index)) for index in range(1, count)]


class SandboxError(RuntimeError):
    """The sandbox server could not be started or stopped answering."""


class SandboxRunner:
    """Runs samples in a sandbox server started on first use; remembers verdicts by key."""

    def __init__(self, cpu: int | None = None, server_options: Sequence[str] = ()) -> None:
        self.cpu = cpu
        """The CPU the server, its zygote and its samples run on (None: any)."""
        self.server_options = tuple(server_options)
        """More of the server's command line (see :func:`pytest_humaneval._sandbox.server.main`)."""
        self._process: subprocess.Popen[bytes] | None = None
        self.isolation: dict[str, Any] = {}
        self._verdicts: dict[str, Verdict] = {}
        self.repeated_keys: frozenset[str] | None = None
        """The keys of samples that occur more than once (None: unknown). Only their
        verdicts are kept for reuse, so memory does not grow with the distinct samples."""
        self._pending: str | None = None
        """The key of the request sent ahead (:meth:`prefetch`) whose verdict is due."""
        self._verdict_due = False
        """A request was sent and its verdict not collected: the server is running a sample."""
        self._unreported: dict[str, Verdict] = {}
        """Verdicts of requests sent ahead, collected before their sample asked for them."""
        self._stopping: list[tuple[subprocess.Popen[bytes], str]] = []
        """Servers told to stop and not yet waited for, with their temporary directories."""
        self._refused: Verdict | None = None
        """The verdict of the request sent last, if it was too large to send."""
        self._suites_sent: PlusExpected | None = None
        """The expected outputs whose suites the server holds (sent with the last request)."""

    @property
    def server_process(self) -> subprocess.Popen[bytes] | None:
        """The running server's process, if one was started (to watch or kill it)."""
        return self._process

    def launch(self) -> None:
        """Start the server if it is not running, without waiting for it to be ready (it
        is waited for when the first request goes out)."""
        if self._process is not None:
            return
        environment = {
            "PATH": os.defpath,
            "PYTHONHASHSEED": "0",
            "LC_ALL": "C.UTF-8",
            "TMPDIR": tempfile.gettempdir(),  # its directory beside the session's other temporary files
        }
        cpu = [] if self.cpu is None else [str(self.cpu)]
        self._process = subprocess.Popen(
            [sys.executable, "-s", str(SANDBOX_SCRIPT), *cpu, *self.server_options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
            start_new_session=True,
        )
        self.isolation = {}

    def _ready_server(self) -> subprocess.Popen[bytes]:
        """The server, started if need be, once it has said how it isolates samples."""
        self.launch()
        assert self._process is not None
        if not self.isolation:
            isolation: Isolation = self._receive()
            self.isolation = dict(isolation)
        return self._process

    def _receive(self) -> Any:
        """The server's next message (its isolation, then a reply per request)."""
        try:
            return pickle.loads(read_message(self.reply_descriptor()))
        except EOFError:
            raise SandboxError("the sandbox server exited unexpectedly") from None

    def run(
        self,
        problem: Problem,
        sample: Sample,
        limits: Limits,
        key: str | None = None,
        expected: PlusExpected | None = None,
    ) -> Verdict:
        """Run one sample (or reuse the verdict of an identical one) and return its verdict:
        by the problem's test, or, given the ``expected`` outputs of an EvalPlus problem, by
        its inputs as EvalPlus 0.3.1 judges (see :meth:`judge_inputs`).

        ``key``: the sample's :func:`verdict_key`, if the caller has it already.
        """
        code = sample_code(problem, sample)
        key = key or verdict_key(problem, code, limits)
        verdict = self._unreported.pop(key, None)
        if verdict is not None:
            return verdict
        known = self.remembered(key)
        if known is not None:
            return known
        if self._pending != key:
            self._send(problem, code, limits, key, expected)
        verdict = self.collect()
        self.keep(key, verdict)
        return verdict

    def prefetch(
        self,
        problem: Problem,
        sample: Sample,
        limits: Limits,
        key: str | None = None,
        expected: PlusExpected | None = None,
    ) -> None:
        """Have the server start the sample that runs next while pytest reports the last one
        (its verdict is collected by :meth:`run`, given the same ``expected``). Does nothing
        if a verdict is known or due."""
        if self._pending is not None:
            return
        code = sample_code(problem, sample)
        key = key or verdict_key(problem, code, limits)
        if key not in self._verdicts:
            self._send(problem, code, limits, key, expected)

    def remembered(self, key: str) -> Verdict | None:
        """The verdict kept of an identical sample (marked reused), if there is one."""
        known = self._verdicts.get(key)
        return None if known is None else replace(known, reused=True)

    def keep(self, key: str, verdict: Verdict) -> None:
        """Keep a new verdict for identical samples to reuse, if any can follow."""
        if self.repeated_keys is None or key in self.repeated_keys:
            self._verdicts[key] = verdict

    def start(
        self, problem: Problem, sample: Sample, limits: Limits, expected: PlusExpected | None = None
    ) -> Verdict | None:
        """Send a sample to run (judged by the problem's test, or by its inputs against the
        ``expected`` outputs); :meth:`collect` returns its verdict once
        :meth:`reply_descriptor` is readable. A request too large to send is not sent: its
        verdict is returned at once."""
        self._send(problem, sample_code(problem, sample), limits, None, expected)
        return self.collect() if self._refused is not None else None

    def run_code(self, problem: Problem, code: str, limits: Limits) -> Verdict:
        """Run ``code`` as the sample's program against ``problem``'s tests."""
        self.start_code(problem, code, limits)
        return self.collect()

    def start_code(self, problem: Problem, code: str, limits: Limits) -> None:
        """Send ``code`` to run as the sample's program; :meth:`collect` returns its verdict."""
        self._send(problem, code, limits, None)

    def _collect_pending(self) -> None:
        """Collect the verdict of a request sent ahead, for its sample to find."""
        if self._pending is not None:
            key_due = self._pending
            self._unreported[key_due] = verdict = self.collect()
            self.keep(key_due, verdict)

    def _write(self, payload: bytes) -> None:
        """Send one request's bytes; the server is started if need be."""
        try:
            process = self._ready_server()
            assert process.stdin is not None
            write_message(process.stdin.fileno(), payload)
        except BaseException:
            self.close()
            raise
        self._verdict_due = True

    def _reply(self) -> Any:
        """The reply to the request sent last (a server that fails is closed)."""
        try:
            reply = self._receive()
        except BaseException:
            # Interrupted mid-request (Ctrl-C, the pytest-timeout backstop) or the
            # server died: the next request gets a fresh server.
            self.close()
            raise
        self._verdict_due = False
        return reply

    def _exchange(self, request: InputsRequest | OutputsRequest) -> Any:
        """Send a request of EvalPlus's kinds and wait for its reply."""
        self._collect_pending()
        payload = pickle.dumps(request, protocol=4)
        if len(payload) > MAX_REQUEST:
            raise SandboxError(f"the request is larger than the sandbox takes ({MAX_REQUEST >> 20} MiB)")
        self._write(payload)
        self._suites_sent = None  # any suites went under no key
        return self._reply()

    def expected_outputs(
        self,
        code: str,
        entry_point: str,
        inputs: Sequence[Any],
        limits: Limits,
        dataset: str = "humaneval",
        output_not_none: bool | None = None,
        atol: float = 0.0,
    ) -> ExpectedOutputs:
        """Run ``code`` (``prompt + canonical_solution``) once and call ``entry_point`` on
        each input's arguments, as EvalPlus computes its expected outputs, in a sample
        process; ``limits.timeout`` bounds the whole run. ``output_not_none``: record
        whether each output is not None (None: as EvalPlus decides for ``dataset``);
        ``atol``: the task's tolerance (an output compared with one cannot be a digest)."""
        _check_dataset(dataset)
        request: OutputsRequest = {
            "kind": "expected outputs",
            "code": code,
            "entry_point": entry_point,
            "inputs": list(inputs),
            "dataset": dataset,
            "atol": atol,
            "output_not_none": output_not_none,
            "limits": _limits_message(limits),
        }
        reply: OutputsReply = self._exchange(request)
        return ExpectedOutputs(reply["outputs"], reply["times"], reply["error"])

    def judge_inputs(
        self,
        code: str,
        entry_point: str,
        suites: Sequence[InputsSuite],
        limits: Limits,
        dataset: str = "humaneval",
        atol: float = 0.0,
    ) -> list[SuiteVerdict]:
        """Judge ``code`` (``prompt + completion``) by suites of inputs as EvalPlus 0.3.1
        does (its special oracles and float tolerance ``atol`` included): each suite in a
        fresh sample process, up to its first failing input. Of ``limits``, the time
        limits are not used: each input has its own, and each suite
        ``min(60, their sum) + 1`` seconds."""
        _check_dataset(dataset)
        request = _inputs_request(code, entry_point, dataset, atol, suites, "", limits)
        return _suite_verdicts(self._exchange(request))

    def _send(
        self,
        problem: Problem,
        code: str,
        limits: Limits,
        key: str | None,
        expected: PlusExpected | None = None,
    ) -> None:
        """Send one request; the verdict of any earlier one still due is collected first."""
        self._collect_pending()
        request: Request | InputsRequest
        if expected is None:
            request = {
                "test": problem.test,
                "entry_point": problem.entry_point,
                "code": code,
                "limits": _limits_message(limits),
            }
        else:
            request = self._judging_request(problem, code, expected, limits)
        payload = pickle.dumps(request, protocol=4)
        if len(payload) > MAX_REQUEST:
            size = f"{len(code.encode('utf-8', 'surrogatepass')) / 2**20:.0f} MiB"
            message = f"the program ({size}) is larger than the sandbox takes ({MAX_REQUEST >> 20} MiB)"
            self._refused = Verdict(ERROR, message, 0.0)
            self._pending = key
            return
        self._write(payload)
        if expected is not None:
            self._suites_sent = expected
        self._pending = key

    def _judging_request(
        self, problem: Problem, code: str, expected: PlusExpected, limits: Limits
    ) -> InputsRequest:
        """The request that judges ``code`` by the problem's inputs; its suites only if the
        server does not hold them from the request before."""
        assert problem.plus is not None
        tests = problem.plus
        suites = None if self._suites_sent is expected else input_suites(tests, expected)
        return _inputs_request(
            code, problem.entry_point, tests.kind, tests.atol, suites, problem.task_id, limits
        )

    def collect(self) -> Verdict:
        """The verdict for the request sent last."""
        if self._refused is not None:
            refused, self._refused, self._pending = self._refused, None, None
            return refused
        reply = self._reply()  # an InputsReply when the request judged by inputs, else a Reply
        self._pending = None
        if "suites" in reply:
            return verdict_by_inputs(_suite_verdicts(reply))
        return Verdict(reply["kind"], reply["message"], reply["duration"], reply["reference"])

    def reply_descriptor(self) -> int:
        """The descriptor the server's replies arrive on (readable when a verdict is ready)."""
        assert self._process is not None and self._process.stdout is not None
        return self._process.stdout.fileno()

    def close(self, wait: bool = True) -> None:
        """Stop the server (it kills any sample still running) and wait for it to exit.

        With ``wait=False`` the server is only told to stop: it cleans up and exits on its
        own while this process goes on, and the next :meth:`close` waits for it.
        """
        process, self._process = self._process, None
        running, self._pending, self._verdict_due = self._verdict_due, None, False
        self._refused = self._suites_sent = None
        if process is not None:
            assert process.stdin is not None
            try:
                process.stdin.close()  # an idle server cleans up and exits at the end of its input
            except OSError:
                pass
            if running:
                process.terminate()  # the server kills the sample it is running, then exits
            self._stopping.append((process, os.path.dirname(self.isolation.get("work_directory", ""))))
        if wait:
            for stopping, work_root in self._stopping:
                _wait_for_server(stopping, work_root)
            self._stopping.clear()


def _limits_message(limits: Limits) -> LimitsMessage:
    """The limits as a request carries them."""
    return {
        "timeout": limits.timeout,
        "memory": limits.memory,
        "calls_timeout": limits.calls_timeout,
        "file_size": limits.file_size,
        "open_files": limits.open_files,
        "processes": limits.processes,
        "slowdown_cap": limits.slowdown_cap,
    }


def _inputs_request(
    code: str,
    entry_point: str,
    dataset: str,
    atol: float,
    suites: Sequence[InputsSuite] | None,
    suites_key: str,
    limits: Limits,
) -> InputsRequest:
    """A request to judge ``code`` by ``suites`` (None: those the server holds under ``suites_key``)."""
    request: InputsRequest = {
        "kind": "inputs",
        "code": code,
        "entry_point": entry_point,
        "dataset": dataset,
        "atol": float(atol),
        "suites": None
        if suites is None
        else [
            {
                "name": suite.name,
                "inputs": list(suite.inputs),
                "expected": list(suite.expected),
                "time_limits": [float(limit) for limit in suite.time_limits],
            }
            for suite in suites
        ],
        "suites_key": suites_key,
        "limits": _limits_message(limits),
    }
    for suite in request["suites"] or []:
        if not len(suite["inputs"]) == len(suite["expected"]) == len(suite["time_limits"]):
            raise ValueError(f"suite {suite['name']!r}: inputs, expected outputs and limits differ in number")
    return request


def _suite_verdicts(reply: InputsReply) -> list[SuiteVerdict]:
    return [
        SuiteVerdict(
            suite["name"],
            suite["status"],
            suite["passed"],
            suite["message"],
            None if suite["failure"] is None else InputFailure(**suite["failure"]),
            suite["duration"],
        )
        for suite in reply["suites"]
    ]


def _check_dataset(dataset: str) -> None:
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: EvalPlus's are {', '.join(DATASETS)}")


def _wait_for_server(process: subprocess.Popen[bytes], work_root: str) -> None:
    """Wait for a stopping server; remove its temporary directory if it could not (killed)."""
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()
    if os.path.basename(work_root).startswith(TEMPORARY_PREFIX) and os.path.isdir(work_root):
        remove_tree(work_root)


def run_codes(
    runners: Sequence[SandboxRunner], jobs: Sequence[tuple[Problem, str]], limits: Limits
) -> list[Verdict]:
    """Run each job's code against its problem's tests, the jobs spread over ``runners``
    (whose servers work in parallel, each taking the next job as soon as it is free);
    the verdicts in job order."""
    for runner in runners:
        runner.launch()  # the servers start side by side
    waiting = iter(range(len(jobs)))
    running: dict[int, tuple[SandboxRunner, int]] = {}
    """By reply descriptor: the runner and the job it runs."""
    verdicts: dict[int, Verdict] = {}

    def start_next(runner: SandboxRunner) -> None:
        job = next(waiting, None)
        if job is not None:
            runner.start_code(*jobs[job], limits)
            running[runner.reply_descriptor()] = (runner, job)

    with selectors.DefaultSelector() as selector:
        for runner in runners:
            start_next(runner)
            if runner.reply_descriptor() in running:  # a server with no job is left alone
                selector.register(runner.reply_descriptor(), selectors.EVENT_READ)
        while running:
            for ready, _ in selector.select():
                runner, job = running.pop(ready.fd)
                verdicts[job] = runner.collect()
                start_next(runner)
    return [verdicts[job] for job in range(len(jobs))]
