"""docker-compose.yml is checked here, since no Docker engine runs on our machines.

The file is parsed by compose-spec (bindings to the Rust compose_spec crate, a strict
implementation of the Compose Specification), then cross-checked against the code:
Dockerfiles exist, dependencies name real services, settings name real fields.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from compose_spec import PyCompose
from pydantic_settings import BaseSettings

from deploy.certs import component_files
from etl.config import EtlSettings
from gateway.config import GatewaySettings
from gateway.edge import health
from saga_coordinator.config import SagaSettings
from services.activity.config import ActivitySettings
from services.health_metrics.config import HealthSettings, IngesterSettings
from services.motion.config import MotionSettings, ProcessorSettings, SinkSettings
from services.user.config import UserSettings
from services.watch_logs.config import WatchLogSettings

ROOT = Path(__file__).parents[2]
REDIS_NODES = [f"redis-{i}" for i in range(1, 7)]
PG_NODES = [f"pg-{i}" for i in range(1, 4)]
MONGO_NODES = [f"mongo-{i}" for i in range(1, 4)]
GATEWAYS = ["gateway-1", "gateway-2"]
# The platform's own image; the formation's nodes are built from their own.
PLATFORM_DOCKERFILE = "deploy/Dockerfile"
# The modules that change data the gateways cache (docs/architecture.md, "Shared cache"),
# with their settings prefix: each must invalidate in the gateways' Redis.
CACHE_WRITERS = {"services.user": "USER_", "services.activity": "ACTIVITY_"}
SETTINGS: dict[str, type[BaseSettings]] = {
    "USER_": UserSettings,
    "ACTIVITY_": ActivitySettings,
    "GATEWAY_": GatewaySettings,
    "SAGA_": SagaSettings,
    "ETL_": EtlSettings,
    "WATCH_LOGS_": WatchLogSettings,
    "MOTION_": MotionSettings,
    "MOTION_PROCESSOR_": ProcessorSettings,
    "MOTION_SINK_": SinkSettings,
    "HEALTH_": HealthSettings,
    "HEALTH_INGESTER_": IngesterSettings,
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    text = (ROOT / "docker-compose.yml").read_text()
    return dict(PyCompose.from_yaml(text).to_dict())


def test_the_compose_file_follows_the_specification(compose: dict[str, Any]) -> None:
    expected = {
        *REDIS_NODES,
        "redis-cluster-init",
        "pg-monitor",
        *PG_NODES,
        *MONGO_NODES,
        "mongo-init",
        "user-1",
        "user-2",
        "activity-1",
        "activity-2",
        "gateway-1",
        "gateway-2",
        "saga",
        "warehouse",
        "etl",
        "motion",
        "motion-processor",
        "motion-sink",
        "health-db",
        "health",
        "health-ingester",
    }
    assert expected <= set(compose["services"])


def test_the_specification_parser_rejects_what_compose_would(compose: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="imagee"):
        PyCompose.from_yaml("services:\n  web:\n    imagee: nginx\n")


def test_every_build_names_an_existing_dockerfile(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if "build" in service:
            build = service["build"]
            assert (ROOT / build["context"] / build["dockerfile"]).is_file(), name


def test_dependencies_name_services_of_the_file(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for dependency in service.get("depends_on", {}):
            assert dependency in compose["services"], f"{name} depends on unknown {dependency}"


def test_every_component_setting_is_a_real_field(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key in service.get("environment", {}):
            # The longest prefix: MOTION_SINK_X is the sink's setting, not MOTION_'s SINK_X.
            prefixes = [prefix for prefix in SETTINGS if key.startswith(prefix)]
            if prefixes:
                prefix = max(prefixes, key=len)
                field = key.removeprefix(prefix).lower()
                assert field in SETTINGS[prefix].model_fields, f"{name}: {key} is not a setting"


def test_secrets_come_from_the_environment_not_the_file(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        for key, value in service.get("environment", {}).items():
            if "PASSWORD" in key or re.match(r"postgres(ql)?(\+\w+)?://", str(value)):
                # POSTGRES_PASSWORD, or Grafana's admin password GRAFANA_ADMIN_PASSWORD.
                assert re.search(r"\$\{(POSTGRES|GRAFANA_ADMIN)_PASSWORD:\?", str(value)), key


def test_every_built_service_runs_a_module_of_the_image(compose: dict[str, Any]) -> None:
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    for name, service in compose["services"].items():
        if service.get("build", {}).get("dockerfile") != PLATFORM_DOCKERFILE:
            continue
        command = " ".join(service["command"])
        module = re.search(r"python -m ([\w.]+)", command)
        assert module, name
        package = module.group(1).split(".")[0]
        assert f"COPY {package}/ {package}/" in dockerfile, f"{name}: {package} not in the image"
        assert (ROOT / module.group(1).replace(".", "/") / "__main__.py").is_file() or (
            ROOT / (module.group(1).replace(".", "/") + ".py")
        ).is_file(), name


def test_the_etl_cronjob_runs_a_real_command_nightly_one_at_a_time() -> None:
    cronjob = yaml.safe_load((ROOT / "deploy/kubernetes/base/etl-cronjob.yaml").read_text())
    spec = cronjob["spec"]
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    commands = [c["command"] for c in pod["initContainers"] + pod["containers"]]
    # PGPASSWORD is libpq's; every other variable must be a setting of the ETL.
    settings = [e["name"] for c in pod["containers"] for e in c.get("env", [])]

    assert (cronjob["kind"], spec["schedule"], spec["concurrencyPolicy"]) == (
        "CronJob",
        "0 2 * * *",
        "Forbid",
    )
    assert [c[3] for c in commands] == ["migrate", "run"]
    assert all(c[:3] == ["python", "-m", "etl"] for c in commands)
    assert (ROOT / "etl/__main__.py").is_file()
    assert all(
        n == "PGPASSWORD" or n.removeprefix("ETL_").lower() in EtlSettings.model_fields
        for n in settings
    )


def _sources(service: dict[str, Any]) -> set[str]:
    return {str(volume).split(":")[0] for volume in service.get("volumes", [])}


def test_only_the_user_service_and_keygen_mount_the_private_signing_key(
    compose: dict[str, Any],
) -> None:
    keygen = compose["services"]["keygen"]
    written = "python -m deploy.keygen /keys"
    assert written in " ".join(keygen["command"])
    private = next(v.split(":")[0] for v in keygen["volumes"] if v.split(":")[1] == "/keys")
    holders = {name for name, s in compose["services"].items() if private in _sources(s)}
    assert holders == {"keygen", "user-1", "user-2"}
    [public] = {
        v
        for gateway in GATEWAYS
        for v in _sources(compose["services"][gateway])
        if not v.startswith("certs-")
    }
    [folder] = [v.split(":")[1] for v in keygen["volumes"] if v.split(":")[0] == public]
    assert f"cp /keys/jwt_public.pem {folder}/jwt_public.pem" in " ".join(keygen["command"])


def test_the_gateway_serves_metrics_on_its_own_port_and_is_probed_on_readiness(
    compose: dict[str, Any],
) -> None:
    for name in GATEWAYS:
        gateway = compose["services"][name]
        assert int(gateway["environment"]["GATEWAY_METRICS_PORT"]) > 0, name
        probe = " ".join(gateway["healthcheck"]["test"])
        assert "/health/ready" in probe, name
    assert "/health/ready" in {getattr(route, "path", "") for route in health.router.routes}


# Which mTLS identity each serving module runs as, and its settings prefix.
COMPONENT_OF_MODULE = {
    "services.user": ("user", "USER_"),
    "services.activity": ("activity", "ACTIVITY_"),
    "saga_coordinator": ("saga", "SAGA_"),
    "gateway": ("gateway", "GATEWAY_"),
    "services.watch_logs": ("watch_logs", "WATCH_LOGS_"),
    "services.motion": ("motion", "MOTION_"),
    "services.health_metrics": ("health", "HEALTH_"),
}


def test_each_service_mounts_its_own_certificate_and_key_and_nothing_of_the_others(
    compose: dict[str, Any],
) -> None:
    keygen = compose["services"]["keygen"]
    assert "python -m deploy.certs /certs" in " ".join(keygen["command"])
    made = {v.split(":")[1]: v.split(":")[0] for v in keygen["volumes"]}
    serving = set()
    for name, service in compose["services"].items():
        if name == "keygen":
            continue
        command = " ".join(service.get("command", []))
        module = re.search(r"python -m ([\w.]+)$", command)
        certs = {v for v in service.get("volumes", []) if v.split(":")[0].startswith("certs-")}
        if not module or module.group(1) not in COMPONENT_OF_MODULE:
            assert certs == set(), f"{name} runs no gRPC component but mounts {certs}"
            continue
        component, prefix = COMPONENT_OF_MODULE[module.group(1)]
        folder = f"/certs/{component}"
        assert certs == {f"{made[folder]}:{folder}:ro"}, name
        files = component_files(Path("/certs"), component)
        environment = service["environment"]
        assert environment[f"{prefix}TLS_CA_FILE"] == str(files.ca), name
        assert environment[f"{prefix}TLS_CERT_FILE"] == str(files.cert), name
        assert environment[f"{prefix}TLS_KEY_FILE"] == str(files.key), name
        serving.add(name)
    assert serving == {
        "user-1",
        "user-2",
        "activity-1",
        "activity-2",
        "saga",
        "watch-logs",
        "motion",
        "health",
        *GATEWAYS,
    }
    ca_key = made["/certs/ca"]
    assert [n for n, s in compose["services"].items() if ca_key in _sources(s)] == ["keygen"]


def _env_values(compose: dict[str, Any], suffix: str) -> dict[str, str]:
    """Every service's variable ending in ``suffix``, keyed by service/variable."""
    return {
        f"{name}/{key}": str(value)
        for name, service in compose["services"].items()
        for key, value in service.get("environment", {}).items()
        if key.endswith(suffix)
    }


