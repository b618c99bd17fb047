"""Turning raw model outputs into the code that runs: chat extraction and stop sequences.

Imports the domain types and :func:`pytest_humaneval.loading.quoted`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from pytest_humaneval.errors import quoted
from pytest_humaneval.model import Problem, Sample

CODEX_STOP_SEQUENCES = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
"""The stop sequences of the Codex paper (Chen et al., 2021)."""


def parse_stop_sequences(value: str) -> tuple[str, ...]:
    r"""Stop sequences from one option value.

    ``codex`` is the Codex paper's set; anything else is comma-separated strings
    in which ``\n`` and ``\t`` stand for a newline and a tab.
    """
    if value.strip() == "codex":
        return CODEX_STOP_SEQUENCES
    sequences = []
    for part in value.split(","):
        text = part.replace("\\n", "\n").replace("\\t", "\t")
        if not text:
            continue
        sequences.append(text)
    if not sequences:
        raise ValueError("must be 'codex' or comma-separated stop sequences, e.g. '\\ndef,\\nclass'")
    return tuple(sequences)


def truncate(completion: str, stop_sequences: Iterable[str]) -> str:
    """The completion up to the first occurrence of any stop sequence."""
    cut = len(completion)
    for sequence in stop_sequences:
        found = completion.find(sequence)
        if found != -1:
            cut = min(cut, found)
    return completion[:cut]


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)(?:^[ \t]*```|\Z)", re.S | re.M)
_PYTHON_TAGS = ("", "python", "python3", "py")


def extract_code(output: str, problem: Problem) -> tuple[str, bool, str]:
    """The code in a chat model's output: (code, is a whole program, how it was found).

    Fenced blocks (```python, ```py or bare ```) are joined; other languages are
    ignored. Code that defines the entry point itself runs as a whole program
    after the prompt (so the prompt's imports and helpers stay available);
    otherwise it is appended to the prompt like a completion.
    """
    blocks = [body for language, body in _FENCE.findall(output) if language.lower() in _PYTHON_TAGS]
    if not blocks:
        return output, False, "no fenced code: the output is used as it is"
    code = "\n".join(block.rstrip() + "\n" for block in blocks)
    found = f"{len(blocks)} fenced block{'s' if len(blocks) > 1 else ''}"
    if re.search(rf"^[ \t]*def[ \t]+{re.escape(problem.entry_point)}[ \t]*\(", code, re.M):
        return (
            problem.prompt + "\n" + code,
            True,
            f"{found}, defining {quoted(problem.entry_point)}: run after the prompt",
        )
    return code, False, f"{found}: appended to the prompt"


def prepare(sample: Sample, problem: Problem, extract: bool, stop_sequences: tuple[str, ...]) -> Sample:
    """The sample as it will run: code extracted from a chat output, cut at a stop sequence."""
    if sample.is_solution:
        return sample
    text, is_solution, how = sample.text, False, ""
    if extract:
        text, is_solution, how = extract_code(text, problem)
    if stop_sequences and not is_solution:
        text = truncate(text, stop_sequences)
    return dataclasses.replace(sample, text=text, is_solution=is_solution, preparation=how)
