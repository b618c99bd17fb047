"""Reading problem and sample files: every bad input is one usage error naming file and line.

The end-to-end tests run pytest in a subprocess (``pytester.runpytest_subprocess``)
and check exit status 4 (``pytest.ExitCode.USAGE_ERROR``), exactly one
``ERROR:`` line naming the file and the line, no traceback, and that nothing ran
(a user test that would leave a marker file is never executed). The unit tests
call :func:`pytest_humaneval.loading.load_problems` and ``load_samples`` directly.
"""

from __future__ import annotations

import codecs
import gzip
import json
from pathlib import Path

import pytest
from support.problems import DEMO_PROBLEMS, DEMO_SAMPLES, demo_sample_lines
from support.results import text_of
from support.sessions import SUBPROCESS_TIMEOUT

from pytest_humaneval.errors import InputError, quoted
from pytest_humaneval.loading import (
    CANONICAL_SAMPLES,
    DEFAULT_PROBLEMS,
    SampleSet,
    file_labels,
    load_problems,
    load_samples,
)
from pytest_humaneval.model import Problem, Sample


def read_all(sample_set: SampleSet) -> list[Sample]:
    """Every sample of the set, read back."""
    return [sample_set.read(entry) for entry in sample_set.entries]


# A user test that records that it ran: a usage error must stop the session before it.
MARKER_TEST = """
from pathlib import Path

def test_marker():
    Path("marker-ran").write_text("ran")
"""

GOOD_LINE = json.dumps({"task_id": "Demo/0", "completion": "    return a + b\n"})


def demo_problem_lines() -> list[str]:
    return DEMO_PROBLEMS.read_text(encoding="utf-8").splitlines()


def write_bytes(pytester: pytest.Pytester, name: str, data: bytes) -> Path:
    path = pytester.path / name
    path.write_bytes(data)
    return path


def run_with(
    pytester: pytest.Pytester, samples: str, problems: str | None = None, *extra: str
) -> pytest.RunResult:
    pytester.makepyfile(test_marker=MARKER_TEST)
    args = [f"--humaneval-samples={samples}", f"--humaneval-problems={problems or DEMO_PROBLEMS}"]
    return pytester.runpytest_subprocess(*args, "--humaneval-timeout=1", *extra, timeout=SUBPROCESS_TIMEOUT)


def assert_one_usage_error(pytester: pytest.Pytester, result: pytest.RunResult, expected: str) -> str:
    """Exit status 4, exactly one ``ERROR:`` line that contains ``expected``; nothing ran."""
    output = result.outlines + result.errlines
    errors = [line for line in output if line.startswith("ERROR:")]
    text = "\n".join(output)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text
    assert len(errors) == 1, text
    assert expected in errors[0], text
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    assert "test session starts" not in text, text
    assert not (pytester.path / "marker-ran").exists(), "a test ran despite the usage error"
    return errors[0]


# -- bad sample files, end to end --------------------------------------------------------------


def test_malformed_json_line(pytester: pytest.Pytester) -> None:
    write_bytes(pytester, "samples.jsonl", f'{GOOD_LINE}\n{GOOD_LINE}\n{{"task_id": "Demo/0",\n'.encode())
    result = run_with(pytester, "samples.jsonl")
    error = assert_one_usage_error(pytester, result, "samples.jsonl:3: malformed JSON")
    assert "column" in error


def test_line_that_is_not_an_object(pytester: pytest.Pytester) -> None:
    write_bytes(pytester, "samples.jsonl", f"{GOOD_LINE}\n[1, 2]\n".encode())
    result = run_with(pytester, "samples.jsonl")
    assert_one_usage_error(pytester, result, "samples.jsonl:2: expected a JSON object, found list")


def test_unknown_task_id(pytester: pytest.Pytester) -> None:
    bad = json.dumps({"task_id": "Demo/9", "completion": "    return 1\n"})
    write_bytes(pytester, "samples.jsonl", f"{GOOD_LINE}\n{GOOD_LINE}\n{bad}\n{GOOD_LINE}\n".encode())
    result = run_with(pytester, "samples.jsonl")
    error = assert_one_usage_error(pytester, result, "samples.jsonl:3: unknown task_id 'Demo/9'")
    assert str(DEMO_PROBLEMS) in error


