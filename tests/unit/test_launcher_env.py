"""Every environment variable the launcher sets for a component is a setting of that
component's pydantic-settings class, so renaming a setting cannot leave the launcher
setting a variable nobody reads (the child would silently run on the default); in the
topology of ``make run`` and in the HA one of ``make run-ha``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import time
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from deploy.local.components import add_gateway, build_topology
from deploy.local.ha import DataTierUrls, build_ha_topology
from deploy.local.topology import LocalSettings, ProcessSpec, Topology
from services.user.config import UserSettings
from tests.helpers import COMPONENT_SETTINGS

# The settings class of each module the launcher runs with ``python -m``.
SETTINGS = COMPONENT_SETTINGS
# Read by the interpreter, not by the component.
INTERPRETER = {"PYTHONUNBUFFERED"}


def unknown_names(env: Mapping[str, str], settings: type[BaseSettings]) -> list[str]:
    """The variables no field of ``settings`` reads (prefix + field name, any case)."""
    prefix = settings.model_config.get("env_prefix", "")
    known = {f"{prefix}{name}".lower() for name in settings.model_fields}
    return sorted(name for name in env if name not in INTERPRETER and name.lower() not in known)


def shown(value: object) -> str:
    """A setting's value written back as the environment variable that set it."""
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, time):
        return value.isoformat(timespec="minutes")
    return str(value).lower() if isinstance(value, bool) else str(value)


def module_of(spec: ProcessSpec) -> str:
    """The module a spec runs with ``python -m``, or its program."""
    return spec.argv[2] if spec.argv[1:2] == ["-m"] else spec.argv[0]


def full_topology() -> Topology:
    """The launcher's every component: embedded Redis and warehouse, and a second gateway."""
    topology = build_topology(LocalSettings(data_dir=Path("run"), redis_url="", warehouse_url=""))
    add_gateway(topology, "gateway-2", 8001)
    return topology


CLUSTER = "redis-cluster://" + ",".join(f"127.0.0.1:{port}" for port in range(7001, 7007))
NODES = "&".join(f"host=127.0.0.1:{port}" for port in (5442, 5443, 5444))
HA = DataTierUrls(
    CLUSTER,
    f"postgresql+psycopg://fitness@/users?{NODES}&target_session_attrs=read-write",
    f"postgresql+psycopg://fitness@/sagas?{NODES}&target_session_attrs=read-write",
)


def ha_topology() -> Topology:
    """The launcher's HA topology (make run-ha) over a Redis Cluster and a formation."""
    return build_ha_topology(LocalSettings(data_dir=Path("run")), HA)


TOPOLOGIES: dict[str, Callable[[], Topology]] = {"run": full_topology, "run-ha": ha_topology}


def components_with_env(topology: str) -> list[ProcessSpec]:
    """The specs that configure their component through the environment."""
    return [spec for spec in TOPOLOGIES[topology]().specs if set(spec.env) - INTERPRETER]


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_the_launcher_sets_only_variables_its_components_settings_read(topology: str) -> None:
    unread = {
        spec.name: unknown_names(spec.env, SETTINGS[module_of(spec)])
        for spec in components_with_env(topology)
    }

    assert {name: names for name, names in unread.items() if names} == {}


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_every_component_configured_through_the_environment_has_its_settings_checked(
    topology: str,
) -> None:
    modules = {spec.name: module_of(spec) for spec in components_with_env(topology)}

    assert {name: m for name, m in modules.items() if m not in SETTINGS} == {}
    assert set(modules.values()) == set(SETTINGS)


