"""The HA topology of ``make run-ha`` (``python -m deploy.local --ha``).

The platform of ``make run`` over a Redis Cluster of 3 masters and 3 replicas (instead of
the embedded Redis) and a PostgreSQL formation managed by pg_auto_failover (a monitor, a
primary and two standbys) holding the user store and the saga log, with a second gateway.
The data tier is started (and the databases migrated) before the supervisor's children
and stopped after them, by PID (deploy/redis_cluster.py, deploy/pg_formation/); the
activity store stays SQLite.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from deploy import pg_formation, redis_cluster
from deploy.local.components import add_gateway, build_topology
from deploy.local.preparation import MigrationFailed, finish_migrations, start_migrations
from deploy.local.topology import LocalSettings, Topology
from deploy.supervisor import POLL_SECONDS, Supervisor

SECOND_GATEWAY = "gateway-2"


@dataclass(frozen=True)
class DataTierUrls:
    """Where the HA data tier answers: the cluster's seed URL, the two databases' URLs."""

    redis_url: str
    user_database_url: str
    saga_database_url: str


# Stand-ins for the port check before anything starts: only the ports matter then.
PLANNED = DataTierUrls("redis-cluster://planned", "postgresql://planned", "postgresql://planned")


class Stoppable(Protocol):
    """A running part of the data tier."""

    def stop(self) -> None:
        """Stop every process it started, by PID."""


@dataclass
class DataTier:
    """The running Redis Cluster and PostgreSQL formation."""

    urls: DataTierUrls
    parts: list[Stoppable]

    def stop(self) -> None:
        """Stop the parts in the reverse order of their start (every process by PID)."""
        for part in reversed(self.parts):
            part.stop()


def fresh_data_dir(settings: LocalSettings) -> LocalSettings:
    """The HA platform's own data directory (``.run-ha`` beside ``.run``), emptied.

    The data tier is created anew at each start (its starters build new nodes), so
    every other store of the HA platform starts empty too, never out of step with it.
    Beside, not inside: the PostgreSQL servers' user must pass through every folder
    above theirs, and ``make run``'s data directory stays private.
    """
    ours = settings.data_dir.resolve()
    data = ours.with_name(f"{ours.name}-ha")
    if data.exists():
        shutil.rmtree(data)
    return settings.model_copy(update={"data_dir": data})


def ha_settings(settings: LocalSettings, urls: DataTierUrls) -> LocalSettings:
    """The settings of ``make run`` pointed at the HA data tier."""
    return settings.model_copy(
        update={
            "redis_url": urls.redis_url,
            "user_database_url": urls.user_database_url,
            "saga_database_url": urls.saga_database_url,
        }
    )


def build_ha_topology(settings: LocalSettings, urls: DataTierUrls) -> Topology:
    """Every supervised process of the HA platform, over the given data tier."""
    topology = build_topology(ha_settings(settings, urls))
    add_gateway(topology, SECOND_GATEWAY, settings.ha_gateway_port)
    return topology


def gateway_urls(topology: Topology) -> list[str]:
    """The base URL of every gateway, the first one first."""
    host = topology.settings.host
    ports = [spec.env["GATEWAY_PORT"] for spec in topology.specs if spec.name.startswith("gateway")]
    return [f"http://{host}:{port}" for port in ports]


def start_data_tier(settings: LocalSettings, say: Callable[[str], None]) -> DataTier:
    """Start the formation, then the cluster while the databases migrate; all ready on
    return, or all stopped again (by PID) if a part failed or Ctrl-C came."""
    data = settings.data_dir.resolve()
    if os.geteuid() == 0:  # the servers' own user must pass through (not list) our folder
        data.mkdir(mode=0o700, parents=True, exist_ok=True)
        data.chmod(0o711)
    timeout = settings.ha_start_timeout
    parts: list[Stoppable] = []
    try:
        began = time.monotonic()
        postgres = [int(port) for port in settings.ha_postgres_ports]
        formation = pg_formation.start(data / "pg-formation", postgres, timeout)
        parts.append(formation)
        say(f"PostgreSQL formation ready in {time.monotonic() - began:.1f} s")
        urls = DataTierUrls(PLANNED.redis_url, formation.url("users"), formation.url("sagas"))
        # Migrations touch no Redis: they run while the cluster starts.
        migrating = start_migrations(build_ha_topology(settings, urls))
        try:
            began = time.monotonic()
            pairs = zip(settings.ha_redis_ports, settings.ha_redis_bus_ports, strict=True)
            ports = [(int(port), int(bus)) for port, bus in pairs]
            cluster = redis_cluster.start(
                data / "redis-cluster", ports, timeout, die_with_parent=True
            )
            parts.append(cluster)
            say(f"Redis Cluster ready in {time.monotonic() - began:.1f} s")
        except BaseException:
            with contextlib.suppress(MigrationFailed):  # the cluster's error is the news
                finish_migrations(migrating)
            raise
        finish_migrations(migrating)
    except BaseException:
        DataTier(PLANNED, parts).stop()
        raise
    _unlisted(data)
    return DataTier(
        DataTierUrls(cluster.url, urls.user_database_url, urls.saga_database_url), parts
    )


def _unlisted(data: Path) -> None:
    """Take back the listing the formation's start gave everyone on our data directory:
    its servers' user (when we are root) needs only to pass through it."""
    if os.geteuid() == 0:
        data.chmod(0o711)
    (data / "redis-cluster").chmod(0o700)


def wait_gateways_ready(supervisor: Supervisor, urls: list[str], timeout: float) -> bool:
    """Supervise until every gateway answers /health/ready; False if a stop came first."""
    deadline = time.monotonic() + timeout
    while not all(map(_ready, urls)):
        supervisor.supervise()
        if supervisor.stop_requested:
            return False
        if time.monotonic() > deadline:
            raise TimeoutError("a gateway did not become ready in time")
        time.sleep(POLL_SECONDS)
    return True


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/ready", timeout=1.0).is_success
    except httpx.HTTPError:
        return False
