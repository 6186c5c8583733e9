"""Start the whole platform locally on embedded stores: ``python -m deploy.local``.

Two user-service instances, two activity-service instances, the saga coordinator and
the gateway, on loopback, sharing SQLite files under the data directory, plus an
embedded Redis, an embedded PostgreSQL warehouse and the nightly ETL scheduler.
Ctrl-C stops them all.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from deploy import embedded_postgres, embedded_redis
from deploy.certs import component_files, ensure_certs
from deploy.keygen import PRIVATE_NAME, PUBLIC_NAME, ensure_keys
from services.common.settings import AddressList


class LocalSettings(BaseSettings):
    """Ports and data directory of the local topology (LOCAL_* variables)."""

    model_config = SettingsConfigDict(env_prefix="LOCAL_")

    host: str = "127.0.0.1"
    data_dir: Path = Path(".run")
    gateway_port: int = 8000
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
        "GATEWAY_USER_SERVICE_ADDRESSES": ",".join(topology.user_addresses()),
        "GATEWAY_ACTIVITY_SERVICE_ADDRESSES": ",".join(topology.activity_addresses()),
        "GATEWAY_SAGA_COORDINATOR_ADDRESSES": topology.saga_address(),
        "GATEWAY_JWT_PUBLIC_KEY_FILE": str(data / "keys" / PUBLIC_NAME),
        "GATEWAY_REDIS_URL": settings.gateway_redis_url(),
        "GATEWAY_ALLOWED_ORIGINS": f"http://{settings.host}:{settings.gateway_port}",
        **tls_env("GATEWAY_", data, "gateway"),
    }
    gateway = ProcessSpec("gateway", python_module("gateway"), gateway_env, [settings.gateway_port])
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
    """Another gateway instance over the same services and Redis."""
    first = next(s for s in topology.specs if s.name == "gateway")
    spec = ProcessSpec(name, first.argv, {**first.env, "GATEWAY_PORT": str(port)}, [port])
    topology.specs.append(spec)
    return spec


def busy_ports(host: str, ports: Sequence[int]) -> list[int]:
    """The ports among ``ports`` that something already listens on or holds."""
    taken = []
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                taken.append(port)
    return taken


def prepare(topology: Topology) -> None:
    """Create the data directory and signing keys, and migrate every database once."""
    ensure_keys(topology.settings.data_dir / "keys")
    ensure_certs(certs_dir(topology.settings.data_dir.resolve()))
    for name in ("user-1", "activity-1", "saga"):
        spec = next(s for s in topology.specs if s.name == name)
        subprocess.run([*spec.argv, "migrate"], env={**os.environ, **spec.env}, check=True)


# Processes that hold data; stopped after everything that uses them.
STORES = ("redis", "warehouse")


class Supervisor:
    """Starts the processes of a topology and stops exactly those, by PID."""

    def __init__(self, topology: Topology, log_dir: Path | None = None) -> None:
        self.topology = topology
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, spec: ProcessSpec) -> subprocess.Popen[bytes]:
        """Start one component, logging to a file when a log directory is set."""
        output = None
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = (self.log_dir / f"{spec.name}.log").open("ab")
        process = subprocess.Popen(
            python_module("deploy.orphan_guard", *spec.argv),
            env={**os.environ, **spec.env},
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
        )
        self.processes[spec.name] = process
        return process

    def start_all(self) -> None:
        """Start every component."""
        for spec in self.topology.specs:
            self.start(spec)

    def spec(self, name: str) -> ProcessSpec:
        """The spec of a component by name."""
        return next(s for s in self.topology.specs if s.name == name)

    def wait_ready(self, timeout: float) -> None:
        """Block until the gateway answers and sees every instance healthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.raise_if_exited()
            if _all_upstreams_healthy(self.topology.gateway_url):
                return
            time.sleep(0.2)
        raise TimeoutError("the platform did not become ready in time")

    def raise_if_exited(self) -> None:
        """Fail loudly if a component died."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {process.returncode}")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send a signal to one component we started."""
        process = self.processes[name]
        if process.poll() is None:
            os.kill(process.pid, sig)
            process.wait(timeout=10)

    def stop_all(self, timeout: float = 10.0) -> None:
        """SIGTERM every component we started, then SIGKILL any that linger.

        The stores go last, so their clients can shut down cleanly while they still answer.
        """
        stateful = [p for name, p in self.processes.items() if name in STORES]
        services = [p for name, p in self.processes.items() if name not in STORES]
        self._stop(services, timeout)
        self._stop(stateful, timeout)

    @staticmethod
    def _stop(processes: list[subprocess.Popen[bytes]], timeout: float) -> None:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _all_upstreams_healthy(gateway_url: str) -> bool:
    try:
        body = httpx.get(f"{gateway_url}/health", timeout=1.0).json()
    except (httpx.HTTPError, ValueError):
        return False
    instances = [i for pool in body.get("upstreams", {}).values() for i in pool]
    return bool(instances) and all(i["healthy"] for i in instances) and body["status"] == "ok"


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
    supervisor = Supervisor(topology)
    # Set both explicitly: a shell that starts us in the background ignores SIGINT.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop_like_ctrl_c)
    try:
        supervisor.start_all()
        supervisor.wait_ready(settings.startup_timeout)
        _print_urls(topology)
        while True:
            supervisor.raise_if_exited()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping...", file=sys.stderr)
        return 0
    except (RuntimeError, TimeoutError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        supervisor.stop_all()


def _stop_like_ctrl_c(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def grant_admin_command(settings: LocalSettings, email: str = "you@example.com") -> str:
    """The operator command that grants the admin role to an account of this platform."""
    url = f"sqlite:///{settings.data_dir.resolve() / 'user.db'}"
    grant = f".venv/bin/python -m services.user roles grant admin --email {email}"
    return f"USER_DATABASE_URL={url} {grant}"


def _print_urls(topology: Topology) -> None:

    settings = topology.settings
    lines = [
        "Fitness Goal Tracker is running:",
        "  admin role      register an account, then grant it (takes effect at its next login):",
        f"                  {grant_admin_command(settings)}",
        f"  REST API        {topology.gateway_url}   (OpenAPI: {topology.gateway_url}/docs)",
        f"  health          {topology.gateway_url}/health",
        f"  gateway metrics {topology.gateway_url}/metrics",
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
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
