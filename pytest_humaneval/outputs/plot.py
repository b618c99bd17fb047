"""The pass@k curve as a PNG (``--humaneval-plot``), with matplotlib as an optional extra;
beside it, with ``--humaneval-rank``, each file's rankings against a random pick and an
oracle, and, with files at several temperatures, pass@k against temperature.

Imports the metrics, the ranking's curves, the tally's summaries and :mod:`.files`;
matplotlib only when drawing.
"""

from __future__ import annotations

import importlib.util
import io
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_humaneval.errors import quoted
from pytest_humaneval.metrics import PassAtK, mean_pass_at_k
from pytest_humaneval.outputs.files import check_output_path, write_output
from pytest_humaneval.ranking import top_ranked_curve
from pytest_humaneval.tally import Summary, best_temperatures

MISSING_MATPLOTLIB = f"needs matplotlib: {shlex.quote(sys.executable)} -m pip install matplotlib"
"""The install hint: it works however the plugin was installed (from an index, a clone, a
wheel) and installs into the environment pytest runs in, activated or not."""


class PlotError(OSError):
    """The plot could not be drawn or saved; its message is one line, for the terminal."""


def check_plot_path(path: str, option: str, source: str = "command line") -> None:
    """Fail now, not after the run, if the plot cannot be written as a PNG at ``path``.

    The suffix decides nothing (matplotlib would pick the format from it, or add ``.png``
    to a path without one): it must say what the file is.
    """
    if Path(path).suffix.lower() != ".png":
        raise OSError(
            f"{option}={quoted(path)} (from {source}): the plot is a PNG: the path must end in .png"
        )
    check_output_path(path, option, source)


def matplotlib_available() -> bool:
    """Whether matplotlib can be imported (checked before the run, not after it)."""
    try:
        return importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):
        return False


def pass_at_k_curve(rows: list[tuple[str, int, int]]) -> list[PassAtK]:
    """pass@k with its interval for every k from 1 to the fewest samples of any task."""
    fewest = min((n for _, n, _ in rows), default=0)
    return [mean_pass_at_k(rows, k) for k in range(1, fewest + 1)]


@dataclass(frozen=True)
class Curve:
    """One samples file's pass@k curve and, for EvalPlus's problems, its pass@k+ curve."""

    label: str
    rates: list[PassAtK]
    rates_plus: list[PassAtK] | None = None


def summary_curves(summaries: list[Summary]) -> list[Curve]:
    """One curve per samples file (with its pass@k+ curve, for EvalPlus's problems)."""
    return [
        Curve(
            summary.label,
            pass_at_k_curve(summary.task_counts),
            pass_at_k_curve(summary.task_counts_plus) if summary.pass_at_k_plus is not None else None,
        )
        for summary in summaries
    ]


@dataclass(frozen=True)
class SelectionPanel:
    """One samples file's rankings against the number of samples ranked (the Codex paper's
    Figure 7): the top-ranked of k samples, beside a random pick and an oracle."""

    label: str
    oracle: list[PassAtK]
    """pass@k: an oracle picks a passing sample of k if there is one."""
    random: float | None
    """pass@1, whatever k."""
    rankings: list[tuple[str, list[PassAtK]]]
    """For each field, the pass rate of the top-ranked of k samples."""


@dataclass(frozen=True)
class TemperatureLine:
    """pass@k against the files' temperatures, for one k."""

    k: int
    points: list[tuple[float, PassAtK]]


def summary_panels(summaries: list[Summary]) -> tuple[list[SelectionPanel], list[TemperatureLine]]:
    """The panels beside the pass@k curves: each file's rankings, if any, and pass@k against
    temperature, if the files have temperatures to compare."""
    selections = [
        SelectionPanel(
            summary.label,
            pass_at_k_curve(summary.task_counts),
            mean_pass_at_k(summary.task_counts, 1).value,
            [(selection.field, top_ranked_curve(selection)) for selection in summary.ranked],
        )
        for summary in summaries
        if summary.ranked
    ]
    best = best_temperatures(summaries)
    lines = []
    if best is not None and best.per_k:
        by_temperature = sorted(summaries, key=lambda summary: summary.temperature.value or 0.0)
        for column, rate in enumerate(summaries[0].pass_at_k):
            points = [
                (summary.temperature.value or 0.0, summary.pass_at_k[column])
                for summary in by_temperature
                if summary.pass_at_k[column].value is not None
            ]
            if points:
                lines.append(TemperatureLine(rate.k, points))
    return selections, lines


def write_summary_plot(path: str, summaries: list[Summary]) -> None:
    """The session's plot: the files' pass@k curves and the panels beside them (see
    :func:`write_plot`)."""
    write_plot(path, summary_curves(summaries), *summary_panels(summaries))


def write_plot(
    path: str,
    curves: list[Curve],
    selections: list[SelectionPanel] | None = None,
    temperatures: list[TemperatureLine] | None = None,
) -> None:
    """Draw pass@k against k (log scale), one labelled curve with its 95% band per samples file
    (and its pass@k+ curve beside it, dashed, in its colour), beside it a panel per file's
    ``selections`` and one of pass@k against ``temperatures``, and save it as a PNG at
    ``path`` (see ``write_output``).

    Raises :class:`PlotError`, whatever went wrong: the other outputs are written regardless.
    """
    try:
        image = _draw(curves, selections or [], temperatures or [])
    except Exception as exc:
        first_line = (str(exc).splitlines() or [""])[0]
        raise PlotError(f"cannot draw the plot: {type(exc).__name__}: {quoted(first_line)}") from None
    try:
        write_output(path, [image])
    except OSError as exc:
        raise PlotError(str(exc)) from None


