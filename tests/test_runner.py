"""The runner's shortcuts must not change a verdict, nor tell a sample anything.

* A sample answers, without waiting to be asked, the calls its problem's test makes
  whatever the answers (found by running the test against placeholder answers):
  verdicts stay exactly those of call-by-call judging, and no sample learns what
  another answered.
* A sample can be started ahead (``prefetch``) while pytest reports the previous one.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import pickle
import random
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_humaneval import keys
from pytest_humaneval import runner as runner_module
from pytest_humaneval._sandbox.judge import SampleProcess
from pytest_humaneval._sandbox.probe import MAX_EXPECTED_CALLS, PROBE_SECONDS, helper_names, probe_calls
from pytest_humaneval._sandbox.protocol import MAX_MESSAGE
from pytest_humaneval._sandbox.server import NO_CLONE
from pytest_humaneval.keys import sample_code, verdict_key
from pytest_humaneval.model import Limits, Problem, Sample, SampleEntry
from pytest_humaneval.runner import SandboxRunner

LIMITS = Limits(timeout=2.0, memory=1 << 30)


def make_problem(test: str) -> Problem:
    return Problem(
        task_id="calls/0",
        prompt="def f(n):\n",
        entry_point="f",
        canonical_solution="    return n\n",
        test=textwrap.dedent(test),
    )


@pytest.fixture
def runner() -> Iterator[SandboxRunner]:
    sandbox_runner = SandboxRunner()
    yield sandbox_runner
    sandbox_runner.close()


def judge(runner: SandboxRunner, problem: Problem, body: str) -> str:
    verdict = runner.run_code(problem, textwrap.dedent(body), LIMITS)
    return f"{verdict.kind}: {verdict.message}" if verdict.message else verdict.kind


DEPENDENT_CALLS = make_problem("""
    def check(candidate):
        first = candidate(1)
        assert candidate(first) == 10
""")


def probe(
    problem: Problem, seconds: float = PROBE_SECONDS
) -> list[tuple[tuple[object, ...], dict[str, object]]]:
    calls = probe_calls(compile(problem.test, "<test>", "exec"), problem.entry_point, seconds)
    assert all(pickle.loads(call)[0] == problem.entry_point for call in calls)
    return [pickle.loads(call)[1:] for call in calls]


def test_expected_calls_never_hold_answers() -> None:
    """The second call's argument is the first answer: a sample must not be told it."""
    assert probe(DEPENDENT_CALLS) == [((1,), {})]


def test_expected_calls_go_past_comparisons_of_answers() -> None:
    problem = make_problem("""
        def check(candidate):
            assert candidate(1) == [1, 2]
            assert abs(candidate(2.5) - 0.1) < 1e-6
            assert round(candidate(3), 2) == 1.25 and candidate(n=4)
            assert not candidate(5) != 7
            assert candidate("x") is True
            assert candidate("never") == 0
    """)
    assert probe(problem) == [
        ((1,), {}),
        ((2.5,), {}),
        ((3,), {}),
        ((), {"n": 4}),
        ((5,), {}),
        (("x",), {}),
    ]


@pytest.mark.parametrize(
    "test",
    [
        "def check(candidate):\n    while True:\n        candidate(1)\n",
        "def check(candidate):\n    candidate(1)\n    while True:\n        pass\n",
    ],
    ids=["endless calls", "endless loop"],
)
def test_probing_a_test_ends(test: str) -> None:
    started = time.monotonic()
    calls = probe(make_problem(test))
    assert 1 <= len(calls) <= MAX_EXPECTED_CALLS
    assert time.monotonic() - started < 5 * PROBE_SECONDS


def test_iterating_an_answer_ends_the_probe_at_once() -> None:
    """``tuple(answer)`` must not iterate a placeholder for ever (until the probe's timer,
    made long here so that only an endless iteration reaches it)."""
    problem = make_problem("""
        def check(candidate):
            assert tuple(candidate([1, 2])) == (1, 2)
            assert candidate([3]) == [3]
    """)
    started = time.monotonic()
    assert probe(problem, seconds=30.0) == [(([1, 2],), {})]
    assert time.monotonic() - started < 10.0


BRANCHING = make_problem("""
    def check(candidate):
        if candidate(0) == 0:
            assert candidate(1) == 1
        else:
            assert candidate(2) == 10
""")


