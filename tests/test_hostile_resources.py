"""Hostile samples that hog time, memory or processes, or exit early: they must neither pass
nor hang, and leave nothing running (the harness: ``support/sandbox.py``).

Cases marked ``xfail(strict=True)`` with a reason starting with "BUG:" are sandbox bugs
found by this corpus; they are kept failing on purpose.
"""

from __future__ import annotations

import os
import subprocess
import textwrap

import pytest
from support.sandbox import (
    ADD,
    ADD_PROMPT,
    ADD_RIGHT,
    HANG_WATCHDOG,
    LIMITS,
    NAME_ME,
    PROBE,
    Sandbox,
    body,
    expect,
    program,
    sandbox_server,
    sb,
    victim,
)

HARNESS_FIXTURES = (
    sandbox_server,
    sb,
    victim,
)
"""The harness's fixtures that tests here take: pytest finds them by name in this module."""


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
