"""docker-compose.yml is checked here, since no Docker engine runs on our machines.

The file is parsed by compose-spec (bindings to the Rust compose_spec crate, a strict
implementation of the Compose Specification), then cross-checked against the code:
Dockerfiles exist, dependencies name real services, settings name real fields.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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
from services.user.config import UserSettings

ROOT = Path(__file__).parents[2]
SETTINGS: dict[str, type[BaseSettings]] = {
    "USER_": UserSettings,
    "ACTIVITY_": ActivitySettings,
    "GATEWAY_": GatewaySettings,
    "SAGA_": SagaSettings,
    "ETL_": EtlSettings,
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    text = (ROOT / "docker-compose.yml").read_text()
    return dict(PyCompose.from_yaml(text).to_dict())


def test_the_compose_file_follows_the_specification(compose: dict[str, Any]) -> None:
    expected = {
        "postgres",
        "mongo",
        "redis",
        "user-1",
        "user-2",
        "activity-1",
        "activity-2",
        "gateway",
        "saga",
        "warehouse",
        "etl",
    }
    assert expected <= set(compose["services"])


def test_the_specification_parser_rejects_what_compose_would(compose: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="imagee"):
        PyCompose.from_yaml("services:\n  web:\n    imagee: nginx\n")


def test_every_build_names_an_existing_dockerfile(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if "build" in service:
            assert (ROOT / service["build"]["dockerfile"]).is_file(), name


def test_dependencies_name_services_of_the_file(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for dependency in service.get("depends_on", {}):
            assert dependency in compose["services"], f"{name} depends on unknown {dependency}"


def test_every_component_setting_is_a_real_field(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key in service.get("environment", {}):
            for prefix, settings in SETTINGS.items():
                if key.startswith(prefix):
                    field = key.removeprefix(prefix).lower()
                    assert field in settings.model_fields, f"{name}: {key} is not a setting"


def test_secrets_come_from_the_environment_not_the_file(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        for key, value in service.get("environment", {}).items():
            if "PASSWORD" in key or "postgresql://" in str(value):
                assert "${POSTGRES_PASSWORD" in str(value), key


def test_every_built_service_runs_a_module_of_the_image(compose: dict[str, Any]) -> None:
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    for name, service in compose["services"].items():
        if "build" not in service:
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
    [public] = {v for v in _sources(compose["services"]["gateway"]) if not v.startswith("certs-")}
    [folder] = [v.split(":")[1] for v in keygen["volumes"] if v.split(":")[0] == public]
    assert f"cp /keys/jwt_public.pem {folder}/jwt_public.pem" in " ".join(keygen["command"])


def test_the_gateway_serves_metrics_on_its_own_port_and_is_probed_on_readiness(
    compose: dict[str, Any],
) -> None:
    gateway = compose["services"]["gateway"]
    assert int(gateway["environment"]["GATEWAY_METRICS_PORT"]) > 0
    probe = " ".join(gateway["healthcheck"]["test"])
    assert "/health/ready" in probe
    assert "/health/ready" in {getattr(route, "path", "") for route in health.router.routes}


# Which mTLS identity each serving module runs as, and its settings prefix.
COMPONENT_OF_MODULE = {
    "services.user": ("user", "USER_"),
    "services.activity": ("activity", "ACTIVITY_"),
    "saga_coordinator": ("saga", "SAGA_"),
    "gateway": ("gateway", "GATEWAY_"),
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
    assert serving == {"user-1", "user-2", "activity-1", "activity-2", "saga", "gateway"}
    ca_key = made["/certs/ca"]
    assert [n for n, s in compose["services"].items() if ca_key in _sources(s)] == ["keygen"]