def test_a_test_that_takes_another_path_is_judged_call_by_call(runner: SandboxRunner) -> None:
    assert judge(runner, BRANCHING, "def f(n):\n    return n\n") == "passed"
    # Passes only when its second call is f(2) right after f(0). It first answers the
    # expected f(1) too, so it must be judged again in a fresh process: in the same one
    # it would have seen [0, 1, 2].
    stateful = """
        seen = []
        def f(n):
            seen.append(n)
            return 7 if n == 0 else (10 if seen == [0, 2] else 0)
    """
    assert judge(runner, BRANCHING, stateful) == "passed"
    assert judge(runner, BRANCHING, "def f(n):\n    return 7 if n == 0 else 9\n").startswith("failed")
    # From then on the problem is judged call by call: same verdicts.
    assert judge(runner, BRANCHING, stateful) == "passed"
    assert judge(runner, BRANCHING, "def f(n):\n    return n\n") == "passed"


def test_calls_that_depend_on_answers_are_sent_when_made(runner: SandboxRunner) -> None:
    stateful = """
        seen = []
        def f(n):
            seen.append(n)
            return 5 if n == 1 else (10 if seen == [1, 5] else 0)
    """
    for _ in range(2):
        assert judge(runner, DEPENDENT_CALLS, stateful) == "passed"
    assert judge(runner, DEPENDENT_CALLS, "def f(n):\n    return n + 2\n").startswith("failed")


CAUGHT_EXCEPTION = make_problem("""
    def check(candidate):
        try:
            candidate(-1)
        except ValueError:
            pass
        assert candidate(2) == 4
""")


def test_calls_after_an_exception_the_test_catches(runner: SandboxRunner) -> None:
    body = "def f(n):\n    if n < 0:\n        raise ValueError(n)\n    return 2 * n\n"
    assert judge(runner, CAUGHT_EXCEPTION, body) == "passed"
    assert judge(runner, CAUGHT_EXCEPTION, body) == "passed"  # now with expected calls
    wrong = "def f(n):\n    if n < 0:\n        raise ValueError(n)\n    return 3 * n\n"
    assert judge(runner, CAUGHT_EXCEPTION, wrong).startswith("failed")


TWO_ASSERTS = make_problem("""
    def check(candidate):
        assert candidate(1) == 1
        assert candidate(2) == 2
""")


def test_a_failed_assert_is_not_turned_into_a_timeout_by_later_calls(runner: SandboxRunner) -> None:
    assert judge(runner, TWO_ASSERTS, "def f(n):\n    return n\n") == "passed"
    # Answering the expected f(2) would hang; the test stops at f(1) as it would call by call.
    hangs_later = "def f(n):\n    while n == 2:\n        pass\n    return 0\n"
    assert judge(runner, TWO_ASSERTS, hangs_later).startswith("failed")


def test_extra_calls_beyond_the_expected_ones_are_sent(runner: SandboxRunner) -> None:
    growing = make_problem("""
        def check(candidate):
            for n in range(candidate(0)):
                assert candidate(n + 1) == n + 1
    """)
    # Only f(0) is expected (range() of a placeholder answer ends the probe); the rest are sent.
    assert probe(growing) == [((0,), {})]
    assert judge(runner, growing, "def f(n):\n    return 3 if n == 0 else 0\n").startswith("failed")
    assert judge(runner, growing, "def f(n):\n    return 3 if n == 0 else n\n") == "passed"
    assert judge(runner, growing, "def f(n):\n    return 3 if n == 0 else n\n") == "passed"


def test_the_names_a_test_may_take_from_the_program() -> None:
    """Globals the test loads, less builtins, check, candidate, the entry point and the names
    the test binds itself (attribute names are not globals)."""
    test = textwrap.dedent("""
        import math
        LIMIT = 3
        def local_helper(x):
            return x
        def check(candidate):
            assert candidate(LIMIT) == helper(math.floor(2.5)) + local_helper(0) + abs(-1) + f(0)
            assert [other.attribute for _ in range(2)]
    """)
    assert helper_names(compile(test, "<test>", "exec"), "f") == ["helper", "other"]


