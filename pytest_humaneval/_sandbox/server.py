"""The sandbox server: reads requests on stdin, has the zygote fork a sample process for
each (for each suite of inputs, when judging by inputs), judges it, writes its verdict
on stdout (see :mod:`.protocol`).

Imports only the standard library and its sibling modules.
"""

from __future__ import annotations

import marshal
import os
import pickle
import signal
import socket
import sys
import tempfile
import types
from typing import Any

from .inputs import output_not_none
from .judge import CandidateProxy, SampleProcess, describe, ended_verdict, judge, open_schedstat
from .linux import PR_SET_CHILD_SUBREAPER, PR_SET_DUMPABLE, PR_SET_PDEATHSIG, libc
from .probe import helper_names, probe_calls
from .protocol import (
    ERROR,
    SUITE_FAIL,
    InputsReply,
    InputsRequest,
    Isolation,
    OutputsReply,
    OutputsRequest,
    Reply,
    Request,
    Suite,
    read_message,
    reference_result,
    write_message,
)
from .suites import expected_outputs, judge_suite
from .tempfiles import TEMPORARY_PREFIX, clean_directory, hold, remove_tree
from .values import SampleGone
from .zygote import PID, Zygote

NO_CLONE = "--no-clone"
"""The server's option to fork sample processes without clone(2) (see :func:`main`)."""


