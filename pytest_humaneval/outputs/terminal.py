"""The humaneval section of the terminal summary: the tables, the comparisons, the
per-problem report and the lines that explain them.

Pure formatting: it takes summaries and returns lines; it writes nothing.

Imports the tally, the metrics, the ranking's rates and the domain types.
"""

from __future__ import annotations

import collections
from typing import Any

from pytest_humaneval.errors import quoted
from pytest_humaneval.metrics import PassAtK
from pytest_humaneval.model import OUTCOME_KINDS
from pytest_humaneval.ranking import Rate
from pytest_humaneval.tally import Comparison, Summary, best_temperatures

TABLE_WIDTH = 80


def _format_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _format_rate_with_interval(rate: PassAtK | Rate) -> str:
    if rate.value is None or rate.ci95 is None:
        return _format_rate(rate.value)
    return f"{rate.value:.4f} ({rate.ci95[0]:.4f}-{rate.ci95[1]:.4f})"


def _columns_lines(header: list[str], rows: list[list[str]], width: int = TABLE_WIDTH) -> list[str]:
    """A table with the first column (the row names) left-aligned and the others right-aligned.

    Columns that do not fit ``width`` go to further blocks, each repeating the first column.
    """
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    blocks: list[list[int]] = [[]]
    used = widths[0]
    for column in range(1, len(header)):
        if blocks[-1] and used + 2 + widths[column] > width:
            blocks.append([])
            used = widths[0]
        blocks[-1].append(column)
        used += 2 + widths[column]
    lines = []
    for block in blocks:
        for cells in [header, *rows]:
            line = cells[0].ljust(widths[0]) + "".join(f"  {cells[c]:>{widths[c]}}" for c in block)
            lines.append(line.rstrip())
    return lines


def runs_table_lines(summaries: list[Summary]) -> list[str]:
    """One row per samples file: problems and samples finished, outcome counts, pass@k (95% CI)."""
    first = summaries[0]
    counts = [
        [
            summary.label,
            f"{summary.tasks_with_samples}/{summary.problems}",
            f"{summary.finished}/{summary.samples}",
            *(str(summary.counts.get(kind, 0)) for kind in OUTCOME_KINDS),
        ]
        for summary in summaries
    ]
    rates = [[summary.label, *map(_format_rate_with_interval, summary.pass_at_k)] for summary in summaries]
    lines = [
        f"problems  {first.problems_source}: {first.problems} problems",
        *_columns_lines(["file", "problems", "samples", *OUTCOME_KINDS], counts),
        *_columns_lines(["file", *(f"pass@{rate.k} (95% CI)" for rate in first.pass_at_k)], rates),
    ]
    if all(summary.pass_at_k_plus is not None for summary in summaries):
        rates_plus = [
            [summary.label, *map(_format_rate_with_interval, summary.pass_at_k_plus or [])]
            for summary in summaries
        ]
        lines += _columns_lines(
            ["file", *(f"pass@{rate.k}+ (95% CI)" for rate in first.pass_at_k)], rates_plus
        )
    lines += ranked_lines(summaries)
    lines.append("95% CI: percentile bootstrap over problems")
    lines += best_temperature_lines(summaries)
    for summary in summaries:
        for rate in summary.pass_at_k:
            if rate.value is None:
                lines.append(f"pass@{rate.k} not computable for {summary.label}: {rate.reason}")
    for summary in summaries:
        if summary.partial:
            lines.append(f"PARTIAL {summary.label}: " + partial_reason(summary))
    return lines


def write_lines(terminalreporter: Any, lines: list[tuple[str, str]]) -> None:
    """Write (separator, text) lines, as :func:`section_lines` gives them, to pytest's terminal."""
    for separator, text in lines:
        if separator:
            terminalreporter.write_sep(separator, text)
        else:
            terminalreporter.write_line(text)


def section_lines(
    summaries: list[Summary], comparisons: list[Comparison], per_problem: bool
) -> list[tuple[str, str]]:
    """The humaneval section as (separator, text): a separator (``=`` or ``-``) and its title,
    or ``""`` and a line. The table, the differences to the first file and, with
    ``per_problem``, each file's per-problem report."""
    several = len(summaries) > 1
    lines = runs_table_lines(summaries) if several else table_lines(summaries[0])
    section = [("=", "humaneval"), *(("", line) for line in lines)]
    if comparisons:
        section.append(("-", "humaneval: differences to the first file"))
        section += [("", line) for comparison in comparisons for line in comparison_lines(comparison)]
    if per_problem:
        for summary in summaries:
            of = f": {summary.label}" if several else ""
            section.append(("-", f"humaneval: per problem{of}"))
            section += [("", line) for line in problem_report_lines(summary)]
    return section


