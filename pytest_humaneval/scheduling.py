"""xdist scheduling that sends identical samples to one worker, so each runs once per session.

A pytest process runs an identical (problem, code, limits) sample once and reuses the
verdict (see :class:`~pytest_humaneval.runner.SandboxRunner`). xdist's ``load``
scheduling hands out items in chunks with no regard to that, so copies of a sample could
land on different workers, and each worker would run its own. This scheduler is ``load``
scheduling over an order in which each sample's copies follow it, and it never splits
them between chunks. Imported only when pytest-xdist is present.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from xdist.scheduler import LoadScheduling  # type: ignore[import-untyped]  # xdist has no type hints


class IdenticalSamplesTogether(LoadScheduling):  # type: ignore[misc]
    """``--dist load``, keeping the items of each group of identical samples on one worker."""

    def __init__(self, config: pytest.Config, log: Any, group_of: Mapping[str, int]) -> None:
        super().__init__(config, log)
        self.group_of = group_of
        """Group number by node id, for the sample items that have copies (only those)."""
        self._group_at: dict[int, int] | None = None
        """Group number by collection index (set when the first tests are sent)."""

    def _send_tests(self, node: Any, num: int) -> None:
        if self._group_at is None:
            self._group_at = self._copies_together()
        end = min(num, len(self.pending))
        if end == 0:
            return
        last_group = self._group_at.get(self.pending[end - 1])
        while last_group is not None and end < len(self.pending):  # never split a group
            if self._group_at.get(self.pending[end]) != last_group:
                break
            end += 1
        chosen = self.pending[:end]
        del self.pending[:end]
        self.node2pending[node].extend(chosen)
        node.send_runtest_some(chosen)

    def _copies_together(self) -> dict[int, int]:
        """Reorder the pending items so that each group's items are consecutive, where its
        first item was; return the group of each grouped item by collection index."""
        assert self.collection is not None
        group_at = {
            index: group
            for index, nodeid in enumerate(self.collection)
            if (group := self.group_of.get(nodeid)) is not None
        }
        members: dict[int, list[int]] = {}
        for index in self.pending:
            if index in group_at:
                members.setdefault(group_at[index], []).append(index)
        order: list[int] = []
        for index in self.pending:
            group = group_at.get(index)
            if group is None:
                order.append(index)
            elif members[group][0] == index:
                order.extend(members[group])
        self.pending[:] = order
        return group_at
