"""Stop sequences: cutting raw completions before they run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import DEMO_PROBLEMS, DEMO_SAMPLES
from pytest_humaneval.postprocess import CODEX_STOP_SEQUENCES, parse_stop_sequences, truncate

SUBPROCESS_TIMEOUT = 120

# What a base model writes after the function it was asked for.
RAW_TAILS = [
    "\n\ndef helper(x):\n    return x\n",
    "\n\nclass Extra:\n    pass\n",
    "\n\nif __name__ == '__main__':\n    print(1 / 0)\n",
    "\n\nprint(undefined_name)\n",
    "\n\n# Test the function\nassert False\n",
]


def test_codex_preset() -> None:
    assert (
        parse_stop_sequences("codex")
        == CODEX_STOP_SEQUENCES
        == ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
    )


def test_comma_separated_with_escapes() -> None:
    assert parse_stop_sequences("\\ndef,\\nclass,,\\t#") == ("\ndef", "\nclass", "\t#")


def test_empty_value_is_refused() -> None:
    with pytest.raises(ValueError, match="must be"):
        parse_stop_sequences(",")


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("    return a + b\n\ndef other():\n    pass\n", "    return a + b\n"),
        ("    return a + b\n# trailing\nclass X: pass", "    return a + b"),
        ("    x = 1  # not at column 0\n    return x\n", "    x = 1  # not at column 0\n    return x\n"),
        ("    if a:\n        return 1\n    return 2\n", "    if a:\n        return 1\n    return 2\n"),
        ("", ""),
    ],
)
def test_truncate_at_the_first_stop_sequence(completion: str, expected: str) -> None:
    assert truncate(completion, CODEX_STOP_SEQUENCES) == expected


def _run(pytester: pytest.Pytester, samples: Path, *extra: str) -> tuple[pytest.RunResult, dict, list]:
    result = pytester.runpytest_subprocess(
        f"--humaneval-problems={DEMO_PROBLEMS}",
        f"--humaneval-samples={samples}",
        "--humaneval-timeout=1",
        "--humaneval-json=summary.json",
        "--humaneval-results=results.jsonl",
        "-p",
        "no:cacheprovider",
        *extra,
        timeout=SUBPROCESS_TIMEOUT,
    )
    summary = json.loads((pytester.path / "summary.json").read_text())
    results = [json.loads(line) for line in (pytester.path / "results.jsonl").read_text().splitlines()]
    return result, summary, results


def test_raw_completions_cut_with_codex_match_clean_ones(pytester: pytest.Pytester) -> None:
    clean = [json.loads(line) for line in DEMO_SAMPLES.read_text().splitlines()]
    raw = [
        {**record, "completion": record["completion"] + RAW_TAILS[number % len(RAW_TAILS)]}
        for number, record in enumerate(clean)
    ]
    raw_path = pytester.path / "raw.jsonl"
    raw_path.write_text("".join(json.dumps(record) + "\n" for record in raw))

    _, clean_summary, clean_results = _run(pytester, DEMO_SAMPLES)
    uncut_result, uncut_summary, _ = _run(pytester, raw_path)
    cut_result, cut_summary, cut_results = _run(pytester, raw_path, "--humaneval-stop=codex")

    assert cut_result.ret == 0 and uncut_result.ret == 0
    # Without cutting, the tails break samples: the measurement differs.
    assert uncut_summary["pass_at_k"]["pass@1"] < clean_summary["pass_at_k"]["pass@1"]
    assert cut_summary["pass_at_k"] == clean_summary["pass_at_k"]
    assert cut_summary["counts"] == clean_summary["counts"]
    assert cut_summary["settings"]["stop"] == list(CODEX_STOP_SEQUENCES)
    assert [r["outcome"] for r in cut_results] == [r["outcome"] for r in clean_results]
    for cut, original in zip(cut_results, raw, strict=True):
        assert cut["completion"] == original["completion"]  # the original text is kept
        assert cut["ran"] == truncate(original["completion"], CODEX_STOP_SEQUENCES)
    assert all("ran" not in record for record in clean_results)


def test_bad_stop_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        f"--humaneval-problems={DEMO_PROBLEMS}",
        f"--humaneval-samples={DEMO_SAMPLES}",
        "--humaneval-stop=,",
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert any("--humaneval-stop=, (from command line): must be" in line for line in result.errlines)
