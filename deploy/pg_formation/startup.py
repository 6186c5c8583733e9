"""Building a formation: the monitor, the first node, its clones, then the durability settings."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import psycopg

from deploy import pg_autoctl
from deploy.local import free_port
from deploy.pg_formation.formation import Formation, Node
from deploy.pg_formation.roles import create_app_role, set_passwords
from deploy.pg_formation.settings import (
    DATABASES,
    KEEPER_TIMEOUTS,
    MONITOR_ROLES,
    MONITOR_SETTINGS,
    NODE_NAMES,
    NODE_ROLES,
)
from deploy.polling import wait_for
from deploy.process_tree import kill_tree


def start(
    root: Path,
    ports: Sequence[int] | None = None,
    timeout: float = 90.0,
    databases: Sequence[str] = DATABASES,
    die_with_parent: bool = True,
) -> Formation:
    """Create and run a formation under ``root``: ports of the monitor then node1..3 (free
    ones by default), each of ``databases`` owned by the services' role.

    Returns once the monitor reports one primary and two secondaries with synchronous
    replication on (number_sync_standbys=1: a commit is acknowledged once a standby has it).
    With ``die_with_parent`` each keeper gets SIGTERM (and stops its PostgreSQL) when the
    *thread* that started it ends (Linux's parent-death signal follows the thread): call
    start() and restart() from one that lives as long as the formation, the main thread.
    """
    monitor_port, *node_ports = list(ports or [free_port() for _ in range(1 + len(NODE_NAMES))])
    if len(node_ports) != len(NODE_NAMES):
        raise ValueError(f"ports: the monitor's then {len(NODE_NAMES)} nodes', got {ports}")
    user = pg_autoctl.prepare(root)
    formation = Formation(
        root,
        user,
        Node("monitor", monitor_port, root / "monitor"),
        {
            name: Node(name, port, root / name)
            for name, port in zip(NODE_NAMES, node_ports, strict=True)
        },
        tuple(databases),
        die_with_parent,
    )
    try:
        _start_monitor(formation, timeout)
        _start_nodes(formation, timeout)
        _require_sync_standby(formation)
        create_app_role(formation)
    except BaseException:
        formation.stop()
        raise
    return formation


def _start_monitor(formation: Formation, timeout: float) -> None:
    monitor = formation.monitor
    # Read when the extension loads.
    pg_autoctl.initdb(formation.root, formation.user, "monitor", monitor.pgdata, MONITOR_SETTINGS)
    options = pg_autoctl.node_options(monitor.pgdata, monitor.port)
    command = [pg_autoctl.PG_AUTOCTL, "create", "monitor", *options, "--run"]
    monitor.process = formation._spawn("monitor", command)
    wait_for(lambda: set_passwords(formation, monitor, MONITOR_ROLES), timeout, "monitor roles")
    wait_for(lambda: _monitor_answers(formation), timeout, "the monitor")


def _monitor_answers(formation: Formation) -> bool:
    if formation.monitor.process is not None and formation.monitor.process.poll() is not None:
        raise RuntimeError("the monitor exited: see logs/monitor.log")
    try:
        formation.states()
    except psycopg.Error:
        return False
    return True


def _start_nodes(formation: Formation, timeout: float) -> None:
    """The first node becomes the primary; the others are cloned from it concurrently."""
    first, *others = formation.nodes.values()
    pg_autoctl.initdb(formation.root, formation.user, first.name, first.pgdata, {})
    _create_node(formation, first, timeout)
    wait_for(lambda: _reported(formation, first.name, "single"), timeout, "the first node")
    # Before any clone: pg_basebackup logs in as the replicator, the monitor checks health.
    wait_for(lambda: set_passwords(formation, first, NODE_ROLES), timeout, "node roles")
    deadline = time.monotonic() + timeout  # one for the clones and their joining, not each
    # Each create is the node's process until it exits, so stop() ends it too.
    for node in others:
        node.process = formation._spawn(node.name, _create_command(formation, node))
    try:
        for node in others:
            _finish_clone(formation, node, deadline)
    except BaseException:
        _kill_creates(others)
        raise
    formation.wait_healthy(_left(deadline))


def _finish_clone(formation: Formation, node: Node, deadline: float) -> None:
    """Wait (until ``deadline``) for the node's create, then run its keeper."""
    assert node.process is not None
    try:
        code = node.process.wait(timeout=_left(deadline))
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"creating {node.name}: not done in time") from None
    if code != 0:
        raise RuntimeError(f"creating {node.name} failed: see logs/{node.name}.log")
    node.process = None
    _tune_keeper(formation, node)
    node.process = formation._spawn(node.name, pg_autoctl.run_command(node.pgdata))


def _kill_creates(nodes: Iterable[Node]) -> None:
    """Kill the trees (pg_basebackup, a PostgreSQL) of the nodes' processes still running."""
    for node in nodes:
        if node.process is not None and node.process.poll() is None:
            kill_tree(node.process.pid)
            node.process.wait(timeout=10)
        node.process = None


def _left(deadline: float) -> float:
    """Seconds until ``deadline``, at least a moment: one budget shared by every step."""
    return max(0.1, deadline - time.monotonic())


def _create_command(formation: Formation, node: Node) -> list[str]:
    return [
        pg_autoctl.PG_AUTOCTL, "create", "postgres",
        *pg_autoctl.node_options(node.pgdata, node.port), "--name", node.name,
        "--monitor", f"{formation.keeper_monitor_url}?sslmode=disable",
        "--dbname", formation.databases[0],
    ]  # fmt: skip


def _create_node(formation: Formation, node: Node, timeout: float) -> None:
    formation._run(node.name, _create_command(formation, node), timeout)
    _tune_keeper(formation, node)
    node.process = formation._spawn(node.name, pg_autoctl.run_command(node.pgdata))


def _tune_keeper(formation: Formation, node: Node) -> None:
    for key, value in KEEPER_TIMEOUTS.items():
        command = [pg_autoctl.PG_AUTOCTL, "config", "set", "--pgdata", str(node.pgdata), key, value]
        formation._run(node.name, command, 30)


def _reported(formation: Formation, name: str, state: str) -> bool:
    return any(
        s.name == name and s.reported == s.goal == state for s in formation._states_or_empty()
    )


def _require_sync_standby(formation: Formation) -> None:
    """number_sync_standbys=1 (the default of 2.0, set anyway: it is the durability promise)."""
    query = "SELECT pgautofailover.set_formation_number_sync_standbys('default', 1)"
    check = (
        "SELECT number_sync_standbys FROM pgautofailover.formation WHERE formationid = 'default'"
    )
    with psycopg.connect(formation.monitor_url, autocommit=True, connect_timeout=2) as conn:
        current = conn.execute(check).fetchone()
        if current is None or current[0] != 1:
            conn.execute(query)
    formation.wait_healthy(30)
