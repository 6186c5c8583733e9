"""The local topology: its settings, ports, instances and addresses, and where files live."""

from __future__ import annotations

import random
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import make_url

from deploy import embedded_postgres
from deploy.supervisor import RestartPolicy
from services.common.settings import AddressList


class LocalSettings(BaseSettings):
    """Ports and data directory of the local topology (LOCAL_* variables)."""

    model_config = SettingsConfigDict(env_prefix="LOCAL_")

    host: str = "127.0.0.1"
    data_dir: Path = Path(".run")
    gateway_port: int = 8000
    gateway_metrics_port: int = 9100
    user_ports: AddressList = ["50051", "50052"]
    activity_ports: AddressList = ["50061", "50062"]
    user_metrics_ports: AddressList = ["9101", "9102"]
    activity_metrics_ports: AddressList = ["9111", "9112"]
    watch_log_ports: AddressList = ["50081", "50082"]
    watch_log_metrics_ports: AddressList = ["9131", "9132"]
    motion_ports: AddressList = ["50091", "50092"]
    motion_metrics_ports: AddressList = ["9141", "9142"]
    motion_processor_metrics_port: int = 9151
    motion_sink_metrics_port: int = 9161
    health_ports: AddressList = ["50101", "50102"]
    health_metrics_ports: AddressList = ["9171", "9172"]
    health_ingester_metrics_port: int = 9181
    health_database_url: str = Field(
        "", description="The health-metrics store; empty: database health on the warehouse's server"
    )
    saga_port: int = 50071
    saga_metrics_port: int = 9121
    redis_url: str = Field("", description="An existing Redis; empty starts an embedded one")
    redis_port: int = 6379
    warehouse_url: str = Field("", description="An existing warehouse; empty starts one")
    warehouse_port: int = 5433
    user_database_url: str = Field("", description="The user store; empty: SQLite in data_dir")
    saga_database_url: str = Field("", description="The saga log; empty: SQLite in data_dir")
    # `python -m deploy.local --ha` (make run-ha) only: its second gateway and data tier.
    ha_gateway_port: int = 8001
    ha_redis_ports: AddressList = ["7001", "7002", "7003", "7004", "7005", "7006"]
    ha_redis_bus_ports: AddressList = ["17001", "17002", "17003", "17004", "17005", "17006"]
    ha_postgres_ports: AddressList = Field(
        ["5441", "5442", "5443", "5444"], description="pg_auto_failover monitor, then 3 nodes"
    )
    ha_start_timeout: float = Field(120.0, gt=0, description="Seconds the data tier may take")
    etl_schedule_at: str = Field("02:00", description="UTC time of the nightly ETL run")
    # 15 processes on 2 busy cores took 41 s once: 30 s turned a slow start into a failure.
    startup_timeout: float = Field(
        90.0, gt=0, description="Seconds the platform may take to be ready"
    )
    demo_users: bool = Field(
        True, description="Register demo1..3@example.com, each with a simulated Fitbit linked"
    )
    restart_limit: int = Field(5, ge=0, description="Deaths in the window still restarted")
    restart_window: float = Field(60.0, gt=0, description="Seconds over which deaths are counted")
    restart_backoff: float = Field(0.5, gt=0, description="First restart delay; doubles per death")

    def restart_policy(self) -> RestartPolicy:
        """How the supervisor restarts children that die."""
        return RestartPolicy(self.restart_limit, self.restart_window, self.restart_backoff)

    def gateway_redis_url(self) -> str:
        """The Redis the gateways share."""
        return self.redis_url or f"redis://{self.host}:{self.redis_port}/0"

    def etl_warehouse_url(self) -> str:
        """The PostgreSQL the ETL loads."""
        return self.warehouse_url or embedded_postgres.server_url(self.host, self.warehouse_port)

    def health_store_url(self) -> str:
        """The health-metrics database: the configured one, or "health" beside the warehouse."""
        if self.health_database_url:
            return self.health_database_url
        warehouse = make_url(self.etl_warehouse_url())
        return warehouse.set(database="health").render_as_string(hide_password=False)

    def user_store_url(self) -> str:
        """The user service's database: the configured one, or a SQLite file."""
        return self.user_database_url or f"sqlite:///{self.data_dir.resolve() / 'user.db'}"

    def saga_store_url(self) -> str:
        """The saga log's database: the configured one, or a SQLite file."""
        return self.saga_database_url or f"sqlite:///{self.data_dir.resolve() / 'saga.db'}"

    def ha_data_ports(self) -> list[int]:
        """Every port the HA data tier (Redis Cluster, PostgreSQL formation) listens on."""
        ports = [*self.ha_redis_ports, *self.ha_redis_bus_ports, *self.ha_postgres_ports]
        return [int(port) for port in ports]


