"""Hostile samples that reach outside: the file system, the parent's environment, the
network; and odd but harmless programs, which must still get their verdicts (the harness:
``support/sandbox.py``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.sandbox import (
    ADD,
    ADD_PROMPT,
    ADD_RIGHT,
    HOSTILE,
    PROBE,
    SECRET,
    Canary,
    Sandbox,
    canary,
    expect,
    hostile_processes,
    make_problem,
    program,
    sandbox_server,
    sb,
    secret_problem,
    victim,
    wait_until,
)

from pytest_humaneval.model import Limits

HARNESS_FIXTURES = (
    canary,
    sandbox_server,
    sb,
    victim,
)
"""The harness's fixtures that tests here take: pytest finds them by name in this module."""


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