def test_the_redis_cluster_is_six_nodes_joined_with_one_replica_per_master(
    compose: dict[str, Any],
) -> None:
    init = compose["services"]["redis-cluster-init"]
    script = " ".join(init["command"])

    for name in REDIS_NODES:
        command = compose["services"][name]["command"]
        assert command[command.index("--cluster-enabled") + 1] == "yes", name
        assert init["depends_on"][name] == {"condition": "service_healthy"}
    assert "--cluster create $$nodes --cluster-replicas 1" in script
    assert "for i in 1 2 3 4 5 6" in script
    assert "cluster_state:ok" in script


def test_every_redis_client_is_given_the_clusters_seed_nodes(compose: dict[str, Any]) -> None:
    urls = _env_values(compose, "_REDIS_URL")
    seeds = {f"{node}:6379" for node in REDIS_NODES}

    # user-migrate shares the user service's settings; it never opens Redis.
    assert set(urls) == {f"{n}/GATEWAY_REDIS_URL" for n in GATEWAYS} | {
        "activity-1/ACTIVITY_REDIS_URL",
        "activity-2/ACTIVITY_REDIS_URL",
        "user-1/USER_REDIS_URL",
        "user-2/USER_REDIS_URL",
        "user-migrate/USER_REDIS_URL",
        "watch-logs/WATCH_LOGS_REDIS_URL",
        "motion/MOTION_REDIS_URL",
        "motion-processor/MOTION_PROCESSOR_REDIS_URL",
        "motion-sink/MOTION_SINK_REDIS_URL",
    }
    for name, url in urls.items():
        assert url.startswith("redis-cluster://"), name
        assert set(url.removeprefix("redis-cluster://").split(",")) <= seeds, name
    for name in [*GATEWAYS, "activity-1", "activity-2", "user-1", "user-2"]:
        depends = compose["services"][name]["depends_on"]
        assert depends["redis-cluster-init"] == {"condition": "service_completed_successfully"}


