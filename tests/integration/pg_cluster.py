"""The pg_auto_failover formation of the failover tests, and the figures they measure."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from deploy import pg_formation
from deploy.pg_formation import Formation
from deploy.process_tree import descendants, process_parents

# Where the failover test writes what it measured, for docs/operations.md to quote.
FIGURES_FILE = Path(os.environ.get("PG_FAILOVER_FIGURES", ".run/figures/postgres_failover.json"))


@contextmanager
def running_formation() -> Iterator[Formation]:
    """A monitor, a primary and two synchronous standbys in a fresh folder, removed after.

    The folder is in the system's temporary folder, not pytest's: pytest makes its
    /tmp/pytest-of-USER private again whenever another session starts, and the keepers,
    running as another user, must still reach their data directories then.
    """
    with tempfile.TemporaryDirectory(prefix="pg-formation-") as root:
        formation = pg_formation.start(Path(root))
        try:
            yield formation
        finally:
            formation.stop()


def record_figures(figures: dict[str, float | int | str]) -> Path:
    """Print the figures and write them to FIGURES_FILE; returns its path."""
    print("postgres failover:", json.dumps(figures))
    FIGURES_FILE.parent.mkdir(parents=True, exist_ok=True)
    FIGURES_FILE.write_text(json.dumps(figures, indent=2) + "\n")
    return FIGURES_FILE


def walreceivers(formation: Formation, name: str) -> list[int]:
    """PIDs of the WAL receivers in a standby's process tree (found by their title)."""
    node = formation.nodes[name]
    if node.process is None:
        return []
    tree = descendants(node.process.pid, process_parents())
    return [pid for pid in tree if b"walreceiver" in _cmdline(pid)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # it exited meanwhile
        return b""


def walsender_to(formation: Formation, primary: str, standby: str) -> int:
    """PID of the primary's WAL sender streaming to ``standby`` (asked as the superuser).

    pg_auto_failover names each standby's stream pgautofailover_standby_<node id>.
    """
    with psycopg.connect(formation.monitor_url, connect_timeout=2) as conn:
        row = conn.execute(
            "SELECT nodeid FROM pgautofailover.node WHERE nodename = %s", (standby,)
        ).fetchone()
    assert row is not None
    with psycopg.connect(formation.superuser_url(primary), connect_timeout=2) as conn:
        sender = conn.execute(
            "SELECT pid FROM pg_stat_replication WHERE application_name = %s",
            (f"pgautofailover_standby_{row[0]}",),
        ).fetchone()
    assert sender is not None
    return int(sender[0])
