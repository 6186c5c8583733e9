"""Every environment variable the launcher sets for a component is a setting of that
component's pydantic-settings class, so renaming a setting cannot leave the launcher
setting a variable nobody reads (the child would silently run on the default)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from deploy.local.components import add_gateway, build_topology
from deploy.local.topology import LocalSettings, ProcessSpec, Topology
from etl.config import EtlSettings
from gateway.config import GatewaySettings
from saga_coordinator.config import SagaSettings
from services.activity.config import ActivitySettings
from services.user.config import UserSettings

# The settings class of each module the launcher runs with ``python -m``.
SETTINGS: dict[str, type[BaseSettings]] = {
    "services.user": UserSettings,
    "services.activity": ActivitySettings,
    "saga_coordinator": SagaSettings,
    "gateway": GatewaySettings,
    "etl": EtlSettings,
}
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


def components_with_env() -> list[ProcessSpec]:
    """The specs that configure their component through the environment."""
    return [spec for spec in full_topology().specs if set(spec.env) - INTERPRETER]


def test_the_launcher_sets_only_variables_its_components_settings_read() -> None:
    unread = {
        spec.name: unknown_names(spec.env, SETTINGS[module_of(spec)])
        for spec in components_with_env()
    }

    assert {name: names for name, names in unread.items() if names} == {}


def test_every_component_configured_through_the_environment_has_its_settings_checked() -> None:
    modules = {spec.name: module_of(spec) for spec in components_with_env()}

    assert {name: m for name, m in modules.items() if m not in SETTINGS} == {}
    assert set(modules.values()) == set(SETTINGS)


@pytest.mark.parametrize("name", [spec.name for spec in components_with_env()])
def test_each_components_settings_accept_the_values_the_launcher_gives_it(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = next(spec for spec in components_with_env() if spec.name == name)
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
