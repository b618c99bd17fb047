"""Turning raw model outputs into the code that runs: stop sequences."""

from __future__ import annotations

from collections.abc import Iterable

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
