"""Checking, before anything runs, that every output the settings name can be written: a
session that measured for an hour must not then fail to save it.

Imports the settings and the outputs' own path checks.
"""

from __future__ import annotations

import pytest

from pytest_humaneval.outputs.files import check_output_path
from pytest_humaneval.outputs.plot import MISSING_MATPLOTLIB, check_plot_path, matplotlib_available
from pytest_humaneval.settings import Settings


def check_outputs(settings: Settings) -> None:
    """A usage error naming the option and where it came from, for an output that cannot be
    written (or a plot without matplotlib)."""
    if settings.plot and not matplotlib_available():
        option, source = settings.given_as("plot")
        raise pytest.UsageError(f"{option}={settings.plot} (from {source}): {MISSING_MATPLOTLIB}")
    try:
        for name, path in (("results", settings.results), ("json", settings.json)):
            if path:
                check_output_path(path, *settings.given_as(name))
        if settings.plot:
            check_plot_path(settings.plot, *settings.given_as("plot"))
    except OSError as exc:
        raise pytest.UsageError(str(exc)) from None