def test_missing_task_id(pytester: pytest.Pytester) -> None:
    write_bytes(pytester, "samples.jsonl", b'{"completion": "    return 1\\n"}\n')
    result = run_with(pytester, "samples.jsonl")
    assert_one_usage_error(pytester, result, "samples.jsonl:1: missing field 'task_id'")


def test_missing_completion(pytester: pytest.Pytester) -> None:
    bad = json.dumps({"task_id": "Demo/1", "answer": "    return 1\n"})
    write_bytes(pytester, "samples.jsonl", f"{GOOD_LINE}\n{bad}\n".encode())
    result = run_with(pytester, "samples.jsonl")
    error = assert_one_usage_error(pytester, result, "samples.jsonl:2: ")
    assert "'completion'" in error and "'solution'" in error and "neither" in error


@pytest.mark.parametrize(
    ("value", "type_name"), [(42, "int"), (None, "NoneType"), (["    return 1\n"], "list")]
)
def test_non_string_completion(pytester: pytest.Pytester, value: object, type_name: str) -> None:
    bad = json.dumps({"task_id": "Demo/1", "completion": value})
    write_bytes(pytester, "samples.jsonl", f"{GOOD_LINE}\n{bad}\n".encode())
    result = run_with(pytester, "samples.jsonl")
    assert_one_usage_error(
        pytester, result, f"samples.jsonl:2: field 'completion' must be a string, found {type_name}"
    )


def test_both_completion_and_solution(pytester: pytest.Pytester) -> None:
    bad = json.dumps(
        {
            "task_id": "Demo/0",
            "completion": "    return a + b\n",
            "solution": "def add(a, b):\n    return a + b\n",
        }
    )
    write_bytes(pytester, "samples.jsonl", f"{GOOD_LINE}\n{GOOD_LINE}\n{bad}\n".encode())
    result = run_with(pytester, "samples.jsonl")
    error = assert_one_usage_error(pytester, result, "samples.jsonl:3: ")
    assert "both" in error


@pytest.mark.parametrize("content", [b"", b"\n\n   \n\t\n"], ids=["zero-bytes", "blank-lines-only"])
def test_empty_file(pytester: pytest.Pytester, content: bytes) -> None:
    write_bytes(pytester, "samples.jsonl", content)
    result = run_with(pytester, "samples.jsonl")
    assert_one_usage_error(pytester, result, "samples.jsonl: the file is empty")


def test_non_utf8_bytes(pytester: pytest.Pytester) -> None:
    bad = b'{"task_id": "Demo/0", "completion": "    return a + b  # caf\xe9\\n"}'
    write_bytes(pytester, "samples.jsonl", GOOD_LINE.encode() + b"\n" + bad + b"\n")
    result = run_with(pytester, "samples.jsonl")
    assert_one_usage_error(pytester, result, "samples.jsonl:2: not valid UTF-8")


def test_missing_samples_file(pytester: pytest.Pytester) -> None:
    result = run_with(pytester, "no-such-file.jsonl")
    expected = "--humaneval-samples=no-such-file.jsonl (from command line): cannot read"
    assert_one_usage_error(pytester, result, expected)


def test_usage_error_with_xdist_is_reported_once(pytester: pytest.Pytester) -> None:
    """With -n 2 the controller stops before starting workers: still one message."""
    write_bytes(pytester, "samples.jsonl", f"{GOOD_LINE}\nnot json\n".encode())
    result = run_with(pytester, "samples.jsonl", None, "-n", "2")
    assert_one_usage_error(pytester, result, "samples.jsonl:2: malformed JSON")


# -- gzip -------------------------------------------------------------------------------------------


