"""Sharded runs: ``--humaneval-shard=I/N`` runs a fixed share of the samples and
``--humaneval-merge`` rebuilds the whole run from the shards' results files.

The shards partition the samples (each once, identical samples together, each problem's
samples spread evenly, the same assignment whatever the hash seed); merging the N shards
gives the results lines, JSON summary, table and gate of one unsharded run (the durations
are the shards' own, and ``isolation.work_directory`` names the first shard's directory);
shards that do not make one run are one usage error naming the files; a merge starts no
sandbox server and reads neither samples nor problems. Sessions run at ``-n 0`` and ``-n 2``.

The samples are the demo samples with copies of two of them (identical code, an extra field
apart): 17 samples, of which Demo/0's second sample comes 4 times and Demo/1's first 3 times.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support import evalplus
from support.problems import DEMO_PROBLEMS, demo_records
from support.results import error_lines, read_json, read_results, text_of
from support.sessions import RunHumaneval, run_shards, serial

from pytest_humaneval.model import SampleEntry
from pytest_humaneval.shards import ShardMembers, assign

COPIED = [(1, 3), (3, 2)]
"""(line index in the demo samples, how many copies): a failing sample and a passing one."""
SAMPLES = 12 + sum(copies for _, copies in COPIED)


def write_samples(directory: Path) -> list[dict[str, Any]]:
    """``samples.jsonl`` in ``directory`` (see the module's docstring); returns its records."""
    records = demo_records()
    for index, copies in COPIED:
        records += [{**records[index], "copy": number} for number in range(copies)]
    (directory / "samples.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records))
    return records


def session_args(*extra: str, samples: str = "samples.jsonl", problems: Path = DEMO_PROBLEMS) -> list[str]:
    return [
        f"--humaneval-problems={problems}",
        f"--humaneval-samples={samples}",
        "--humaneval-timeout=1",
        "--humaneval-k=1,3",
        "--humaneval-no-cache",
        *extra,
    ]


def without(record: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in record.items() if name not in names}


def comparable_summary(path: Path) -> dict[str, Any]:
    """A JSON summary without what differs between two runs of the same samples: the
    sandbox's working directory."""
    summary = read_json(path)
    summary["isolation"].pop("work_directory", None)
    return dict(summary)


TABLE_PREFIXES = ("samples ", "problems ", "outcomes ", "pass@", "95% CI", "PARTIAL", "FAIL", "file ")


def table_and_gate_lines(result: pytest.RunResult) -> list[str]:
    """The humaneval table's figures and the gate's lines, as printed."""
    start = next(i for i, line in enumerate(result.outlines) if line.strip("= ") == "humaneval")
    return [line for line in result.outlines[start:] if line.startswith(TABLE_PREFIXES) or "meets" in line]


# -- the assignment --------------------------------------------------------------------------------------


def random_samples(seed: int) -> tuple[list[SampleEntry], list[str]]:
    """Samples of 9 tasks (1 to 23 each, interleaved as several files would be), some identical."""
    rng = random.Random(seed)
    entries: list[SampleEntry] = []
    identities: list[str] = []
    for task in rng.sample(range(9), 9) * 2:
        for index in range(rng.randint(1, 12)):
            code = f"code {rng.randint(0, 30)}" if rng.random() < 0.3 else f"unique {len(entries)}"
            entries.append(SampleEntry(len(entries), f"T/{task}", index, len(entries) + 1))
            identities.append(f"T/{task}: {code}")
    return entries, identities


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 40])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_sample_is_in_one_shard_copies_together_problems_balanced(count: int, seed: int) -> None:
    entries, identities = random_samples(seed)
    shard_of = assign(entries, identities, count)
    assert len(shard_of) == len(entries) and set(shard_of) <= set(range(count))
    members = [ShardMembers.of(shard_of, number, count) for number in range(1, count + 1)]
    for entry in entries:
        assert [number for number, shard in enumerate(members) if entry.position in shard] == [
            shard_of[entry.position]
        ]
    assert sum(shard.size for shard in members) == len(entries)
    together: dict[str, set[int]] = {}
    for identity, shard in zip(identities, shard_of, strict=True):
        together.setdefault(identity, set()).add(shard)
    assert all(len(shards) == 1 for shards in together.values())
    group_sizes = Counter(identities)
    for task in {entry.task_id for entry in entries}:
        positions = [entry.position for entry in entries if entry.task_id == task]
        per_shard = Counter(shard_of[position] for position in positions)
        counts = [per_shard.get(shard, 0) for shard in range(count)]
        largest_group = max(group_sizes[identities[position]] for position in positions)
        assert max(counts) - min(counts) <= largest_group, (task, counts)