class Server:
    """Reads requests, has the zygote fork each sample, judges it, writes verdicts."""

    def __init__(self, use_clone: bool = True) -> None:
        self.tmp_root = tempfile.mkdtemp(prefix=TEMPORARY_PREFIX)
        self._tmp_root_hold = hold(self.tmp_root)
        self.workdir = os.path.join(self.tmp_root, "work")
        os.mkdir(self.workdir, 0o700)
        self.control, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        as_root = os.geteuid() == 0
        self.zygote_pid = os.fork()
        if self.zygote_pid == 0:
            self.control.close()
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            try:
                Zygote(zygote_end, self.workdir, as_root, use_clone).serve()
            finally:
                os._exit(0)
        zygote_end.close()
        # When the pytest process dies, SIGTERM: the server ends its samples and removes
        # its directory (the zygote and the samples get SIGKILL when the server exits).
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        data, _, _, _ = socket.recv_fds(self.control, 1 << 16, 0)
        self.isolation: Isolation = pickle.loads(data)
        self._problem_code: dict[tuple[str, str], tuple[types.CodeType, list[str]]] = {}
        """Per test and entry point: the compiled test and the names it may take from the program."""
        self.own_schedstat = open_schedstat("self")
        self._expected_calls: dict[tuple[str, str], list[bytes]] = {}
        """Per problem, the calls its test makes whatever the answers (see :func:`.probe.probe_calls`)."""
        self.spare: SampleProcess | None = None
        """The next sample process, confined and waiting."""
        self.killed: SampleProcess | None = None
        """The last sample process, killed but not yet reaped (its verdict is known)."""
        self._last_suites: tuple[str, list[Suite]] | None = None
        """The suites of inputs sent last, with their key (see :class:`.protocol.InputsRequest`)."""

    def _compiled(self, test: str, entry_point: str) -> tuple[types.CodeType, list[str]]:
        """The test's code (compiled without this module's ``__future__`` flags, as the
        reference compiles it) and the names it may take from the sample's program."""
        key = (test, entry_point)
        if key not in self._problem_code:
            test_code = compile(test + "\n", "<test>", "exec", dont_inherit=True)
            self._problem_code[key] = (test_code, helper_names(test_code, entry_point))
        return self._problem_code[key]

    def _spawn(self) -> SampleProcess:
        """A new confined sample process (our child), waiting for its sample."""
        judge_end, sample_end = socket.socketpair()
        socket.send_fds(self.control, [b"s"], [sample_end.fileno()])
        sample_end.close()
        reply = self.control.recv(PID.size)
        if len(reply) != PID.size or PID.unpack(reply)[0] <= 0:
            raise RuntimeError("the zygote stopped answering")
        return SampleProcess(PID.unpack(reply)[0], judge_end, self.own_schedstat)

    def prepare(self) -> None:
        """While pytest handles the last verdict: reap the last sample process, empty the
        work directory and start the next sample process."""
        self._reap_killed()
        if self.spare is None:
            self.spare = self._spawn()

    def _reap_killed(self) -> None:
        killed, self.killed = self.killed, None  # never reaped twice, even if interrupted
        if killed is not None:
            self._end(killed)

    def _end(self, sample: SampleProcess) -> int:
        """Kill and reap a sample process and empty the work directory; its wait status."""
        sample.kill()
        try:
            _, status = os.waitpid(sample.pid, 0)
        except ChildProcessError:  # reaped already: a SIGTERM interrupted the server just after
            status = 0
        clean_directory(self.workdir)
        return status

    def _take(self) -> SampleProcess:
        """A confined sample process for the next sample (the spare, if there is one)."""
        self._reap_killed()
        sample, self.spare = self.spare or self._spawn(), None
        return sample

    def _release(self, sample: SampleProcess) -> None:
        """Kill a sample process whose verdict is known; it is reaped (and the work
        directory emptied) after the reply is sent."""
        sample.kill()
        self.killed = sample

    def handle(self, request: Any) -> Reply | InputsReply | OutputsReply:
        """Answer one request of any kind (see :mod:`.protocol`)."""
        kind = request.get("kind")
        if kind == "inputs":
            return self.judge_inputs(request)
        if kind == "expected outputs":
            return self.expected_outputs(request)
        return self.run(request)

    def run(self, request: Request) -> Reply:
        """Run one sample against its problem's tests; return its verdict."""
        test_code, names = self._compiled(request["test"], request["entry_point"])
        try:
            program = _compile_program(request["code"])
        except Exception as exc:  # SyntaxError, null bytes, lone surrogates, nesting too deep
            message, text = describe(exc)
            return {
                "kind": ERROR,
                "message": message[:2000],
                "reference": reference_result(ERROR, text)[:2000],
                "duration": 0.0,
            }
        problem = (request["test"], request["entry_point"])
        if problem not in self._expected_calls:
            self._expected_calls[problem] = [] if names else probe_calls(test_code, request["entry_point"])
        verdict = self._run_program(program, request, test_code, names, self._expected_calls[problem])
        if verdict is None:  # the test's calls depend on the answers: call by call from now on
            self._expected_calls[problem] = []
            verdict = self._run_program(program, request, test_code, names, [])
        assert verdict is not None
        return verdict

    def _run_program(
        self,
        program: bytes,
        request: Request,
        test_code: types.CodeType,
        names: list[str],
        expected: list[bytes],
    ) -> Reply | None:
        """Judge one sample process running ``program``; None if the test's calls diverged
        from ``expected`` (the sample has then answered calls the test did not make)."""
        sample = self._take()
        candidate = CandidateProxy(sample, request["entry_point"], expected)
        try:
            sample.start(program, request["entry_point"], names, request["limits"], expected)
            kind, message, text = judge(sample, candidate, test_code, names)
        except SampleGone as exc:
            kind, message, text = "gone", str(exc), str(exc)
        except BaseException:
            self._end(sample)
            raise
        elapsed = sample.elapsed()
        if candidate.diverged:
            self._end(sample)
            return None
        if kind == "gone":
            status = self._end(sample)
            kind, message = (ERROR, message) if message else ended_verdict(status)
            text = message
        else:
            self._release(sample)
        reference = reference_result(kind, text)
        return {
            "kind": kind,
            "message": message[:2000],
            "reference": reference[:2000],
            "duration": round(elapsed, 6),
        }

    def judge_inputs(self, request: InputsRequest) -> InputsReply:
        """Judge a program by suites of inputs, as EvalPlus does: each suite in a fresh
        sample process, the program run again in each."""
        suites = self._suites(request)
        try:
            program = _compile_program(request["code"])
        except Exception as exc:  # as EvalPlus's exec raises: every suite fails
            message = f"the program raised {describe(exc)[0]}"[:2000]
            return {
                "suites": [
                    {
                        "name": suite["name"],
                        "status": SUITE_FAIL,
                        "passed": 0,
                        "message": message,
                        "failure": None,
                        "duration": 0.0,
                    }
                    for suite in suites
                ]
            }
        replies = []
        for suite in suites:
            sample = self._take()
            try:
                reply, ended = judge_suite(
                    sample,
                    program,
                    request["entry_point"],
                    request["dataset"],
                    request["atol"],
                    suite,
                    request["limits"],
                )
            except BaseException:
                self._end(sample)
                raise
            if ended:
                reply["message"] = ended_verdict(self._end(sample))[1]
            else:
                self._release(sample)
            replies.append(reply)
        return {"suites": replies}

    def _suites(self, request: InputsRequest) -> list[Suite]:
        """The request's suites, or the ones kept from the last request that sent them."""
        key, suites = request["suites_key"], request["suites"]
        if suites is not None:
            self._last_suites = (key, suites)
            return suites
        if self._last_suites is None or self._last_suites[0] != key:
            raise ValueError(f"no suites kept under {key!r}")
        return self._last_suites[1]

    def expected_outputs(self, request: OutputsRequest) -> OutputsReply:
        """A (canonical) solution's output and time for each input, as EvalPlus records them."""
        try:
            program = _compile_program(request["code"])
        except Exception as exc:
            return {"outputs": [], "times": [], "error": f"the program raised {describe(exc)[0]}"[:2000]}
        not_none = request["output_not_none"]
        if not_none is None:
            not_none = output_not_none(request["dataset"], request["entry_point"])
        sample = self._take()
        try:
            reply = expected_outputs(
                sample,
                program,
                request["entry_point"],
                request["inputs"],
                not_none,
                request["limits"],
                (request["dataset"], request["atol"]),
            )
        finally:
            self._end(sample)
        return reply

    def close(self) -> None:
        """End every sample process and the zygote; remove the temporary directory."""
        try:
            self._reap_killed()
            spare, self.spare = self.spare, None
            if spare is not None:
                self._end(spare)
            self.control.close()
            try:
                os.waitpid(self.zygote_pid, 0)
            except ChildProcessError:
                pass
        finally:
            remove_tree(self.tmp_root)
            hold, self._tmp_root_hold = self._tmp_root_hold, -1  # closed once, however often close() runs
            if hold >= 0:
                os.close(hold)