# Where the kernel picks the local ports of outgoing connections.
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_FREE_PORT = 10_000
_handed_out: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing uses right now, below the ephemeral range, not handed out before.

    Not bind(0)'s: that port is from the ephemeral range, so any outgoing connection may
    take it before its server binds it. A launcher's gateway once lost its metrics port
    that way, to one of the platform's own pooled connections, and never got it back.
    """
    below = _ephemeral_low()
    for _ in range(1000):
        port = random.randrange(LOWEST_FREE_PORT, below)
        if port not in _handed_out and _bindable(host, port):
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port between {LOWEST_FREE_PORT} and {below} on {host}")


def _ephemeral_low() -> int:
    """The first port of the ephemeral range (Linux's default when it cannot be read)."""
    try:
        low = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32_768
    # A range starting lower than ours leaves too few ports below it: overlap it instead.
    return max(low, LOWEST_FREE_PORT + 5_000)


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def settings_on_free_ports(data_dir: Path, instances: int = 2) -> LocalSettings:
    """A topology with ``instances`` of each service on free ports, for tests and benchmarks."""

    def ports() -> list[str]:
        return [str(free_port()) for _ in range(instances)]

    return LocalSettings(
        data_dir=data_dir,
        gateway_port=free_port(),
        gateway_metrics_port=free_port(),
        user_ports=ports(),
        activity_ports=ports(),
        user_metrics_ports=ports(),
        activity_metrics_ports=ports(),
        watch_log_ports=ports(),
        watch_log_metrics_ports=ports(),
        motion_ports=ports(),
        motion_metrics_ports=ports(),
        motion_processor_metrics_port=free_port(),
        motion_sink_metrics_port=free_port(),
        health_ports=ports(),
        health_metrics_ports=ports(),
        health_ingester_metrics_port=free_port(),
        saga_port=free_port(),
        saga_metrics_port=free_port(),
        redis_port=free_port(),
        warehouse_port=free_port(),
        ha_gateway_port=free_port(),
        ha_redis_ports=[str(free_port()) for _ in range(6)],
        ha_redis_bus_ports=[str(free_port()) for _ in range(6)],
        ha_postgres_ports=[str(free_port()) for _ in range(4)],
    )


def busy_ports(host: str, ports: Sequence[int]) -> list[int]:
    """The ports among ``ports`` that something already listens on or holds."""
    taken = []
    for port in ports:
        with socket.socket() as probe:
            # As the servers do: a port whose last connections linger in TIME_WAIT is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                taken.append(port)
    return taken


def certs_dir(data: Path) -> Path:
    """Where the service CA and the components' mTLS certificates live (deploy/certs.py)."""
    return data / "certs"


@dataclass
class ProcessSpec:
    """How to start one component process."""

    name: str
    argv: list[str]
    env: dict[str, str]
    ports: list[int]


@dataclass
class Topology:
    """The processes of a local platform and what they need before starting."""

    settings: LocalSettings
    specs: list[ProcessSpec] = field(default_factory=list)

    @property
    def gateway_url(self) -> str:
        """Base URL of the gateway."""
        return f"http://{self.settings.host}:{self.settings.gateway_port}"

    @property
    def gateway_metrics_url(self) -> str:
        """The gateway's Prometheus endpoint, on its own port."""
        return f"http://{self.settings.host}:{self.settings.gateway_metrics_port}/metrics"

    def user_addresses(self) -> list[str]:
        """host:port of every user-service instance."""
        return [f"{self.settings.host}:{port}" for port in self.settings.user_ports]

    def activity_addresses(self) -> list[str]:
        """host:port of every activity-service instance."""
        return [f"{self.settings.host}:{port}" for port in self.settings.activity_ports]

    def watch_log_addresses(self) -> list[str]:
        """host:port of every watch-log-service instance."""
        return [f"{self.settings.host}:{port}" for port in self.settings.watch_log_ports]

    def motion_addresses(self) -> list[str]:
        """host:port of every motion-service instance."""
        return [f"{self.settings.host}:{port}" for port in self.settings.motion_ports]

    def health_addresses(self) -> list[str]:
        """host:port of every health-metrics-service instance."""
        return [f"{self.settings.host}:{port}" for port in self.settings.health_ports]

    def saga_address(self) -> str:
        """host:port of the saga coordinator."""
        return f"{self.settings.host}:{self.settings.saga_port}"

    def all_ports(self) -> list[int]:
        """Every port some process of the topology listens on."""
        return [port for spec in self.specs for port in spec.ports]
