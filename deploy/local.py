"""Start the whole platform locally on embedded stores: ``python -m deploy.local``.

Two user-service instances, two activity-service instances, the saga coordinator and
the gateway, on loopback, sharing SQLite files under the data directory, plus an
embedded Redis, an embedded PostgreSQL warehouse and the nightly ETL scheduler.
A child that dies is restarted (deploy/supervisor.py); Ctrl-C stops them all.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from deploy import embedded_postgres, embedded_redis
from deploy.certs import component_files, ensure_certs
from deploy.keygen import PRIVATE_NAME, PUBLIC_NAME, ensure_keys
from deploy.supervisor import CHILD_UMASK, CrashLoop, RestartPolicy
from deploy.supervisor import Supervisor as Supervisor  # the launcher's, for the e2e tests
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
    saga_port: int = 50071
    saga_metrics_port: int = 9121
    redis_url: str = Field("", description="An existing Redis; empty starts an embedded one")
    redis_port: int = 6379
    warehouse_url: str = Field("", description="An existing warehouse; empty starts one")
    warehouse_port: int = 5433
    etl_schedule_at: str = Field("02:00", description="UTC time of the nightly ETL run")
    startup_timeout: float = Field(30.0, gt=0)
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


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


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
        saga_port=free_port(),
        saga_metrics_port=free_port(),
        redis_port=free_port(),
        warehouse_port=free_port(),
    )


@dataclass
class ProcessSpec:
    """How to start one component process."""

    name: str
    argv: list[str]
    env: dict[str, str]
    ports: list[int]


def python_module(module: str, *args: str) -> list[str]:
    """The command that runs a module of this project with the current interpreter."""
    return [sys.executable, "-m", module, *args]


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

    def saga_address(self) -> str:
        """host:port of the saga coordinator."""
        return f"{self.settings.host}:{self.settings.saga_port}"


def build_topology(settings: LocalSettings) -> Topology:
    """Describe every process of the local platform."""
    data = settings.data_dir.resolve()
    topology = Topology(settings)
    if not settings.redis_url:
        redis = embedded_redis.command(data / "redis", settings.redis_port, settings.host)
        topology.specs.append(ProcessSpec("redis", redis, {}, [settings.redis_port]))
    shared = {"PYTHONUNBUFFERED": "1"}
    user_env = {
        **shared,
        "USER_DATABASE_URL": f"sqlite:///{data / 'user.db'}",
        "USER_JWT_PRIVATE_KEY_FILE": str(data / "keys" / PRIVATE_NAME),
        "USER_MIGRATE_ON_START": "false",
        "USER_HOST": settings.host,
        **tls_env("USER_", data, "user"),
    }
    for index, port in enumerate(settings.user_ports):
        metrics = settings.user_metrics_ports[index]
        env = {**user_env, "USER_PORT": port, "USER_METRICS_PORT": metrics}
        topology.specs.append(
            ProcessSpec(
                f"user-{index + 1}", python_module("services.user"), env, [int(port), int(metrics)]
            )
        )
    activity_env = {
        **shared,
        "ACTIVITY_DATABASE_URL": f"sqlite:///{data / 'activity.db'}",
        "ACTIVITY_MIGRATE_ON_START": "false",
        "ACTIVITY_USER_SERVICE_ADDRESSES": ",".join(topology.user_addresses()),
        "ACTIVITY_HOST": settings.host,
        **tls_env("ACTIVITY_", data, "activity"),
    }
    for index, port in enumerate(settings.activity_ports):
        metrics = settings.activity_metrics_ports[index]
        env = {**activity_env, "ACTIVITY_PORT": port, "ACTIVITY_METRICS_PORT": metrics}
        topology.specs.append(
            ProcessSpec(
                f"activity-{index + 1}",
                python_module("services.activity"),
                env,
                [int(port), int(metrics)],
            )
        )
    topology.specs.append(saga_spec(topology, data))
    topology.specs.extend(warehouse_specs(settings, data))
    gateway_env = {
        **shared,
        "GATEWAY_HOST": settings.host,
        "GATEWAY_PORT": str(settings.gateway_port),
        "GATEWAY_METRICS_PORT": str(settings.gateway_metrics_port),
        "GATEWAY_USER_SERVICE_ADDRESSES": ",".join(topology.user_addresses()),
        "GATEWAY_ACTIVITY_SERVICE_ADDRESSES": ",".join(topology.activity_addresses()),
        "GATEWAY_SAGA_COORDINATOR_ADDRESSES": topology.saga_address(),
        "GATEWAY_JWT_PUBLIC_KEY_FILE": str(data / "keys" / PUBLIC_NAME),
        "GATEWAY_REDIS_URL": settings.gateway_redis_url(),
        "GATEWAY_ALLOWED_ORIGINS": ",".join(local_origins(settings.host, settings.gateway_port)),
        **tls_env("GATEWAY_", data, "gateway"),
    }
    ports = [settings.gateway_port, settings.gateway_metrics_port]
    gateway = ProcessSpec("gateway", python_module("gateway"), gateway_env, ports)
    topology.specs.append(gateway)
    return topology


def certs_dir(data: Path) -> Path:
    """Where the service CA and the components' mTLS certificates live (deploy/certs.py)."""
    return data / "certs"


