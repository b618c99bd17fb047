"""The pass@k curve as a PNG (``--humaneval-plot``), with matplotlib as an optional extra.

Imports the metrics, the tally's summaries and :mod:`.files`; matplotlib only when drawing.
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
from pytest_humaneval.tally import Summary

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


def write_plot(path: str, curves: list[Curve]) -> None:
    """Draw pass@k against k (log scale), one labelled curve with its 95% band per samples file
    (and its pass@k+ curve beside it, dashed, in its colour), and save it as a PNG at ``path``
    (see ``write_output``).

    Raises :class:`PlotError`, whatever went wrong: the other outputs are written regardless.
    """
    try:
        image = _draw(curves)
    except Exception as exc:
        first_line = (str(exc).splitlines() or [""])[0]
        raise PlotError(f"cannot draw the plot: {type(exc).__name__}: {quoted(first_line)}") from None
    try:
        write_output(path, [image])
    except OSError as exc:
        raise PlotError(str(exc)) from None


def _draw(curves: list[Curve]) -> bytes:
    """The plot as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6.4, 4.0), dpi=100)
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
    figure.tight_layout()
    image = io.BytesIO()
    try:
        figure.savefig(image, format="png")
    finally:
        pyplot.close(figure)
    return image.getvalue()


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
