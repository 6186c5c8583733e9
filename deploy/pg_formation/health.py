"""The monitor's view of the nodes, the healthy-formation rule and bounded polling."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from deploy.pg_formation.settings import NODE_NAMES

NODES_QUERY = (
    "SELECT nodename, nodeport, reportedstate::text, goalstate::text"
    " FROM pgautofailover.node WHERE formationid = 'default' ORDER BY nodeid"
)


@dataclass(frozen=True)
class NodeState:
    """One row of the monitor's pgautofailover.node table."""

    name: str
    port: int
    reported: str
    goal: str

    @property
    def settled(self) -> bool:
        """Whether the node has reached the state the monitor assigned it."""
        return self.reported == self.goal


def healthy(states: Iterable[NodeState], nodes: int = len(NODE_NAMES)) -> bool:
    """One settled primary and every other node a settled secondary."""
    rows = list(states)
    roles = sorted(s.reported for s in rows if s.settled)
    return len(rows) == nodes and roles == ["primary"] + ["secondary"] * (nodes - 1)
