"""The formation image's entry points (deploy/kubernetes/images/pg-auto-failover), run here.

Kubernetes' overlays/production and docker-compose.yml start the pg_auto_failover monitor
and the data nodes with the image's ``pg-monitor`` and ``pg-node`` scripts. No container
runs here, so the scripts run directly on Debian's pg_autoctl (the image installs the same
packages), on loopback ports, as Debian's ``postgres`` user when we are root (its group may
write the packages' socket folder, /var/run/postgresql, which the image's PostgreSQL uses
too): a monitor and two nodes must form a primary and a synchronous standby, and the
application role must own its database with a SCRAM password, as the services'
multi-host URLs expect.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from deploy.local import free_port
from deploy.pg_formation import BIN, wait_for
from deploy.process_tree import kill_tree
from services.common.db import make_engine

IMAGE = Path(__file__).parents[2] / "deploy/kubernetes/images/pg-auto-failover"
PASSWORD = "image-test-password"
NODES = ("node1", "node2")
# Installed with pg_auto_failover's PostgreSQL packages (deploy/system_packages.sh).
SERVER_USER = "postgres"
MAX_RESTARTS = 3


@dataclass
class Formation:
    """The monitor and nodes we started from the image's scripts, and where they live."""

    root: Path
    user: str | None
    ports: dict[str, int]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started_with: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    restarts: list[str] = field(default_factory=list)

    def environment(self, name: str) -> dict[str, str]:
        """What the image's ENV and the manifests give a node, on this machine's paths."""
        home = self.root / name
        return {
            "PATH": f"{BIN}:/usr/bin:/bin",
            "HOME": str(home),
            "PGDATA": str(home / "pgdata"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "share"),
            "XDG_RUNTIME_DIR": str(home),
            "PGPORT": str(self.ports[name]),
            "LANG": "C.UTF-8",
        }

    def start(self, name: str, script: str, extra: dict[str, str]) -> None:
        """Run one entry point in the background, its output in ``name``.log."""
        (self.root / name).mkdir(exist_ok=True)
        self._own(self.root / name)
        self.started_with[name] = (script, extra)
        with (self.root / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                ["sh", str(IMAGE / script)],
                env={**self.environment(name), **extra},
                user=self.user,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )

    def restart_exited(self) -> None:
        """Start again an entry point that exited, as compose (unless-stopped) and a
        StatefulSet would: the scripts resume an interrupted creation on their volume."""
        for name, process in list(self.processes.items()):
            if process.poll() is not None and len(self.restarts) < MAX_RESTARTS:
                self.restarts.append(f"{name} exited {process.returncode}")
                self.start(name, *self.started_with[name])

    def states(self) -> dict[str, tuple[str, str]]:
        """Each node's reported and assigned state, from the monitor ({} while it is down)."""
        try:
            with psycopg.connect(self.monitor_url, connect_timeout=2) as conn:
                rows = conn.execute(
                    "SELECT nodename, reportedstate::text, goalstate::text FROM pgautofailover.node"
                ).fetchall()
        except psycopg.Error:
            return {}
        return {name: (reported, goal) for name, reported, goal in rows}

    @property
    def monitor_url(self) -> str:
        """The monitor's database, as the nodes reach it (loopback here)."""
        return f"postgresql://autoctl_node@127.0.0.1:{self.ports['monitor']}/pg_auto_failover"

    def superuser_url(self, name: str) -> str:
        """A node's superuser over loopback (initdb names it after the OS user)."""
        superuser = self.user or pwd.getpwuid(os.geteuid()).pw_name
        return f"postgresql://{superuser}@127.0.0.1:{self.ports[name]}/postgres"

    def stop(self) -> None:
        """pg_autoctl stop for each keeper, nodes first; the whole tree of any that stays."""
        for name in [*NODES, "monitor"]:
            if name in self.processes:
                subprocess.run(
                    ["pg_autoctl", "stop", "--pgdata", self.environment(name)["PGDATA"]],
                    env=self.environment(name),
                    user=self.user,
                    capture_output=True,
                    timeout=60,
                    check=False,
                )
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                kill_tree(process.pid)
                process.wait(timeout=10)

    def _own(self, path: Path) -> None:
        if self.user:
            account = pwd.getpwnam(self.user)
            os.chown(path, account.pw_uid, account.pw_gid)
        path.chmod(0o700)