HELPED = make_problem("""
    def check(candidate):
        assert calls_so_far() == 0
        assert candidate(1) == 1 and candidate(2) == 2
        assert calls_so_far() == 2
        assert candidate(LIMIT) == LIMIT
        assert WHATEVER == WHATEVER
""")
"""A test that takes a function and values from the sample's program."""
COUNTING = """
    LIMIT = 3
    WHATEVER = object()
    seen = []
    def calls_so_far():
        return len(seen)
    def f(n):
        seen.append(n)
        return n
"""


def test_a_test_calls_the_programs_helpers_in_the_sample_process(runner: SandboxRunner) -> None:
    """``calls_so_far`` runs where ``f`` ran (it counts its calls), call by call in the
    order the test makes them; the values cross as data (an object: equal only to itself)."""
    for _ in range(2):  # the second time as well: the calls are never streamed ahead
        assert judge(runner, HELPED, COUNTING) == "passed"
    assert judge(runner, HELPED, COUNTING.replace("len(seen)", "len(seen) + 1")).startswith("failed")


def test_a_name_the_program_does_not_define_is_a_name_error(runner: SandboxRunner) -> None:
    """As in the reference, whatever the problem's prompt defines: the test sees the program."""
    assert judge(runner, HELPED, COUNTING.replace("LIMIT = 3", "")) == (
        "error: NameError: name 'LIMIT' is not defined"
    )
    verdict = runner.run_code(
        HELPED, textwrap.dedent(COUNTING.replace("def calls_so_far", "def other")), LIMITS
    )
    assert verdict.reference_result == "failed: name 'calls_so_far' is not defined"


ANNOTATED = "def f(n: Number) -> int:\n    return n\n"


def test_annotations_are_evaluated_as_in_the_reference(runner: SandboxRunner) -> None:
    """The sandbox's own ``from __future__ import annotations`` does not reach a sample; a
    sample's own does."""
    assert judge(runner, TWO_ASSERTS, ANNOTATED) == "error: NameError: name 'Number' is not defined"
    assert judge(runner, TWO_ASSERTS, "from numbers import Number\n" + ANNOTATED) == "passed"
    assert judge(runner, TWO_ASSERTS, "from __future__ import annotations\n" + ANNOTATED) == "passed"


def completion(index: int, body: str) -> Sample:
    return Sample(SampleEntry(index, "calls/0", index, index + 1), body, False, {})


def test_a_sample_started_ahead_gets_its_own_verdict(runner: SandboxRunner) -> None:
    right, wrong = completion(0, "    return n\n"), completion(1, "    return n + 1\n")
    runner.prefetch(TWO_ASSERTS, right, LIMITS)
    runner.prefetch(TWO_ASSERTS, wrong, LIMITS)  # one at a time: ignored
    assert runner.run(TWO_ASSERTS, right, LIMITS).kind == "passed"
    verdict = runner.run(TWO_ASSERTS, wrong, LIMITS)
    assert verdict.kind == "failed" and not verdict.reused


def test_a_sample_started_ahead_but_not_asked_for_next(runner: SandboxRunner) -> None:
    right, wrong = completion(0, "    return n\n"), completion(1, "    return n + 1\n")
    runner.prefetch(TWO_ASSERTS, right, LIMITS)
    assert runner.run(TWO_ASSERTS, wrong, LIMITS).kind == "failed"
    early = runner.run(TWO_ASSERTS, right, LIMITS)
    assert early.kind == "passed" and not early.reused, "ran once, so not a reused verdict"
    assert runner.run(TWO_ASSERTS, right, LIMITS).reused


def test_a_sample_started_ahead_survives_a_server_restart(runner: SandboxRunner) -> None:
    right = completion(0, "    return n\n")
    runner.prefetch(TWO_ASSERTS, right, LIMITS)
    runner.close()
    assert runner.run(TWO_ASSERTS, right, LIMITS).kind == "passed"


@pytest.fixture
def runner_without_clone() -> Iterator[SandboxRunner]:
    """A runner whose server forks sample processes as on a machine where clone(2) is
    unknown: fork() twice, the server adopting each sample process as a subreaper."""
    sandbox_runner = SandboxRunner(server_options=[NO_CLONE])
    yield sandbox_runner
    sandbox_runner.close()


