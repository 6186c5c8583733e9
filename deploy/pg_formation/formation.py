"""A running formation: its URLs, its nodes, their keepers and the monitor's view."""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psycopg

from deploy import pg_autoctl
from deploy.pg_formation.health import NODES_QUERY, NodeState, healthy
from deploy.pg_formation.settings import APP_ROLE, DATABASES
from deploy.polling import wait_for
from deploy.process_tree import kill_tree


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
