"""Outputs are written to the path a user names, as any program writes a file there.

Through a symbolic link (the link stays a link, its target gets the content), into a
FIFO or a device as it is (never replaced: ``/dev/null`` stays a device, as root too),
with the mode the umask gives a new file (an existing file keeps its own), in
directories created as ``--junitxml`` creates them; a failure to write is one line.
The results file has a line per sample: its input fields and its verdict.
The results stream touches nothing until the first verdict. The end-to-end tests run
real pytest processes (``pytester.runpytest_subprocess``) on the demo set at ``-n 0``
and ``-n 2``; the unit tests call ``write_output``, ``check_output_path`` and
``ResultsStream`` directly.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.problems import DEMO_OUTCOMES, DEMO_PROBLEMS, DEMO_SAMPLES, demo_records
from support.results import read_results, text_of
from support.sessions import RunHumaneval, demo_args

from pytest_humaneval.loading import load_problems, load_samples
from pytest_humaneval.model import SampleEntry, Verdict
from pytest_humaneval.outputs.files import check_output_path, write_output
from pytest_humaneval.outputs.results_file import ResultsStream
from pytest_humaneval.outputs.terminal import partial_reason
from pytest_humaneval.tally import Summary

DEMO_TASKS = [f"Demo/{task}" for task in range(4) for _ in range(3)]


def task_ids(results: str) -> list[str]:
    return [json.loads(line)["task_id"] for line in results.splitlines()]


@pytest.fixture
def umask() -> Iterator[None]:
    """Restores the process's umask after a test sets it (sessions inherit it)."""
    previous = os.umask(0o022)
    os.umask(previous)
    try:
        yield
    finally:
        os.umask(previous)