def _serving_module(service: dict[str, Any]) -> str | None:
    """The platform module a service runs (``python -m x``), not its ``migrate`` command."""
    found = re.fullmatch(r"python -m ([\w.]+)", " ".join(service.get("command", [])))
    return found.group(1) if found else None


def redis_target(url: str) -> tuple[str, frozenset[str], str]:
    """Which Redis a URL names: scheme, host:port set and database, not the credentials."""
    parts = urlsplit(url)
    hosts = frozenset(parts.netloc.rpartition("@")[2].split(","))
    return parts.scheme, hosts, parts.path.strip("/") or "0"


def cache_writers_off_the_gateways_redis(compose: dict[str, Any]) -> dict[str, str]:
    """Each running writer of cached data whose Redis is not the gateways' (name: why)."""
    services = compose["services"]
    gateways = {n: s for n, s in services.items() if _serving_module(s) == "gateway"}
    caches = {redis_target(str(s["environment"]["GATEWAY_REDIS_URL"])) for s in gateways.values()}
    assert len(caches) == 1, f"the gateways disagree on their Redis: {caches}"
    assert all(
        str(s["environment"].get("GATEWAY_CACHE_ENABLED", "true")).lower() == "true"
        for s in gateways.values()
    )
    wrong = {}
    for name, service in services.items():
        module = _serving_module(service)
        if module not in CACHE_WRITERS:
            continue
        url = service.get("environment", {}).get(f"{CACHE_WRITERS[module]}REDIS_URL")
        if url is None or redis_target(str(url)) not in caches:
            wrong[name] = f"{url!r} is not the gateways' Redis"
        elif "redis-cluster-init" not in service.get("depends_on", {}):
            wrong[name] = "starts before the Redis Cluster is formed"
    return wrong


def test_every_component_that_writes_cached_data_invalidates_in_the_gateways_redis(
    compose: dict[str, Any],
) -> None:
    writers = {n for n, s in compose["services"].items() if _serving_module(s) in CACHE_WRITERS}

    assert writers == {"user-1", "user-2", "activity-1", "activity-2"}
    assert all("redis_url" in SETTINGS[prefix].model_fields for prefix in CACHE_WRITERS.values())
    assert cache_writers_off_the_gateways_redis(compose) == {}


