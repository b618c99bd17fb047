#!/usr/bin/env python3
"""Judge one sample on one suite of inputs alone, with the plugin's sandbox and its time
limits scaled: the recheck of a difference where the plugin fails a suite that EvalPlus
passes (``evalplus_workloads.recheck``). If the suite passes with 10x its limits, a time
limit decided it, as EvalPlus's own failures are rechecked with 10x EvalPlus's limits.

Run by the Python that has the plugin installed; reads one JSON object on standard input
(``problems``: the EvalPlus problem file, ``sample``: the samples file's record, with its
``task_id`` and its ``completion`` or ``solution``, ``suite``: ``base`` or ``plus``,
``time_limit_scale``) and prints the suite's status, first
failing input and message as JSON.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

from pytest_humaneval.loading import load_problems
from pytest_humaneval.model import InputsSuite, Limits, input_time_limits
from pytest_humaneval.runner import SandboxRunner

LIMITS = Limits(timeout=120.0, memory=4096 * 1024 * 1024)
"""Only the memory counts: a suite's inputs have their own time limits (EvalPlus's rule)."""


def main() -> int:
    request = json.load(sys.stdin)
    sample = request["sample"]
    problem = load_problems(request["problems"], evalplus=True).problems[sample["task_id"]]
    code = sample["solution"] if "solution" in sample else problem.prompt + sample["completion"]
    tests = problem.plus
    assert tests is not None, f"{problem.task_id} has no EvalPlus inputs"
    inputs = tests.base_inputs if request["suite"] == "base" else tests.plus_inputs
    runner = SandboxRunner()
    try:
        canonical = runner.expected_outputs(
            problem.prompt + problem.canonical_solution,
            problem.entry_point,
            inputs,
            LIMITS,
            dataset=tests.kind,
            atol=tests.atol,
        )
        scale = float(request["time_limit_scale"])
        limits = [scale * limit for limit in input_time_limits(canonical.times)]
        suite = InputsSuite(request["suite"], inputs, canonical.outputs, limits)
        (verdict,) = runner.judge_inputs(code, problem.entry_point, [suite], LIMITS, tests.kind, tests.atol)
    finally:
        runner.close()
    failure = None if verdict.failure is None else asdict(verdict.failure)
    print(json.dumps({"status": verdict.status, "message": verdict.message, "failure": failure}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