def tls_env(prefix: str, data: Path, component: str) -> dict[str, str]:
    """The settings that point a component at its own CA file, certificate and key only."""
    files = component_files(certs_dir(data), component)
    return {
        f"{prefix}TLS_CA_FILE": str(files.ca),
        f"{prefix}TLS_CERT_FILE": str(files.cert),
        f"{prefix}TLS_KEY_FILE": str(files.key),
    }


def local_origins(host: str, port: int) -> list[str]:
    """The browser Origins of a gateway on this machine: its host, 127.0.0.1 and localhost."""
    hosts = dict.fromkeys([host, "127.0.0.1", "localhost"])
    return [f"http://{name}:{port}" for name in hosts]


def saga_spec(topology: Topology, data: Path) -> ProcessSpec:
    """The saga coordinator: one instance, its log in SQLite next to the other stores."""
    settings = topology.settings
    env = {
        "PYTHONUNBUFFERED": "1",
        "SAGA_HOST": settings.host,
        "SAGA_PORT": str(settings.saga_port),
        "SAGA_METRICS_PORT": str(settings.saga_metrics_port),
        "SAGA_DATABASE_URL": f"sqlite:///{data / 'saga.db'}",
        "SAGA_MIGRATE_ON_START": "false",
        "SAGA_USER_SERVICE_ADDRESSES": ",".join(topology.user_addresses()),
        "SAGA_ACTIVITY_SERVICE_ADDRESSES": ",".join(topology.activity_addresses()),
        **tls_env("SAGA_", data, "saga"),
    }
    ports = [settings.saga_port, settings.saga_metrics_port]
    return ProcessSpec("saga", python_module("saga_coordinator"), env, ports)


def warehouse_specs(settings: LocalSettings, data: Path) -> list[ProcessSpec]:
    """The embedded warehouse (unless one is configured) and the nightly ETL scheduler."""
    specs = []
    if not settings.warehouse_url:
        argv = python_module(
            "deploy.embedded_postgres",
            str(data / "warehouse"),
            str(settings.warehouse_port),
            settings.host,
        )
        specs.append(ProcessSpec("warehouse", argv, {}, [settings.warehouse_port]))
    env = {
        "PYTHONUNBUFFERED": "1",
        "ETL_WAREHOUSE_URL": settings.etl_warehouse_url(),
        "ETL_USER_DATABASE_URL": f"sqlite:///{data / 'user.db'}",
        "ETL_ACTIVITY_DATABASE_URL": f"sqlite:///{data / 'activity.db'}",
        "ETL_SCHEDULE_AT": settings.etl_schedule_at,
    }
    specs.append(ProcessSpec("etl", python_module("etl", "schedule"), env, []))
    return specs


def add_gateway(topology: Topology, name: str, port: int) -> ProcessSpec:
    """Another gateway instance over the same services and Redis (no metrics port)."""
    first = next(s for s in topology.specs if s.name == "gateway")
    env = {**first.env, "GATEWAY_PORT": str(port), "GATEWAY_METRICS_PORT": "0"}
    spec = ProcessSpec(name, first.argv, env, [port])
    topology.specs.append(spec)
    return spec


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


