"""Sharded runs (``--humaneval-shard=I/N``): which samples shard I of N runs.

The assignment depends on the data alone (the samples in input order and which of them are
identical), never on hash seeds, worker counts or the order verdicts arrive in: every
machine of a batch job computes the same one, so the N shards hold every sample once.
Identical samples (the same verdict key) go to one shard, which runs them once. Within each
problem the samples are spread evenly: each shard gets as many of a problem's samples as
the others, give or take one (or one group of identical samples).

Imports the domain types and the evaluation (its samples and their verdict keys).
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_humaneval.evaluation import Evaluation
from pytest_humaneval.model import SampleEntry

WORKER_KEY = "humaneval_shard"
"""The key of the shard's members in an xdist worker's ``workerinput``."""


def assign(entries: Sequence[SampleEntry], identities: Sequence[Hashable], count: int) -> array[int]:
    """The shard (0 to ``count`` - 1) of each sample, by position.

    Samples of one task with the same identity (verdict key) form a group; groups are taken in
    the order of their first sample, and each goes to the shard that has the fewest of its
    task's samples so far. Ties go round the shards from where the previous tasks left off,
    so the shards' totals stay even too.
    """
    groups: dict[tuple[str, Hashable], int] = {}
    group_of = array("q")
    sizes: list[int] = []
    tasks: list[str] = []
    for entry, identity in zip(entries, identities, strict=True):
        group = groups.setdefault((entry.task_id, identity), len(groups))
        if group == len(sizes):
            sizes.append(0)
            tasks.append(entry.task_id)
        sizes[group] += 1
        group_of.append(group)
    loads: dict[str, list[tuple[int, int, int]]] = {}
    """Per task, a heap of (its samples in the shard, tie order, shard)."""
    assigned = 0
    shard_of_group = array("q", [0] * len(sizes))
    for group, (task_id, size) in enumerate(zip(tasks, sizes, strict=True)):
        heap = loads.get(task_id)
        if heap is None:
            start = assigned % count
            heap = loads[task_id] = [(0, (shard - start) % count, shard) for shard in range(count)]
            heapq.heapify(heap)
        samples, order, shard = heap[0]
        heapq.heapreplace(heap, (samples + size, order, shard))
        shard_of_group[group] = shard
        assigned += size
    return array("q", (shard_of_group[group] for group in group_of))


@dataclass(frozen=True)
class ShardMembers:
    """The samples of shard ``number`` of ``count``, as a bit per sample position."""

    number: int
    """The shard's number, from 1."""
    count: int
    bits: bytes
    size: int
    """How many samples the shard holds."""

    @classmethod
    def of(cls, assignment: Sequence[int], number: int, count: int) -> ShardMembers:
        """Shard ``number`` (from 1) of an :func:`assign` ment."""
        bits = bytearray((len(assignment) + 7) // 8)
        size = 0
        for position, shard in enumerate(assignment):
            if shard == number - 1:
                bits[position >> 3] |= 1 << (position & 7)
                size += 1
        return cls(number, count, bytes(bits), size)

    def __contains__(self, position: int) -> bool:
        return 0 <= position < len(self.bits) * 8 and bool(self.bits[position >> 3] >> (position & 7) & 1)

    @property
    def label(self) -> str:
        """``I/N``, as the option is given and as the results file names the shard."""
        return f"{self.number}/{self.count}"

    def to_plain(self) -> dict[str, Any]:
        return {"number": self.number, "count": self.count, "bits": self.bits, "size": self.size}

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> ShardMembers:
        return cls(int(data["number"]), int(data["count"]), bytes(data["bits"]), int(data["size"]))


def members_of(evaluation: Evaluation, number: int, count: int) -> ShardMembers:
    """Shard ``number`` of ``count`` of the evaluation's samples (on the controller).

    Raises ``ValueError`` if it gets no sample: there are more shards than the samples fill.
    """
    keys: Sequence[Hashable] = evaluation.keys
    if len(keys) != len(evaluation.entries):
        # --collect-only under auto measures no limits, so no key is final; within a problem
        # (all the assignment looks at) keys under any one limit group the samples alike.
        keys = [evaluation.key(evaluation.sample(entry)) for entry in evaluation.entries]
    assignment = assign(evaluation.entries, keys, count)
    members = ShardMembers.of(assignment, number, count)
    if not members.size:
        filled = len(set(assignment))
        raise ValueError(
            f"shard {number} of {count} gets no sample: the {len(assignment)} samples fill {filled} "
            f"shards (identical samples go together); use at most {filled} shards"
        )
    return members


class ShardToWorkers:
    """Sends each xdist worker the shard's members: workers collect every sample, as the
    controller does, and deselect those of other shards (they have no verdict keys to
    compute the assignment from)."""

    def __init__(self, members: ShardMembers) -> None:
        self.plain = members.to_plain()

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[WORKER_KEY] = self.plain