def comparison_lines(comparison: Comparison) -> list[str]:
    """Each pass@k of B minus A (and each pass@k+, for EvalPlus's problems), with its paired
    95% interval and whether it excludes 0."""
    lines = [
        f"{comparison.b.label} - {comparison.a.label} "
        f"(paired over {comparison.shared_problems} problems with samples in both)"
    ]
    ranked = [(f"ranked by {field}", difference) for field, difference in comparison.ranked_differences]
    named = comparison.named_differences + ranked
    width = max(len(name) for name, _ in named) if ranked else 9
    for name, difference in named:
        if difference.value is None or difference.ci95 is None:
            lines.append(f"  {name:<{width}} not computable: {difference.reason}")
            continue
        low, high = difference.ci95
        verdict = "excludes 0" if difference.excludes_zero else "includes 0"
        lines.append(
            f"  {name:<{width}} {difference.value:+.4f}  95% CI {low:+.4f} to {high:+.4f}  {verdict}"
        )
    return lines


def ranked_lines(summaries: list[Summary]) -> list[str]:
    """With ``--humaneval-rank``, each file's pass rate of the sample each field ranks first,
    beside a random pick and an oracle (over the same problems), and the problems left out."""
    if not summaries[0].ranked:
        return []
    fields = [selection.field for selection in summaries[0].ranked]
    rows = [
        [
            f"by {field}",
            *(_format_rate_with_interval(summary.ranked[number].top_ranked) for summary in summaries),
        ]
        for number, field in enumerate(fields)
    ]
    rows += [
        [name, *(_format_rate_with_interval(getattr(summary.ranked[0], attribute)) for summary in summaries)]
        for name, attribute in (("random (pass@1)", "random"), ("oracle (pass@n)", "oracle"))
    ]
    lines = [
        "ranked    pass rate of the top-ranked sample (ties: first in file), 95% CI",
        *_columns_lines(["pick", *(summary.label for summary in summaries)], rows),
    ]
    for summary in summaries:
        excluded = summary.ranked[0].excluded
        if excluded:
            shown = ", ".join(map(quoted, excluded[:3]))
            more = f" and {len(excluded) - 3} more" if len(excluded) > 3 else ""
            lines.append(
                f"ranked: {summary.label} leaves out {len(excluded)} problems whose samples lack "
                f"{' or '.join(fields)} ({shown}{more})"
            )
    return lines


def best_temperature_lines(summaries: list[Summary]) -> list[str]:
    """For each k, the file (temperature) with the highest pass@k and its interval, or why
    the files' temperatures cannot be compared."""
    best = best_temperatures(summaries)
    if best is None:
        return []
    if not best.per_k:
        return [f"best temperature per k: not shown: {best.reason}"]
    lines = ["best temperature per k (the file with the highest pass@k, 95% CI)"]
    rows = []
    for at_k in best.per_k:
        if at_k.file is None or at_k.rate is None:
            rows.append([f"pass@{at_k.k}", "n/a", at_k.reason])
            continue
        summary = summaries[at_k.file]
        rate = _format_rate_with_interval(at_k.rate)
        rows.append([f"pass@{at_k.k}", f"T={summary.temperature.value:g}", f"{summary.label}  {rate}"])
    widths = [max(len(row[column]) for row in rows) for column in range(2)]
    lines += [f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}" for row in rows]
    return lines


def table_lines(summary: Summary) -> list[str]:
    """The summary in lines that fit an 80-column terminal: coverage, outcome counts, pass@k."""
    lines = [
        f"samples   {summary.samples_source}",
        (
            f"problems  {summary.problems_source}: {summary.tasks_with_samples} of {summary.problems} "
            f"have samples; {summary.finished} of {summary.samples} samples finished"
        ),
        "outcomes  " + "  ".join(f"{kind} {summary.counts.get(kind, 0)}" for kind in OUTCOME_KINDS),
        *_rate_lines("", summary.pass_at_k),
    ]
    if summary.pass_at_k_plus is not None:
        lines += _rate_lines("+", summary.pass_at_k_plus)
    lines += ranked_lines([summary])
    for rate in summary.pass_at_k:
        if rate.value is None:
            lines.append(f"pass@{rate.k} not computable: {rate.reason}")
    if summary.partial:
        lines.append("PARTIAL: " + partial_reason(summary))
    return lines


