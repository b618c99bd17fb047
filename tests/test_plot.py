"""--humaneval-plot: pass@k against k as a PNG, with matplotlib as an optional extra."""

from __future__ import annotations

import json
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import cast

import numpy as np
import pytest
from support.results import text_of
from support.sessions import RunHumaneval, demo_args

from pytest_humaneval.metrics import mean_pass_at_k
from pytest_humaneval.outputs.plot import (
    MISSING_MATPLOTLIB,
    Curve,
    PlotError,
    check_plot_path,
    pass_at_k_curve,
    write_plot,
)

DEMO_ROWS = [("Demo/0", 3, 2), ("Demo/1", 3, 2), ("Demo/2", 3, 1), ("Demo/3", 3, 1)]


def test_curve_runs_from_1_to_the_fewest_samples() -> None:
    curve = pass_at_k_curve([*DEMO_ROWS, ("Demo/4", 2, 0)])
    assert [rate.k for rate in curve] == [1, 2]
    assert curve[1] == mean_pass_at_k([*DEMO_ROWS, ("Demo/4", 2, 0)], 2)
    values = cast("list[float]", [rate.value for rate in pass_at_k_curve(DEMO_ROWS)])  # k <= every n
    assert values == sorted(values)  # pass@k never decreases with k
    assert pass_at_k_curve([]) == []


def test_plot_is_written(pytester: pytest.Pytester, run_humaneval: RunHumaneval) -> None:
    pytest.importorskip("matplotlib")
    result = run_humaneval(*demo_args("--humaneval-plot=curve.png"))
    assert result.ret == 0, text_of(result)
    image = (pytester.path / "curve.png").read_bytes()
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(image) > 5000


def test_without_matplotlib_the_run_stops_before_anything_runs(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval
) -> None:
    pytester.makeconftest("import sys\nsys.modules['matplotlib'] = None  # as if it were not installed\n")
    result = run_humaneval(*demo_args("--humaneval-plot=curve.png", "--humaneval-results=results.jsonl"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    hint = f"needs matplotlib: {shlex.quote(sys.executable)} -m pip install matplotlib"
    shown = f"--humaneval-plot=curve.png (from command line): {hint}"
    assert any(shown in line for line in result.errlines), result.errlines
    assert not (pytester.path / "curve.png").exists()
    assert not (pytester.path / "results.jsonl").exists()


def test_plot_has_a_curve_per_file(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib import image

    worse = [(task, n, c - 1 if c else 0) for task, n, c in DEMO_ROWS]
    path = tmp_path / "curves.png"
    write_plot(
        str(path), [Curve("a.jsonl", pass_at_k_curve(DEMO_ROWS)), Curve("b.jsonl", pass_at_k_curve(worse))]
    )
    pixels = image.imread(str(path))
    # matplotlib's first two colours (blue, orange) both appear: two curves.
    blue = np.all(np.abs(pixels[..., :3] - np.array([0x1F, 0x77, 0xB4]) / 255) < 0.02, axis=-1)
    orange = np.all(np.abs(pixels[..., :3] - np.array([0xFF, 0x7F, 0x0E]) / 255) < 0.02, axis=-1)
    assert blue.sum() > 50 and orange.sum() > 50


def test_install_hint_works_however_the_plugin_was_installed(tmp_path: Path) -> None:
    """The hint names no extra of the plugin (a clone has no index entry to take it from):
    it installs matplotlib into the very environment pytest runs in."""
    assert "[plot]" not in MISSING_MATPLOTLIB
    command = shlex.split(MISSING_MATPLOTLIB.removeprefix("needs matplotlib: "))
    assert command[:4] == [sys.executable, "-m", "pip", "install"] and command[4:] == ["matplotlib"]
    dry_run = subprocess.run([*command[:4], "--dry-run", "--no-index", *command[4:]], capture_output=True)
    assert b"No module named pip" not in dry_run.stderr


@pytest.mark.parametrize("path", ["plot.png", "out/Plot.PNG", "curve.Png"])
def test_plot_path_that_says_png_is_accepted(tmp_path: Path, path: str) -> None:
    check_plot_path(str(tmp_path / path), "--humaneval-plot")


@pytest.mark.parametrize("path", ["plot.txt", "out", "plot.png.pdf", "plot.svg", ".png"])
def test_plot_path_without_a_png_suffix_is_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(OSError) as failure:
        check_plot_path(str(tmp_path / path), "--humaneval-plot")
    shown = f"--humaneval-plot={tmp_path / path} (from command line)"
    assert str(failure.value) == f"{shown}: the plot is a PNG: the path must end in .png"


def test_plot_path_is_checked_as_the_other_outputs(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError, match=r"is not a directory$"):
        check_plot_path(str(tmp_path / "file" / "plot.png"), "--humaneval-plot")


@pytest.mark.parametrize("path", ["plot.txt", "out"])
def test_plot_path_without_png_suffix_is_a_usage_error_before_anything_runs(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, path: str
) -> None:
    result = run_humaneval(*demo_args(f"--humaneval-plot={path}", "--humaneval-results=results.jsonl"))
    output = text_of(result)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    expected = (
        f"ERROR: --humaneval-plot={path} (from command line): the plot is a PNG: the path must end in .png"
    )
    assert errors == [expected], output
    assert "test session starts" not in output
    assert not (pytester.path / "results.jsonl").exists() and not (pytester.path / path).exists()


def test_plot_that_cannot_be_drawn_raises_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the renderer broke\n" + "details " * 100_000)

    monkeypatch.setattr(Figure, "savefig", fail)
    with pytest.raises(PlotError) as failure:
        write_plot(str(tmp_path / "plot.png"), [Curve("a.jsonl", pass_at_k_curve(DEMO_ROWS))])
    assert str(failure.value) == "cannot draw the plot: RuntimeError: the renderer broke"
    assert list(tmp_path.iterdir()) == []


def test_plot_that_cannot_be_written_raises_one_error(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    with pytest.raises(PlotError) as failure:
        write_plot("/dev/full", [Curve("a.jsonl", pass_at_k_curve(DEMO_ROWS))])
    assert str(failure.value) == "cannot write it: No space left on device"
    assert isinstance(failure.value, OSError)  # the controller catches OSError for every output
    assert stat.S_ISCHR(Path("/dev/full").stat().st_mode)


PLOT_FAILS_CONFTEST = """
from matplotlib.figure import Figure

def fail(*args, **kwargs):
    raise ValueError("cannot draw\\nTraceback of the renderer")

Figure.savefig = fail
"""


def test_plot_failure_after_the_run_is_one_line_and_the_rest_is_written(
    pytester: pytest.Pytester, run_humaneval: RunHumaneval, worker_args: list[str]
) -> None:
    pytest.importorskip("matplotlib")
    pytester.makeconftest(PLOT_FAILS_CONFTEST)
    result = run_humaneval(
        *demo_args(
            "--humaneval-plot=curve.png",
            "--humaneval-results=results.jsonl",
            "--humaneval-json=summary.json",
            *worker_args,
        )
    )
    output = text_of(result)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    assert "Traceback" not in output and "INTERNALERROR" not in output
    failures = [line for line in result.outlines if "curve.png" in line]
    assert failures == ["FAIL: --humaneval-plot=curve.png: cannot draw the plot: ValueError: cannot draw"], (
        output
    )
    assert any(line.startswith("outcomes  passed 6") for line in result.outlines), output
    assert len((pytester.path / "results.jsonl").read_text().splitlines()) == 12
    assert json.loads((pytester.path / "summary.json").read_text())["finished"] == 12
    assert not (pytester.path / "curve.png").exists()
