"""The harness of the hostile samples' tests: a real sandbox server under a watchdog, the
problems the samples attack, and what is checked after each run.

Every completion is run by a real sandbox server (one per test module, restarted when a
sample manages to bring it down) with a 1 s time limit. After each run the test checks,
besides the verdict, that no process of the sample survives (hostile processes name
themselves ``hostile-<token>`` with ``prctl(PR_SET_NAME)``; /proc is scanned afterwards),
that the server has no child left, and that the server's temporary root
(``/tmp/pytest-humaneval-*``) holds no more entries than it did when it started.

A watchdog kills the server when a run does not come back about a second after its
allowance, so a sandbox bug that hangs the judge shows as a failing test, not as a hung
session. The allowance is ``TIMEOUT + SLACK`` seconds of wall time; it grows with the
machine's load average when that exceeds the number of CPUs, since the sandbox then
(deliberately) stops counting the time its processes wait for a CPU.

Test modules import the fixtures (``victim``, ``sandbox_server``, ``sb``, ``canary``) by name.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import secrets
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
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


def wait_until(condition: Callable[[], bool], seconds: float = GRACE) -> bool:
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