def _rate_lines(mark: str, rates: list[PassAtK]) -> list[str]:
    """pass@k and, when computable, its 95% intervals; ``mark`` "+" for base + plus inputs."""
    lines = [
        f"{'pass@k' + mark:<10}" + "  ".join(f"pass@{rate.k} {_format_rate(rate.value)}" for rate in rates)
    ]
    intervals = [rate for rate in rates if rate.ci95 is not None]
    if intervals:
        lines.append(
            f"{'95% CI' + mark:<10}"
            + "  ".join(f"pass@{r.k} {r.ci95[0]:.4f}-{r.ci95[1]:.4f}" for r in intervals if r.ci95)
            + "  (bootstrap over problems)"
        )
    return lines


def problem_report_lines(summary: Summary) -> list[str]:
    """The per-problem report: samples, passed (and, for EvalPlus's problems, passed on base +
    plus inputs), pass@1, most common failure; then the unsolved and the failing inputs."""
    plus = summary.pass_at_k_plus is not None
    width = max([len("problem")] + [len(row.task_id) for row in summary.per_problem])
    passed_plus_header = "  passed+" if plus else ""
    lines = [f"{'problem':<{width}}  samples  passed{passed_plus_header}  pass@1  most common failure"]
    for row in summary.per_problem:
        failure = row.most_common_failure or "-"
        passed_plus = f"  {row.passed_plus:>7}" if plus else ""
        lines.append(
            f"{row.task_id:<{width}}  {row.samples:>7}  {row.passed:>6}{passed_plus}  "
            f"{row.pass_at_1:>6.3f}  {failure}"
        )
    lines.append(_unsolved_line("unsolved", [row.task_id for row in summary.per_problem if row.passed == 0]))
    if plus:
        unsolved_plus = [row.task_id for row in summary.per_problem if row.passed_plus == 0]
        lines.append(_unsolved_line("unsolved+", unsolved_plus))
        lines += failing_inputs_lines(summary)
    return lines


def _unsolved_line(name: str, task_ids: list[str]) -> str:
    return f"{name} ({len(task_ids)}): " + (", ".join(task_ids) if task_ids else "none")


INPUT_SHOWN = 40
"""Characters of an input's repr the report shows (its table stays within 80 columns)."""
FAILING_INPUTS_HEADER = ["problem", "input", "samples", "arguments"]


def failing_inputs_lines(summary: Summary) -> list[str]:
    """Per problem, the inputs its failing samples most often failed first on: where a
    problem's plus inputs catch samples that pass its base ones."""
    found = [(row.task_id, failing) for row in summary.per_problem for failing in row.failing_inputs]
    if not found:
        return ["first failed inputs: none"]
    rows = [
        [task_id, f"{failing.suite}[{failing.index}]", str(failing.samples), _capped(failing.input)]
        for task_id, failing in found
    ]
    widths = [max(len(cells[column]) for cells in [FAILING_INPUTS_HEADER, *rows]) for column in range(3)]
    return ["first failed inputs, most often first (samples: how many failed first on it)"] + [
        f"{cells[0]:<{widths[0]}}  {cells[1]:<{widths[1]}}  {cells[2]:>{widths[2]}}  {cells[3]}".rstrip()
        for cells in [FAILING_INPUTS_HEADER, *rows]
    ]


def _capped(text: str, limit: int = INPUT_SHOWN) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def auto_limits_line(time_limits: dict[str, float]) -> str:
    """How ``--humaneval-timeout=auto`` set the problems' limits, in one line."""
    counts = collections.Counter(time_limits.values())
    common, times = counts.most_common(1)[0]
    slowest = max(time_limits, key=lambda task_id: time_limits[task_id])
    problems = f"{times} of {len(time_limits)} problems"
    line = f"--humaneval-timeout=auto: the test's calls get {common:g} s in {problems}"
    if time_limits[slowest] != common:
        line += f", up to {time_limits[slowest]:g} s ({quoted(slowest)})"
    return line


def expected_outputs_line(problems: int, cached: int) -> str:
    """Where the EvalPlus problems' expected outputs came from, in one line."""
    return f"expected outputs of {problems} problems: {problems - cached} computed, {cached} from the cache"


def partial_reason(summary: Summary) -> str:
    """Why the measurement is partial, in one line."""
    reasons = []
    if summary.missing:
        reasons.append(f"{summary.missing} of {summary.samples} samples have no verdict")
    if summary.tasks_without_samples:
        shown = ", ".join(map(quoted, summary.tasks_without_samples[:3]))
        more = len(summary.tasks_without_samples) - 3
        reasons.append(
            f"{len(summary.tasks_without_samples)} problems have no samples ({shown}"
            + (f" and {more} more)" if more > 0 else ")")
        )
    if summary.harness_failures:
        reasons.append(f"{summary.harness_failures} samples lost to a harness failure (counted as crashed)")
    if summary.interrupted:
        reasons.append("the run was interrupted")
    return "; ".join(reasons)
