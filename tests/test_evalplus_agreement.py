"""Agreement with EvalPlus 0.3.1 itself on real model samples: HumanEval+ Mini, judged by
the plugin and by ``evalplus.evaluate`` (the oracle, ``benchmarks/evalplus_oracle.py``, in its
own virtualenv ``.evalplus-venv``), must give every sample the same ``base_status`` and
``plus_status``, except where a time (or EvalPlus's memory) limit decides.

"A time limit decides" a suite's difference (``benchmarks/evalplus_workloads.py``) when either
side says ``timeout``, when the plugin's ``failed_input`` for that suite says a time limit was
exceeded, when EvalPlus, rerun on that sample with ten times its time limits, gives the
plugin's status, or when the plugin, judging that suite alone with ten times its own limits,
gives EvalPlus's (a results line names the first failing suite's input only). EvalPlus's
limits are wall-clock alarms from canonical times measured on the same busy machine; the
plugin's discount CPU waits but not a CPU shared with EvalPlus's processes, which slows a
sample near its limit (HumanEval/77's 0.6 s of 1 s, once). So neither side's timing is
asserted, only that no other difference exists.

Needs ``../shared/data`` (the samples) and ``.evalplus-venv`` (``benchmarks/evalplus_venv.sh``):
the test skips without either, as in CI. The generated MBPP+ workload is too slow for the
suite (about 6 minutes for EvalPlus, 3.5 for the plugin on 2 cores): it is in
``benchmarks/bench_evalplus.py --mbpp``.
"""

from __future__ import annotations

import importlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from support.problems import REPOSITORY
from support.sessions import RunHumaneval

CUSHMAN = "cushman001-t0.6-n10.samples.jsonl"
MINI_RELEASE = REPOSITORY / "pytest_humaneval" / "data" / "HumanEvalPlus-Mini-v0.1.10.jsonl.gz"
TASKS = 164


@pytest.fixture
def evalplus(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``benchmarks/evalplus_workloads.py`` (the comparison, which runs the oracle); skips
    the test when the EvalPlus virtualenv is absent."""
    if not (REPOSITORY / ".evalplus-venv" / "bin" / "python").exists():
        pytest.skip(".evalplus-venv is not present (made by benchmarks/evalplus_venv.sh; not in CI)")
    monkeypatch.syspath_prepend(str(REPOSITORY / "benchmarks"))  # it imports the oracle beside it
    return importlib.import_module("evalplus_workloads")


def first_of_each_task(source: Path, target: Path) -> Path:
    """The first sample of every task (EvalPlus wants samples for all of them), at ``target``."""
    kept: dict[str, dict[str, Any]] = {}
    for line in source.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        kept.setdefault(record["task_id"], record)
    target.write_text("".join(json.dumps(record) + "\n" for record in kept.values()), encoding="utf-8")
    return target


def test_humaneval_mini_agrees_with_evalplus(
    run_humaneval: RunHumaneval, shared_data: Path, evalplus: ModuleType, tmp_path: Path
) -> None:
    samples = first_of_each_task(shared_data / CUSHMAN, tmp_path / "mini.samples.jsonl")
    with ThreadPoolExecutor(max_workers=1) as pool:
        # EvalPlus meanwhile, in its own processes: its verdicts do not depend on ours, and
        # the only differences allowed are a time limit's, which load can cause on either side
        oracle = pool.submit(evalplus.run_oracle, samples, "humaneval-mini", 2, evalplus.DEFAULT_VENV)
        result = run_humaneval(
            "-n", "2", "--humaneval-problems=humaneval+mini", f"--humaneval-samples={samples}",
            "--humaneval-results=results.jsonl", "--humaneval-json=summary.json", timeout=600,
        )  # fmt: skip
        theirs = oracle.result(timeout=600)
    summary = json.loads((run_humaneval.pytester.path / "summary.json").read_text())
    assert summary["finished"] == TASKS, "\n".join(result.outlines[-20:])
    ours = evalplus.read_jsonl(run_humaneval.pytester.path / "results.jsonl")

    found = evalplus.recheck(
        evalplus.differences(theirs["samples"], ours), MINI_RELEASE, samples, "humaneval-mini", tmp_path
    )
    assert [difference for difference in found if not difference.limit] == []
    if not found:
        assert summary["pass_at_k"]["pass@1"] == pytest.approx(theirs["pass_at_k"]["base"]["pass@1"])
        assert summary["pass_at_k_plus"]["pass@1"] == pytest.approx(
            theirs["pass_at_k"]["base+plus"]["pass@1"]
        )


SLOW_CUBE = (
    "    i = 1\n    while i * i * i <= abs(a):\n        if i * i * i == abs(a):\n"
    "            return True\n        i += 1\n    return False\n"
)
"""A HumanEval/77 completion that is wrong on 0 (base) and loops 2 million times on plus's
``-2**63``: about 0.6 s of CPU against that input's 1 s limit."""


def test_a_suite_the_plugin_fails_only_on_its_time_is_told_from_a_wrong_output(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The plugin-side recheck: a results line names the first failing suite's input only
    (base here), so a plus failure that EvalPlus does not share is judged again on plus alone
    with 10x the plugin's time limits. Passing then, a time limit decided it; a wrong output
    (base) stays a difference. Needs no EvalPlus: only EvalPlus's failures rerun EvalPlus."""
    monkeypatch.syspath_prepend(str(REPOSITORY / "benchmarks"))
    workloads = importlib.import_module("evalplus_workloads")
    samples = tmp_path / "samples.jsonl"
    samples.write_text(json.dumps({"task_id": "HumanEval/77", "completion": SLOW_CUBE}) + "\n")
    found = [
        workloads.Difference(0, "HumanEval/77", "plus", "pass", "fail"),
        workloads.Difference(0, "HumanEval/77", "base", "pass", "fail"),
    ]
    plus, base = workloads.recheck(found, MINI_RELEASE, samples, "humaneval-mini", tmp_path)
    assert plus.limit == "the plugin with 10x its time limits, on that suite alone, says pass"
    assert base.limit == ""
