"""Robustness of whole sessions' files: outputs that cannot be written fail the session before
anything runs, and what a session killed with SIGKILL leaves in the temporary directory is
removed by the next, never what a live one holds (the harness: ``support/processes.py``).
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

import pytest
from support.processes import (
    DEMO_PROBLEMS,
    Run,
    correct_rows,
    error_lines,
    has_humaneval_table,
    humaneval_args,
    read_rows,
    run_to_end,
    runs,
    start,
    write_rows,
)

from pytest_humaneval._sandbox import tempfiles
from pytest_humaneval._sandbox.tempfiles import ABANDONED_AFTER, TEMPORARY_PREFIX

HARNESS_FIXTURES = (runs,)
"""The harness's fixtures that tests here take: pytest finds them by name in this module."""


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
    copies = [path for path in held if path.name.endswith(".jsonl")]
    assert len(copies) == 1 and all(path.is_dir() for path in held if path not in copies), held
    assert len(held) >= 2, held  # the gzip file's copy and each sandbox server's directory

    # Not dated back: that would change the copy under the session (it would stop).
    assert tempfiles.remove_abandoned(str(temporary), min_age=0) == []
    assert live.returncode() is None, "the session ended before the check"
    assert temporary_entries(temporary) == held

    assert live.wait() == 0, live.output
    assert [record["passed"] for record in read_rows(results)] == [True] * 12
    assert temporary_entries(temporary) == []
