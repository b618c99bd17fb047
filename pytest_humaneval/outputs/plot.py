"""The pass@k curve as a PNG (``--humaneval-plot``), with matplotlib as an optional extra.

Imports the metrics and :mod:`.files`; matplotlib only when drawing.
"""

from __future__ import annotations

import importlib.util
import io
import shlex
import sys
from pathlib import Path

from pytest_humaneval.errors import quoted
from pytest_humaneval.metrics import PassAtK, mean_pass_at_k
from pytest_humaneval.outputs.files import check_output_path, write_output

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


def write_plot(path: str, curves: list[tuple[str, list[PassAtK]]]) -> None:
    """Draw pass@k against k (log scale), one labelled curve with its 95% band per samples file,
    and save it as a PNG at ``path`` (see ``write_output``).

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


def _draw(curves: list[tuple[str, list[PassAtK]]]) -> bytes:
    """The plot as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6.4, 4.0), dpi=100)
    most_ks = 0
    for label, curve in curves:
        points = [(rate.k, rate.value, rate.ci95) for rate in curve if rate.value is not None and rate.ci95]
        ks = [k for k, _, _ in points]
        (line,) = axes.plot(ks, [value for _, value, _ in points], marker="o", markersize=3, label=label)
        lows = [interval[0] for _, _, interval in points if interval]
        highs = [interval[1] for _, _, interval in points if interval]
        axes.fill_between(ks, lows, highs, alpha=0.2, color=line.get_color())
        most_ks = max(most_ks, len(ks))
    if most_ks > 1:
        axes.set_xscale("log")
    axes.set_title("pass@k; shaded: 95% interval over problems", fontsize="small")
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