@pytest.mark.parametrize(
    ("topology", "name"),
    [(topology, spec.name) for topology in TOPOLOGIES for spec in components_with_env(topology)],
)
def test_each_components_settings_accept_the_values_the_launcher_gives_it(
    topology: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = next(spec for spec in components_with_env(topology) if spec.name == name)
    for variable, value in spec.env.items():
        monkeypatch.setenv(variable, value)

    settings = SETTINGS[module_of(spec)]()

    prefix = str(settings.model_config.get("env_prefix", "")).lower()
    read = {
        variable: shown(getattr(settings, variable.lower().removeprefix(prefix)))
        for variable in set(spec.env) - INTERPRETER
    }
    assert read == {variable: spec.env[variable] for variable in read}


def test_a_variable_that_no_setting_reads_is_reported_whatever_its_case() -> None:
    env = {"USER_DATABASE_URL": "x", "user_port": "1", "USER_DB_URL": "x", "PYTHONUNBUFFERED": "1"}

    assert unknown_names(env, UserSettings) == ["USER_DB_URL"]


def test_the_ha_topology_runs_two_gateways_and_two_instances_of_each_service() -> None:
    names = sorted(spec.name for spec in ha_topology().specs)

    assert names == [
        "activity-1",
        "activity-2",
        "etl",
        "gateway",
        "gateway-2",
        "health-1",
        "health-2",
        "health-ingester",
        "motion-1",
        "motion-2",
        "motion-processor",
        "motion-sink",
        "saga",
        "user-1",
        "user-2",
        "warehouse",
        "watch_logs-1",
        "watch_logs-2",
    ]


def test_every_store_user_of_the_ha_topology_is_pointed_at_the_ha_data_tier() -> None:
    env = {spec.name: spec.env for spec in ha_topology().specs}

    redis = {name: e[k] for name, e in env.items() for k in e if k.endswith("_REDIS_URL")}
    redis_users = ["activity-1", "activity-2", "gateway", "gateway-2", "user-1", "user-2"]
    motion = ["motion-1", "motion-2", "motion-processor", "motion-sink"]
    assert redis == dict.fromkeys([*redis_users, "watch_logs-1", "watch_logs-2", *motion], CLUSTER)
    # On the cluster a watch-log batch is acknowledged once a replica holds it.
    assert {env[f"watch_logs-{n}"]["WATCH_LOGS_REPLICAS_TO_ACK"] for n in (1, 2)} == {"1"}
    users = {name: e[k] for name, e in env.items() for k in e if k.endswith("USER_DATABASE_URL")}
    assert users == dict.fromkeys(["user-1", "user-2", "etl"], HA.user_database_url)
    assert env["saga"]["SAGA_DATABASE_URL"] == HA.saga_database_url


def test_the_two_gateways_listen_on_their_own_ports_and_allow_each_others_pages() -> None:
    settings = LocalSettings(data_dir=Path("run"), gateway_port=8000, ha_gateway_port=8001)
    gateways = [s for s in build_ha_topology(settings, HA).specs if s.name.startswith("gateway")]

    assert [g.env["GATEWAY_PORT"] for g in gateways] == ["8000", "8001"]
    assert [g.ports for g in gateways] == [[8000, settings.gateway_metrics_port], [8001]]
    assert "http://127.0.0.1:8000" in gateways[1].env["GATEWAY_ALLOWED_ORIGINS"].split(",")
    assert "http://localhost:8001" in gateways[1].env["GATEWAY_ALLOWED_ORIGINS"].split(",")


def test_the_ha_topologys_default_ports_are_all_different() -> None:
    settings = LocalSettings()
    ports = [*build_ha_topology(settings, HA).all_ports(), *settings.ha_data_ports()]

    assert len(ports) == len(set(ports)) == 45  # 29 supervised, 16 in the data tier


def test_make_run_starts_two_watch_log_instances_that_ack_without_a_replica() -> None:
    topology = build_topology(LocalSettings(data_dir=Path("run"), redis_url=""))
    specs = {spec.name: spec for spec in topology.specs if spec.name.startswith("watch_logs")}
    gateway = next(spec for spec in topology.specs if spec.name == "gateway")

    assert sorted(specs) == ["watch_logs-1", "watch_logs-2"]
    # One Redis has no replica to WAIT for: waiting would refuse every batch.
    assert {spec.env["WATCH_LOGS_REPLICAS_TO_ACK"] for spec in specs.values()} == {"0"}
    addresses = gateway.env["GATEWAY_WATCH_LOG_SERVICE_ADDRESSES"].split(",")
    assert addresses == [f"127.0.0.1:{spec.env['WATCH_LOGS_PORT']}" for spec in specs.values()]


def test_make_run_starts_two_motion_instances_one_processor_and_one_sink_on_the_shared_redis() -> (
    None
):
    topology = build_topology(LocalSettings(data_dir=Path("run"), redis_url="", warehouse_url=""))
    specs = {spec.name: spec for spec in topology.specs if spec.name.startswith("motion")}
    gateway = next(spec for spec in topology.specs if spec.name == "gateway")

    assert sorted(specs) == ["motion-1", "motion-2", "motion-processor", "motion-sink"]
    addresses = gateway.env["GATEWAY_MOTION_SERVICE_ADDRESSES"].split(",")
    assert addresses == [f"127.0.0.1:{specs[f'motion-{n}'].env['MOTION_PORT']}" for n in (1, 2)]
    redis = {value for spec in specs.values() for k, value in spec.env.items() if "REDIS" in k}
    assert redis == {topology.settings.gateway_redis_url()}


def test_the_motion_sink_writes_into_the_warehouse_the_launcher_starts_and_the_etl_loads() -> None:
    topology = build_topology(LocalSettings(data_dir=Path("run"), warehouse_url=""))
    env = {spec.name: spec.env for spec in topology.specs}
    names = [spec.name for spec in topology.specs]

    assert env["motion-sink"]["MOTION_SINK_WAREHOUSE_URL"] == env["etl"]["ETL_WAREHOUSE_URL"]
    assert names.index("warehouse") < names.index("motion-sink")


def test_make_run_starts_two_health_instances_on_database_health_of_the_warehouse_server() -> None:
    settings = LocalSettings(data_dir=Path("run"), warehouse_url="", warehouse_port=5433)
    topology = build_topology(settings)
    specs = {spec.name: spec for spec in topology.specs if spec.name.startswith("health")}
    gateway = next(spec for spec in topology.specs if spec.name == "gateway")

    ingester = specs.pop("health-ingester")
    assert sorted(specs) == ["health-1", "health-2"]
    assert {module_of(spec) for spec in specs.values()} == {"services.health_metrics"}
    assert [spec.ports for spec in specs.values()] == [[50101, 9171], [50102, 9172]]
    assert module_of(ingester) == "services.health_metrics.ingester"
    assert ingester.ports == [9181]
    addresses = gateway.env["GATEWAY_HEALTH_SERVICE_ADDRESSES"].split(",")
    assert addresses == ["127.0.0.1:50101", "127.0.0.1:50102"]
    databases = {spec.env["HEALTH_DATABASE_URL"] for spec in specs.values()}
    databases.add(ingester.env["HEALTH_INGESTER_DATABASE_URL"])
    assert databases == {"postgresql://postgres@127.0.0.1:5433/health"}
    names = [spec.name for spec in topology.specs]
    assert names.index("warehouse") < names.index("health-1")


def test_the_health_database_follows_a_configured_warehouse_unless_it_is_given() -> None:
    warehouse = "postgresql://fitness:p%40ss@db.example:5432/warehouse"

    beside = LocalSettings(warehouse_url=warehouse)
    given = LocalSettings(warehouse_url=warehouse, health_database_url="postgresql://h@x/hm")

    assert beside.health_store_url() == "postgresql://fitness:p%40ss@db.example:5432/health"
    assert given.health_store_url() == "postgresql://h@x/hm"