def prepare(topology: Topology) -> None:
    """Create the private data directory, signing keys and service certificates, and
    migrate every database once."""
    make_private(topology.settings.data_dir)
    ensure_keys(topology.settings.data_dir / "keys")
    ensure_certs(certs_dir(topology.settings.data_dir.resolve()))
    for name in ("user-1", "activity-1", "saga"):
        spec = next(s for s in topology.specs if s.name == name)
        env = {**os.environ, **spec.env}
        subprocess.run([*spec.argv, "migrate"], env=env, check=True, umask=CHILD_UMASK)


def make_private(data_dir: Path) -> None:
    """Create ``data_dir`` 0700 and take group and other permissions off all it holds.

    It holds password hashes and signing keys; a data dir from before files were
    created private is tightened too. Symbolic links are left alone.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    for root, folders, files in os.walk(data_dir):
        for name in [*folders, *files]:
            path = Path(root, name)
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) & 0o077:
                path.chmod(stat.S_IMODE(mode) & 0o700)


def main() -> int:
    """Run the platform until Ctrl-C; non-zero exit if it cannot start or a part dies."""
    settings = LocalSettings()
    topology = build_topology(settings)
    taken = busy_ports(settings.host, [p for spec in topology.specs for p in spec.ports])
    if taken:
        print(
            f"error: port(s) already in use: {', '.join(map(str, taken))}. "
            "Stop what uses them or set LOCAL_GATEWAY_PORT / LOCAL_USER_PORTS / "
            "LOCAL_ACTIVITY_PORTS / LOCAL_SAGA_PORT / LOCAL_REDIS_PORT / LOCAL_WAREHOUSE_PORT.",
            file=sys.stderr,
        )
        return 2
    prepare(topology)
    supervisor = Supervisor(topology, policy=settings.restart_policy())
    # Set both explicitly: a shell that starts us in the background ignores SIGINT.
    # The handler only sets a flag: raising from it mid-Popen or mid-lock breaks them.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, supervisor.request_stop)
    try:
        supervisor.start_all()
        if supervisor.wait_ready(settings.startup_timeout):
            _print_urls(topology)
            supervisor.supervise_until_stopped()
        print("\nstopping...", file=sys.stderr)
        return 0
    except (CrashLoop, TimeoutError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        supervisor.stop_all()


def grant_admin_command(settings: LocalSettings, email: str = "you@example.com") -> str:
    """The operator command that grants the admin role to an account of this platform."""
    url = f"sqlite:///{settings.data_dir.resolve() / 'user.db'}"
    grant = f".venv/bin/python -m services.user roles grant admin --email {email}"
    return f"USER_DATABASE_URL={url} {grant}"


def _print_urls(topology: Topology) -> None:
    settings = topology.settings
    lines = [
        "Fitness Goal Tracker is running:",
        f"  REST API        {topology.gateway_url}   (OpenAPI: {topology.gateway_url}/docs)",
        f"  health          {topology.gateway_url}/health/live, /health/ready"
        "   (details: /health, admin token)",
        f"  gateway metrics {topology.gateway_metrics_url}",
        f"  user service    {', '.join(topology.user_addresses())}   (gRPC, reflection on)",
        f"  activity svc    {', '.join(topology.activity_addresses())}   (gRPC, reflection on)",
        f"  saga coord.     {topology.saga_address()}   (gRPC, reflection on)",
        f"  gRPC is mTLS    certificates in {certs_dir(settings.data_dir.resolve())}"
        "   (grpcurl: see README)",
        "  service metrics "
        + ", ".join(
            f"http://{settings.host}:{p}/metrics"
            for p in [
                *settings.user_metrics_ports,
                *settings.activity_metrics_ports,
                settings.saga_metrics_port,
            ]
        ),
        f"  redis           {settings.gateway_redis_url()}"
        + ("" if settings.redis_url else "   (embedded)"),
        f"  warehouse       {settings.etl_warehouse_url()}"
        + ("" if settings.warehouse_url else "   (embedded)")
        + f"   ETL nightly at {settings.etl_schedule_at} UTC",
        f"  reports         ETL_WAREHOUSE_URL={settings.etl_warehouse_url()} .venv/bin/etl report",
        f"  data            {settings.data_dir.resolve()}",
        "  admin role      register an account, then grant it (takes effect at its next login):",
        f"                  {grant_admin_command(settings)}",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