def test_sample_processes_forked_without_clone(runner_without_clone: SandboxRunner) -> None:
    assert judge(runner_without_clone, TWO_ASSERTS, "def f(n):\n    return n\n") == "passed"
    assert runner_without_clone.isolation["processes"] == "process group"
    assert judge(runner_without_clone, TWO_ASSERTS, "def f(n):\n    return 0\n").startswith("failed")
    exits = "import os\ndef f(n):\n    os._exit(0)\n"
    assert judge(runner_without_clone, TWO_ASSERTS, exits).startswith("error")


def test_every_sample_process_starts_with_the_same_random_state(runner: SandboxRunner) -> None:
    """Samples that use ``random`` get reproducible verdicts: each sample process starts
    as if seeded with 0, not where the last one stopped."""
    expected = [random.Random(0).random()]
    draws = make_problem(f"""
        def check(candidate):
            assert candidate(0) == {expected!r}
    """)
    draw = "import random\ndef f(n):\n    return [random.random()]\n"
    assert [judge(runner, draws, draw) for _ in range(3)] == ["passed"] * 3
    assert judge(runner, draws, "import random\nrandom.random()\n" + draw).startswith("failed")


@pytest.mark.parametrize(
    "module, use",
    [
        ("numpy", "int(numpy.arange(n).sum())"),
        ("multiprocessing", "multiprocessing.cpu_count() * 0 + n * (n - 1) // 2"),
    ],
    ids=["numpy", "multiprocessing"],
)
def test_a_sample_may_import_what_the_reference_imported_before_its_guard(
    runner: SandboxRunner, module: str, use: str
) -> None:
    """The reference harness's samples find these modules imported, so completions that
    import them pass there; here their import must work under the guard as well."""
    sums = make_problem("""
        def check(candidate):
            assert candidate(4) == 6
            assert candidate(3) == 3
    """)
    program = f"import {module}\ndef f(n):\n    return {use}\n"
    assert judge(runner, sums, program) == "passed"
    assert judge(runner, sums, program.replace("n - 1", "n + 1").replace("sum()", "prod()")).startswith(
        "failed"
    )


def test_jobs_spread_over_several_servers_keep_their_order(runner: SandboxRunner) -> None:
    """Calibration runs canonical solutions on several servers side by side."""
    problem = make_problem("""
        def check(candidate):
            assert candidate(2) == 2
    """)
    bodies = ["def f(n):\n    return n\n", "def f(n):\n    return 0\n", "def f(n):\n    return n\n"] * 3
    bodies += ["def f(n):\n    raise ValueError(n)\n"]
    helper = SandboxRunner()
    try:
        verdicts = runner_module.run_codes([runner, helper], [(problem, body) for body in bodies], LIMITS)
    finally:
        helper.close()
    assert [verdict.kind for verdict in verdicts] == ["passed", "failed", "passed"] * 3 + ["error"]
    assert runner.isolation and helper.isolation


def test_a_free_server_takes_the_next_job_without_waiting_for_the_others(runner: SandboxRunner) -> None:
    """Two 3 s jobs, the second behind a quick one: the server that did the quick job takes
    it while the other still runs the first, so both end after about 3 s, not 6 s (sleeping
    takes the same time however busy the machine)."""
    problem = make_problem("""
        def check(candidate):
            assert candidate(2) == 2
    """)
    sleeper = "import time\ndef f(n):\n    time.sleep(3.0)\n    return n\n"
    quick = "def f(n):\n    return n\n"
    helper = SandboxRunner()
    try:
        helper.run_code(problem, quick, LIMITS)  # both servers ready before the clock starts
        runner.run_code(problem, quick, LIMITS)
        started = time.monotonic()
        long_limits = dataclasses.replace(LIMITS, timeout=10.0)
        verdicts = runner_module.run_codes(
            [runner, helper], [(problem, sleeper), (problem, quick), (problem, sleeper)], long_limits
        )
        elapsed = time.monotonic() - started
        assert [verdict.kind for verdict in verdicts] == ["passed"] * 3
        assert elapsed < 5.5, f"{elapsed:.2f} s: the jobs ran one server after the other"
        assert (
            runner_module.run_codes([runner, helper], [(problem, quick)], LIMITS)[0].kind == "passed"
        )  # a server idle
    finally:
        helper.close()


