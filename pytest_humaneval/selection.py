"""Which samples a command line asks for: whether ini-configured samples join the session,
and the command-line arguments that name sample items (node ids the plugin prints, or
the samples files themselves), which pytest would take for missing paths.

Imports pytest, the evaluation, loading, the settings and path_checks (what makes two
paths the same file).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_humaneval.evaluation import Evaluation
from pytest_humaneval.loading import CANONICAL_SAMPLES
from pytest_humaneval.path_checks import file_identity
from pytest_humaneval.settings import Settings

NODE_SEPARATOR = "::"


def _path_part(argument: str, directory: Path) -> Path:
    return directory / argument.split(NODE_SEPARATOR, 1)[0]


def _samples_files(specs: Iterable[str]) -> dict[tuple[int, int] | str, str]:
    """The samples files by identity (``canonical`` is not a file)."""
    files: dict[tuple[int, int] | str, str] = {}
    for spec in specs:
        if spec != CANONICAL_SAMPLES:
            files[file_identity(spec)] = spec
    return files


def samples_requested(config: pytest.Config, settings: Settings) -> bool:
    """Whether the session evaluates the samples.

    Samples given on the command line always run. Samples from the ini file run, as
    pytest's ``testpaths`` do, when the command line names no path, or when one of its
    arguments names them: a samples file, or something that is not a path (a node id
    the plugin printed, checked once the samples are loaded).
    """
    if not settings.ini_samples or config.args_source != pytest.Config.ArgsSource.ARGS:
        return True
    directory = config.invocation_params.dir
    files = _samples_files(settings.samples)
    for argument in config.args:
        path = _path_part(argument, directory)
        if not path.exists() or file_identity(str(path)) in files:
            return True
    return False


@dataclass(frozen=True)
class SampleArguments:
    """The command-line arguments that name samples: files, collectors and items."""

    files: frozenset[str]
    """Samples files named (their ``SampleSet.source``): all their samples are selected."""
    node_ids: frozenset[str]
    """Node ids of sample items or of the collectors above them."""

    def __bool__(self) -> bool:
        return bool(self.files or self.node_ids)

    def select(self, node_id: str, file_source: str) -> bool:
        """Whether the sample item ``node_id`` of the file ``file_source`` is named."""
        if not self:
            return True
        if file_source in self.files:
            return True
        return any(node_id == named or node_id.startswith(named + NODE_SEPARATOR) for named in self.node_ids)


def _collector_ids(evaluation: Evaluation) -> set[str]:
    ids = {entry.problem_nodeid for entry in evaluation.entries}
    ids.update(entry.file_label for entry in evaluation.entries if entry.file_label)
    return ids


def take_sample_arguments(args: list[str], evaluation: Evaluation, directory: Path) -> SampleArguments:
    """Remove from ``args`` (in place) the arguments that name samples, and return them.

    pytest would report them as files not found (or, for a samples file, as a file
    nothing collects); the plugin collects those samples itself.
    """
    files = _samples_files(sample_set.source for sample_set in evaluation.sample_sets)
    named_files: set[str] = set()
    named_nodes: set[str] = set()
    collectors: set[str] | None = None
    items: set[str] | None = None
    kept: list[str] = []
    for argument in args:
        path = _path_part(argument, directory)
        identity = file_identity(str(path))
        if identity in files and NODE_SEPARATOR not in argument:
            named_files.add(files[identity])
            continue
        if path.exists():
            kept.append(argument)
            continue
        node_id = argument.rstrip("/")
        if collectors is None:
            collectors = _collector_ids(evaluation)
        if node_id in collectors:
            named_nodes.add(node_id)
            continue
        if items is None:
            items = {entry.nodeid for entry in evaluation.entries}
        if node_id in items:
            named_nodes.add(node_id)
            continue
        kept.append(argument)
    args[:] = kept
    return SampleArguments(frozenset(named_files), frozenset(named_nodes))
