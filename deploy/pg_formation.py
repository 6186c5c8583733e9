"""A pg_auto_failover formation on loopback: a monitor, a primary and two standbys.

``start(root, ports)`` builds and runs it (on free ports by default) and returns a
``Formation``: ``url(database)`` is the multi-host SQLAlchemy URL the user service
(``users``) and the saga log (``sagas``) take; ``states()`` and ``primary()`` read the
monitor, ``pids()`` names the keepers we started; ``kill(name)``
SIGKILLs a node's whole process tree (keeper, postmaster and backends), ``restart(name)``
brings it back as a standby, ``stop()`` ends everything. Used by the failover tests and
by ``make run-ha``. The servers run as an unprivileged user when we are root (PostgreSQL
refuses root), authenticate by ``trust`` and listen on 127.0.0.1 only, without TLS
(``--no-ssl``: every hop is loopback). Timeouts are tuned for a failover in seconds.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psycopg
from psycopg import sql

from deploy import pg_autoctl
from deploy.local import free_port
from deploy.process_tree import kill_tree

# PostgreSQL 15's programs and the server user (defined with the commands that use them).
BIN = pg_autoctl.BIN
SERVICE_USER = pg_autoctl.SERVICE_USER
# The user store and the saga log: one database each, as with SQLite files.
DATABASES = ("users", "sagas")
APP_ROLE = "fitness"
# The roles pg_autoctl creates, which log in over TCP (scram): the keepers to the monitor;
# pg_basebackup, pg_rewind and the standbys to a node; the monitor's health checks.
MONITOR_ROLES = ("autoctl_node",)
NODE_ROLES = ("pgautofailover_replicator", "pgautofailover_monitor")
NODE_NAMES = ("node1", "node2", "node3")

# The monitor's failure detection and promotion (pg_autoctl(5), "pg_auto_failover monitor"):
# a node unreachable for ~2 s is failed, and a primary that cannot be told to demote is
# given 4 s before its standby is promoted. primary_demote_timeout must stay above the
# keepers' network_partition_timeout, so a primary cut off from everything has demoted
# itself before another is promoted (no split brain).
MONITOR_SETTINGS = {
    "pgautofailover.health_check_period": "1000",
    "pgautofailover.health_check_timeout": "1000",
    "pgautofailover.health_check_max_retries": "1",
    "pgautofailover.health_check_retry_delay": "500",
    "pgautofailover.node_considered_unhealthy_timeout": "2000",
    "pgautofailover.primary_demote_timeout": "4000",
    "pgautofailover.startup_grace_period": "1000",
}
# The keepers' side (pg_autoctl config set), in seconds.
KEEPER_TIMEOUTS = {
    "timeout.network_partition_timeout": "2",
    "timeout.prepare_promotion_catchup": "5",
    "timeout.prepare_promotion_walreceiver": "2",
    "timeout.postgresql_restart_failure_timeout": "5",
    "timeout.postgresql_restart_failure_max_retries": "1",
}
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


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; TimeoutError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f} s")
        time.sleep(0.1)


@dataclass
class Node:
    """A pg_autoctl-managed PostgreSQL (or the monitor) and the keeper we run for it."""

    name: str
    port: int
    pgdata: Path
    process: subprocess.Popen[bytes] | None = None


@dataclass
class Formation:
    """A running formation we started: its URLs, its nodes and their processes."""

    root: Path
    user: str | None
    monitor: Node
    nodes: dict[str, Node]
    databases: tuple[str, ...] = DATABASES
    die_with_parent: bool = True
    _logs: list[IO[bytes]] = field(default_factory=list, repr=False)

    @property
    def password(self) -> str:
        """Every role's password (scram over TCP), from the formation's 0600 file."""
        return pg_autoctl.password(self.root)

    def url(self, database: str = DATABASES[0]) -> str:
        """The multi-host SQLAlchemy URL: libpq connects to whichever host is read-write."""
        hosts = "&".join(f"host=127.0.0.1:{node.port}" for node in self.nodes.values())
        login = f"{APP_ROLE}:{self.password}"
        return f"postgresql+psycopg://{login}@/{database}?{hosts}&target_session_attrs=read-write"

    @property
    def monitor_url(self) -> str:
        """The monitor's database, as the keepers reach it (with the password)."""
        return self.keeper_monitor_url.replace("autoctl_node@", f"autoctl_node:{self.password}@")

    @property
    def keeper_monitor_url(self) -> str:
        """The monitor's URL without the password (on command lines; PGPASSFILE has it)."""
        return f"postgresql://autoctl_node@127.0.0.1:{self.monitor.port}/pg_auto_failover"

    def node_url(self, name: str, database: str = DATABASES[0]) -> str:
        """A libpq URL of one node alone (for reading a standby or a new primary directly)."""
        port = self.nodes[name].port
        return f"postgresql://{APP_ROLE}:{self.password}@127.0.0.1:{port}/{database}"

    def superuser_url(self, name: str, database: str = "postgres") -> str:
        """A superuser's libpq URL of one node, over TCP (scram)."""
        superuser = pg_autoctl.superuser(self.user)
        port = self.nodes[name].port
        return f"postgresql://{superuser}:{self.password}@127.0.0.1:{port}/{database}"

    def pids(self) -> dict[str, int]:
        """The PID of each keeper (``pg_autoctl``) we run, by node name."""
        running = {"monitor": self.monitor, **self.nodes}
        return {name: n.process.pid for name, n in running.items() if n.process is not None}

    def states(self) -> list[NodeState]:
        """The monitor's view of every node."""
        with psycopg.connect(self.monitor_url, connect_timeout=2) as conn:
            rows = conn.execute(NODES_QUERY).fetchall()
        return [NodeState(str(n), int(p), str(r), str(g)) for n, p, r, g in rows]

    def primary(self) -> str:
        """The name of the settled primary; LookupError while there is none."""
        for state in self.states():
            if state.reported == state.goal == "primary":
                return state.name
        raise LookupError("no settled primary")

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Wait until the monitor reports one primary and two secondaries."""
        wait_for(lambda: healthy(self._states_or_empty()), timeout, "1 primary + 2 secondaries")

    def wait_primary(self, other_than: str, timeout: float = 60.0) -> str:
        """Wait until a node other than ``other_than`` is the settled primary; its name."""

        def promoted() -> bool:
            return any(
                s.name != other_than and s.reported == s.goal == "primary"
                for s in self._states_or_empty()
            )

        wait_for(promoted, timeout, f"a primary other than {other_than}")
        return self.primary()

    def _states_or_empty(self) -> list[NodeState]:
        try:
            return self.states()
        except psycopg.OperationalError:  # the monitor is starting
            return []

    def kill(self, name: str) -> list[int]:
        """SIGKILL the node's keeper, postmaster and backends at once; the PIDs killed."""
        node = self.nodes[name]
        if node.process is None:
            return []
        killed = kill_tree(node.process.pid)
        node.process.wait(timeout=10)
        node.process = None
        return killed

    def restart(self, name: str, timeout: float = 60.0) -> None:
        """Run a stopped node's keeper again and wait until it is back as a secondary."""
        node = self.nodes[name]
        if node.process is None or node.process.poll() is not None:
            node.process = self._spawn(name, pg_autoctl.run_command(node.pgdata))

        def rejoined() -> bool:
            states = self._states_or_empty()
            mine = [s for s in states if s.name == name]
            return healthy(states) and mine[0].reported == "secondary"

        wait_for(rejoined, timeout, f"{name} rejoined as a secondary")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every keeper we run (standbys, primary, then the monitor), killing stragglers."""
        for node in [*self.nodes.values(), self.monitor]:
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        for node in [*self.nodes.values(), self.monitor]:
            if node.process is None:
                continue
            try:
                node.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_tree(node.process.pid)
                node.process.wait(timeout=10)
            node.process = None
        for log in self._logs:
            log.close()

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (self.root / "logs" / f"{name}.log").open("ab")
        self._logs.append(log)
        return pg_autoctl.popen(command, self.root, self.user, log, self.die_with_parent)

    def _run(self, name: str, command: list[str], timeout: float) -> None:
        pg_autoctl.run(self.root, self.user, name, command, timeout)


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
        _create_app_role(formation)
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
    wait_for(lambda: _set_passwords(formation, monitor, MONITOR_ROLES), timeout, "monitor roles")
    wait_for(lambda: _monitor_answers(formation), timeout, "the monitor")


def _set_passwords(formation: Formation, node: Node, roles: Sequence[str]) -> bool:
    """Give the roles pg_autoctl created the formation's password, over the trusted socket.

    False while the server or one of the roles is not there yet.
    """
    superuser = pg_autoctl.superuser(formation.user)
    socket = str(formation.root / "sock")
    try:
        with psycopg.connect(
            host=socket, port=node.port, user=superuser, dbname="postgres", autocommit=True
        ) as conn:
            found = conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(roles),)
            )
            if len(found.fetchall()) < len(roles):
                return False
            for role in roles:
                alter = sql.SQL("ALTER ROLE {} PASSWORD {}")
                conn.execute(alter.format(sql.Identifier(role), sql.Literal(formation.password)))
    except psycopg.OperationalError:  # starting
        return False
    return True


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
    wait_for(lambda: _set_passwords(formation, first, NODE_ROLES), timeout, "node roles")
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


def _create_app_role(formation: Formation) -> None:
    """The services' role, owner of the databases (PostgreSQL 15: it may create in public)."""
    url = formation.superuser_url(formation.primary())
    with psycopg.connect(url, autocommit=True, connect_timeout=2) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone()
        if exists is None:
            conn.execute(f'CREATE ROLE "{APP_ROLE}" LOGIN')
        alter = sql.SQL("ALTER ROLE {} PASSWORD {}")
        conn.execute(alter.format(sql.Identifier(APP_ROLE), sql.Literal(formation.password)))
        for database in formation.databases:
            found = "SELECT 1 FROM pg_database WHERE datname = %s"
            if conn.execute(found, (database,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{database}"')
            conn.execute(f'ALTER DATABASE "{database}" OWNER TO "{APP_ROLE}"')
