"""A user's test over the ``humaneval_sample`` fixture: parametrized over the samples, run
beside the sample items, failing the run when it fails, skipped when there are no samples."""

from __future__ import annotations

import re

import pytest
from support.problems import DEMO_COUNTS, DEMO_NODE_IDS, DEMO_OUTCOMES, DEMO_TEST_IDS
from support.results import read_json, text_of
from support.sessions import RunHumaneval, demo_args

USER_TEST = """
EXPECTED = {expected!r}

def test_x(humaneval_sample):
    verdict = humaneval_sample.run()
    test_id = f"{{humaneval_sample.task_id}}[{{humaneval_sample.index}}]"
    assert verdict.kind == EXPECTED[test_id]
    assert verdict.passed is (verdict.kind == "passed")
    assert humaneval_sample.text.startswith("    return") or humaneval_sample.text.startswith("    while")
{extra}
"""


def write_user_test(pytester: pytest.Pytester, extra: str = "") -> None:
    expected = dict(zip(DEMO_TEST_IDS, DEMO_OUTCOMES, strict=True))
    pytester.makepyfile(test_user=USER_TEST.format(expected=expected, extra=extra))


def test_user_test_is_parametrized_over_samples(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    write_user_test(pytester)
    result = run_humaneval(*demo_args("--collect-only", "-q"))
    assert result.ret == 0, text_of(result)
    user_ids = [line for line in result.outlines if line.startswith("test_user.py::")]
    assert user_ids == [f"test_user.py::test_x[{test_id}]" for test_id in DEMO_TEST_IDS]
    assert [line for line in result.outlines if line.startswith("Demo/")] == DEMO_NODE_IDS


def test_user_test_runs_alongside_sample_items(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    write_user_test(pytester)
    result = run_humaneval(*demo_args("-rA", "--humaneval-json=summary.json", *worker_args))
    assert result.ret == 0, text_of(result)
    passed = sorted(line.split()[1] for line in result.outlines if line.startswith("PASSED "))
    users = [f"test_user.py::test_x[{test_id}]" for test_id in DEMO_TEST_IDS]
    samples = [node for node, kind in zip(DEMO_NODE_IDS, DEMO_OUTCOMES, strict=True) if kind == "passed"]
    assert passed == sorted(users + samples)
    assert re.search(r"\b18 passed\b", result.outlines[-1]), result.outlines[-1]
    summary = read_json(pytester.path / "summary.json")
    assert summary["counts"] == DEMO_COUNTS
    assert summary["samples"] == 12


def test_failing_user_test_over_samples_fails_the_run(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    write_user_test(
        pytester, extra="\ndef test_passes(humaneval_sample):\n    assert humaneval_sample.run().passed\n"
    )
    result = run_humaneval(*demo_args(*worker_args))
    assert result.ret == 1, text_of(result)
    failed = sorted(line.split()[1] for line in result.outlines if line.startswith("FAILED "))
    assert failed == sorted(
        f"test_user.py::test_passes[{test_id}]"
        for test_id, kind in zip(DEMO_TEST_IDS, DEMO_OUTCOMES, strict=True)
        if kind != "passed"
    )


def test_user_test_without_samples_option_is_skipped(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    write_user_test(pytester)
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = run_humaneval("-rs")
    assert result.ret == 0, text_of(result)
    assert not [line for line in result.outlines if re.fullmatch(r"=+ humaneval =+", line)], text_of(result)
    result.stdout.fnmatch_lines(["SKIPPED *no samples in this session: give --humaneval-samples*"])
    assert re.search(r"\b1 passed, 1 skipped\b", result.outlines[-1]), result.outlines[-1]
