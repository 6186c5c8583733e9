"""One spec per component of the local platform: its command, environment and ports.

Every environment name set here must be a setting of the component's pydantic-settings
class (``tests/unit/test_launcher_env.py`` checks it), so a renamed setting is not
silently ignored by the child.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from deploy import embedded_redis
from deploy.certs import component_files
from deploy.keygen import PRIVATE_NAME, PUBLIC_NAME
from deploy.local.topology import LocalSettings, ProcessSpec, Topology, certs_dir
from services.common.redis import is_cluster

SHARED = {"PYTHONUNBUFFERED": "1"}


def python_module(module: str, *args: str) -> list[str]:
    """The command that runs a module of this project with the current interpreter."""
    return [sys.executable, "-m", module, *args]


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


def redis_specs(topology: Topology, data: Path) -> list[ProcessSpec]:
    """The embedded Redis, unless an existing one is configured."""
    settings = topology.settings
    if settings.redis_url:
        return []
    argv = embedded_redis.command(data / "redis", settings.redis_port, settings.host)
    return [ProcessSpec("redis", argv, {}, [settings.redis_port])]


def instances(
    name: str,
    prefix: str,
    env: dict[str, str],
    ports: Sequence[str],
    metrics: Sequence[str],
    module: str = "",
) -> list[ProcessSpec]:
    """Instances ``<name>-1``, ``<name>-2``… of ``module`` (``services.<name>`` unless
    given), each on its own ports."""
    return [
        ProcessSpec(
            f"{name}-{index + 1}",
            python_module(module or f"services.{name}"),
            {**env, f"{prefix}PORT": str(port), f"{prefix}METRICS_PORT": str(metric)},
            [int(port), int(metric)],
        )
        for index, (port, metric) in enumerate(zip(ports, metrics, strict=True))
    ]


def user_specs(topology: Topology, data: Path) -> list[ProcessSpec]:
    """The user-service instances, sharing one database (a SQLite file by default)."""
    settings = topology.settings
    env = {
        **SHARED,
        "USER_DATABASE_URL": settings.user_store_url(),
        "USER_JWT_PRIVATE_KEY_FILE": str(data / "keys" / PRIVATE_NAME),
        "USER_MIGRATE_ON_START": "false",
        "USER_HOST": settings.host,
        # Changed profiles are forgotten in the shared cache the gateways read.
        "USER_REDIS_URL": settings.gateway_redis_url(),
        **tls_env("USER_", data, "user"),
    }
    return instances("user", "USER_", env, settings.user_ports, settings.user_metrics_ports)


def activity_specs(topology: Topology, data: Path) -> list[ProcessSpec]:
    """The activity-service instances, sharing one SQLite file, calling the user service."""
    settings = topology.settings
    env = {
        **SHARED,
        "ACTIVITY_DATABASE_URL": f"sqlite:///{data / 'activity.db'}",
        "ACTIVITY_MIGRATE_ON_START": "false",
        "ACTIVITY_USER_SERVICE_ADDRESSES": ",".join(topology.user_addresses()),
        "ACTIVITY_HOST": settings.host,
        # The progress relay publishes goal alerts where the gateways listen.
        "ACTIVITY_REDIS_URL": settings.gateway_redis_url(),
        **tls_env("ACTIVITY_", data, "activity"),
    }
    ports, metrics = settings.activity_ports, settings.activity_metrics_ports
    return instances("activity", "ACTIVITY_", env, ports, metrics)


def watch_log_specs(topology: Topology, data: Path) -> list[ProcessSpec]:
    """The watch-log-service instances on the shared Redis, each a consumer of the group."""
    settings = topology.settings
    redis_url = settings.gateway_redis_url()
    env = {
        **SHARED,
        "WATCH_LOGS_HOST": settings.host,
        "WATCH_LOGS_REDIS_URL": redis_url,
        # On a cluster a batch is acknowledged once a replica has it (WAIT 1).
        "WATCH_LOGS_REPLICAS_TO_ACK": "1" if is_cluster(redis_url) else "0",
        **tls_env("WATCH_LOGS_", data, "watch_logs"),
    }
    ports, metrics = settings.watch_log_ports, settings.watch_log_metrics_ports
    return instances("watch_logs", "WATCH_LOGS_", env, ports, metrics)


def motion_specs(topology: Topology, data: Path) -> list[ProcessSpec]:
    """The motion-service instances, one processor worker and one warehouse sink worker,
    all on the shared Redis (the sink copies both streams into the warehouse)."""
    settings = topology.settings
    redis_url = settings.gateway_redis_url()
    env = {
        **SHARED,
        "MOTION_HOST": settings.host,
        "MOTION_REDIS_URL": redis_url,
        **tls_env("MOTION_", data, "motion"),
    }
    ports, metrics = settings.motion_ports, settings.motion_metrics_ports
    processor = settings.motion_processor_metrics_port
    processor_env = {
        **SHARED,
        "MOTION_PROCESSOR_REDIS_URL": redis_url,
        "MOTION_PROCESSOR_HOST": settings.host,
        "MOTION_PROCESSOR_METRICS_PORT": str(processor),
    }
    sink = settings.motion_sink_metrics_port
    sink_env = {
        **SHARED,
        "MOTION_SINK_REDIS_URL": redis_url,
        "MOTION_SINK_WAREHOUSE_URL": settings.etl_warehouse_url(),
        "MOTION_SINK_HOST": settings.host,
        "MOTION_SINK_METRICS_PORT": str(sink),
    }
    return [
        *instances("motion", "MOTION_", env, ports, metrics),
        ProcessSpec(
            "motion-processor",
            python_module("services.motion.processor"),
            processor_env,
            [processor],
        ),
        ProcessSpec("motion-sink", python_module("services.motion.sink"), sink_env, [sink]),
    ]


def health_specs(topology: Topology, data: Path) -> list[ProcessSpec]:
    """The health-metrics-service instances, on database "health" of the warehouse's
    PostgreSQL (created by the first to start); each runs a refresh loop (they take turns).
    And the simulated-device ingester, one day per linked user each interval."""
    settings = topology.settings
    database = settings.health_store_url()
    env = {
        **SHARED,
        "HEALTH_HOST": settings.host,
        "HEALTH_DATABASE_URL": database,
        **tls_env("HEALTH_", data, "health"),
    }
    ports, metrics = settings.health_ports, settings.health_metrics_ports
    ingester = settings.health_ingester_metrics_port
    ingester_env = {
        **SHARED,
        "HEALTH_INGESTER_DATABASE_URL": database,
        "HEALTH_INGESTER_METRICS_PORT": str(ingester),
    }
    return [
        *instances("health", "HEALTH_", env, ports, metrics, "services.health_metrics"),
        ProcessSpec(
            "health-ingester",
            python_module("services.health_metrics.ingester"),
            ingester_env,
            [ingester],
        ),
    ]


def saga_specs(topology: Topology, data: Path) -> list[ProcessSpec]:
    """The saga coordinator: one instance, its log in SQLite next to the other stores
    unless a database is configured."""
    settings = topology.settings
    env = {
        **SHARED,
        "SAGA_HOST": settings.host,
        "SAGA_PORT": str(settings.saga_port),
        "SAGA_METRICS_PORT": str(settings.saga_metrics_port),
        "SAGA_DATABASE_URL": settings.saga_store_url(),
        "SAGA_MIGRATE_ON_START": "false",
        "SAGA_USER_SERVICE_ADDRESSES": ",".join(topology.user_addresses()),
        "SAGA_ACTIVITY_SERVICE_ADDRESSES": ",".join(topology.activity_addresses()),
        **tls_env("SAGA_", data, "saga"),
    }
    ports = [settings.saga_port, settings.saga_metrics_port]
    return [ProcessSpec("saga", python_module("saga_coordinator"), env, ports)]


def warehouse_specs(topology: Topology, data: Path) -> list[ProcessSpec]:
    """The embedded warehouse (unless one is configured) and the nightly ETL scheduler."""
    settings = topology.settings
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
        **SHARED,
        "ETL_WAREHOUSE_URL": settings.etl_warehouse_url(),
        "ETL_USER_DATABASE_URL": settings.user_store_url(),
        "ETL_ACTIVITY_DATABASE_URL": f"sqlite:///{data / 'activity.db'}",
        "ETL_HEALTH_DATABASE_URL": settings.health_store_url(),
        "ETL_SCHEDULE_AT": settings.etl_schedule_at,
    }
    specs.append(ProcessSpec("etl", python_module("etl", "schedule"), env, []))
    return specs


def gateway_specs(topology: Topology, data: Path) -> list[ProcessSpec]:
    """The gateway, balancing over every service instance."""
    settings = topology.settings
    env = {
        **SHARED,
        "GATEWAY_HOST": settings.host,
        "GATEWAY_PORT": str(settings.gateway_port),
        "GATEWAY_METRICS_PORT": str(settings.gateway_metrics_port),
        "GATEWAY_USER_SERVICE_ADDRESSES": ",".join(topology.user_addresses()),
        "GATEWAY_ACTIVITY_SERVICE_ADDRESSES": ",".join(topology.activity_addresses()),
        "GATEWAY_SAGA_COORDINATOR_ADDRESSES": topology.saga_address(),
        "GATEWAY_WATCH_LOG_SERVICE_ADDRESSES": ",".join(topology.watch_log_addresses()),
        "GATEWAY_MOTION_SERVICE_ADDRESSES": ",".join(topology.motion_addresses()),
        "GATEWAY_HEALTH_SERVICE_ADDRESSES": ",".join(topology.health_addresses()),
        "GATEWAY_JWT_PUBLIC_KEY_FILE": str(data / "keys" / PUBLIC_NAME),
        "GATEWAY_REDIS_URL": settings.gateway_redis_url(),
        "GATEWAY_WAREHOUSE_URL": settings.etl_warehouse_url(),
        "GATEWAY_ALLOWED_ORIGINS": ",".join(local_origins(settings.host, settings.gateway_port)),
        **tls_env("GATEWAY_", data, "gateway"),
    }
    ports = [settings.gateway_port, settings.gateway_metrics_port]
    return [ProcessSpec("gateway", python_module("gateway"), env, ports)]


# In start order; the supervisor stops the stores (redis, warehouse) last.
COMPONENTS = (
    redis_specs,
    user_specs,
    activity_specs,
    watch_log_specs,
    saga_specs,
    warehouse_specs,
    motion_specs,  # after the warehouse: its sink writes there
    health_specs,  # after the warehouse: its server holds their database
    gateway_specs,
)


def build_topology(settings: LocalSettings) -> Topology:
    """Describe every process of the local platform."""
    data = settings.data_dir.resolve()
    topology = Topology(settings)
    for specs in COMPONENTS:
        topology.specs.extend(specs(topology, data))
    return topology


def add_gateway(topology: Topology, name: str, port: int) -> ProcessSpec:
    """Another gateway instance over the same services and Redis (no metrics port)."""
    first = next(s for s in topology.specs if s.name == "gateway")
    origins = dict.fromkeys(
        [
            *first.env["GATEWAY_ALLOWED_ORIGINS"].split(","),
            *local_origins(first.env["GATEWAY_HOST"], port),
        ]
    )
    env = {
        **first.env,
        "GATEWAY_PORT": str(port),
        "GATEWAY_METRICS_PORT": "0",
        # A page served by either gateway may call this one (its own origins too).
        "GATEWAY_ALLOWED_ORIGINS": ",".join(origins),
    }
    spec = ProcessSpec(name, first.argv, env, [port])
    topology.specs.append(spec)
    return spec
