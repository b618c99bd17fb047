"""Whole pytest sessions as watched processes: each started with ``python -m pytest`` in its
own ``tmp_path`` (that directory is the run's marker: the sandbox servers inherit it as
their working directory), its process tree watched through ``/proc`` while it goes on, so
that a test can tell afterwards whether any process of *this* run outlived the session,
even on a machine where other sessions run sandboxes at the same time. Also the samples
such a session runs, and readers of what it printed.

Test modules import the ``runs`` fixture by name.
"""

from __future__ import annotations

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

try:
    from support.problems import DEMO_PROBLEMS as DEMO_PROBLEMS  # re-exported for the tests
except ImportError:  # pragma: no cover - the repository root is not on sys.path
    DEMO_PROBLEMS = Path(__file__).resolve().parents[2] / "problems" / "demo.jsonl"

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