def test_without_copies_each_problem_and_each_shard_is_even_within_one() -> None:
    entries = [SampleEntry(p, f"T/{p % 7}", p // 7, p + 1) for p in range(7 * 11)]
    shard_of = assign(entries, [f"unique {p}" for p in range(len(entries))], 4)
    for task in range(7):
        per_shard = Counter(shard_of[p] for p in range(len(entries)) if p % 7 == task)
        assert max(per_shard.values()) - min(per_shard.values()) <= 1 and len(per_shard) == 4
    totals = Counter(shard_of)
    assert max(totals.values()) - min(totals.values()) <= 1


ASSIGN_IN_A_PROCESS = """
import json, sys
sys.path.insert(0, sys.argv[1])
from test_shards import assign, random_samples
entries, identities = random_samples(7)
print(json.dumps(list(assign(entries, identities, 5))))
"""


def test_the_assignment_does_not_depend_on_the_hash_seed() -> None:
    """Another machine, another process: the same samples get the same shards."""
    outputs = []
    for seed in ("0", "1", "12345"):
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", ASSIGN_IN_A_PROCESS, str(Path(__file__).parent)],
            capture_output=True,
            text=True,
            env=environment,
            check=True,
        )
        outputs.append(json.loads(run.stdout))
    entries, identities = random_samples(7)
    assert outputs[0] == outputs[1] == outputs[2] == list(assign(entries, identities, 5))


def test_members_travel_as_plain_data() -> None:
    members = ShardMembers.of([0, 1, 1, 0, 2, 1, 0, 0, 1], 2, 3)
    assert [position for position in range(12) if position in members] == [1, 2, 5, 8]
    assert members.size == 4 and members.label == "2/3"
    assert ShardMembers.from_plain(members.to_plain()) == members


# -- shard sessions ----------------------------------------------------------------------------------------


def test_shards_partition_the_samples(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    records = write_samples(pytester.path)
    results = run_shards(run_humaneval, 3, session_args(*worker_args))
    lines: list[dict[str, Any]] = []
    for number, result in enumerate(results, start=1):
        assert result.ret == 0, text_of(result)
        shard_lines = read_results(pytester.path / f"shard-{number}-of-3.jsonl")
        assert {line["shard"] for line in shard_lines} == {f"{number}/3"}
        assert "shard_run" in shard_lines[0] and not any("shard_run" in line for line in shard_lines[1:])
        positions = [line["input_position"] for line in shard_lines]
        assert positions == sorted(positions)  # input order
        assert f"shard {number}/3: {len(shard_lines)} of {SAMPLES} samples; " in text_of(result)
        if serial(worker_args):  # xdist's workers deselect, and its controller prints no count
            result.stdout.fnmatch_lines(
                [
                    f"collected {SAMPLES} items / {SAMPLES - len(shard_lines)} deselected / "
                    f"{len(shard_lines)} selected"
                ]
            )
        lines += shard_lines
    assert sorted(line["input_position"] for line in lines) == list(range(SAMPLES))
    for line in lines:  # a shard's line is an ordinary results line with the shard's fields added
        record = records[line["input_position"]]
        assert (
            without(
                line,
                "shard",
                "input_position",
                "shard_run",
                "result",
                "passed",
                "outcome",
                "message",
                "duration",
            )
            == record
        )
    copies = [line["shard"] for line in lines if line["completion"] == records[1]["completion"]]
    assert len(copies) == 4 and len(set(copies)) == 1
    per_task = Counter((line["task_id"], line["shard"]) for line in lines)
    for task, largest_group in (("Demo/0", 4), ("Demo/1", 3), ("Demo/2", 1), ("Demo/3", 1)):
        counts = [per_task[(task, f"{number}/3")] for number in (1, 2, 3)]
        assert max(counts) - min(counts) <= largest_group, (task, counts)


def test_merging_the_shards_equals_one_unsharded_run(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    write_samples(pytester.path)
    gate = "--humaneval-fail-under=pass@1=0.9"
    whole = run_humaneval(
        *session_args(gate, "--humaneval-results=whole.jsonl", "--humaneval-json=whole.json", *worker_args)
    )
    assert whole.ret == 1, text_of(whole)  # pass@1 is about 0.5
    whole_lines = read_results(pytester.path / "whole.jsonl")
    assert len(whole_lines) == SAMPLES
    for count in (1, 2, 3):
        shards = run_shards(run_humaneval, count, session_args(gate, *worker_args))
        for number, shard in enumerate(shards, start=1):
            assert shard.ret == 0, text_of(shard)  # a shard is not gated: it is partial
            shard.stdout.fnmatch_lines(
                [
                    "--humaneval-fail-under is applied when the shards are merged, "
                    f"not to shard {number}/{count}"
                ]
            )
        merged = run_humaneval(
            "--humaneval-merge",
            *(f"shard-{number}-of-{count}.jsonl" for number in range(1, count + 1)),
            "--humaneval-k=1,3",
            gate,
            "--humaneval-results=merged.jsonl",
            "--humaneval-json=merged.json",
            *worker_args,
        )
        assert merged.ret == 1, text_of(merged)
        merged_lines = read_results(pytester.path / "merged.jsonl")
        assert [without(line, "duration") for line in merged_lines] == [
            without(line, "duration") for line in whole_lines
        ]
        shard_durations = {
            line["input_position"]: line["duration"]
            for number in range(1, count + 1)
            for line in read_results(pytester.path / f"shard-{number}-of-{count}.jsonl")
        }
        assert [line["duration"] for line in merged_lines] == [shard_durations[p] for p in range(SAMPLES)]
        assert comparable_summary(pytester.path / "merged.json") == comparable_summary(
            pytester.path / "whole.json"
        )
        assert table_and_gate_lines(merged) == table_and_gate_lines(whole)
        shard_names = ", ".join(
            f"shard-{number}-of-{count}.jsonl ({number}/{count})" for number in range(1, count + 1)
        )
        merged.stdout.fnmatch_lines([f"merged {count} shards: {shard_names}"])


def test_merging_shards_of_several_evalplus_files_equals_one_unsharded_run(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """Base and plus statuses, pass@k+, the comparison between the files and the per-problem
    report come out of the merge as out of one run."""
    evalplus.write_files(pytester.path)
    other = [(task, completion) for task, completion, _ in reversed(evalplus.SAMPLES)]
    evalplus.write_files(pytester.path, samples=other, samples_name="other.jsonl")
    args = [
        "--humaneval-problems=plus.jsonl",
        "--humaneval-samples=samples.jsonl",
        "--humaneval-samples=other.jsonl",
        "--humaneval-k=1",
        "--humaneval-no-cache",
        *worker_args,
    ]
    outputs = ["--humaneval-report=problems", "--humaneval-fail-under=pass@1+=0.2"]
    whole = run_humaneval(*args, *outputs, "--humaneval-results=whole.jsonl", "--humaneval-json=whole.json")
    assert whole.ret == 0, text_of(whole)
    for shard in run_shards(run_humaneval, 2, args):
        assert shard.ret == 0, text_of(shard)
    merged = run_humaneval(
        "--humaneval-merge=shard-*-of-2.jsonl",
        "--humaneval-k=1",
        *outputs,
        "--humaneval-results=merged.jsonl",
        "--humaneval-json=merged.json",
        *worker_args,
    )
    assert merged.ret == 0, text_of(merged)
    whole_lines, merged_lines = (
        read_results(pytester.path / name) for name in ("whole.jsonl", "merged.jsonl")
    )
    assert [without(line, "duration") for line in merged_lines] == [
        without(line, "duration") for line in whole_lines
    ]
    assert {line["plus_status"] for line in merged_lines} == {"pass", "fail", "timeout"}
    summary = comparable_summary(pytester.path / "merged.json")
    assert summary == comparable_summary(pytester.path / "whole.json")
    assert [run["pass_at_k_plus"]["pass@1"] for run in summary["runs"]] == [
        pytest.approx(evalplus.PASS_AT_1_PLUS)
    ] * 2
    assert summary["comparisons"][0]["pass@1+"]["difference"] == pytest.approx(0.0)

    def report(result: pytest.RunResult) -> list[str]:
        start = result.outlines.index(
            next(line for line in result.outlines if "per problem: samples.jsonl" in line)
        )
        return [
            line
            for line in result.outlines[start:]
            if not line.startswith(("merged", "reused", "evalplus", "="))
        ]

    assert report(merged) == report(whole)


def test_a_shard_that_would_get_no_sample_is_a_usage_error(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    records = demo_records()[:2]
    (pytester.path / "two.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records))
    result = run_humaneval(
        *session_args("--humaneval-shard=3/3", "--humaneval-results=r.jsonl", samples="two.jsonl")
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    assert error_lines(result) == [
        "ERROR: --humaneval-shard=3/3 (from command line): shard 3 of 3 gets no sample: the 2 samples "
        "fill 2 shards (identical samples go together); use at most 2 shards"
    ]
    assert not (pytester.path / "r.jsonl").exists()


# -- merges that cannot be made ------------------------------------------------------------------------------


def edited_copy(source: Path, target: Path, edit: Any) -> None:
    """A copy of a shard's results file with its first line's ``shard_run`` edited by ``edit``."""
    lines = source.read_text().splitlines(keepends=True)
    first = json.loads(lines[0])
    edit(first["shard_run"])
    target.write_text(json.dumps(first) + "\n" + "".join(lines[1:]))


def test_shards_that_do_not_make_one_run_are_one_usage_error_naming_the_files(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    path = pytester.path
    write_samples(path)
    for shard in run_shards(run_humaneval, 2, session_args()):
        assert shard.ret == 0, text_of(shard)
    assert (
        run_humaneval(*session_args("--humaneval-shard=1/3", "--humaneval-results=of-three.jsonl")).ret == 0
    )
    other_memory = run_humaneval(
        *session_args("--humaneval-shard=2/2", "--humaneval-results=memory.jsonl", "--humaneval-memory=2048")
    )
    assert other_memory.ret == 0, text_of(other_memory)
    changed = path / "changed"
    changed.mkdir()
    records = write_samples(changed)
    records[0]["completion"] = "    return b + a\n"
    (changed / "samples.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records))
    other_samples = run_humaneval(
        *session_args(
            "--humaneval-shard=2/2",
            "--humaneval-results=samples-changed.jsonl",
            samples="changed/samples.jsonl",
        )
    )
    assert other_samples.ret == 0, text_of(other_samples)
    problems = [json.loads(line) for line in DEMO_PROBLEMS.read_text().splitlines()]
    problems[0]["test"] += "\n# another test\n"
    (changed / "demo.jsonl").write_text("".join(json.dumps(problem) + "\n" for problem in problems))
    other_problems = run_humaneval(
        *session_args(
            "--humaneval-shard=2/2",
            "--humaneval-results=problems-changed.jsonl",
            problems=changed / "demo.jsonl",
        )
    )
    assert other_problems.ret == 0, text_of(other_problems)
    assert run_humaneval(*session_args("--humaneval-results=whole.jsonl")).ret == 0
    first, second = path / "shard-1-of-2.jsonl", path / "shard-2-of-2.jsonl"
    (path / "copy-of-1.jsonl").write_bytes(first.read_bytes())
    edited_copy(
        second, path / "harness.jsonl", lambda run: run["versions"].update(harness="0123456789abcdef")
    )
    (path / "truncated.jsonl").write_text("".join(second.read_text().splitlines(keepends=True)[:-1]))
    real_harness = read_results(second)[0]["shard_run"]["versions"]["harness"]
    cases = {
        ("shard-1-of-2.jsonl",): "shard 2/2 is missing (given: shard-1-of-2.jsonl (1/2))",
        ("shard-1-of-2.jsonl", "copy-of-1.jsonl", "shard-2-of-2.jsonl"): (
            "shard 1/2 is given twice: shard-1-of-2.jsonl and copy-of-1.jsonl"
        ),
        ("shard-1-of-2.jsonl", "of-three.jsonl"): (
            "shard-1-of-2.jsonl (1/2) and of-three.jsonl (1/3) are not shards of one run: they differ in "
            "number of shards: 2 against 3"
        ),
        ("shard-1-of-2.jsonl", "memory.jsonl"): (
            "shard-1-of-2.jsonl (1/2) and memory.jsonl (2/2) are not shards of one run: they differ in "
            "settings that decide verdicts: {'timeout': 1.0, 'auto_timeout': False, 'memory_mb': 4096, "
        ),
        ("shard-1-of-2.jsonl", "samples-changed.jsonl"): (
            "shard-1-of-2.jsonl (1/2) and samples-changed.jsonl (2/2) are not shards of one run: they differ "
            "in samples files (label, samples, digest of the lines)"
        ),
        ("shard-1-of-2.jsonl", "problems-changed.jsonl"): (
            "shard-1-of-2.jsonl (1/2) and problems-changed.jsonl (2/2) are not shards of one run: they "
            "differ in problems (digest)"
        ),
        ("shard-1-of-2.jsonl", "harness.jsonl"): (
            "shard-1-of-2.jsonl (1/2) and harness.jsonl (2/2) are not shards of one run: they differ in "
            f"versions (harness): '{real_harness}' against '0123456789abcdef'"
        ),
        ("shard-1-of-2.jsonl", "truncated.jsonl"): (
            f"truncated.jsonl: it has {len(read_results(second)) - 1} samples, its shard "
            f"{len(read_results(second))}: the file is incomplete"
        ),
        ("whole.jsonl", "shard-2-of-2.jsonl"): (
            "whole.jsonl, line 1: it has no 'shard_run': not the results file of a shard "
            "(--humaneval-shard=I/N), or one whose run did not finish"
        ),
    }
    for files, detail in cases.items():
        result = run_humaneval("--humaneval-merge", *files, "--humaneval-json=merged.json")
        assert result.ret == pytest.ExitCode.USAGE_ERROR, (files, text_of(result))
        errors = error_lines(result)
        assert len(errors) == 1 and errors[0].startswith(
            f"ERROR: --humaneval-merge (from command line): {detail}"
        ), (
            files,
            errors,
        )
        assert "Traceback" not in text_of(result)
        assert not (path / "merged.json").exists()


# -- a merge runs nothing ------------------------------------------------------------------------------------


RECORD_SANDBOX_STARTS = """
import subprocess
from pathlib import Path

LOG = Path(__file__).with_name("sandbox-starts.log")
_Popen = subprocess.Popen


class RecordingPopen(_Popen):
    def __init__(self, args, *more, **options):
        if "_sandbox_main.py" in " ".join(map(str, args)):
            with LOG.open("a") as log:
                log.write(" ".join(map(str, args)) + "\\n")
        super().__init__(args, *more, **options)


subprocess.Popen = RecordingPopen
"""


def test_a_merge_starts_no_sandbox_and_reads_no_input(
    pytester: pytest.Pytester,
    run_humaneval: RunHumaneval,
    worker_args: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every start of the sandbox's script is recorded (by a conftest wrapping
    ``subprocess.Popen``): the shards' sessions start servers, the merge's none, and it
    works with the samples and problems files gone, also when the ini file names them (and
    the shards, by a pattern relative to it)."""
    path = pytester.path
    write_samples(path)
    problems = path / "demo.jsonl"
    problems.write_bytes(DEMO_PROBLEMS.read_bytes())
    (path / "conftest.py").write_text(RECORD_SANDBOX_STARTS)
    log = path / "sandbox-starts.log"
    for shard in run_shards(run_humaneval, 2, session_args(*worker_args, problems=problems)):
        assert shard.ret == 0, text_of(shard)
    assert log.read_text().count("_sandbox_main.py") >= 2  # the seam sees the shards' servers
    log.unlink()
    (path / "samples.jsonl").unlink()
    problems.unlink()
    merged = run_humaneval(
        "--humaneval-merge=shard-*-of-2.jsonl", "--humaneval-results=merged.jsonl", *worker_args
    )
    assert merged.ret == 0, text_of(merged)
    assert not log.exists(), log.read_text()
    assert len(read_results(path / "merged.jsonl")) == SAMPLES
    assert re.search(r"outcomes  passed \d+", "\n".join(merged.outlines)), text_of(merged)
    pytester.makeini(
        "[pytest]\nhumaneval_samples = samples.jsonl\nhumaneval_problems = demo.jsonl\n"
        "humaneval_merge =\n    shard-*-of-2.jsonl\nhumaneval_results = out/from-ini.jsonl\n"
    )
    monkeypatch.chdir(pytester.mkdir("elsewhere"))
    from_ini = run_humaneval(*worker_args)
    assert from_ini.ret == 0, text_of(from_ini)
    assert not log.exists(), log.read_text()
    assert (path / "out" / "from-ini.jsonl").read_bytes() == (path / "merged.jsonl").read_bytes()
