"""Samples files are streamed: a sample's text is read back from its file when needed.

The end-to-end tests run real pytest processes (``pytester.runpytest_subprocess``) at
``-n 0`` and ``-n 2``: a file with large completions gives the demo verdicts while
no process's peak memory grows with the file's size; a file changed during the
session stops it with a usage error; gzip files still work. The unit tests cover the
read-back and the compact forms sent to xdist workers (sample places, cached verdicts).
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path

import pytest
from support.problems import DEMO_OUTCOMES, DEMO_PROBLEMS, DEMO_SAMPLES, demo_sample_lines
from support.results import read_results, text_of
from support.sessions import RunHumaneval, demo_args

from pytest_humaneval.cache import KnownVerdicts
from pytest_humaneval.errors import InputError, SamplesFileChanged
from pytest_humaneval.loading import SampleSet, load_problems, load_samples
from pytest_humaneval.model import Verdict

LARGE_SESSION_TIMEOUT = 300  # a session on 36 MiB of samples may take longer than most
MIB = 1024 * 1024

# Each process of the session writes its peak resident memory (KiB) to <directory>/<name>.
PEAK_MEMORY_CONFTEST = """
import resource
from pathlib import Path

def pytest_unconfigure(config):
    name = getattr(config, "workerinput", {{}}).get("workerid", "controller")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    Path({directory!r}, name).write_text(str(peak))
"""


def padded_samples(path: Path, copies: int, padding: int) -> Path:
    """The demo samples ``copies`` times over, each completion followed by ``padding`` bytes of comments."""
    comment = "    # " + "x" * 90 + "\n"
    block = "\n" + comment * (padding // len(comment))
    with path.open("w", encoding="utf-8") as stream:
        for _ in range(copies):
            for line in demo_sample_lines():
                record = json.loads(line)
                record["completion"] += block
                stream.write(json.dumps(record) + "\n")
    return path


def run_demo(run_humaneval: RunHumaneval, samples: Path, *extra: str) -> pytest.RunResult:
    """A session on the demo problems and ``samples``, without the verdict cache."""
    args = demo_args("-p", "no:cacheprovider", *extra, samples=samples)
    return run_humaneval(*args, timeout=LARGE_SESSION_TIMEOUT)


def peak_memory(
    run_humaneval: RunHumaneval, samples: Path, results: Path, worker_args: list[str]
) -> dict[str, int]:
    """Run the samples; check their verdicts; return each process's peak memory in bytes."""
    pytester = run_humaneval.pytester
    directory = pytester.mkdir(f"peaks-{samples.stem}")
    pytester.makeconftest(PEAK_MEMORY_CONFTEST.format(directory=str(directory)))
    result = run_demo(run_humaneval, samples, f"--humaneval-results={results}", *worker_args)
    assert result.ret == 0, text_of(result)
    copies = len(read_results(results)) // len(DEMO_OUTCOMES)
    assert [r["outcome"] for r in read_results(results)] == DEMO_OUTCOMES * copies
    return {path.name: int(path.read_text()) * 1024 for path in directory.iterdir()}