@pytest.mark.parametrize("ahead", [False, True])
def test_only_verdicts_of_repeated_samples_are_kept(runner: SandboxRunner, ahead: bool) -> None:
    """A runner told which samples repeat keeps only their verdicts: its memory does not
    grow with the number of distinct samples, and a repeated sample still runs once."""
    once, twice = completion(0, "    return n\n"), completion(1, "    return n + 1\n")
    twice_again = completion(2, twice.text)
    keys = [verdict_key(TWO_ASSERTS, sample_code(TWO_ASSERTS, s), LIMITS) for s in (once, twice)]
    runner.repeated_keys = frozenset(keys[1:])
    for sample, following in ((once, twice), (twice, None)):
        if ahead and following is not None:
            runner.prefetch(TWO_ASSERTS, following, LIMITS)
        assert not runner.run(TWO_ASSERTS, sample, LIMITS).reused
    assert runner.run(TWO_ASSERTS, twice_again, LIMITS).reused
    assert not runner.run(TWO_ASSERTS, completion(3, once.text), LIMITS).reused  # not kept: runs again


def test_verdict_keys_change_with_the_harness_source(tmp_path: Path) -> None:
    """A cached verdict is not reused once any file that decides verdicts changed (the
    judge, the sample process, the program sent), even under the same version number (a
    development install)."""
    package = Path(keys.__file__).parent
    decisive = {
        package / "runner.py",
        package / "keys.py",
        package / "model.py",
        package / "_sandbox_main.py",
    }
    decisive |= set((package / "_sandbox").glob("*.py"))
    assert (package / "_sandbox" / "judge.py") in decisive
    assert decisive <= set(keys.HARNESS_FILES)
    assert keys.HARNESS_DIGEST == keys.harness_digest(keys.HARNESS_FILES)
    copies = []
    for number, path in enumerate(keys.HARNESS_FILES):
        copy = tmp_path / f"{number}-{path.name}"
        copy.write_bytes(path.read_bytes())
        copies.append(copy)
    for copy in copies:
        original = copy.read_bytes()
        copy.write_bytes(original + b"# changed\n")
        assert keys.harness_digest(copies) != keys.HARNESS_DIGEST, copy.name
        copy.write_bytes(original)
    assert keys.harness_digest(copies) == keys.HARNESS_DIGEST


def test_the_sandbox_imports_only_the_standard_library_and_itself() -> None:
    """The server imports the sandbox as a top-level package, beside nothing of pytest or
    of the plugin: each of its modules imports the standard library, or a sibling
    relatively (so the same files serve as ``pytest_humaneval._sandbox`` in pytest)."""
    outside = []
    modules = sorted((Path(keys.__file__).parent / "_sandbox").glob("*.py"))
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [] if node.level == 1 else [node.module or ""]
            else:
                continue
            outside += [
                f"{path.name}: {name}" for name in names if name.split(".")[0] not in sys.stdlib_module_names
            ]
    assert len(modules) > 5
    assert outside == []


