"""Robustness of whole sessions: real pytest processes, real signals, real dead workers.

Every test starts ``python -m pytest`` in its own ``tmp_path`` (that directory is
the run's marker: the sandbox servers inherit it as their working directory) and
watches the run's process tree through ``/proc`` while it goes on, so that it can
tell afterwards whether any process of *this* run outlived the session, even on
a machine where other sessions run sandboxes at the same time.

The samples are generated from the demo problems: correct completions made unique
by a trailing comment, some of them slow (``time.sleep`` before the right answer)
so that a run lasts long enough to be interrupted after a few verdicts.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_humaneval._sandbox import tempfiles
from pytest_humaneval._sandbox.tempfiles import ABANDONED_AFTER, TEMPORARY_PREFIX

try:
    from conftest import DEMO_PROBLEMS
except ImportError:  # pragma: no cover - the repository root is not on sys.path
    DEMO_PROBLEMS = Path(__file__).resolve().parents[1] / "problems" / "demo.jsonl"

DEMO_SAMPLES_FILE = DEMO_PROBLEMS.with_name("demo-samples.jsonl")

RUN_TIMEOUT = 120.0
"""Upper bound for any one pytest run (they take seconds; this only keeps a hang bounded)."""
SIGNAL_TO_EXIT_LIMIT = 30.0
"""An interrupted session must end this soon after the signal (observed: 0.2 to 1.5 s idle,
more on a busy machine). The samples left when it is signalled sleep far longer than that
(see ``INTERRUPT_SAMPLES``), so a session that ran them to the end would exceed it."""
LEFTOVER_GRACE = 10.0
"""How long processes of a finished run may take to disappear (waited for as a condition:
milliseconds when idle; a process that outlives its session stays for good)."""
POLL = 0.05

CORRECT_BODIES = {
    "Demo/0": "    return a + b\n",
    "Demo/1": "    return text == text[::-1]\n",
    "Demo/2": (
        "    result = []\n"
        "    for number in numbers:\n"
        "        result.append(number if not result else max(result[-1], number))\n"
        "    return result\n"
    ),
    "Demo/3": '    return sum(1 for letter in word.lower() if letter in "aeiou")\n',
}
WRONG_BODIES = {  # an assertion of the problem's test fails: "failed"
    "Demo/0": "    return a - b\n",
    "Demo/1": "    return len(text) > 100\n",
    "Demo/2": "    return sorted(numbers)\n",
    "Demo/3": "    return len(word)\n",
}
ERROR_BODIES = {  # an exception other than AssertionError: "error"
    "Demo/0": "    return a + undefined_name\n",
    "Demo/1": "    return text[0] == text[-1]\n",
    "Demo/2": "    return numbers[0] + None\n",
    "Demo/3": "    return word.count(vowel)\n",
}
SLEEP_SECONDS = 0.1
"""A slow sample sleeps this long on each call (the demo tests call the candidate 3 times)."""
SLEEP = f"    import time\n    time.sleep({SLEEP_SECONDS})\n"
TASKS = list(CORRECT_BODIES)
OUTCOME_KINDS = ("passed", "failed", "error", "timed out", "crashed")
REUSED_LINE = re.compile(r"^reused    (\d+) verdicts from the cache or identical samples$")
OUTCOME_LINE = re.compile(r"(passed|failed|error|timed out|crashed) (\d+)")


# -- samples ------------------------------------------------------------------------------------------


def sample_row(number: int, tag: str, kind: str = "passed", slow: bool = False) -> dict[str, Any]:
    """Sample ``number`` (task Demo/<number % 4>), unique through its trailing comment."""
    task = TASKS[number % len(TASKS)]
    body = {"passed": CORRECT_BODIES, "failed": WRONG_BODIES, "error": ERROR_BODIES}[kind][task]
    return {
        "task_id": task,
        "completion": (SLEEP if slow else "") + body + f"    # {tag} sample {number}\n",
        "seq": number,
    }


def correct_rows(count: int, tag: str, slow_every: int = 1) -> list[dict[str, Any]]:
    """``count`` correct samples; every ``slow_every``-th one sleeps before answering."""
    return [sample_row(n, tag, slow=slow_every > 0 and n % slow_every == 0) for n in range(count)]


def write_rows(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def read_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def complete_lines(path: Path) -> list[dict[str, Any]]:
    """The complete lines the results file holds so far (it grows while the run goes on)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]


def without_duration(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in record.items() if key != "duration"} for record in records]


def humaneval_args(samples: Path | str, *extra: str, timeout: str = "1") -> list[str]:
    return [
        f"--humaneval-problems={DEMO_PROBLEMS}",
        f"--humaneval-samples={samples}",
        f"--humaneval-timeout={timeout}",
        *extra,
    ]


# -- processes ----------------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def now_in_ticks() -> int:
    """The current time in the unit of /proc/<pid>/stat's start time (ticks since boot)."""
    with open("/proc/uptime", encoding="ascii") as stream:
        return int(float(stream.read().split()[0]) * CLOCK_TICKS)


class Process:
    """One line of the process table."""

    def __init__(self, pid: int, ppid: int, start: int, cmdline: str) -> None:
        self.pid, self.ppid, self.start, self.cmdline = pid, ppid, start, cmdline

    @property
    def key(self) -> tuple[int, int]:
        return (self.pid, self.start)

    @property
    def is_sandbox(self) -> bool:
        return "_sandbox_main.py" in self.cmdline

    def cwd(self) -> str | None:
        try:
            return os.readlink(f"/proc/{self.pid}/cwd")
        except OSError:
            return None

    def __repr__(self) -> str:
        return f"<pid {self.pid} ppid {self.ppid} start {self.start}: {self.cmdline[:100]}>"