def gzipped(path: Path, directory: Path | None = None) -> Path:
    """A gzip copy of ``path``, beside it or in ``directory``."""
    packed = (directory or path.parent) / (path.name + ".gz")
    packed.write_bytes(gzip.compress(path.read_bytes()))
    return packed


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_large_completions_do_not_grow_memory(
    pytester: pytest.Pytester,
    run_humaneval: RunHumaneval,
    worker_args: list[str],
    compressed: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """36 samples of 1 MiB each: the same verdicts as the small demo file, and neither the
    controller nor a worker holds the file (peak memory grows by far less than its size),
    plain or gzip (read back from a decompressed copy, which the session removes)."""
    small = padded_samples(pytester.path / "small.jsonl", copies=3, padding=0)
    large = padded_samples(pytester.path / "large.jsonl", copies=3, padding=MIB)
    size = large.stat().st_size
    assert size > 36 * MIB
    if compressed:
        small, large = gzipped(small), gzipped(large)
    temporary = pytester.mkdir("tmp")  # where the sessions put decompressed copies
    monkeypatch.setenv("TMPDIR", str(temporary))
    baseline = peak_memory(run_humaneval, small, pytester.path / "small-results.jsonl", worker_args)
    peaks = peak_memory(run_humaneval, large, pytester.path / "large-results.jsonl", worker_args)
    expected = {"controller", "gw0", "gw1"} if worker_args[-1] == "2" else {"controller"}
    assert set(peaks) == set(baseline) == expected
    growth = {name: peaks[name] - baseline[name] for name in peaks}
    assert all(grown < size // 2 for grown in growth.values()), (growth, size)
    results = read_results(pytester.path / "large-results.jsonl")
    lines = (gzip.open(large, "rt") if compressed else large.open()).read().splitlines()
    assert [r["completion"] for r in results] == [json.loads(line)["completion"] for line in lines]
    assert not list(temporary.iterdir())


# Changes every line's text (same size) when a given item starts, then restores the
# file's modification time, so only the lines' digests can tell.
CHANGING_CONFTEST = """
import os
import tempfile
from pathlib import Path

SAMPLES = Path({samples!r})

def pytest_runtest_setup(item):
    if item.nodeid != "Demo/1::Demo/1[0]":
        return
    stat = SAMPLES.stat()
    SAMPLES.write_bytes(SAMPLES.read_bytes().replace(b"return", b"retorn"))
    os.utime(SAMPLES, ns=(stat.st_atime_ns, stat.st_mtime_ns))
"""


def test_file_changed_during_the_session_stops_it(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """A samples file changed under the session: a usage error naming file and line, and
    no verdict from the changed lines (the results hold only verdicts of unchanged lines)."""
    samples = pytester.path / "samples.jsonl"
    samples.write_bytes(DEMO_SAMPLES.read_bytes())
    pytester.makeconftest(CHANGING_CONFTEST.format(samples=str(samples)))
    results = pytester.path / "results.jsonl"
    result = run_demo(run_humaneval, samples, f"--humaneval-results={results}", *worker_args)
    output = text_of(result)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    assert f"{samples}:" in output and "changed during the session" in output, output
    assert "FAIL: " in output, output
    expected = {
        json.loads(line)["completion"]: kind
        for line, kind in zip(demo_sample_lines(), DEMO_OUTCOMES, strict=True)
    }
    written = read_results(results)
    assert len(written) < len(DEMO_OUTCOMES)
    assert all(expected[r["completion"]] == r["outcome"] for r in written), written


def test_gzip_samples_file(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """A gzip file gives the same verdicts, ids and results fields as the plain file."""
    samples = pytester.path / "samples.jsonl.gz"
    samples.write_bytes(gzip.compress(DEMO_SAMPLES.read_bytes()))
    results = pytester.path / "results.jsonl"
    pytester.makepyfile(
        test_text="def test_text(humaneval_sample):\n    assert humaneval_sample.text.startswith('    ')\n"
    )
    result = run_demo(run_humaneval, samples, f"--humaneval-results={results}", *worker_args)
    assert result.ret == 0, text_of(result)
    written = read_results(results)
    assert [r["outcome"] for r in written] == DEMO_OUTCOMES
    assert [{k: r[k] for k in ("task_id", "completion")} for r in written] == [
        json.loads(line) for line in demo_sample_lines()
    ]
    assert set(written[0]) == {"task_id", "completion", "result", "passed", "outcome", "message", "duration"}
    assert result.parseoutcomes()["passed"] == len(DEMO_OUTCOMES) + DEMO_OUTCOMES.count("passed")


# -- read-back and the workers' copy -------------------------------------------------------------


def load_copy(tmp_path: Path) -> tuple[Path, SampleSet]:
    path = tmp_path / "samples.jsonl"
    path.write_bytes(DEMO_SAMPLES.read_bytes())
    return path, load_samples(str(path), load_problems(str(DEMO_PROBLEMS)))


def test_samples_are_read_back_by_offset(tmp_path: Path) -> None:
    path, sample_set = load_copy(tmp_path)
    assert sample_set.records is None
    lines = path.read_bytes().splitlines(keepends=True)
    assert [(e.offset, e.size) for e in sample_set.entries] == [
        (sum(map(len, lines[:number])), len(line)) for number, line in enumerate(lines)
    ]
    assert [sample_set.read(e).record for e in sample_set.entries] == [json.loads(line) for line in lines]
    sample_set.close()


def test_a_file_grown_or_touched_is_changed(tmp_path: Path) -> None:
    path, sample_set = load_copy(tmp_path)
    entry = sample_set.entries[5]
    with path.open("a") as stream:
        stream.write(demo_sample_lines()[0] + "\n")
    with pytest.raises(SamplesFileChanged) as info:
        sample_set.read(entry)
    assert (info.value.source, info.value.line) == (str(path), 6)
    assert "changed during the session" in str(info.value)
    sample_set.close()


def test_a_file_gone_is_changed(tmp_path: Path) -> None:
    path, sample_set = load_copy(tmp_path)
    os.unlink(path)
    with pytest.raises(SamplesFileChanged, match="cannot read it again"):
        sample_set.read(sample_set.entries[0])


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_workers_copy_reads_the_same_samples(tmp_path: Path, gzipped: bool) -> None:
    """What xdist workers get (``to_plain``, then JSON-like data) rebuilds the same entries and samples."""
    path = tmp_path / ("samples.jsonl.gz" if gzipped else "samples.jsonl")
    path.write_bytes(gzip.compress(DEMO_SAMPLES.read_bytes()) if gzipped else DEMO_SAMPLES.read_bytes())
    problem_set = load_problems(str(DEMO_PROBLEMS))
    sample_set = load_samples(str(path), problem_set, first_position=7, file_label="m.jsonl")
    copy = SampleSet.from_plain(sample_set.to_plain())
    assert copy.entries == sample_set.entries
    assert (copy.source, copy.label) == (sample_set.source, sample_set.label)
    assert [copy.read(e) for e in copy.entries] == [sample_set.read(e) for e in sample_set.entries]
    assert copy.records is None and sample_set.records is None  # read back, not held
    assert copy.owned_copy is None  # a worker never removes the controller's copy
    decompressed = sample_set.owned_copy
    assert (decompressed is not None) == gzipped
    sample_set.close()
    assert decompressed is None or not Path(decompressed).exists()


def test_bad_gzip_file_leaves_no_decompressed_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "samples.jsonl.gz"
    lines = DEMO_SAMPLES.read_bytes().splitlines(keepends=True)
    path.write_bytes(gzip.compress(b"".join(lines[:3]) + b'{"task_id": "Demo/0", "completion": 3}\n'))
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    with pytest.raises(InputError, match="field 'completion' must be a string") as raised:
        load_samples(str(path), load_problems(str(DEMO_PROBLEMS)))
    assert f"{path}:4:" in str(raised.value)
    assert not list(temporary.iterdir())
    sample_set = load_samples(str(gzipped(DEMO_SAMPLES, tmp_path)), load_problems(str(DEMO_PROBLEMS)))
    assert [p.name for p in temporary.iterdir()] == [Path(str(sample_set.owned_copy)).name]
    sample_set.close()
    assert not list(temporary.iterdir())


def test_known_verdicts_travel_packed_and_come_back_the_same() -> None:
    verdicts = {
        7: Verdict("failed", "AssertionError", 0.002, ""),
        2: Verdict("passed", "", 0.001, ""),
        30: Verdict("failed", "AssertionError", 0.004, ""),
        11: Verdict("timed out", "", 3.0, ""),
        5: Verdict("error", "NameError: name 'x' is not defined", 0.0, "failed: custom"),
    }
    packed = KnownVerdicts(verdicts).to_plain()
    assert packed["texts"].count("AssertionError") == 1  # repeated texts are sent once
    known = KnownVerdicts.from_plain(packed)
    assert len(known) == len(verdicts)
    for position in range(40):
        assert known.get(position) == verdicts.get(position)
        assert (position in known) == (position in verdicts)
    assert len(KnownVerdicts.from_plain(KnownVerdicts().to_plain())) == 0


@pytest.mark.parametrize(
    "trouble",
    ["--humaneval-results=.", "--humaneval-samples=missing.jsonl"],
    ids=["bad-output", "bad-second-file"],
)
def test_a_usage_error_leaves_no_decompressed_copy(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, monkeypatch: pytest.MonkeyPatch, trouble: str
) -> None:
    """The gzip file was checked and copied before the error: the copy goes with the session."""
    temporary = pytester.mkdir("tmp")
    monkeypatch.setenv("TMPDIR", str(temporary))
    result = run_demo(run_humaneval, gzipped(DEMO_SAMPLES, pytester.path), trouble)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    assert trouble.split("=")[1] in text_of(result)
    assert not list(temporary.iterdir())


def test_no_space_for_the_decompressed_copy_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_disk: Path
) -> None:
    path = gzipped(DEMO_SAMPLES, tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(full_disk))
    with pytest.raises(InputError, match=r"cannot write its decompressed copy .*: No space left") as raised:
        load_samples(str(path), load_problems(str(DEMO_PROBLEMS)))
    assert str(raised.value).startswith(f"{path}: ")
    assert [entry.name for entry in full_disk.iterdir()] == ["filler"]  # nothing left behind