@pytest.fixture
def formation() -> Iterator[Formation]:
    # The system's temporary folder, not pytest's: another pytest session makes
    # /tmp/pytest-of-USER private again, and the keepers resolve their paths at restarts.
    root = Path(tempfile.mkdtemp(prefix="pg-image-"))
    user = SERVER_USER if os.geteuid() == 0 else None
    ports = {name: free_port() for name in ("monitor", *NODES)}
    built = Formation(root, user, ports)
    built._own(root)
    try:
        yield built
    finally:
        built.stop()
        for name in built.processes:
            print(f"--- {name}.log (tail)")
            print((root / f"{name}.log").read_text(errors="replace")[-2000:])
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.timeout(300)
def test_the_images_entry_points_form_a_primary_and_a_synchronous_standby(
    formation: Formation,
) -> None:
    formation.start("monitor", "pg-monitor.sh", {"PG_NODE_HOSTNAME": "127.0.0.1"})
    wait_for(lambda: _answers(formation), 120, "the monitor")
    for name in NODES:
        formation.start(
            name,
            "pg-node.sh",
            {
                "PG_NODE_NAME": name,
                "PG_NODE_HOSTNAME": "127.0.0.1",
                "PG_MONITOR_HOST": "127.0.0.1",
                "PG_MONITOR_PORT": str(formation.ports["monitor"]),
                "FITNESS_PASSWORD": PASSWORD,
            },
        )

    def formed() -> bool:
        formation.restart_exited()
        states = formation.states()
        settled = {state for state in states.values() if state[0] == state[1]}
        return len(states) == len(NODES) and settled == {
            ("primary", "primary"),
            ("secondary", "secondary"),
        }

    try:
        wait_for(formed, 180, "a primary and a secondary", every=0.5)
    except TimeoutError as late:
        raise TimeoutError(f"{late}: {formation.states()}, {formation.restarts}") from None
    [primary] = [n for n, (reported, _) in formation.states().items() if reported == "primary"]
    [standby] = [n for n in NODES if n != primary]
    hosts = "&".join(f"host=127.0.0.1:{formation.ports[n]}" for n in (standby, primary))
    # The services' form: SQLAlchemy's multi-host URL, the standby listed first.
    app_url = (
        f"postgresql+psycopg://fitness:{PASSWORD}@/fitness?{hosts}&target_session_attrs=read-write"
    )

    def role_ready() -> bool:
        with psycopg.connect(formation.superuser_url(primary)) as conn:
            row = conn.execute(
                "SELECT rolpassword FROM pg_authid WHERE rolname = 'fitness'"
            ).fetchone()
        return row is not None and str(row[0]).startswith("SCRAM-SHA-256$")

    wait_for(role_ready, 60, "the application role's password")
    engine = make_engine(app_url, pool_size=1)
    try:
        with engine.begin() as app:
            app.execute(text("CREATE TABLE written_by_the_app (id int)"))
            app.execute(text("INSERT INTO written_by_the_app VALUES (1)"))
            port = app.execute(text("SELECT inet_server_port()")).scalar_one()
    finally:
        engine.dispose()
    with psycopg.connect(formation.superuser_url(primary)) as conn:
        sync = conn.execute("SHOW synchronous_standby_names").fetchone()
        hba = conn.execute(
            "SELECT type, database, user_name, auth_method FROM pg_hba_file_rules"
            " WHERE 'fitness' = ANY(user_name)"
        ).fetchall()

    assert port == formation.ports[primary]
    assert sync is not None
    assert str(sync[0]).startswith("ANY 1 (")
    assert ("hostssl", ["fitness"], ["fitness"], "scram-sha-256") in hba
    wait_for(lambda: _replicated(formation.superuser_url(standby)), 30, "the row on the standby")


def _answers(formation: Formation) -> bool:
    try:
        with psycopg.connect(formation.monitor_url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def _replicated(url: str) -> bool:
    with psycopg.connect(url.replace("/postgres", "/fitness")) as conn:
        row = conn.execute("SELECT count(*) FROM written_by_the_app").fetchone()
    return row == (1,)
