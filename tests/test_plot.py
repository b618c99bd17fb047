"""--humaneval-plot: pass@k against k as a PNG, with matplotlib as an optional extra."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import DEMO_PROBLEMS, DEMO_SAMPLES
from pytest_humaneval.metrics import mean_pass_at_k
from pytest_humaneval.plotting import pass_at_k_curve, write_plot

SUBPROCESS_TIMEOUT = 120
DEMO_ROWS = [("Demo/0", 3, 2), ("Demo/1", 3, 2), ("Demo/2", 3, 1), ("Demo/3", 3, 1)]


def test_curve_runs_from_1_to_the_fewest_samples() -> None:
    curve = pass_at_k_curve([*DEMO_ROWS, ("Demo/4", 2, 0)])
    assert [rate.k for rate in curve] == [1, 2]
    assert curve[1] == mean_pass_at_k([*DEMO_ROWS, ("Demo/4", 2, 0)], 2)
    values = [rate.value for rate in pass_at_k_curve(DEMO_ROWS)]
    assert values == sorted(values)  # pass@k never decreases with k
    assert pass_at_k_curve([]) == []


def _run(pytester: pytest.Pytester, *extra: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        f"--humaneval-problems={DEMO_PROBLEMS}",
        f"--humaneval-samples={DEMO_SAMPLES}",
        "--humaneval-timeout=1",
        *extra,
        timeout=SUBPROCESS_TIMEOUT,
    )


def test_plot_is_written(pytester: pytest.Pytester) -> None:
    pytest.importorskip("matplotlib")
    result = _run(pytester, "--humaneval-plot=curve.png")
    assert result.ret == 0, "\n".join(result.outlines + result.errlines)
    image = (pytester.path / "curve.png").read_bytes()
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(image) > 5000


def test_without_matplotlib_the_run_stops_before_anything_runs(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("import sys\nsys.modules['matplotlib'] = None  # as if it were not installed\n")
    result = _run(pytester, "--humaneval-plot=curve.png", "--humaneval-results=results.jsonl")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert any(
        "--humaneval-plot=curve.png: needs matplotlib: pip install 'pytest-humaneval[plot]'" in line
        for line in result.errlines
    ), result.errlines
    assert not (pytester.path / "curve.png").exists()
    assert not (pytester.path / "results.jsonl").exists()


def test_plot_has_a_curve_per_file(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib import image

    worse = [(task, n, c - 1 if c else 0) for task, n, c in DEMO_ROWS]
    path = tmp_path / "curves.png"
    write_plot(str(path), [("a.jsonl", pass_at_k_curve(DEMO_ROWS)), ("b.jsonl", pass_at_k_curve(worse))])
    pixels = image.imread(str(path))
    # matplotlib's first two colours (blue, orange) both appear: two curves.
    blue = np.all(np.abs(pixels[..., :3] - np.array([0x1F, 0x77, 0xB4]) / 255) < 0.02, axis=-1)
    orange = np.all(np.abs(pixels[..., :3] - np.array([0xFF, 0x7F, 0x0E]) / 255) < 0.02, axis=-1)
    assert blue.sum() > 50 and orange.sum() > 50
