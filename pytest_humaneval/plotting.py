"""The pass@k curve as a PNG (``--humaneval-plot``), with matplotlib as an optional extra."""

from __future__ import annotations

import importlib.util

from pytest_humaneval.metrics import PassAtK, mean_pass_at_k

MISSING_MATPLOTLIB = "needs matplotlib: pip install 'pytest-humaneval[plot]'"


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
    and save it as ``path``.
    """
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
    figure.savefig(path)
    pyplot.close(figure)