def test_server_closes_cleanly_when_a_sample_process_was_reaped_already(tmp_path: Path) -> None:
    """A SIGTERM can stop the server just after it reaped a sample process, before it noted
    so: closing must not wait for that process again, and must still remove its directory."""
    request = {
        "test": TWO_ASSERTS.test,
        "entry_point": TWO_ASSERTS.entry_point,
        "code": TWO_ASSERTS.prompt + "    return n\n",
        "limits": dataclasses.asdict(LIMITS),
    }
    script = tmp_path / "reaped_already.py"
    script.write_text(
        "import os, sys\n"
        f"sys.path.insert(0, {str(runner_module.SANDBOX_SCRIPT.parent)!r})\n"
        "from _sandbox.server import Server\n"
        "server = Server()\n"
        f"verdict = server.run({request!r})\n"
        "os.waitpid(server.killed.pid, 0)\n"
        "server.close()\n"
        "print(verdict['kind'], os.path.exists(server.tmp_root))\n"
    )
    done = subprocess.run([sys.executable, "-s", str(script)], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["passed", "False"], done.stderr


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_directory_of_a_killed_server_is_removed(runner: SandboxRunner) -> None:
    assert judge(runner, TWO_ASSERTS, "def f(n):\n    return n\n") == "passed"
    root = Path(runner.isolation["work_directory"]).parent
    assert root.is_dir()
    process = runner.server_process
    assert process is not None
    process.kill()
    process.wait()
    runner.close()
    assert not root.exists()


def test_a_samples_time_never_decreases(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waits for a CPU can grow faster than the wall time between two looks (the sample
    still runs while the judge decides it timed out): the time reported must not shrink
    below the one that decided the timeout."""
    judge_end, sample_end = socket.socketpair()
    with judge_end, sample_end:
        sample = SampleProcess(os.getpid(), judge_end, -1)
        sample.slowdown_cap = 3.0
        sample.started = time.monotonic() - 1.0
        waits = iter([0.0, 0.6])  # 0.6 s of CPU waits counted between the two looks
        monkeypatch.setattr(sample, "cpu_waits", lambda: next(waits))
        first = sample.elapsed()
        assert first >= 1.0
        assert sample.elapsed() >= first


PARENT_DEATHS = 15


def test_server_cleans_up_when_its_pytest_process_dies(tmp_path: Path) -> None:
    """The server's parent-death signal is SIGTERM: it ends its samples, removes its directory.

    The signal comes just after the end of the server's input, so it may land as the server
    stops serving on its own: before that was handled, about one death in ten left the
    directory behind (0 of 100 after). Several deaths make such a race likely to show."""
    script = tmp_path / "dies.py"
    script.write_text(
        "import os\n"
        "from pytest_humaneval.runner import Limits, SandboxRunner\n"
        "from pytest_humaneval.loading import Problem\n"
        "runner = SandboxRunner()\n"
        f"problem = Problem('calls/0', 'def f(n):\\n', 'f', '', {TWO_ASSERTS.test!r})\n"
        "limits = Limits(timeout=2.0, memory=1 << 30)\n"
        "verdict = runner.run_code(problem, 'def f(n):\\n    return n\\n', limits)\n"
        "print(verdict.kind, runner.isolation['work_directory'], flush=True)\n"
        "os._exit(0)\n"
    )
    roots = []
    for _ in range(PARENT_DEATHS):
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
        kind, work_directory = done.stdout.split()
        assert kind == "passed", done.stderr
        roots.append(Path(work_directory).parent)
    assert wait_for(lambda: not any(root.exists() for root in roots)), [r for r in roots if r.exists()]


def test_a_server_told_to_stop_exits_on_its_own_and_is_waited_for_later(runner: SandboxRunner) -> None:
    """``close(wait=False)`` (calibration helpers) returns at once; the server cleans up and
    exits by itself, and the next ``close`` reaps it."""
    problem = make_problem("""
        def check(candidate):
            assert candidate(2) == 2
    """)
    assert runner.run_code(problem, "def f(n):\n    return n\n", LIMITS).kind == "passed"
    process = runner.server_process
    assert process is not None
    work_root = Path(runner.isolation["work_directory"]).parent
    runner.close(wait=False)
    assert process.wait(timeout=10) == 0  # it exits without being waited for or signalled
    assert not work_root.exists()  # having removed its own directory
    assert process.stdout is not None and not process.stdout.closed
    runner.close()
    assert process.stdout.closed
    assert runner.run_code(problem, "def f(n):\n    return n\n", LIMITS).kind == "passed"  # a new server


def test_a_program_larger_than_a_samples_reply_runs(runner: SandboxRunner) -> None:
    """A request is trusted and may exceed the cap on what a sample sends (64 MiB): a
    completion with a 65 MiB comment runs as in the reference harness (it crashed the
    exchange with the server before)."""
    problem = make_problem("def check(candidate):\n    assert candidate(2) == 2\n")
    padding = "# " + "x" * (MAX_MESSAGE + (1 << 20)) + "\n"
    assert judge(runner, problem, "def f(n):\n    return n\n" + padding) == "passed"


def test_a_program_too_large_to_send_is_an_error(
    runner: SandboxRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "MAX_REQUEST", 1 << 20)
    problem = make_problem("def check(candidate):\n    assert candidate(2) == 2\n")
    padding = "# " + "x" * (2 << 20) + "\n"
    assert judge(runner, problem, "def f(n):\n    return n\n" + padding) == (
        "error: the program (2 MiB) is larger than the sandbox takes (1 MiB)"
    )
    assert judge(runner, problem, "def f(n):\n    return n\n") == "passed"  # the next one runs