def process_table() -> dict[int, Process]:
    table: dict[int, Process] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="utf-8", errors="replace") as stream:
                stat = stream.read()
            with open(f"/proc/{name}/cmdline", "rb") as stream:
                cmdline = stream.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:  # it ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(name)] = Process(int(name), int(fields[1]), int(fields[19]), cmdline)
    return table


def ancestors(table: dict[int, Process], process: Process) -> Iterable[Process]:
    """``process`` and its parents, up to the first one not in ``table``."""
    seen: set[int] = set()
    current: Process | None = process
    while current is not None and current.pid not in seen:
        seen.add(current.pid)
        yield current
        current = table.get(current.ppid)


def clean_environment() -> dict[str, str]:
    """The environment for a nested pytest: none of the outer session's ``PYTEST_*`` variables."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}


def _default_sigint() -> None:
    # A shell starts background jobs with SIGINT ignored, and Python keeps an ignored
    # SIGINT ignored: restore the default so that the run reacts to Ctrl-C as in a terminal.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Run:
    """A ``python -m pytest`` session in its own process group, watched through /proc."""

    def __init__(self, cwd: Path, args: Sequence[str], name: str = "run") -> None:
        self.cwd = cwd
        self.name = name
        self.args = list(args)
        self.since = now_in_ticks() - 1
        self.output_path = cwd / f"{name}.out"
        self.tracked: dict[tuple[int, int], Process] = {}
        """Every process seen in the run's tree (the pytest process, workers, sandboxes)."""
        self.sandbox_dirs: set[str] = set()
        """Working directories of the run's sandbox processes (sample processes work elsewhere)."""
        self.signalled_at: float | None = None
        self.ended_at: float | None = None
        with open(self.output_path, "wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pytest", "-p", "no:randomly", *self.args],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=clean_environment(),
                start_new_session=True,
                preexec_fn=_default_sigint,
            )
        self.started_at = time.monotonic()
        self.watch()

    # -- watching ---------------------------------------------------------------------------

    def watch(self) -> dict[int, Process]:
        """Note every live process of the run's tree (descendants of pytest, or of one already noted)."""
        table = process_table()
        for process in table.values():
            if process.start < self.since:
                continue
            for ancestor in ancestors(table, process):
                if ancestor.pid == self.process.pid or ancestor.key in self.tracked:
                    if process.cmdline or process.key not in self.tracked:  # a zombie has no cmdline
                        self.tracked[process.key] = process
                    if process.is_sandbox:
                        directory = process.cwd()
                        if directory is not None:
                            self.sandbox_dirs.add(directory)
                    break
        return table

    def returncode(self) -> int | None:
        code = self.process.poll()
        if code is not None and self.ended_at is None:
            self.ended_at = time.monotonic()
        return code

    def wait_for_verdicts(self, results: Path, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Poll the streamed results file until it holds ``count`` verdicts; return them."""
        deadline = time.monotonic() + timeout
        while True:
            self.watch()
            records = complete_lines(results)
            if len(records) >= count:
                return records
            if self.returncode() is not None:
                pytest.fail(f"the run ended before {count} verdicts (it has {len(records)}):\n{self.output}")
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"no {count} verdicts after {timeout} s:\n{self.output}")
            time.sleep(POLL)

    def wait(self, timeout: float = RUN_TIMEOUT) -> int:
        """Wait for the session to end (watching its tree meanwhile); return its exit status."""
        deadline = time.monotonic() + timeout
        while True:
            self.watch()
            code = self.returncode()
            if code is not None:
                return code
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"the run did not end within {timeout} s:\n{self.output}")
            time.sleep(POLL)

    # -- signals ----------------------------------------------------------------------------

    def signal_group(self, number: int) -> None:
        """Signal the run's process group (what a terminal does on Ctrl-C)."""
        self.watch()
        self.signalled_at = time.monotonic()
        os.killpg(self.process.pid, number)

    def signal_main(self, number: int) -> None:
        """Signal the main pytest process only (what ``kill PID`` does)."""
        self.watch()
        self.signalled_at = time.monotonic()
        os.kill(self.process.pid, number)

    def kill(self) -> None:
        """Clean up after a failed test: SIGKILL the run's own process group."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()

    def seconds_from_signal_to_end(self) -> float:
        assert self.signalled_at is not None and self.ended_at is not None
        return self.ended_at - self.signalled_at

    # -- afterwards -------------------------------------------------------------------------

    @property
    def output(self) -> str:
        return self.output_path.read_text(encoding="utf-8", errors="replace")

    @property
    def lines(self) -> list[str]:
        return self.output.splitlines()

    def workers(self) -> list[Process]:
        """The run's xdist workers: children of the main pytest process running execnet's bootstrap."""
        table = self.watch()
        return [
            process
            for process in table.values()
            if process.ppid == self.process.pid
            and process.start >= self.since
            and (
                "-c" in process.cmdline.split() or "execnet" in process.cmdline or "xdist" in process.cmdline
            )
        ]

    def leftovers(self) -> list[Process]:
        """Live processes of this run: noted in its tree, or sandboxes started since the run
        began that descend from one, or work in its directory or in one of its sandboxes'."""
        table = process_table()
        marker = str(self.cwd)
        left = []
        for process in table.values():
            if process.start < self.since or process.pid == os.getpid():
                continue
            if process.key in self.tracked:
                left.append(process)
                continue
            if not process.is_sandbox:
                continue
            directory = process.cwd() or ""
            if (
                any(a.key in self.tracked or a.pid == self.process.pid for a in ancestors(table, process))
                or directory == marker
                or directory.startswith(marker + os.sep)
                or directory in self.sandbox_dirs
            ):
                left.append(process)
        return left

    def assert_nothing_left(self, sandboxes: bool = True) -> None:
        """No process of the run is alive ``LEFTOVER_GRACE`` seconds after it ended.

        ``sandboxes``: whether the run started sandbox servers (one that only reuses
        cached verdicts starts none).
        """
        assert self.process.poll() is not None
        started = [p for p in self.tracked.values() if p.is_sandbox]
        assert bool(started) == sandboxes, started
        deadline = time.monotonic() + LEFTOVER_GRACE
        while True:
            left = self.leftovers()
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert not left, f"processes of the run still alive {LEFTOVER_GRACE} s after it ended: {left}"


@pytest.fixture
def runs() -> Iterable[list[Run]]:
    """Runs started by a test; whatever is still running when the test ends is killed."""
    started: list[Run] = []
    yield started
    for run in started:
        run.kill()


def start(runs: list[Run], cwd: Path, args: Sequence[str], name: str = "run") -> Run:
    run = Run(cwd, args, name)
    runs.append(run)
    return run


def wait_all(together: Iterable[Run], timeout: float = RUN_TIMEOUT) -> None:
    """Wait for sessions running at the same time, watching all their trees meanwhile."""
    waiting = list(together)
    deadline = time.monotonic() + timeout
    while waiting:
        for run in waiting:
            run.watch()
        waiting = [run for run in waiting if run.returncode() is None]
        if waiting and time.monotonic() > deadline:
            for run in waiting:
                run.kill()
            pytest.fail(f"{len(waiting)} runs did not end within {timeout} s")
        time.sleep(POLL)


def start_with_outputs(
    runs: list[Run], cwd: Path, rows: list[dict[str, Any]], *extra: str
) -> tuple[Run, Path, Path]:
    """Start a run over ``rows`` (no verdict cache) writing results and summary; the run
    and the two paths."""
    samples = write_rows(cwd / "samples.jsonl", rows)
    results, summary_path = cwd / "results.jsonl", cwd / "summary.json"
    args = humaneval_args(
        samples,
        f"--humaneval-results={results}",
        f"--humaneval-json={summary_path}",
        "--humaneval-no-cache",
        *extra,
    )
    return start(runs, cwd, args), results, summary_path


def run_to_end(runs: list[Run], cwd: Path, args: Sequence[str], name: str = "run") -> Run:
    run = start(runs, cwd, args, name)
    run.wait()
    return run


# -- reading a session's terminal output ------------------------------------------------------------


def table_counts(run: Run) -> dict[str, int]:
    """The ``outcomes`` line of the humaneval table."""
    found = [line for line in run.lines if line.startswith("outcomes  ")]
    assert len(found) == 1, run.output
    return {kind: int(count) for kind, count in OUTCOME_LINE.findall(found[0])}


def reused_count(run: Run) -> int:
    """N of the ``reused    N verdicts ...`` line; 0 when there is none."""
    found = [int(m.group(1)) for line in run.lines if (m := REUSED_LINE.match(line))]
    assert len(found) <= 1, run.output
    return found[0] if found else 0


def has_humaneval_table(run: Run) -> bool:
    return any(re.fullmatch(r"=+ humaneval =+", line) for line in run.lines)


def error_lines(run: Run) -> list[str]:
    return [line for line in run.lines if line.startswith("ERROR:")]


# == 1. interrupts ===================================================================================

INTERRUPT_SAMPLES = 500
"""0.3 s of sleep each (sleep is not shortened by a fast machine): a whole run would take 75 s
and more even on two workers, over twice ``SIGNAL_TO_EXIT_LIMIT``; it is interrupted after a few."""
FINISHED_BEFORE_SIGNAL = 3


def assert_interrupted_run(
    run: Run, rows: list[dict[str, Any]], seen: list[dict[str, Any]], results: Path, summary_path: Path
) -> dict[str, Any]:
    """Everything an interrupted session must leave behind; returns its summary."""
    code = run.returncode()
    assert code == pytest.ExitCode.INTERRUPTED, run.output
    elapsed = run.seconds_from_signal_to_end()
    assert elapsed < SIGNAL_TO_EXIT_LIMIT, f"the session ended {elapsed:.1f} s after the signal"

    summary: dict[str, Any] = read_json(summary_path)
    total = len(rows)
    assert summary["samples"] == total
    assert summary["partial"] is True
    assert summary["interrupted"] is True
    assert summary["finished"] + summary["missing"] == total
    assert sum(summary["counts"].values()) == summary["finished"]
    assert set(summary["counts"]) == set(OUTCOME_KINDS)
    # Every sample is correct: a finished one passed (an interrupted one is not a verdict).
    assert summary["counts"]["passed"] == summary["finished"], summary["counts"]
    assert len(seen) <= summary["finished"] < total

    # The terminal: the humaneval table over the finished samples, flagged PARTIAL.
    assert has_humaneval_table(run), run.output
    assert f"PARTIAL: {summary['missing']} of {total} samples have no verdict; the run was interrupted" in (
        run.lines
    ), run.output
    assert any(f"{summary['finished']} of {total} samples finished" in line for line in run.lines), run.output
    assert table_counts(run) == summary["counts"]

    # The results file: every sample in input order, finished ones with their verdict.
    records = read_rows(results)
    assert len(records) == total
    assert [(r["task_id"], r["completion"], r["seq"]) for r in records] == [
        (r["task_id"], r["completion"], r["seq"]) for r in rows
    ]
    finished = [r for r in records if r["outcome"] != "not run"]
    assert len(finished) == summary["finished"]
    for record in finished:
        assert record["outcome"] == "passed" and record["passed"] is True, record
        assert record["result"] == "passed"
        assert isinstance(record["duration"], float)
        # A real run: a slow sample slept (three calls; the duration discounts CPU waits).
        assert record["duration"] >= (2 * SLEEP_SECONDS if "time.sleep" in record["completion"] else 0.0)
    for record in records:
        if record["outcome"] == "not run":
            assert record["passed"] is None and record["result"] is None and record["duration"] is None
    # The verdicts streamed before the signal are all in the final file.
    by_seq = {r["seq"]: r for r in records}
    for record in seen:
        assert by_seq[record["seq"]] == record
    return summary


@pytest.mark.parametrize(
    ("signal_number", "target"),
    [(signal.SIGINT, "group"), (signal.SIGTERM, "main")],
    ids=["sigint-to-group", "sigterm-to-main"],
)
def test_signal_in_the_middle_of_a_run(
    tmp_path: Path, runs: list[Run], worker_args: list[str], signal_number: int, target: str
) -> None:
    rows = correct_rows(INTERRUPT_SAMPLES, tag=tmp_path.name)
    run, results, summary_path = start_with_outputs(runs, tmp_path, rows, *worker_args)
    seen = run.wait_for_verdicts(results, FINISHED_BEFORE_SIGNAL)
    if target == "group":
        run.signal_group(signal_number)
    else:
        run.signal_main(signal_number)
    run.wait(timeout=SIGNAL_TO_EXIT_LIMIT + 20)
    if signal_number == signal.SIGTERM:
        assert "KeyboardInterrupt: received signal 15" in run.output
    assert_interrupted_run(run, rows, seen, results, summary_path)
    run.assert_nothing_left()


# == 2. resuming an interrupted run ===================================================================


def test_rerun_after_interrupt_runs_only_what_is_missing(
    tmp_path: Path, runs: list[Run], worker_args: list[str]
) -> None:
    """Ctrl-C, then the same command again: the cached verdicts are reused, the rest run,
    and the final results equal those of a run that was never interrupted."""
    rows = correct_rows(16, tag="resume", slow_every=2)
    interrupted_dir, reference_dir = tmp_path / "interrupted", tmp_path / "reference"
    interrupted_dir.mkdir()
    reference_dir.mkdir()
    args = humaneval_args(
        "samples.jsonl", "--humaneval-results=results.jsonl", "--humaneval-json=summary.json", *worker_args
    )
    for directory in (interrupted_dir, reference_dir):
        write_rows(directory / "samples.jsonl", rows)

    first = start(runs, interrupted_dir, args, name="first")
    seen = first.wait_for_verdicts(interrupted_dir / "results.jsonl", FINISHED_BEFORE_SIGNAL)
    first.signal_group(signal.SIGINT)
    first.wait(timeout=SIGNAL_TO_EXIT_LIMIT + 20)
    interrupted_summary = assert_interrupted_run(
        first, rows, seen, interrupted_dir / "results.jsonl", interrupted_dir / "summary.json"
    )
    interrupted_results = read_rows(interrupted_dir / "results.jsonl")
    first.assert_nothing_left()

    reference = start(runs, reference_dir, args, name="reference")  # meanwhile: a separate directory
    second = start(runs, interrupted_dir, args, name="second")
    wait_all([reference, second])
    assert second.returncode() == 0, second.output
    assert reference.returncode() == 0, reference.output

    # Only the samples without a cached verdict ran again.
    assert reused_count(second) == interrupted_summary["finished"], second.output
    assert reused_count(reference) == 0, reference.output
    final = read_rows(interrupted_dir / "results.jsonl")
    for before, after in zip(interrupted_results, final, strict=True):
        if before["outcome"] != "not run":
            assert after == before  # the cached verdict itself, duration included

    summary = read_json(interrupted_dir / "summary.json")
    assert summary["partial"] is False and summary["interrupted"] is False
    assert summary["finished"] == len(rows) and summary["missing"] == 0
    assert summary["counts"] == {"passed": len(rows), "failed": 0, "error": 0, "timed out": 0, "crashed": 0}
    assert without_duration(final) == without_duration(read_rows(reference_dir / "results.jsonl"))
    assert "PARTIAL" not in second.output
    second.assert_nothing_left()
    reference.assert_nothing_left()


# == 3. a worker killed in the middle of a run =========================================================


@pytest.mark.parametrize("copies", [1, 2], ids=["distinct", "each twice"])
def test_killed_worker_gets_its_sample_counted_as_crashed(
    tmp_path: Path, runs: list[Run], copies: int
) -> None:
    """With copies, the plugin's xdist scheduler (which keeps copies together) is in use."""
    rows = correct_rows(24 // copies, tag=tmp_path.name) * copies
    run, results, summary_path = start_with_outputs(runs, tmp_path, rows, "-n", "2")
    run.wait_for_verdicts(results, 4)
    workers = run.workers()
    assert len(workers) == 2, workers
    victim = workers[0]
    os.kill(victim.pid, signal.SIGKILL)
    code = run.wait()
    output = run.output

    # xdist notices, blames the item the worker was running, and replaces the worker.
    crash_lines = re.findall(r"worker '(gw\d)' crashed while running '([^']+)'", output)
    assert crash_lines, output
    worker_name, crashed_node = crash_lines[0]
    assert "replacing crashed worker" in output, output

    # Every sample has a verdict: the killed one "crashed", the others passed.
    records = read_rows(results)
    assert len(records) == len(rows)
    assert [r["seq"] for r in records] == [r["seq"] for r in rows]
    assert not [r for r in records if r["outcome"] == "not run"], records
    crashed = [r for r in records if r["outcome"] != "passed"]
    assert len(crashed) == 1, crashed
    (lost,) = crashed
    assert lost["outcome"] == "crashed" and lost["passed"] is False
    assert lost["message"] == (
        f"the xdist worker running it died: worker '{worker_name}' crashed while running '{crashed_node}'"
    )
    assert lost["result"] == "failed: " + lost["message"]
    position = records.index(lost)
    index = sum(1 for r in records[:position] if r["task_id"] == lost["task_id"])
    assert crashed_node == f"{lost['task_id']}::{lost['task_id']}[{index}]"

    summary = read_json(summary_path)
    assert summary["finished"] == len(rows) and summary["missing"] == 0
    assert summary["counts"] == {
        "passed": len(rows) - 1,
        "failed": 0,
        "error": 0,
        "timed out": 0,
        "crashed": 1,
    }
    assert summary["interrupted"] is False
    # The lost sample counts as crashed, and the summary says the measurement is partial.
    assert summary["partial"] is True and summary["harness_failures"] == 1
    assert table_counts(run) == summary["counts"]

    # A harness failure is not a complete evaluation: exit 1, with the reason.
    assert code == pytest.ExitCode.TESTS_FAILED, output
    assert (
        "FAIL: 1 samples have no verdict of their own (counted as crashed): "
        "the harness failed, see their reports"
    ) in run.lines, output
    run.assert_nothing_left()


def run_and_kill_the_sandbox_server(tmp_path: Path, runs: list[Run]) -> tuple[Run, list[dict[str, Any]]]:
    """A serial run whose sandbox server is SIGKILLed in the middle; returns it and its results."""
    rows = correct_rows(12, tag=tmp_path.name)
    samples = write_rows(tmp_path / "samples.jsonl", rows)
    results = tmp_path / "results.jsonl"
    run = start(
        runs, tmp_path, humaneval_args(samples, f"--humaneval-results={results}", "--humaneval-no-cache")
    )
    run.wait_for_verdicts(results, 3)
    table = run.watch()
    servers = [
        p for p in table.values() if p.is_sandbox and p.ppid == run.process.pid and p.start >= run.since
    ]
    assert len(servers) == 1, servers
    os.kill(servers[0].pid, signal.SIGKILL)
    run.wait()
    records = read_rows(results)
    assert [r["seq"] for r in records] == [r["seq"] for r in rows]
    return run, records


def test_killed_sandbox_server_costs_one_sample(tmp_path: Path, runs: list[Run]) -> None:
    """The sample whose server died is "crashed"; a new server runs the rest; the run fails (exit 1)."""
    run, records = run_and_kill_the_sandbox_server(tmp_path, runs)
    assert not [r for r in records if r["outcome"] == "not run"], records
    crashed = [r for r in records if r["outcome"] != "passed"]
    assert len(crashed) == 1 and crashed[0]["outcome"] == "crashed", crashed
    assert "SandboxError" in crashed[0]["message"], crashed
    assert run.returncode() == pytest.ExitCode.TESTS_FAILED, run.output
    assert table_counts(run) == {"passed": 11, "failed": 0, "error": 0, "timed out": 0, "crashed": 1}
    assert (
        "FAIL: 1 samples have no verdict of their own (counted as crashed): "
        "the harness failed, see their reports"
    ) in run.lines, run.output
    servers = {p.key for p in run.tracked.values() if p.is_sandbox and p.ppid == run.process.pid}
    assert len(servers) == 2, "the samples after the crash run in a new server"
    run.assert_nothing_left()


def test_killed_sandbox_server_message_says_what_happened(tmp_path: Path, runs: list[Run]) -> None:
    _, records = run_and_kill_the_sandbox_server(tmp_path, runs)
    (crashed,) = [r for r in records if r["outcome"] == "crashed"]
    assert "the sandbox server exited unexpectedly" in crashed["message"], crashed["message"]


# == 4. verdicts do not depend on the number of workers =================================================


def reproducibility_rows() -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in DEMO_SAMPLES_FILE.read_text(encoding="utf-8").splitlines()]
    rows += [
        sample_row(0, "repro", slow=True),
        sample_row(1, "repro", kind="failed"),
        sample_row(2, "repro", kind="error"),
        {"task_id": "Demo/0", "completion": "    import ctypes\n    return ctypes.string_at(0)\n"},
        {
            "task_id": "Demo/3",
            "solution": 'def count_vowels(word):\n    return sum(c in "aeiouAEIOU" for c in word)\n',
        },
    ]
    return rows


WORKER_COUNTS = ("0", "1", "2", "auto")


def test_same_results_with_0_1_2_and_auto_workers(tmp_path: Path, runs: list[Run]) -> None:
    samples = write_rows(tmp_path / "samples.jsonl", reproducibility_rows())
    done = []
    for workers in WORKER_COUNTS:
        args = humaneval_args(
            samples,
            f"--humaneval-results=results-{workers}.jsonl",
            f"--humaneval-json=summary-{workers}.json",
            "--humaneval-no-cache",
            "-n",
            workers,
        )
        run = run_to_end(runs, tmp_path, args, name=f"n{workers}")
        assert run.returncode() == 0, run.output
        done.append(run)

    results = {w: read_rows(tmp_path / f"results-{w}.jsonl") for w in WORKER_COUNTS}
    summaries = {w: read_json(tmp_path / f"summary-{w}.json") for w in WORKER_COUNTS}
    assert [r["outcome"] for r in results["0"]] == [
        *["passed", "failed", "passed", "passed", "error", "passed"],
        *["passed", "timed out", "failed", "failed", "passed", "error"],
        *["passed", "failed", "error", "crashed", "passed"],
    ]
    for workers in WORKER_COUNTS[1:]:
        assert without_duration(results[workers]) == without_duration(results["0"]), workers
    for summary in summaries.values():
        summary.pop("versions")
        summary.pop("isolation")
    for workers in WORKER_COUNTS[1:]:
        assert summaries[workers] == summaries["0"], workers
    assert summaries["0"]["counts"] == {"passed": 8, "failed": 4, "error": 3, "timed out": 1, "crashed": 1}
    assert summaries["0"]["partial"] is False
    assert [reused_count(run) for run in done] == [0] * len(WORKER_COUNTS)
    for run in done:
        run.assert_nothing_left()


# == 5. concurrent sessions sharing one cache =========================================================


def test_concurrent_sessions_share_the_verdict_cache(tmp_path: Path, runs: list[Run]) -> None:
    """Two sessions in one rootdir at the same time, on different samples: both complete;
    then each, run again, reuses all of its verdicts."""
    rows = {
        "a": [
            sample_row(n, "a", kind=("failed" if n % 3 == 2 else "passed"), slow=n % 2 == 0)
            for n in range(12)
        ],
        "b": [
            sample_row(n, "b", kind=("error" if n % 4 == 1 else "passed"), slow=n % 2 == 1) for n in range(12)
        ],
    }
    expected = {
        "a": {"passed": 8, "failed": 4, "error": 0, "timed out": 0, "crashed": 0},
        "b": {"passed": 9, "failed": 0, "error": 3, "timed out": 0, "crashed": 0},
    }
    for name, sample_rows in rows.items():
        write_rows(tmp_path / f"samples-{name}.jsonl", sample_rows)

    def args(name: str, round_: int) -> list[str]:
        return humaneval_args(
            f"samples-{name}.jsonl",
            f"--humaneval-results=results-{name}-{round_}.jsonl",
            f"--humaneval-json=summary-{name}-{round_}.json",
        )

    for round_ in (1, 2):
        together = {name: start(runs, tmp_path, args(name, round_), name=f"{name}{round_}") for name in rows}
        wait_all(together.values())
        for name, run in together.items():
            assert run.returncode() == 0, run.output
            summary = read_json(tmp_path / f"summary-{name}-{round_}.json")
            assert summary["counts"] == expected[name], run.output
            assert summary["finished"] == 12 and summary["partial"] is False
            records = read_rows(tmp_path / f"results-{name}-{round_}.jsonl")
            assert [r["seq"] for r in records] == list(range(12))
            assert reused_count(run) == (0 if round_ == 1 else 12), run.output
            run.assert_nothing_left(sandboxes=round_ == 1)
    assert (tmp_path / ".pytest_cache" / "d" / "humaneval").is_dir()
    for name in rows:
        assert read_rows(tmp_path / f"results-{name}-2.jsonl") == read_rows(
            tmp_path / f"results-{name}-1.jsonl"
        )


# == 6. unwritable outputs fail before anything runs ==================================================


def slow_samples(tmp_path: Path) -> Path:
    """Samples that would take seconds to run (they sleep): a sandbox server that ran them
    lives long enough to be seen, so a failure that starts none proves none ran."""
    return write_rows(tmp_path / "samples.jsonl", correct_rows(24, tag=tmp_path.name))


def the_other_output(option: str) -> str:
    """The other output option, with a good path: it must not be written either."""
    if option == "--humaneval-results":
        return "--humaneval-json=summary.json"
    return "--humaneval-results=results.jsonl"


def assert_fails_early(run: Run, option: str, value: str, reason: str) -> None:
    assert run.returncode() == pytest.ExitCode.USAGE_ERROR, run.output
    errors = error_lines(run)
    assert len(errors) == 1, run.output
    assert f"{option}={value}" in errors[0], errors[0]
    assert reason in errors[0], errors[0]
    assert "Traceback" not in run.output
    assert not has_humaneval_table(run), run.output
    assert not (run.cwd / "results.jsonl").exists()
    assert not (run.cwd / "summary.json").exists()
    # Not an early failure if a sandbox server started: the samples sleep for seconds, so
    # one that ran them would have been seen by the watch (every 50 ms). No wall-clock bound
    # on the session: its start-up takes longer on a busy machine.
    servers = [p for p in run.tracked.values() if p.is_sandbox]
    assert not servers, f"a sandbox server ran: not an early failure: {servers}"


OUTPUT_OPTIONS = ["--humaneval-results", "--humaneval-json"]


@pytest.mark.parametrize("option", OUTPUT_OPTIONS)
def test_output_in_a_directory_that_cannot_be_created(tmp_path: Path, runs: list[Run], option: str) -> None:
    """A missing directory is created (as --junitxml does); one under a file cannot be."""
    samples = slow_samples(tmp_path)
    (tmp_path / "a-file").write_text("")
    value = "a-file/sub/out.json"
    run = run_to_end(runs, tmp_path, humaneval_args(samples, f"{option}={value}", the_other_output(option)))
    parent = tmp_path.resolve() / "a-file"
    assert_fails_early(run, option, value, f"cannot create {parent / 'sub'}: {parent} is not a directory")


@pytest.mark.parametrize("option", OUTPUT_OPTIONS)
def test_output_in_read_only_directory(tmp_path: Path, runs: list[Run], option: str) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: permission bits do not stop root from writing to a 0o500 directory")
    samples = slow_samples(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        value = f"{locked}/out.json"
        run = run_to_end(
            runs, tmp_path, humaneval_args(samples, f"{option}={value}", the_other_output(option))
        )
        assert_fails_early(run, option, value, f"directory {locked.resolve()} is not writable")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize(
    ("option", "target", "reason"),
    [
        ("--humaneval-results", "samples", "would overwrite the samples file samples.jsonl"),
        ("--humaneval-json", "symbolic link", "would overwrite the samples file samples.jsonl"),
        ("--humaneval-results", "hard link", "would overwrite the samples file samples.jsonl"),
        ("--humaneval-json", "problems", "would overwrite the problems file problems.jsonl"),
        ("--humaneval-json", "results", "would overwrite the output of --humaneval-results"),
    ],
)
def test_output_that_is_an_input_or_the_other_output(
    tmp_path: Path, runs: list[Run], option: str, target: str, reason: str
) -> None:
    """Writing an output over the samples (by any name), the problems or the other output
    would destroy them: refused before anything runs, every file left as it was."""
    samples = slow_samples(tmp_path)
    problems = tmp_path / "problems.jsonl"
    problems.write_bytes(DEMO_PROBLEMS.read_bytes())
    inputs = {path: path.read_bytes() for path in (samples, problems)}
    (tmp_path / "symbolic-link.jsonl").symlink_to(samples.name)
    os.link(samples, tmp_path / "hard-link.jsonl")
    value = {
        "samples": "samples.jsonl",
        "symbolic link": "symbolic-link.jsonl",
        "hard link": "hard-link.jsonl",
        "problems": "problems.jsonl",
        "results": "results.jsonl",
    }[target]
    args = humaneval_args("samples.jsonl", "--humaneval-problems=problems.jsonl", f"{option}={value}")
    if target == "results":
        args.append("--humaneval-results=results.jsonl")
    run = run_to_end(runs, tmp_path, args)
    assert_fails_early(run, option, value, reason)
    assert {path: path.read_bytes() for path in inputs} == inputs


UNWRITABLE_EVEN_FOR_ROOT = Path("/proc/sys")
"""No process can create a file there, whatever its privileges: a read-only directory for root too."""


@pytest.mark.parametrize("option", OUTPUT_OPTIONS)
def test_output_in_directory_nobody_can_write(tmp_path: Path, runs: list[Run], option: str) -> None:
    """The read-only case where the test cannot use permission bits (it runs as root)."""
    if not UNWRITABLE_EVEN_FOR_ROOT.is_dir() or os.access(UNWRITABLE_EVEN_FOR_ROOT, os.W_OK):
        pytest.skip(f"{UNWRITABLE_EVEN_FOR_ROOT} is not a directory this process cannot write to")
    samples = slow_samples(tmp_path)
    value = f"{UNWRITABLE_EVEN_FOR_ROOT}/humaneval-out.json"
    run = run_to_end(runs, tmp_path, humaneval_args(samples, f"{option}={value}", the_other_output(option)))
    assert_fails_early(run, option, value, f"directory {UNWRITABLE_EVEN_FOR_ROOT} is not writable")


@pytest.mark.parametrize("option", OUTPUT_OPTIONS)
def test_output_on_a_full_disk(tmp_path: Path, runs: list[Run], option: str, full_disk: Path) -> None:
    samples = slow_samples(tmp_path)
    value = f"{full_disk}/out.json"
    run = run_to_end(runs, tmp_path, humaneval_args(samples, f"{option}={value}", the_other_output(option)))
    assert_fails_early(run, option, value, "no space left on the device")


def test_results_path_that_is_a_directory(tmp_path: Path, runs: list[Run]) -> None:
    samples = slow_samples(tmp_path)
    (tmp_path / "outdir").mkdir()
    run = run_to_end(runs, tmp_path, humaneval_args(samples, "--humaneval-results=outdir"))
    assert run.returncode() == pytest.ExitCode.USAGE_ERROR, run.output
    errors = error_lines(run)
    assert len(errors) == 1, run.output
    assert "--humaneval-results=outdir" in errors[0], errors[0]


def test_json_path_that_is_a_directory(tmp_path: Path, runs: list[Run]) -> None:
    (tmp_path / "outdir").mkdir()
    run = run_to_end(
        runs,
        tmp_path,
        humaneval_args("canonical", "--humaneval-json=outdir", "--humaneval-results=results.jsonl"),
    )
    assert "Traceback" not in run.output, run.output
    assert run.returncode() == pytest.ExitCode.USAGE_ERROR, run.output
    errors = error_lines(run)
    assert len(errors) == 1 and "--humaneval-json=outdir" in errors[0], run.output
    assert not (tmp_path / "results.jsonl").exists()


# == 7. what a session killed with SIGKILL leaves behind =================================================


def temporary_entries(directory: Path) -> list[Path]:
    return sorted(path for path in directory.iterdir() if path.name.startswith(TEMPORARY_PREFIX))


def make_young(paths: Iterable[Path]) -> None:
    """Date ``paths`` now, so that they are young for ``ABANDONED_AFTER`` seconds from here,
    however long the killed session took on a busy machine."""
    for path in paths:
        os.utime(path, None, follow_symlinks=False)


def make_old(paths: Iterable[Path]) -> None:
    """Date ``paths`` back past the age at which unheld entries count as abandoned."""
    then = time.time() - ABANDONED_AFTER - 5
    for path in paths:
        os.utime(path, (then, then), follow_symlinks=False)


@pytest.mark.timeout(30)  # opening the FIFO to read would wait for ever
def test_only_old_unheld_entries_are_removed(tmp_path: Path) -> None:
    abandoned_file = tmp_path / f"{TEMPORARY_PREFIX}copy.jsonl"
    abandoned_file.write_text("{}\n")
    abandoned_dir = tmp_path / f"{TEMPORARY_PREFIX}server"
    (abandoned_dir / "work" / "locked").mkdir(parents=True)
    (abandoned_dir / "work" / "locked" / "file").write_text("x")
    (abandoned_dir / "work" / "locked").chmod(0o500)  # removed all the same
    held_file = tmp_path / f"{TEMPORARY_PREFIX}held.jsonl"
    held_file.write_text("{}\n")
    held_dir = tmp_path / f"{TEMPORARY_PREFIX}held-server"
    held_dir.mkdir()
    young = tmp_path / f"{TEMPORARY_PREFIX}young.jsonl"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    link = tmp_path / f"{TEMPORARY_PREFIX}link"
    link.symlink_to(outside)
    other = tmp_path / "other-prefix"
    other.write_text("x")
    fifo = tmp_path / f"{TEMPORARY_PREFIX}fifo"
    os.mkfifo(fifo)  # opening it to read would wait for a writer
    make_old([abandoned_file, abandoned_dir, held_file, held_dir, link, other, fifo])
    young.write_text("{}\n")
    holds = [tempfiles.hold(str(held_file)), tempfiles.hold(str(held_dir))]
    try:
        removed = tempfiles.remove_abandoned(str(tmp_path))
    finally:
        for descriptor in holds:
            os.close(descriptor)

    assert sorted(removed) == sorted([str(abandoned_file), str(abandoned_dir)])
    assert temporary_entries(tmp_path) == sorted([held_file, held_dir, young, link, fifo])
    assert (outside / "keep").exists() and other.exists()
    # Released, the held entries are abandoned too.
    assert sorted(tempfiles.remove_abandoned(str(tmp_path))) == sorted([str(held_file), str(held_dir)])


def gzip_slow_samples(tmp_path: Path, count: int) -> Path:
    rows = correct_rows(count, tag=tmp_path.name)
    path = tmp_path / "samples.jsonl.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(row) + "\n" for row in rows).encode()))
    return path


@pytest.fixture
def temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The ``TMPDIR`` of the sessions a test starts."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setenv("TMPDIR", str(directory))
    return directory


def kill_everything(run: Run) -> None:
    """SIGKILL the session at once, sandbox servers included: as the OOM killer or a CI
    runner's job timeout would (stopped first, so that nothing cleans up meanwhile)."""
    os.killpg(run.process.pid, signal.SIGSTOP)  # the pytest process and its xdist workers
    table = run.watch()
    servers = [table[p.pid] for p in run.tracked.values() if p.is_sandbox and p.pid in table]
    assert servers, run.output
    for server in servers:
        os.kill(server.pid, signal.SIGKILL)
    os.killpg(run.process.pid, signal.SIGKILL)
    run.process.wait()


@pytest.mark.parametrize("workers", ["0", "2"])
def test_next_session_removes_what_a_killed_session_left(
    tmp_path: Path, runs: list[Run], temporary: Path, workers: str
) -> None:
    samples = gzip_slow_samples(tmp_path, 20)
    results = tmp_path / "results.jsonl"
    args = humaneval_args(samples, "-n", workers, f"--humaneval-results={results}", "--humaneval-no-cache")
    killed = start(runs, tmp_path, args, name="killed")
    killed.wait_for_verdicts(results, 2)
    kill_everything(killed)
    killed.assert_nothing_left()
    left = temporary_entries(temporary)
    copies = [path for path in left if path.is_file()]
    assert len(copies) == 1 and copies[0].suffix == ".jsonl", left
    assert [path for path in left if path.is_dir()], left  # the sandbox servers' directories

    make_young(left)
    young = run_to_end(runs, tmp_path, humaneval_args("canonical", "--humaneval-no-cache"), name="young")
    assert young.returncode() == 0, young.output
    assert temporary_entries(temporary) == left  # a killed session's entries are kept a minute

    make_old(left)
    after = run_to_end(runs, tmp_path, humaneval_args("canonical", "--humaneval-no-cache"), name="after")
    assert after.returncode() == 0, after.output
    expected = (
        f"removed {len(left)} temporary files or directories that killed sessions left in "
        f"{temporary} (pytest-humaneval-*)"
    )
    assert expected in after.lines, after.output
    assert temporary_entries(temporary) == []


def test_a_live_session_keeps_its_temporary_files(tmp_path: Path, runs: list[Run], temporary: Path) -> None:
    samples = gzip_slow_samples(tmp_path, 12)
    results = tmp_path / "results.jsonl"
    args = humaneval_args(samples, f"--humaneval-results={results}", "--humaneval-no-cache")
    live = start(runs, tmp_path, args, name="live")
    live.wait_for_verdicts(results, 2)
    held = temporary_entries(temporary)
    assert len(held) == 2, held  # the gzip file's copy and the sandbox server's directory

    # Not dated back: that would change the copy under the session (it would stop).
    assert tempfiles.remove_abandoned(str(temporary), min_age=0) == []
    assert live.returncode() is None, "the session ended before the check"
    assert temporary_entries(temporary) == held

    assert live.wait() == 0, live.output
    assert [record["passed"] for record in read_rows(results)] == [True] * 12
    assert temporary_entries(temporary) == []
