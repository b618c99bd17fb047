"""The best sampling temperature per k, from samples files at several temperatures (the
samples' ``temperature`` field, or ``--humaneval-temperature`` per file), checked against
figures computed by hand.

- ``cold.jsonl`` (0.2): Demo/0 and Demo/1 solved by all 3 samples, Demo/2 and Demo/3 by none:
  pass@1 = pass@3 = 0.5;
- ``hot.jsonl`` (0.8): every problem solved by 1 sample of 3: pass@1 = 1/3, pass@3 = 1.

So the best temperature is 0.2 for k = 1 and 0.8 for k = 3, as the Codex paper found (a
higher temperature pays when more samples are drawn).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.problems import DEMO_PROBLEMS
from support.results import error_lines, read_json, text_of
from support.sessions import RunHumaneval, run_shards

from pytest_humaneval.metrics import PassAtK, bootstrap_ci95
from pytest_humaneval.temperature import FileTemperature, TemperatureBook, best_per_k

WRONG = "    return None\n"
TASKS = [f"Demo/{task}" for task in range(4)]


def canonical() -> dict[str, str]:
    rows = [json.loads(line) for line in DEMO_PROBLEMS.read_text().splitlines()]
    return {row["task_id"]: row["canonical_solution"] for row in rows}


def write_files(directory: Path, cold: Any = 0.2, hot: Any = 0.8) -> None:
    """``cold.jsonl`` and ``hot.jsonl`` (see the module's docstring), their samples carrying
    the temperatures given (None: no field)."""
    solutions = canonical()

    def lines(temperature: Any, solved: Any) -> str:
        records = [
            {"task_id": task, "completion": solutions[task] if solved(task, index) else WRONG}
            | ({} if temperature is None else {"temperature": temperature})
            for task in TASKS
            for index in range(3)
        ]
        return "".join(json.dumps(record) + "\n" for record in records)

    (directory / "cold.jsonl").write_text(lines(cold, lambda task, index: task in TASKS[:2]))
    (directory / "hot.jsonl").write_text(lines(hot, lambda task, index: index == 0))


def session_args(*extra: str) -> list[str]:
    return [
        f"--humaneval-problems={DEMO_PROBLEMS}",
        "--humaneval-samples=cold.jsonl",
        "--humaneval-samples=hot.jsonl",
        "--humaneval-timeout=1",
        "--humaneval-k=1,3,10",
        *extra,
    ]


COLD_INTERVAL = bootstrap_ci95(np.array([1.0, 1.0, 0.0, 0.0]))
BEST_LINES = [
    "best temperature per k (the file with the highest pass@k, 95% CI)",
    f"pass@1   T=0.2  cold.jsonl  0.5000 ({COLD_INTERVAL[0]:.4f}-{COLD_INTERVAL[1]:.4f})",
    "pass@3   T=0.8  hot.jsonl  1.0000 (1.0000-1.0000)",
    "pass@10  n/a    needs 10 samples per task, Demo/0 has 3",
]


# -- the temperatures and the choice --------------------------------------------------------------------


def test_a_files_temperature_is_the_one_its_samples_all_carry() -> None:
    book = TemperatureBook()
    for record in ({"temperature": 0.2}, {"temperature": 0.2}):
        book.note(0, record)
    for value in (0.8, 1, 0.8, 1.2, 1.4, 1.6):
        book.note(1, {"temperature": value})
    book.note(2, {"temperature": 0.8})
    book.note(2, {"temperature": "hot"})
    book.note(3, {})
    assert book.temperature(0) == FileTemperature(0.2)
    assert book.temperature(1) == FileTemperature(
        None, "its samples carry different temperatures (0.8, 1, 1.2, ...)"
    )
    assert book.temperature(2) == FileTemperature(None, "1 of its 2 samples have no numeric 'temperature'")
    assert book.temperature(3) == FileTemperature(None) == book.temperature(4)


def rates(*values: float | None) -> list[PassAtK]:
    return [PassAtK(k, value, "" if value is not None else "too few") for k, value in enumerate(values, 1)]


def test_the_best_file_per_k_ties_to_the_first_given() -> None:
    temperatures = [FileTemperature(0.2), FileTemperature(0.8), FileTemperature(1.0)]
    best = best_per_k(
        temperatures, [rates(0.5, 0.6, None), rates(0.4, 0.7, None), rates(0.5, 0.7, None)], list("abc")
    )
    assert best is not None
    assert [(at_k.k, at_k.file) for at_k in best.per_k] == [(1, 0), (2, 1), (3, None)]
    assert best.per_k[2].reason == "too few"


def test_files_without_one_temperature_each_are_not_compared() -> None:
    labels = ["a", "b"]
    two = [rates(0.5), rates(0.4)]
    assert best_per_k([FileTemperature(None)] * 2, two, labels) is None
    assert best_per_k([FileTemperature(0.2)], [rates(0.5)], ["a"]) is None
    mixed = best_per_k([FileTemperature(0.2), FileTemperature(None, "why")], two, labels)  # b carries some
    assert mixed is not None and mixed.reason == "not every file has one temperature (b: why)"
    assert best_per_k([FileTemperature(0.2)] * 2, two, labels) is None  # models at one temperature
    assert best_per_k([FileTemperature(0.2), FileTemperature(None)], two, labels) is None
    three = best_per_k(
        [FileTemperature(0.2), FileTemperature(0.8), FileTemperature(None)],
        [*two, rates(0.3)],
        [*labels, "c"],
    )
    assert three is not None and three.reason == "not every file has one temperature (c: no temperature)"


# -- sessions ------------------------------------------------------------------------------------------


def test_best_temperature_per_k_from_the_samples_field(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    write_files(pytester.path)
    result = run_humaneval(*session_args("--humaneval-json=summary.json", *worker_args))
    assert result.ret == 0, text_of(result)
    result.stdout.fnmatch_lines(["95% CI: percentile bootstrap over problems", *BEST_LINES], consecutive=True)
    summary = read_json(pytester.path / "summary.json")
    assert [run["temperature"] for run in summary["runs"]] == [0.2, 0.8]
    assert summary["best_temperature"] == {
        "pass@1": {
            "temperature": 0.2,
            "label": "cold.jsonl",
            "samples_file": "cold.jsonl",
            "pass_at_k": pytest.approx(0.5),
            "ci95": list(COLD_INTERVAL),
        },
        "pass@3": {
            "temperature": 0.8,
            "label": "hot.jsonl",
            "samples_file": "hot.jsonl",
            "pass_at_k": 1.0,
            "ci95": [1.0, 1.0],
        },
        "pass@10": None,
    }


def test_temperatures_given_per_file_reach_the_merge(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    """The samples carry no temperature: the shards are given them, and their results files
    tell the merge."""
    write_files(pytester.path, cold=None, hot=None)
    args = session_args("--humaneval-temperature=0.2, 0.8", "--humaneval-no-cache", *worker_args)
    for shard in run_shards(run_humaneval, 2, args):
        assert shard.ret == 0, text_of(shard)
    merged = run_humaneval(
        "--humaneval-merge=shard-*.jsonl", "--humaneval-k=1,3,10", "--humaneval-json=summary.json"
    )
    assert merged.ret == 0, text_of(merged)
    merged.stdout.fnmatch_lines(BEST_LINES, consecutive=True)
    summary = read_json(pytester.path / "summary.json")
    assert summary["settings"]["temperature"] == [0.2, 0.8]
    assert summary["best_temperature"]["pass@3"]["label"] == "hot.jsonl"
    wrong = run_humaneval("--humaneval-merge=shard-*.jsonl", "--humaneval-temperature=0.5")
    assert wrong.ret == pytest.ExitCode.USAGE_ERROR, text_of(wrong)
    assert error_lines(wrong) == [
        "ERROR: --humaneval-temperature (from command line) gives 1 temperatures for the shards' 2 "
        "samples files: give one per file, in their order"
    ]


def test_the_option_wins_over_the_field(pytester: pytest.Pytester, run_humaneval: RunHumaneval) -> None:
    write_files(pytester.path)
    result = run_humaneval(*session_args("--humaneval-temperature=1.0,0.6"))
    assert result.ret == 0, text_of(result)
    result.stdout.fnmatch_lines(["pass@1   T=1    cold.jsonl *", "pass@3   T=0.6  hot.jsonl *"])


def test_a_file_of_mixed_temperatures_says_why_nothing_is_compared(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    write_files(pytester.path)
    hot = (pytester.path / "hot.jsonl").read_text().splitlines()
    hot[-1] = hot[-1].replace('"temperature": 0.8', '"temperature": 1.0')
    (pytester.path / "hot.jsonl").write_text("\n".join(hot) + "\n")
    result = run_humaneval(*session_args())
    assert result.ret == 0, text_of(result)
    assert (
        "best temperature per k: not shown: not every file has one temperature "
        "(hot.jsonl: its samples carry different temperatures (0.8, 1))"
    ) in result.outlines, text_of(result)


@pytest.mark.parametrize(("value", "given"), [("0.2", 1), ("0.2,0.4,0.8", 3)])
def test_one_temperature_per_file(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, value: str, given: int
) -> None:
    write_files(pytester.path)
    result = run_humaneval(*session_args(f"--humaneval-temperature={value}"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text_of(result)
    assert error_lines(result) == [
        f"ERROR: --humaneval-temperature (from command line) gives {given} temperatures for 2 samples "
        "files: give one per file, in the order of --humaneval-samples"
    ]


def png_size(path: Path) -> tuple[int, int]:
    """A PNG's width and height in pixels, from its header."""
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


def test_the_plot_adds_a_panel_per_ranked_file_and_one_for_temperature(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    pytest.importorskip("matplotlib")
    write_files(pytester.path)
    plain = run_humaneval(*session_args("--humaneval-plot=plain.png", "--humaneval-temperature=0.2,0.2"))
    assert plain.ret == 0, text_of(plain)
    assert png_size(pytester.path / "plain.png") == (640, 400)  # one panel: pass@k, as before
    result = run_humaneval(
        *session_args("--humaneval-plot=all.png", "--humaneval-rank=temperature", *worker_args)
    )
    assert result.ret == 0, text_of(result)
    assert png_size(pytester.path / "all.png") == (1280, 800)  # pass@k, 2 rankings, temperature