PANEL_SIZE = (6.4, 4.0)
"""Inches of one panel; the plot has at most two panels a row."""


def _draw(
    curves: list[Curve], selections: list[SelectionPanel], temperatures: list[TemperatureLine]
) -> bytes:
    """The plot as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    panels = 1 + len(selections) + bool(temperatures)
    columns, rows = min(panels, 2), (panels + 1) // 2
    width, height = PANEL_SIZE
    figure, grid = pyplot.subplots(
        rows, columns, figsize=(width * columns, height * rows), dpi=100, squeeze=False
    )
    all_axes = list(grid.flat)
    _draw_pass_at_k(all_axes[0], curves)
    for axes, selection in zip(all_axes[1:], selections, strict=False):
        _draw_selection(axes, selection)
    if temperatures:
        _draw_temperatures(all_axes[len(selections) + 1], temperatures)
    for axes in all_axes[panels:]:
        axes.set_visible(False)
    figure.tight_layout()
    image = io.BytesIO()
    try:
        figure.savefig(image, format="png")
    finally:
        pyplot.close(figure)
    return image.getvalue()


def _draw_pass_at_k(axes: Any, curves: list[Curve]) -> None:
    """The first panel: each file's pass@k (and pass@k+) against k."""
    most_ks = 0
    for curve in curves:
        color, ks = _draw_curve(axes, curve.label, curve.rates, "-", None)
        if curve.rates_plus is not None:
            _draw_curve(axes, curve.label + "+", curve.rates_plus, "--", color)
        most_ks = max(most_ks, ks)
    if most_ks > 1:
        axes.set_xscale("log")
    plus = any(curve.rates_plus is not None for curve in curves)
    title = "pass@k (dashed: pass@k+, base + plus inputs)" if plus else "pass@k"
    axes.set_title(f"{title}; shaded: 95% interval over problems", fontsize="small")
    axes.set_xlabel("k")
    axes.set_ylabel("pass@k")
    axes.set_ylim(0.0, 1.03)  # a curve at 1 is not hidden by the frame
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="lower right", fontsize="small")


def _draw_selection(axes: Any, panel: SelectionPanel) -> None:
    """The Codex paper's Figure 7 for one file: the oracle, each ranking, a random pick."""
    _draw_curve(axes, "oracle (pass@k)", panel.oracle, "-", None)
    for field, curve in panel.rankings:
        _draw_curve(axes, f"ranked by {field}", curve, "-", None)
    ks = [rate.k for rate in panel.oracle]
    if panel.random is not None and ks:
        axes.plot(ks, [panel.random] * len(ks), linestyle="--", color="grey", label="random (pass@1)")
    if len(ks) > 1:
        axes.set_xscale("log")
    axes.set_title(f"{panel.label}: the sample picked of k; shaded: 95% interval", fontsize="small")
    axes.set_xlabel("number of samples ranked (k)")
    axes.set_ylabel("pass rate")
    axes.set_ylim(0.0, 1.03)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="lower right", fontsize="small")


def _draw_temperatures(axes: Any, lines: list[TemperatureLine]) -> None:
    """pass@k against the files' temperatures, one line with its band per k."""
    for line in lines:
        temperatures = [temperature for temperature, _ in line.points]
        values = [rate.value for _, rate in line.points]
        (drawn,) = axes.plot(temperatures, values, marker="o", markersize=3, label=f"pass@{line.k}")
        bands = [rate.ci95 for _, rate in line.points]
        if all(bands):
            lows = [band[0] for band in bands if band]
            highs = [band[1] for band in bands if band]
            axes.fill_between(temperatures, lows, highs, alpha=0.15, color=drawn.get_color())
    axes.set_title("pass@k against the files' temperatures; shaded: 95% interval", fontsize="small")
    axes.set_xlabel("sampling temperature")
    axes.set_ylabel("pass@k")
    axes.set_ylim(0.0, 1.03)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower right", fontsize="small")


def _draw_curve(axes: Any, label: str, rates: list[PassAtK], style: str, color: Any) -> tuple[Any, int]:
    """One curve with its band; returns its colour (as matplotlib gives it: a pass@k+ curve
    takes its file's; None picks the next) and how many ks it has."""
    points = [(rate.k, rate.value, rate.ci95) for rate in rates if rate.value is not None and rate.ci95]
    ks = [k for k, _, _ in points]
    values = [value for _, value, _ in points]
    (line,) = axes.plot(ks, values, linestyle=style, marker="o", markersize=3, label=label, color=color)
    lows = [interval[0] for _, _, interval in points if interval]
    highs = [interval[1] for _, _, interval in points if interval]
    axes.fill_between(ks, lows, highs, alpha=0.2 if color is None else 0.1, color=line.get_color())
    return line.get_color(), len(ks)