def test_a_writer_on_another_redis_or_none_is_caught(compose: dict[str, Any]) -> None:
    services = copy.deepcopy(compose["services"])
    services["user-1"]["environment"].pop("USER_REDIS_URL")
    services["activity-2"]["environment"]["ACTIVITY_REDIS_URL"] = "redis://redis-1:6379/0"
    services["user-2"]["depends_on"].pop("redis-cluster-init")

    wrong = cache_writers_off_the_gateways_redis({"services": services})

    assert set(wrong) == {"user-1", "user-2", "activity-2"}


def test_the_postgres_formation_is_a_monitor_and_three_nodes_every_sql_client_lists(
    compose: dict[str, Any],
) -> None:
    # The health metrics have a PostgreSQL of their own (health-db): their ingestion
    # never competes with logins on the formation. The ETL reads it there too.
    urls = {
        name: url
        for name, url in _env_values(compose, "_DATABASE_URL").items()
        if "ACTIVITY" not in name and "HEALTH" not in name
    }
    etl_health = compose["services"]["etl"]["environment"]["ETL_HEALTH_DATABASE_URL"]
    assert "@health-db:5432/health" in etl_health
    hosts = "host=pg-1:5432&host=pg-2:5432&host=pg-3:5432"

    assert compose["services"]["pg-monitor"]["command"] == ["pg-monitor"]
    for name in PG_NODES:
        node = compose["services"][name]
        assert node["command"] == ["pg-node"], name
        assert node["environment"]["PG_MONITOR_HOST"] == "pg-monitor", name
        assert node["environment"]["PG_NODE_HOSTNAME"] == name, name
    assert {n.split("/")[0] for n in urls} >= {"user-1", "user-2", "saga", "etl"}
    for name, url in urls.items():
        assert url.startswith("postgresql+psycopg://fitness:${POSTGRES_PASSWORD"), name
        assert f"@/fitness?{hosts}&target_session_attrs=" in url, name
    writers = [n for n in urls if not n.startswith("etl/")]
    assert all(urls[n].endswith("target_session_attrs=read-write") for n in writers)
    for name in ["user-migrate", "saga-migrate"]:
        assert set(compose["services"][name]["depends_on"]) == set(PG_NODES), name


def test_the_formation_runs_the_production_overlays_failover_timeouts(
    compose: dict[str, Any],
) -> None:
    overlay = "deploy/kubernetes/overlays/production"
    kustomization = yaml.safe_load((ROOT / overlay / "kustomization.yaml").read_text())
    [generated] = [
        g for g in kustomization["configMapGenerator"] if g["name"] == "pg-failover-timeouts"
    ]
    files = {f"{overlay}/{name}" for name in generated["envs"]}

    assert all((ROOT / f).is_file() for f in files)
    for name in ["pg-monitor", *PG_NODES]:
        assert set(compose["services"][name]["env_file"]) == files, name


def test_the_formations_image_is_built_here_with_both_entry_points(
    compose: dict[str, Any],
) -> None:
    build = compose["services"]["pg-1"]["build"]
    folder = ROOT / build["context"]
    dockerfile = (folder / build["dockerfile"]).read_text()

    assert "postgresql-15-auto-failover" in dockerfile
    for entry in ["pg-monitor", "pg-node"]:
        assert f"COPY {entry}.sh /usr/local/bin/{entry}" in dockerfile
        assert (folder / f"{entry}.sh").is_file()


def test_the_mongo_replica_set_has_three_members_initiated_once_and_majority_writes(
    compose: dict[str, Any],
) -> None:
    init = compose["services"]["mongo-init"]
    script = " ".join(init["command"])
    members = re.findall(r'host: "(mongo-\d:27017)"', script)
    urls = _env_values(compose, "_MONGO_URL")

    assert members == [f"{node}:27017" for node in MONGO_NODES]
    assert "rs.initiate" in script
    assert "NotYetInitialized" in script
    for node in MONGO_NODES:
        assert compose["services"][node]["command"][:3] == ["mongod", "--replSet", "rs0"]
    for name, url in urls.items():
        assert url.startswith("mongodb://" + ",".join(members) + "/?replicaSet=rs0"), name
    activity = [u for n, u in urls.items() if n.startswith("activity-")]
    assert len(activity) == 2
    assert all("w=majority" in u and "retryWrites=true" in u for u in activity)


def test_two_gateways_share_their_settings_and_publish_their_own_ports(
    compose: dict[str, Any],
) -> None:
    first, second = (compose["services"][name] for name in GATEWAYS)
    published = [s["ports"] for s in (first, second)]

    assert first["environment"] == second["environment"]
    assert first["command"] == second["command"] == ["python", "-m", "gateway"]
    assert published[0] != published[1]
