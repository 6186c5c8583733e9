"""Pure rules behind the PostgreSQL failover: process trees, formation health, error mapping."""

from __future__ import annotations

import grpc
import pytest

from deploy.pg_formation import NodeState, healthy
from deploy.process_tree import descendants, parent_pid
from saga_coordinator import grpc_server as saga_server
from services.common.db import DatabaseUnavailable, is_unavailable
from services.common.grpc_runtime import status_for
from services.common.upstream.retry import rule_for
from services.user import grpc_server as user_server


def test_the_parent_pid_is_read_past_a_command_name_holding_spaces_and_parentheses() -> None:
    line = "4242 (postgres: walsender (x) 127.0.0.1) S 4100 4242 4242 0 -1 4194560 120"
    assert parent_pid(line) == 4100


def test_a_tree_holds_the_postmasters_setsid_children_and_nothing_else() -> None:
    parents = {
        10: 1,  # pg_autoctl run (ours)
        11: 10,  # pg_autoctl: start/stop postgres
        12: 10,  # pg_autoctl: node active
        20: 11,  # postmaster
        21: 20,  # a backend: its own session, still the postmaster's child
        22: 20,  # walsender
        30: 1,  # another node's keeper
        31: 30,
    }
    assert descendants(10, parents) == [10, 11, 12, 20, 21, 22]


def test_a_formation_is_healthy_with_one_settled_primary_and_two_settled_secondaries() -> None:
    nodes = [
        NodeState("node1", 1, "primary", "primary"),
        NodeState("node2", 2, "secondary", "secondary"),
        NodeState("node3", 3, "secondary", "secondary"),
    ]
    assert healthy(nodes)


@pytest.mark.parametrize(
    "third",
    [
        NodeState("node3", 3, "catchingup", "secondary"),  # still catching up
        NodeState("node3", 3, "secondary", "report_lsn"),  # being moved by a failover
        NodeState("node3", 3, "primary", "primary"),  # two primaries
    ],
)
def test_a_formation_is_not_healthy_while_a_node_is_unsettled_or_doubled(third: NodeState) -> None:
    nodes = [
        NodeState("node1", 1, "primary", "primary"),
        NodeState("node2", 2, "secondary", "secondary"),
        third,
    ]
    assert not healthy(nodes)


def test_a_formation_of_two_nodes_is_not_a_healthy_formation_of_three() -> None:
    nodes = [
        NodeState("node2", 2, "wait_primary", "wait_primary"),
        NodeState("node3", 3, "secondary", "secondary"),
    ]
    assert not healthy(nodes)


@pytest.mark.parametrize(
    ("sqlstate", "operational", "disconnect"),
    [
        ("08006", True, False),  # connection failure
        ("57P01", True, False),  # admin shutdown (the server is stopping)
        ("57P02", True, False),  # crash shutdown (a sibling backend died)
        ("57P03", True, False),  # cannot connect now (starting up)
        ("25006", False, False),  # read-only transaction: this server is a standby now
        (None, True, False),  # libpq lost the connection, the server never answered
        ("XX000", False, True),  # whatever it says, SQLAlchemy saw the connection go
    ],
)
def test_a_lost_or_read_only_server_is_unavailable(
    sqlstate: str | None, operational: bool, disconnect: bool
) -> None:
    assert is_unavailable(sqlstate, operational, disconnect)


@pytest.mark.parametrize(
    ("sqlstate", "operational"),
    [
        ("23505", False),  # unique violation: a refusal the use case explains
        ("22012", False),  # division by zero: a bug
        ("40001", True),  # serialization failure: not a failover
        (None, False),  # psycopg's own programming error
    ],
)
def test_a_refusal_or_a_bug_is_not_unavailable(sqlstate: str | None, operational: bool) -> None:
    assert not is_unavailable(sqlstate, operational, disconnect=False)


@pytest.mark.parametrize("table", [user_server.STATUSES, saga_server.STATUSES])
def test_an_unavailable_database_is_answered_unavailable_which_callers_fail_over(
    table: dict[type[Exception], grpc.StatusCode],
) -> None:
    status = status_for(table, DatabaseUnavailable("database unavailable: connection lost"))
    assert status == grpc.StatusCode.UNAVAILABLE
    assert rule_for(status).failover
    assert rule_for(status).transient