def test_gzipped_samples_and_problems_work(pytester: pytest.Pytester) -> None:
    """``.jsonl.gz`` inputs give the same measurement as the plain demo files."""
    write_bytes(pytester, "demo.jsonl.gz", gzip.compress(DEMO_PROBLEMS.read_bytes()))
    write_bytes(pytester, "samples.jsonl.gz", gzip.compress(DEMO_SAMPLES.read_bytes()))
    result = pytester.runpytest_subprocess(
        "--humaneval-samples=samples.jsonl.gz",
        "--humaneval-problems=demo.jsonl.gz",
        "--humaneval-timeout=1",
        "--humaneval-json=summary.json",
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert result.ret == 0, result.stdout.str()
    summary = json.loads((pytester.path / "summary.json").read_text())
    assert summary["samples"] == 12
    assert summary["problems"] == 4
    assert summary["counts"] == {"passed": 6, "failed": 3, "error": 2, "timed out": 1, "crashed": 0}
    assert summary["pass_at_k"]["pass@1"] == pytest.approx(0.5, abs=1e-12)


def test_gzip_that_is_not_gzip(pytester: pytest.Pytester) -> None:
    write_bytes(pytester, "samples.jsonl.gz", DEMO_SAMPLES.read_bytes())
    result = run_with(pytester, "samples.jsonl.gz")
    assert_one_usage_error(pytester, result, "samples.jsonl.gz: not a valid gzip file")


def test_truncated_gzip(pytester: pytest.Pytester) -> None:
    data = gzip.compress(DEMO_SAMPLES.read_bytes())
    write_bytes(pytester, "samples.jsonl.gz", data[: len(data) // 2])
    result = run_with(pytester, "samples.jsonl.gz")
    assert_one_usage_error(pytester, result, "samples.jsonl.gz: not a valid gzip file")


def corrupt_gzip() -> bytes:
    """A gzip file with an intact header whose deflate stream is garbage."""
    data = bytearray(gzip.compress(DEMO_SAMPLES.read_bytes() * 20))
    for position in range(12, len(data) - 8):
        data[position] ^= 0x55
    return bytes(data)


def test_corrupt_gzip_stream(pytester: pytest.Pytester) -> None:
    write_bytes(pytester, "samples.jsonl.gz", corrupt_gzip())
    result = run_with(pytester, "samples.jsonl.gz")
    error = assert_one_usage_error(pytester, result, "samples.jsonl.gz: ")
    assert "gzip" in error


# -- blank lines --------------------------------------------------------------------------------------


def test_blank_lines_are_skipped(pytester: pytest.Pytester) -> None:
    """Blank and whitespace-only lines (and CRLF endings) are ignored; results keep input order."""
    lines = demo_sample_lines()
    text = "\n\n" + "\n   \n".join(lines[:6]) + "\r\n\t\n" + "\r\n".join(lines[6:]) + "\n\n\n"
    write_bytes(pytester, "samples.jsonl", text.encode())
    result = pytester.runpytest_subprocess(
        "--humaneval-samples=samples.jsonl",
        f"--humaneval-problems={DEMO_PROBLEMS}",
        "--humaneval-timeout=1",
        "--humaneval-json=summary.json",
        "--humaneval-results=results.jsonl",
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert result.ret == 0, result.stdout.str()
    summary = json.loads((pytester.path / "summary.json").read_text())
    assert summary["samples"] == 12
    assert summary["counts"] == {"passed": 6, "failed": 3, "error": 2, "timed out": 1, "crashed": 0}
    records = [json.loads(line) for line in (pytester.path / "results.jsonl").read_text().splitlines()]
    assert [r["completion"] for r in records] == [json.loads(line)["completion"] for line in lines]


def test_error_line_number_counts_blank_lines(pytester: pytest.Pytester) -> None:
    """The line in the message is the physical line of the file, blank lines included."""
    write_bytes(pytester, "samples.jsonl", f"\n{GOOD_LINE}\n\n   \n{{oops\n".encode())
    result = run_with(pytester, "samples.jsonl")
    assert_one_usage_error(pytester, result, "samples.jsonl:5: malformed JSON")


# -- bad problem files -------------------------------------------------------------------------------


def problem_lines_with(
    line_number: int, change: dict[str, object] | None = None, drop: str | None = None
) -> str:
    """The demo problems with problem ``line_number`` (1-based) changed."""
    lines = demo_problem_lines()
    record = json.loads(lines[line_number - 1])
    if drop:
        del record[drop]
    record.update(change or {})
    lines[line_number - 1] = json.dumps(record)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("field", ["test", "entry_point", "prompt", "canonical_solution", "task_id"])
def test_problem_missing_field(pytester: pytest.Pytester, field: str) -> None:
    write_bytes(pytester, "problems.jsonl", problem_lines_with(2, drop=field).encode())
    result = run_with(pytester, str(DEMO_SAMPLES), "problems.jsonl")
    assert_one_usage_error(pytester, result, f"problems.jsonl:2: missing field {field!r}")


EVALPLUS_INPUTS = {"base_input": [["abc"]], "plus_input": [[""], ["ab" * 50]], "atol": 0}


def test_evalplus_problem_without_test_code_is_judged_by_inputs(pytester: pytest.Pytester) -> None:
    write_bytes(pytester, "problems.jsonl", problem_lines_with(2, EVALPLUS_INPUTS, drop="test").encode())
    result = run_with(pytester, str(DEMO_SAMPLES), "problems.jsonl")
    assert result.ret == 0, text_of(result)
    result.stdout.fnmatch_lines(["evalplus  expected outputs of 1 problems: *"])


def test_evalplus_problems_are_judged_by_inputs_without_a_warning(pytester: pytest.Pytester) -> None:
    write_bytes(pytester, "problems.jsonl", problem_lines_with(2, EVALPLUS_INPUTS).encode())
    result = run_with(pytester, str(DEMO_SAMPLES), "problems.jsonl")
    assert result.ret == 0, text_of(result)
    assert "HumanEvalWarning" not in text_of(result)
    result.stdout.fnmatch_lines(["evalplus  expected outputs of 1 problems: *"])
    plain = run_with(pytester, str(DEMO_SAMPLES))
    assert plain.ret == 0 and not [line for line in plain.outlines if line.startswith("evalplus  ")]


def collect_canonical(pytester: pytest.Pytester, problems: Path) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        f"--humaneval-problems={problems}",
        "--humaneval-samples=canonical",
        "--collect-only",
        timeout=SUBPROCESS_TIMEOUT,
    )


@pytest.mark.parametrize(
    "name",
    ["HumanEvalPlus-v0.1.10.jsonl.gz", "HumanEvalPlus-Mini-v0.1.10.jsonl.gz", "MbppPlus-v0.2.0.jsonl.gz"],
)
def test_evalplus_releases_collect_without_a_warning(
    pytester: pytest.Pytester, shared_data: Path, name: str
) -> None:
    result = collect_canonical(pytester, shared_data / name)
    assert result.ret == 0, text_of(result)
    assert "HumanEvalWarning" not in text_of(result)


def test_problem_non_string_field(pytester: pytest.Pytester) -> None:
    write_bytes(pytester, "problems.jsonl", problem_lines_with(3, {"test": 7}).encode())
    result = run_with(pytester, str(DEMO_SAMPLES), "problems.jsonl")
    assert_one_usage_error(pytester, result, "problems.jsonl:3: field 'test' must be a string, found int")


def test_problem_duplicate_task_id(pytester: pytest.Pytester) -> None:
    write_bytes(pytester, "problems.jsonl", problem_lines_with(4, {"task_id": "Demo/1"}).encode())
    result = run_with(pytester, str(DEMO_SAMPLES), "problems.jsonl")
    assert_one_usage_error(pytester, result, "problems.jsonl:4: duplicate task_id 'Demo/1'")


def test_problem_bad_entry_point(pytester: pytest.Pytester) -> None:
    write_bytes(pytester, "problems.jsonl", problem_lines_with(1, {"entry_point": "add numbers"}).encode())
    result = run_with(pytester, str(DEMO_SAMPLES), "problems.jsonl")
    assert_one_usage_error(
        pytester, result, "problems.jsonl:1: entry_point 'add numbers' is not an identifier"
    )


@pytest.mark.parametrize(
    ("test_code", "expected"),
    [
        ("def check(candidate:\n    pass\n", "problems.jsonl:2: the test code does not compile: "),
        ("def check(candidate):\n\0    pass\n", "problems.jsonl:2: the test code does not compile: "),
        (
            "def chek(candidate):\n    assert candidate(1)\n",
            "problems.jsonl:2: the test code defines no 'check'",
        ),
    ],
)
def test_problem_test_code_that_cannot_run(pytester: pytest.Pytester, test_code: str, expected: str) -> None:
    """Parsed, not run, when the file is read: before, every sample failed or the server died."""
    write_bytes(pytester, "problems.jsonl", problem_lines_with(2, {"test": test_code}).encode())
    result = run_with(pytester, str(DEMO_SAMPLES), "problems.jsonl")
    assert_one_usage_error(pytester, result, expected)


def test_problem_check_may_be_bound_in_any_way(tmp_path: Path) -> None:
    path = tmp_path / "problems.jsonl"
    path.write_text(problem_lines_with(2, {"test": "def _check(candidate):\n    pass\n\ncheck = _check\n"}))
    assert load_problems(str(path)).problems["Demo/1"].test.endswith("check = _check\n")


def test_problem_malformed_json(pytester: pytest.Pytester) -> None:
    lines = demo_problem_lines()
    lines[1] = lines[1][:-5]
    write_bytes(pytester, "problems.jsonl", ("\n".join(lines) + "\n").encode())
    result = run_with(pytester, str(DEMO_SAMPLES), "problems.jsonl")
    assert_one_usage_error(pytester, result, "problems.jsonl:2: malformed JSON")


# -- unit tests of the loaders -----------------------------------------------------------------------


def test_load_problems_demo() -> None:
    problem_set = load_problems(str(DEMO_PROBLEMS))
    assert problem_set.source == str(DEMO_PROBLEMS)
    assert list(problem_set.problems) == ["Demo/0", "Demo/1", "Demo/2", "Demo/3"]
    first = json.loads(demo_problem_lines()[0])
    assert problem_set.problems["Demo/0"] == Problem(
        task_id=first["task_id"],
        prompt=first["prompt"],
        entry_point=first["entry_point"],
        canonical_solution=first["canonical_solution"],
        test=first["test"],
    )
    assert [p.entry_point for p in problem_set.problems.values()] == [
        "add",
        "is_palindrome",
        "running_max",
        "count_vowels",
    ]


def test_load_problems_official_set() -> None:
    problem_set = load_problems(DEFAULT_PROBLEMS)
    assert problem_set.source == "humaneval"
    assert len(problem_set.problems) == 164
    assert list(problem_set.problems)[:2] == ["HumanEval/0", "HumanEval/1"]
    assert problem_set.problems["HumanEval/0"].entry_point == "has_close_elements"


def test_load_problems_gzip(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl.gz"
    path.write_bytes(gzip.compress(DEMO_PROBLEMS.read_bytes()))
    assert load_problems(str(path)).problems == load_problems(str(DEMO_PROBLEMS)).problems


def test_load_samples_demo() -> None:
    problem_set = load_problems(str(DEMO_PROBLEMS))
    sample_set = load_samples(str(DEMO_SAMPLES), problem_set)
    raw = [json.loads(line) for line in demo_sample_lines()]
    entries = sample_set.entries
    samples = read_all(sample_set)
    assert sample_set.source == str(DEMO_SAMPLES)
    assert len(entries) == 12
    assert [e.position for e in entries] == list(range(12))
    assert [e.line for e in entries] == list(range(1, 13))
    assert [e.index for e in entries] == [0, 1, 2] * 4
    assert [e.task_id for e in entries] == [r["task_id"] for r in raw]
    assert [s.text for s in samples] == [r["completion"] for r in raw]
    assert [s.record for s in samples] == raw
    assert [s.entry for s in samples] == entries
    assert not any(s.is_solution for s in samples)
    assert entries[4].test_id == "Demo/1[1]"
    assert entries[4].nodeid == "Demo/1::Demo/1[1]"
    assert sample_set.counts_by_task() == {"Demo/0": 3, "Demo/1": 3, "Demo/2": 3, "Demo/3": 3}


def test_load_samples_index_per_task_in_interleaved_file(tmp_path: Path) -> None:
    """Indexes count per task in file order; positions count samples, lines count physical lines."""
    rows = [("Demo/2", "a"), ("Demo/0", "b"), ("Demo/2", "c"), (None, None), ("Demo/0", "d"), ("Demo/2", "e")]
    text = "\n".join(
        "" if task is None else json.dumps({"task_id": task, "completion": body, "extra": i})
        for i, (task, body) in enumerate(rows)
    )
    path = tmp_path / "s.jsonl"
    path.write_text(text + "\n")
    samples = read_all(load_samples(str(path), load_problems(str(DEMO_PROBLEMS))))
    assert [(s.entry.task_id, s.entry.index, s.entry.position, s.entry.line, s.text) for s in samples] == [
        ("Demo/2", 0, 0, 1, "a"),
        ("Demo/0", 0, 1, 2, "b"),
        ("Demo/2", 1, 2, 3, "c"),
        ("Demo/0", 1, 3, 5, "d"),
        ("Demo/2", 2, 4, 6, "e"),
    ]
    assert [s.record["extra"] for s in samples] == [0, 1, 2, 4, 5]


def test_load_samples_solution(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    program = "def add(a, b):\n    return a + b\n"
    path.write_text(json.dumps({"task_id": "Demo/0", "solution": program}) + "\n")
    (sample,) = read_all(load_samples(str(path), load_problems(str(DEMO_PROBLEMS))))
    assert sample.is_solution
    assert sample.text == program


def test_load_samples_canonical() -> None:
    problem_set = load_problems(str(DEMO_PROBLEMS))
    sample_set = load_samples(CANONICAL_SAMPLES, problem_set)
    assert sample_set.source == "canonical"
    assert [(e.task_id, e.index, e.position) for e in sample_set.entries] == [
        (f"Demo/{i}", 0, i) for i in range(4)
    ]
    samples = read_all(sample_set)
    assert [s.text for s in samples] == [p.canonical_solution for p in problem_set.problems.values()]
    assert not any(s.is_solution for s in samples)


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        (f'{GOOD_LINE}\n{{"task_id": \n'.encode(), 2, "malformed JSON"),
        (b'\n\n"just a string"\n', 3, "expected a JSON object, found str"),
        (f'{GOOD_LINE}\n{{"task_id": "Nope/1", "completion": ""}}\n'.encode(), 2, "unknown task_id 'Nope/1'"),
        (b'{"task_id": "Demo/0"}\n', 1, "found neither"),
        (b'{"task_id": "Demo/0", "completion": "", "solution": ""}\n', 1, "found both"),
        (
            b'{"task_id": "Demo/0", "completion": 1.5}\n',
            1,
            "field 'completion' must be a string, found float",
        ),
        (b'{"task_id": "Demo/0", "solution": false}\n', 1, "field 'solution' must be a string, found bool"),
        (b'{"task_id": 0, "completion": ""}\n', 1, "field 'task_id' must be a string, found int"),
        (GOOD_LINE.encode() + b"\n\xff\xfe\n", 2, "not valid UTF-8"),
        (b"", None, "the file is empty"),
        (b" \n\n", None, "the file is empty"),
    ],
    ids=[
        "malformed",
        "not-object",
        "unknown-task",
        "neither",
        "both",
        "float",
        "bool-solution",
        "int-task-id",
        "non-utf8",
        "empty",
        "blank",
    ],
)
def test_load_samples_errors(tmp_path: Path, content: bytes, line: int | None, fragment: str) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        load_samples(str(path), load_problems(str(DEMO_PROBLEMS)))
    assert info.value.source == str(path)
    assert info.value.line == line
    assert fragment in info.value.message
    where = f"{path}:{line}" if line is not None else str(path)
    assert str(info.value) == f"{where}: {info.value.message}"


def test_load_problems_errors(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(problem_lines_with(2, drop="test"))
    with pytest.raises(InputError) as info:
        load_problems(str(path))
    assert (info.value.source, info.value.line) == (str(path), 2)
    assert info.value.message == "missing field 'test'"


def test_load_problems_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_problems(str(tmp_path / "absent.jsonl"))
    assert info.value.line is None
    assert info.value.message.startswith("cannot read")


def test_load_samples_crlf(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes("\r\n".join(demo_sample_lines()).encode() + b"\r\n")
    samples = read_all(load_samples(str(path), load_problems(str(DEMO_PROBLEMS))))
    assert [s.text for s in samples] == [json.loads(line)["completion"] for line in demo_sample_lines()]


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    """A UTF-8 byte order mark (as some Windows tools write) opens samples and problems files."""
    samples = tmp_path / "s.jsonl"
    samples.write_bytes(codecs.BOM_UTF8 + "\n".join(demo_sample_lines()).encode() + b"\n")
    problems = tmp_path / "p.jsonl"
    problems.write_bytes(codecs.BOM_UTF8 + DEMO_PROBLEMS.read_bytes())
    problem_set = load_problems(str(problems))
    assert problem_set.problems == load_problems(str(DEMO_PROBLEMS)).problems
    read = read_all(load_samples(str(samples), problem_set))
    assert [s.record for s in read] == [json.loads(line) for line in demo_sample_lines()]


def test_byte_order_mark_later_in_the_file_is_an_error(tmp_path: Path) -> None:
    samples = tmp_path / "s.jsonl"
    lines = demo_sample_lines()
    samples.write_bytes((lines[0] + "\n").encode() + codecs.BOM_UTF8 + (lines[1] + "\n").encode())
    with pytest.raises(InputError) as info:
        load_samples(str(samples), load_problems(str(DEMO_PROBLEMS)))
    assert info.value.line == 2
    assert "malformed JSON" in info.value.message


def test_lone_surrogate_in_sample(pytester: pytest.Pytester) -> None:
    """Either a usage error naming the line, or a run that writes every result: never a crash."""
    lines = [
        '{"task_id": "Demo/0", "completion": "    return a + b\\n", "note": "\\udcff"}',
        GOOD_LINE,
    ]
    write_bytes(pytester, "samples.jsonl", ("\n".join(lines) + "\n").encode())
    result = run_with(
        pytester, "samples.jsonl", None, "--humaneval-results=results.jsonl", "--humaneval-json=summary.json"
    )
    text = text_of(result)
    assert "INTERNALERROR" not in text, text
    if result.ret == pytest.ExitCode.USAGE_ERROR:
        assert_one_usage_error(pytester, result, "samples.jsonl:1: ")
    else:
        assert result.ret == 0, text
        assert len((pytester.path / "results.jsonl").read_text(encoding="utf-8").splitlines()) == 2
        assert json.loads((pytester.path / "summary.json").read_text())["finished"] == 2


def test_file_labels_are_names_made_unique_with_directories() -> None:
    assert file_labels(["runs/a.jsonl", "b.jsonl.gz", CANONICAL_SAMPLES]) == [
        "a.jsonl",
        "b.jsonl.gz",
        "canonical",
    ]
    assert file_labels(["x/run1/samples.jsonl", "x/run2/samples.jsonl", "other.jsonl"]) == [
        "run1/samples.jsonl",
        "run2/samples.jsonl",
        "other.jsonl",
    ]
    assert file_labels(["m/a/s.jsonl", "n/a/s.jsonl"]) == ["m/a/s.jsonl", "n/a/s.jsonl"]
    assert file_labels(["sub/canonical", CANONICAL_SAMPLES]) == ["sub/canonical", "canonical"]


def test_positions_and_labels_of_a_later_file() -> None:
    problem_set = load_problems(str(DEMO_PROBLEMS))
    sample_set = load_samples(str(DEMO_SAMPLES), problem_set, first_position=5, file_label="m.jsonl")
    first = sample_set.entries[0]
    assert sample_set.label == "m.jsonl"
    assert [e.position for e in sample_set.entries] == list(range(5, 17))
    assert first.nodeid == "m.jsonl::Demo/0::Demo/0[0]"
    assert first.param_id == "m.jsonl:Demo/0[0]"
    alone = load_samples(str(DEMO_SAMPLES), problem_set)
    assert alone.label == "demo-samples.jsonl"
    assert alone.entries[0].nodeid == "Demo/0::Demo/0[0]"


# -- messages that quote input are capped ------------------------------------------------------

MEGABYTE = 1_000_000
SHORT_ENOUGH = 600
"""The longest an error line may be here: 200 quoted characters and the file's name."""


def test_quoted_caps_a_value_and_says_how_much_was_cut() -> None:
    assert quoted("Demo/0") == "Demo/0"
    assert quoted("x" * 200) == "x" * 200
    assert quoted("x" * 1205) == "x" * 200 + "... (1,005 more characters)"
    assert quoted("a\nb ", as_repr=True) == "'a\\nb '"
    assert quoted("é" * 12, limit=10, as_repr=True) == "'" + "é" * 10 + "'... (2 more characters)"


def test_huge_unknown_task_id_is_quoted_short(pytester: pytest.Pytester) -> None:
    bad = json.dumps({"task_id": "Demo/9" + "x" * MEGABYTE, "completion": "    return 1\n"})
    write_bytes(pytester, "samples.jsonl", f"{GOOD_LINE}\n{bad}\n".encode())
    result = run_with(pytester, "samples.jsonl")
    error = assert_one_usage_error(pytester, result, "samples.jsonl:2: unknown task_id 'Demo/9xxx")
    assert f"... ({MEGABYTE + 6 - 200:,} more characters) (not in problems" in error
    assert len(error) < SHORT_ENOUGH


@pytest.mark.parametrize(
    ("field", "expected"),
    [("task_id", "duplicate task_id 'Demo/1"), ("entry_point", "entry_point 'add numbers")],
)
def test_huge_bad_problem_value_is_quoted_short(pytester: pytest.Pytester, field: str, expected: str) -> None:
    value = ("Demo/1" if field == "task_id" else "add numbers") + " " * MEGABYTE
    lines = demo_problem_lines()
    for number in (1, 3) if field == "task_id" else (3,):  # line 4 repeats line 2's task_id
        record = json.loads(lines[number])
        lines[number] = json.dumps({**record, field: value})
    write_bytes(pytester, "problems.jsonl", ("\n".join(lines) + "\n").encode())
    result = run_with(pytester, str(DEMO_SAMPLES), "problems.jsonl")
    error = assert_one_usage_error(pytester, result, expected)
    assert "more characters)" in error and len(error) < SHORT_ENOUGH


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '{"task_id": "Demo/0", "completion": "' + "x" * MEGABYTE,
            "malformed JSON: Invalid control character",
        ),
        ('{"task_id": "Demo/0", "completion": "", "n": ' + "7" * MEGABYTE + "}", "unreadable JSON: Exceeds"),
        ("[" * MEGABYTE + "]" * MEGABYTE, "unreadable JSON: maximum recursion depth"),
    ],
    ids=["unterminated", "huge-integer", "deep-nesting"],
)
def test_huge_bad_line_is_one_short_error(pytester: pytest.Pytester, line: str, expected: str) -> None:
    write_bytes(pytester, "samples.jsonl", f"{GOOD_LINE}\n{line}\n".encode())
    result = run_with(pytester, "samples.jsonl")
    error = assert_one_usage_error(pytester, result, f"samples.jsonl:2: {expected}")
    assert len(error) < SHORT_ENOUGH


def test_huge_ini_value_is_quoted_short(pytester: pytest.Pytester) -> None:
    pytester.makeini(f"[pytest]\nhumaneval_k = 1,{'x' * MEGABYTE}\n")
    result = run_with(pytester, str(DEMO_SAMPLES))
    error = assert_one_usage_error(pytester, result, "humaneval_k=1,xxx")
    assert f"... ({MEGABYTE + 2 - 200:,} more characters) (from tox.ini)" in error
    assert len(error) < SHORT_ENOUGH
