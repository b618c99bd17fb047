"""The package's layout, as its modules' docstrings promise it: imports point down only.

Read from the source (``ast``), so a new import that breaks a rule fails here, not in a
later refactoring. The sandbox's own rule (stdlib only) is checked with the sandbox.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pytest_humaneval

PACKAGE = Path(pytest_humaneval.__file__).parent
NAME = "pytest_humaneval"


def _module_name(path: Path) -> str:
    parts = path.with_suffix("").relative_to(PACKAGE.parent).parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The package's modules that ``path`` imports (absolute imports: the package uses no
    relative ones outside the sandbox)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {name for name in names if name == NAME or name.startswith(NAME + ".")}
    return found


GRAPH = {
    _module_name(path): _imports(path)
    for path in sorted(PACKAGE.rglob("*.py"))
    if "_sandbox" not in path.relative_to(PACKAGE).parts
}


def _reachable(start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(GRAPH.get(start, ()))
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(GRAPH.get(module, ()))
    return seen


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_module_imports_itself_through_others(module: str) -> None:
    assert module not in _reachable(module)


def test_the_domain_types_are_a_leaf() -> None:
    """Every module can name a verdict or a sample without importing any I/O; the one
    import is the sandbox's protocol (the outcome words both ends share)."""
    assert GRAPH[f"{NAME}.model"] <= {f"{NAME}._sandbox.protocol"}


def test_the_value_parsers_know_no_option() -> None:
    """Parsing a setting's text needs no declaration: the parsers sit below ``options``,
    which names the setting and where it came from in a usage error."""
    assert GRAPH[f"{NAME}.option_values"] <= {f"{NAME}.ranking"}


def test_nothing_imports_the_hooks() -> None:
    """``plugin`` only wires the other modules; it is pytest's entry point, not a library."""
    assert not [module for module, imported in GRAPH.items() if f"{NAME}.plugin" in imported]


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m.startswith(f"{NAME}.outputs")))
def test_outputs_run_nothing(module: str) -> None:
    """Writing the outputs never reaches what runs samples or drives the session."""
    running = {"runner", "evaluation", "calibration", "controller", "collection", "plugin", "wire", "remote"}
    assert not {f"{NAME}.{name}" for name in running} & (_reachable(module) | {module})


def test_the_exit_status_is_decided_without_io() -> None:
    decided_from = _reachable(f"{NAME}.exit_status")
    assert not decided_from & {f"{NAME}.outputs.files", f"{NAME}.runner", f"{NAME}.controller"}


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda path: path.name)
def test_every_module_says_what_it_holds(path: Path) -> None:
    assert ast.get_docstring(ast.parse(path.read_text())), path
