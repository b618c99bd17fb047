"""Raw model outputs: stop sequences and code in chat answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.problems import DEMO_PROBLEMS, DEMO_SAMPLES, demo_records
from support.results import read_json, read_results
from support.sessions import RunHumaneval, demo_args

from pytest_humaneval.model import Problem
from pytest_humaneval.postprocess import CODEX_STOP_SEQUENCES, extract_code, parse_stop_sequences, truncate

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


def _run(
    run_humaneval: RunHumaneval, samples: Path, *extra: str
) -> tuple[pytest.RunResult, Any, list[dict[str, Any]]]:
    """A session on ``samples`` without the verdict cache; its summary and results, read."""
    outputs = ("--humaneval-json=summary.json", "--humaneval-results=results.jsonl", "-p", "no:cacheprovider")
    result = run_humaneval(*demo_args(*outputs, *extra, samples=samples))
    directory = run_humaneval.pytester.path
    return result, read_json(directory / "summary.json"), read_results(directory / "results.jsonl")


def test_raw_completions_cut_with_codex_match_clean_ones(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    clean = demo_records()
    raw = [
        {**record, "completion": record["completion"] + RAW_TAILS[number % len(RAW_TAILS)]}
        for number, record in enumerate(clean)
    ]
    raw_path = pytester.path / "raw.jsonl"
    raw_path.write_text("".join(json.dumps(record) + "\n" for record in raw))

    _, clean_summary, clean_results = _run(run_humaneval, DEMO_SAMPLES, *worker_args)
    uncut_result, uncut_summary, _ = _run(run_humaneval, raw_path, *worker_args)
    cut_result, cut_summary, cut_results = _run(
        run_humaneval, raw_path, "--humaneval-stop=codex", *worker_args
    )

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


def test_bad_stop_value_is_a_usage_error(run_humaneval: RunHumaneval) -> None:
    result = run_humaneval(
        f"--humaneval-problems={DEMO_PROBLEMS}", f"--humaneval-samples={DEMO_SAMPLES}", "--humaneval-stop=,"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert any("--humaneval-stop=, (from command line): must be" in line for line in result.errlines)


# -- chat outputs -------------------------------------------------------------------------------------

ADD = Problem("Demo/0", 'def add(a, b):\n    """Sum."""\n', "add", "    return a + b\n", "")


def test_no_fence_leaves_the_output_alone() -> None:
    assert extract_code("    return a + b\n", ADD) == (
        "    return a + b\n",
        False,
        "no fenced code: the output is used as it is",
    )


def test_fenced_body_is_appended_to_the_prompt() -> None:
    code, whole, how = extract_code("Sure!\n```\n    return a + b\n```\nDone.", ADD)
    assert (code, whole) == ("    return a + b\n", False)
    assert how == "1 fenced block: appended to the prompt"


def test_fenced_function_runs_after_the_prompt() -> None:
    output = "Here you go:\n```python\nimport math\n\ndef add(a, b):\n    return a + b\n```\nIt adds."
    code, whole, how = extract_code(output, ADD)
    assert whole and code == ADD.prompt + "\nimport math\n\ndef add(a, b):\n    return a + b\n"
    assert how == "1 fenced block, defining add: run after the prompt"


def test_several_blocks_are_joined_and_other_languages_ignored() -> None:
    output = (
        "```bash\npip install x\n```\n"
        "```py\nimport math\n```\ntext\n"
        "```python\ndef add(a, b):\n    return a+b\n```"
    )
    code, whole, how = extract_code(output, ADD)
    assert whole and "pip install" not in code and "import math\n" in code and "return a+b" in code
    assert how.startswith("2 fenced blocks")


def test_unclosed_fence_takes_the_rest() -> None:
    code, whole, _ = extract_code("```python\ndef add(a, b):\n    return a + b\n", ADD)
    assert whole and code.endswith("def add(a, b):\n    return a + b\n")


def _chat(record: dict[str, Any], number: int, prompt: str) -> dict[str, Any]:
    """A chat model's answer built from a plain completion: prose and a fenced block."""
    if number % 3 == 0:  # the whole function, as chat models like to write it
        body = f"```python\n{prompt}{record['completion']}```"
    elif number % 3 == 1:  # only the body, in a bare fence
        body = f"```\n{record['completion']}```"
    else:  # an import in one block, the function in another
        body = f"```python\nimport math\n```\nThen:\n```python\n{prompt}{record['completion']}```"
    return {**record, "completion": f"Sure! Here is my solution.\n\n{body}\n\nHope this helps."}


def test_chat_outputs_give_the_plain_verdicts(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    prompts = {p["task_id"]: p["prompt"] for p in map(json.loads, DEMO_PROBLEMS.read_text().splitlines())}
    plain = demo_records()
    chat = [_chat(record, number, prompts[record["task_id"]]) for number, record in enumerate(plain)]
    chat_path = pytester.path / "chat.jsonl"
    chat_path.write_text("".join(json.dumps(record) + "\n" for record in chat))

    _, plain_summary, plain_results = _run(run_humaneval, DEMO_SAMPLES, *worker_args)
    raw_result, raw_summary, _ = _run(run_humaneval, chat_path, *worker_args)
    result, summary, results = _run(run_humaneval, chat_path, "--humaneval-extract=auto", *worker_args)

    assert result.ret == 0 and raw_result.ret == 0
    assert raw_summary["counts"]["passed"] == 0  # prose is not Python
    assert [r["outcome"] for r in results] == [r["outcome"] for r in plain_results]
    assert summary["pass_at_k"] == plain_summary["pass_at_k"]
    assert summary["settings"]["extract"] == "auto"
    for number, (record, original) in enumerate(zip(results, chat, strict=True)):
        assert record["completion"] == original["completion"]
        how = record["extraction"]
        assert ("run after the prompt" in how) if number % 3 != 1 else how.endswith("appended to the prompt")
        assert "Sure!" not in record["ran"]


def test_how_the_code_was_found_quotes_a_huge_entry_point_short() -> None:
    name = "f" * 1_000_000
    problem = Problem("Demo/0", f"def {name}():\n", name, "    return 1\n", "")
    _, is_solution, how = extract_code(f"```python\ndef {name}():\n    return 1\n```\n", problem)
    assert is_solution
    assert how == f"1 fenced block, defining {'f' * 200}... (999,800 more characters): run after the prompt"