class FifoReader:
    """Reads a FIFO in a thread, one writer after the other: what a user's ``cat`` would see."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self.writes: list[bytes] = []
        """What each writer wrote, from its open to its close."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            with self.path.open("rb") as stream:  # waits for a writer
                data = stream.read()
            if data:
                self.writes.append(data)

    def finish(self) -> bytes:
        """Everything written, once the writers are done; the FIFO is still a FIFO."""
        self._stop.set()
        while self._thread.is_alive():  # wake the reader with a writer that writes nothing
            try:
                os.close(os.open(self.path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError as exc:  # ENXIO: between two opens, the reader has it closed
                assert exc.errno == errno.ENXIO
            self._thread.join(0.05)
        assert stat.S_ISFIFO(self.path.lstat().st_mode)
        return b"".join(self.writes)


# -- end to end ----------------------------------------------------------------------------


def test_outputs_through_symbolic_links(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    (pytester.path / "kept").mkdir()
    for name in ("results.jsonl", "summary.json"):
        (pytester.path / f"link-{name}").symlink_to(f"kept/{name}")
    result = run_humaneval(
        *demo_args(
            "--humaneval-results=link-results.jsonl", "--humaneval-json=link-summary.json", *worker_args
        ),
    )
    assert result.ret == 0, text_of(result)
    for name in ("results.jsonl", "summary.json"):
        link = pytester.path / f"link-{name}"
        assert link.is_symlink() and os.readlink(link) == f"kept/{name}"
        assert (pytester.path / "kept" / name).is_file()
    assert task_ids((pytester.path / "kept" / "results.jsonl").read_text()) == DEMO_TASKS
    assert json.loads((pytester.path / "kept" / "summary.json").read_text())["finished"] == 12
    assert sorted(os.listdir(pytester.path / "kept")) == [
        "results.jsonl",
        "summary.json",
    ]  # no temporary left


def test_outputs_into_fifos(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    results, summary = FifoReader(pytester.path / "results.fifo"), FifoReader(pytester.path / "summary.fifo")
    result = run_humaneval(
        *demo_args("--humaneval-results=results.fifo", "--humaneval-json=summary.fifo", *worker_args),
    )
    assert result.ret == 0, text_of(result)
    assert task_ids(results.finish().decode()) == DEMO_TASKS  # in input order, written once
    assert len(results.writes) == 1
    assert json.loads(summary.finish())["finished"] == 12
    assert len(summary.writes) == 1


def test_dev_null_as_an_output_stays_a_device(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """As root, replacing ``/dev/null`` by a regular file would break every program on the machine."""
    before = os.stat("/dev/null")
    result = run_humaneval(
        *demo_args("--humaneval-results=/dev/null", "--humaneval-json=summary.json", *worker_args)
    )
    assert result.ret == 0, text_of(result)
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino
    assert json.loads((pytester.path / "summary.json").read_text())["finished"] == 12


def test_dev_full_is_one_error_line_and_nothing_else_is_lost(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    result = run_humaneval(
        *demo_args("--humaneval-json=/dev/full", "--humaneval-results=results.jsonl", *worker_args)
    )
    output = text_of(result)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    failures = [line for line in result.outlines if "/dev/full" in line]
    assert failures == ["FAIL: --humaneval-json=/dev/full: cannot write it: No space left on device"], output
    assert "Traceback" not in output and "INTERNALERROR" not in output
    assert any(line.startswith("outcomes  passed 6") for line in result.outlines), output
    assert task_ids((pytester.path / "results.jsonl").read_text()) == DEMO_TASKS
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_new_outputs_get_the_mode_the_umask_gives(
    pytester: pytest.Pytester,
    run_humaneval: RunHumaneval,
    worker_args: list[str],
    umask: None,
    mask: int,
    mode: int,
) -> None:
    os.umask(mask)
    result = run_humaneval(
        *demo_args("--humaneval-results=results.jsonl", "--humaneval-json=summary.json", *worker_args),
    )
    assert result.ret == 0, text_of(result)
    for name in ("results.jsonl", "summary.json"):
        assert stat.S_IMODE((pytester.path / name).stat().st_mode) == mode, name


def test_missing_output_directories_are_created(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    result = run_humaneval(
        *demo_args(
            "--humaneval-results=out/a/results.jsonl",
            "--humaneval-json=out/b/c/summary.json",
            *worker_args,
        ),
    )
    assert result.ret == 0, text_of(result)
    assert task_ids((pytester.path / "out" / "a" / "results.jsonl").read_text()) == DEMO_TASKS
    assert json.loads((pytester.path / "out" / "b" / "c" / "summary.json").read_text())["finished"] == 12


@pytest.mark.parametrize("option", ["--humaneval-results", "--humaneval-json"])
def test_directory_that_cannot_be_created_is_a_usage_error(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, option: str
) -> None:
    (pytester.path / "plain-file").write_text("not a directory")
    pytester.makepyfile(test_marker="def test_marker():\n    open('marker-ran', 'w').close()\n")
    result = run_humaneval(*demo_args(f"{option}=plain-file/sub/out.json"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    errors = [line for line in result.outlines + result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1, text_of(result)
    assert f"{option}=plain-file/sub/out.json" in errors[0] and "not a directory" in errors[0]
    assert not (pytester.path / "marker-ran").exists()


# -- write_output --------------------------------------------------------------------------


def test_write_output_through_a_symbolic_link_keeps_the_link_and_the_targets_mode(tmp_path: Path) -> None:
    target = tmp_path / "target.json"
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(target.name)
    write_output(str(link), [b"new ", b"content"])
    assert link.is_symlink() and target.read_bytes() == b"new content"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(path.name for path in tmp_path.iterdir()) == ["link.json", "target.json"]


def test_write_output_through_a_dangling_link_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to("deep/target.json")
    write_output(str(link), [b"{}"])
    assert link.is_symlink() and (tmp_path / "deep" / "target.json").read_bytes() == b"{}"


def test_write_output_keeps_the_owner_of_a_file_it_replaces(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to another user")
    path = tmp_path / "theirs.json"
    path.write_text("old")
    os.chown(path, 12345, 23456)
    path.chmod(0o604)
    write_output(str(path), [b"new"])
    status = path.stat()
    assert (status.st_uid, status.st_gid, stat.S_IMODE(status.st_mode)) == (12345, 23456, 0o604)


def test_write_output_into_a_fifo(tmp_path: Path) -> None:
    reader = FifoReader(tmp_path / "out.fifo")
    write_output(str(reader.path), [b"line 1\n", b"line 2\n"])
    assert reader.finish() == b"line 1\nline 2\n"
    assert os.listdir(tmp_path) == ["out.fifo"]


def test_write_output_to_dev_full_is_one_line() -> None:
    with pytest.raises(OSError) as failure:
        write_output("/dev/full", [b"x" * 100_000])
    assert str(failure.value) == "cannot write it: No space left on device"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_write_output_that_fails_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text("old")

    def chunks() -> Iterator[bytes]:
        yield b"half"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match=r"^cannot write it: No space left on device$"):
        write_output(str(path), chunks())
    assert os.listdir(tmp_path) == ["summary.json"] and path.read_text() == "old"


def test_write_output_new_file_mode_follows_the_umask(tmp_path: Path, umask: None) -> None:
    for mask, mode in ((0o022, 0o644), (0o077, 0o600)):
        os.umask(mask)
        path = tmp_path / f"out-{mask:o}.json"
        write_output(str(path), [b"{}"])
        assert stat.S_IMODE(path.stat().st_mode) == mode


# -- check_output_path ---------------------------------------------------------------------


def test_check_accepts_missing_directories_fifos_and_devices(tmp_path: Path) -> None:
    check_output_path(str(tmp_path / "a" / "b" / "out.json"), "--humaneval-json")
    os.mkfifo(tmp_path / "out.fifo")
    check_output_path(str(tmp_path / "out.fifo"), "--humaneval-json")
    check_output_path("/dev/null", "--humaneval-json")
    assert sorted(os.listdir(tmp_path)) == ["out.fifo"]  # checking creates nothing


def test_check_refuses_a_directory_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError) as failure:
        check_output_path(str(tmp_path / "file" / "sub" / "out.json"), "--humaneval-json")
    message = str(failure.value)
    assert message.startswith(f"--humaneval-json={tmp_path}/file/sub/out.json (from command line): ")
    assert "\n" not in message
    assert f"cannot create {tmp_path}/file/sub: {tmp_path}/file is not a directory" in message


def test_check_refuses_a_missing_directory_under_one_nobody_can_write() -> None:
    if not Path("/proc/sys").is_dir() or os.access("/proc/sys", os.W_OK):
        pytest.skip("/proc/sys is not a directory this process cannot write to")
    with pytest.raises(OSError, match=r"cannot create /proc/sys/new: /proc/sys is not writable$"):
        check_output_path("/proc/sys/new/out.json", "--humaneval-results")


def test_check_refuses_a_socket(tmp_path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "out.sock"))
        with pytest.raises(OSError, match=r"out\.sock \(from command line\): is a socket$"):
            check_output_path(str(tmp_path / "out.sock"), "--humaneval-json")


def test_check_quotes_a_huge_path_short(tmp_path: Path) -> None:
    with pytest.raises(OSError) as failure:
        check_output_path("x" * 1_000_000, "--humaneval-json")
    assert "(999,800 more characters)" in str(failure.value) and len(str(failure.value)) < 400


# -- the results stream --------------------------------------------------------------------


def demo_stream_inputs() -> tuple[Any, list[Verdict]]:
    samples = load_samples(str(DEMO_SAMPLES), load_problems(str(DEMO_PROBLEMS)))
    verdicts = [Verdict(kind="passed", message="", duration=0.1) for _ in samples.entries]
    return samples, verdicts


def finish_in_reverse(stream: ResultsStream, samples: Any, verdicts: list[Verdict]) -> None:
    """Verdicts arriving last sample first; then the input-order file."""
    entries: list[SampleEntry] = samples.entries
    for entry in reversed(entries):
        stream.add(samples.read(entry), verdicts[entry.position])
    stream.finish(entries, verdicts, samples.read)


def test_stream_touches_nothing_without_a_verdict(tmp_path: Path) -> None:
    samples, verdicts = demo_stream_inputs()
    kept = tmp_path / "results.jsonl"
    kept.write_text("last session's results\n")
    before = kept.stat()
    ResultsStream(str(kept)).finish(samples.entries, verdicts, samples.read)
    ResultsStream(str(kept)).close()
    ResultsStream(str(tmp_path / "new" / "results.jsonl")).close()
    assert kept.read_text() == "last session's results\n" and kept.stat().st_mtime_ns == before.st_mtime_ns
    assert sorted(os.listdir(tmp_path)) == ["results.jsonl"]


def test_stream_to_a_regular_file_grows_then_is_in_input_order(tmp_path: Path) -> None:
    samples, verdicts = demo_stream_inputs()
    path = tmp_path / "out" / "results.jsonl"
    stream = ResultsStream(str(path))
    last = samples.entries[-1]
    stream.add(samples.read(last), verdicts[last.position])
    assert task_ids(path.read_text()) == ["Demo/3"]  # streamed as it arrives
    stream.close()
    stream = ResultsStream(str(path))
    finish_in_reverse(stream, samples, verdicts)
    assert task_ids(path.read_text()) == DEMO_TASKS


def test_stream_to_a_fifo_is_written_once(tmp_path: Path) -> None:
    samples, verdicts = demo_stream_inputs()
    reader = FifoReader(tmp_path / "results.fifo")
    finish_in_reverse(ResultsStream(str(reader.path)), samples, verdicts)
    assert task_ids(reader.finish().decode()) == DEMO_TASKS
    assert len(reader.writes) == 1


def test_stream_closed_early_writes_a_fifo_the_lines_so_far(tmp_path: Path) -> None:
    samples, verdicts = demo_stream_inputs()
    reader = FifoReader(tmp_path / "results.fifo")
    stream = ResultsStream(str(reader.path))
    for entry in samples.entries[:2]:
        stream.add(samples.read(entry), verdicts[entry.position])
    stream.close()
    assert task_ids(reader.finish().decode()) == ["Demo/0", "Demo/0"]


def test_stream_to_dev_full_fails_once_at_the_end() -> None:
    samples, verdicts = demo_stream_inputs()
    stream = ResultsStream("/dev/full")
    with pytest.raises(OSError) as failure:
        finish_in_reverse(stream, samples, verdicts)  # no add fails: the lines wait for the end
    assert str(failure.value) == "cannot write it: No space left on device"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_stream_that_cannot_write_as_it_goes_still_writes_the_whole_file(tmp_path: Path) -> None:
    """A file that cannot be opened for writing (read-only, as its owner) is still replaced
    at the end, keeping its mode; its lines are encoded again."""
    if os.geteuid() == 0:
        pytest.skip("root opens a read-only file for writing")
    samples, verdicts = demo_stream_inputs()
    path = tmp_path / "results.jsonl"
    path.write_text("old\n")
    path.chmod(0o444)
    finish_in_reverse(ResultsStream(str(path)), samples, verdicts)
    assert task_ids(path.read_text()) == DEMO_TASKS
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


# -- messages that quote input -------------------------------------------------------------


def test_partial_reason_quotes_task_ids_short() -> None:
    huge = "T" * 1_000_000
    summary = Summary(
        label="samples.jsonl",
        samples_source="samples.jsonl",
        problems_source="problems.jsonl",
        problems=4,
        tasks_with_samples=2,
        samples=0,
        finished=0,
        counts={},
        pass_at_k=[],
        tasks_without_samples=[huge, huge + "2"],
        interrupted=False,
    )
    reason = partial_reason(summary)
    assert reason.count("(999,800 more characters)") == 1 and "(999,801 more characters)" in reason
    assert len(reason) < 1000


def test_a_warning_about_the_samples_does_not_quote_their_first_line(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    """pytest's warning summary quotes the line a warning is located at: the samples file's
    first line, which can be hundreds of megabytes."""
    huge = {"task_id": "Demo/0", "completion": "    return a + b\n" + "#" * 2_000_000 + "\n"}
    (pytester.path / "samples.jsonl").write_text(json.dumps(huge) + "\n", encoding="utf-8")
    result = run_humaneval(*demo_args(samples="samples.jsonl"))
    output = text_of(result)
    assert result.ret == 0, output[:5000]
    assert "3 of 4 problems have no samples (first: Demo/1)" in output
    assert len(output) < 20_000, output[:5000]


def test_a_fifo_that_no_process_reads_is_one_fail_line(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    """Opening it for writing would block the session's end for ever."""
    os.mkfifo(pytester.path / "unread.fifo")
    result = run_humaneval(*demo_args("--humaneval-json=unread.fifo", "--humaneval-results=results.jsonl"))
    output = text_of(result)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    failures = [line for line in result.outlines if "unread.fifo" in line]
    assert failures == [
        "FAIL: --humaneval-json=unread.fifo: cannot write it: it is a FIFO that no process reads"
    ]
    assert any(line.startswith("outcomes  passed 6") for line in result.outlines), output
    assert len((pytester.path / "results.jsonl").read_text().splitlines()) == 12
    assert stat.S_ISFIFO(os.stat(pytester.path / "unread.fifo").st_mode)


# -- what the results file holds -----------------------------------------------------------------------------


def test_results_file(pytester: pytest.Pytester, run_humaneval: RunHumaneval) -> None:
    """One line per sample in input order, the input fields (extra ones too) plus the verdict."""
    inputs = demo_records()
    for number, record in enumerate(inputs):
        record["model"] = "demo-model"
        record["seq"] = number
        record["meta"] = {"temperature": 0.2, "note": "café"}
    (pytester.path / "samples.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in inputs), encoding="utf-8"
    )
    result = run_humaneval(*demo_args("--humaneval-results=results.jsonl", samples="samples.jsonl"))
    assert result.ret == 0, text_of(result)
    records = read_results(pytester.path / "results.jsonl")
    assert len(records) == 12
    for record, source, kind in zip(records, inputs, DEMO_OUTCOMES, strict=True):
        assert set(record) == {
            "task_id",
            "completion",
            "model",
            "seq",
            "meta",
            "result",
            "passed",
            "outcome",
            "message",
            "duration",
        }
        assert {key: record[key] for key in source} == source
        assert record["outcome"] == kind
        assert record["passed"] is (kind == "passed")
        if kind in ("passed", "timed out"):
            assert record["result"] == kind
        else:
            assert record["result"].startswith("failed: ")
        assert isinstance(record["duration"], float) and record["duration"] >= 0
    # The reference's result strings, and our message with the exception's class.
    assert records[4]["result"] == "failed: string index out of range"
    assert records[4]["message"] == "IndexError: string index out of range"
    assert records[11]["result"] == "failed: name 'vowel' is not defined"
    assert records[11]["message"].startswith("NameError")
    assert records[7]["duration"] >= 0.9  # the sample that loops until its 1 s limit
    assert max(r["duration"] for i, r in enumerate(records) if i != 7) < 0.9