def _compile_program(code: str) -> bytes:
    """A sample's program, compiled and marshalled for its process. Annotations are
    evaluated, as in the reference: no ``__future__`` flag of this module."""
    return marshal.dumps(compile(code, "<sample>", "exec", dont_inherit=True))


def _exit_on_signal(number: int, frame: Any) -> None:
    signal.signal(number, signal.SIG_IGN)  # once: the cleanup it leads to must not be cut short again
    raise SystemExit(128 + number)


def _serve(server: Server) -> None:
    """Answer the requests on stdin until it closes."""
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    write_message(stdout, pickle.dumps(server.isolation))
    while True:
        try:
            request = pickle.loads(read_message(stdin))
        except EOFError:
            return
        write_message(stdout, pickle.dumps(server.handle(request)))
        server.prepare()


def main() -> None:
    """Serve requests from stdin until it closes or a SIGTERM arrives.

    Command line: ``[CPU] [--no-clone]``. ``CPU``: the one CPU for the server, its zygote
    and its samples. ``--no-clone``: fork each sample process as on a machine where
    clone(2) is unknown (twice, the server adopting it as a child subreaper; no PID
    namespace), so that this path is tested on any machine.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    arguments = sys.argv[1:]
    cpus = [argument for argument in arguments if argument != NO_CLONE]
    if cpus:
        # One CPU for the server, its zygote and its samples: their many hand-offs
        # cost microseconds on one CPU, and far more between CPUs (wake-ups).
        os.sched_setaffinity(0, {int(cpus[0])})
    server = Server(use_clone=NO_CLONE not in arguments)
    # When the pytest process dies, its SIGTERM and the end of stdin come together: the
    # handler's one SystemExit may land anywhere, even just after serving ended on its
    # own. Every step is inside this try, so the server always gets closed (again, if
    # the SystemExit cut a first close short).
    serving, error = True, None
    while True:
        try:
            if serving:
                serving = False
                try:
                    _serve(server)
                except Exception as exc:  # closed first, raised after
                    error = exc
            server.close()
            break
        except SystemExit:
            pass
    if error is not None:
        raise error
