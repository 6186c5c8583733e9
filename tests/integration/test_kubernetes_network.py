"""The rendered NetworkPolicies: only the gateway is reachable from outside the namespace, and
every connection a component's settings name (or a store's members make) is admitted."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest

from tests.integration.kubernetes_render import (
    OVERLAYS,
    TARGETS,
    WORKLOADS,
    Object,
    component_containers,
    environment,
    matches,
    of_kind,
    pod_labels,
    pod_spec,
)


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
