"""The rendered workloads: every target renders and validates; the HA topology, replicas,
budgets, pod limits, probes (and the gRPC probe script), StatefulSets' headless Services."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest
import yaml

from gateway.config import GatewaySettings
from gateway.edge import health
from services.common.grpc_runtime import GrpcServer
from tests.helpers import ServiceCerts
from tests.integration.kubernetes_render import (
    KUSTOMIZE,
    ROOT,
    SETTINGS,
    TARGETS,
    WORKLOADS,
    component_containers,
    containers,
    environment,
    matches,
    objects,
    of_kind,
    pod_labels,
    pod_spec,
    rendered,
    validate,
)

PROBE = KUSTOMIZE / "base/probe/health_probe.py"
# The gRPC component each module serves as: its probe asks for that name's certificate.
GRPC_COMPONENT = {
    "services.user": "user",
    "services.activity": "activity",
    "saga_coordinator": "saga",
    "services.watch_logs": "watch_logs",
    "services.motion": "motion",
    "services.health_metrics": "health",
}


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
        ("Deployment", "fitness-watch-logs"),
        ("Deployment", "fitness-motion"),
        ("Deployment", "fitness-motion-processor"),
        ("Deployment", "fitness-motion-sink"),
        ("Deployment", "fitness-health"),
        ("StatefulSet", "health-db"),
        ("StatefulSet", "fitness-health-ingester"),
        ("CronJob", "fitness-etl"),
        ("Job", "redis-cluster-init"),
        ("Job", "mongo-replica-set-init"),
    } <= workloads
    assert replicas == {
        "warehouse": 1,
        "health-db": 1,
        "fitness-health-ingester": 1,
        "redis": 6,
        "pg-monitor": 1,
        "pg": 3,
        "mongo": 3,
    }


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
def test_statefulsets_are_named_by_a_headless_service_that_selects_them(target: str) -> None:
    services = {s["metadata"]["name"]: s["spec"] for s in of_kind(target, "Service")}
    for statefulset in of_kind(target, "StatefulSet"):
        service = services[statefulset["spec"]["serviceName"]]
        assert service["clusterIP"] == "None", statefulset["metadata"]["name"]
        assert matches({"matchLabels": service["selector"]}, pod_labels(statefulset))


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
