"""The rendered configuration: each component gets only variables its settings read, valid
values, mounted files, Redis URLs with a password, placeholder secrets, the formation's tuning."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import pytest
from pydantic_settings import BaseSettings

from deploy.pg_formation import KEEPER_TIMEOUTS, MONITOR_SETTINGS
from services.common.redis import is_cluster
from tests.integration.kubernetes_render import (
    KUSTOMIZE,
    OVERLAYS,
    ROOT,
    SETTINGS,
    TARGETS,
    component_containers,
    environment,
    of_kind,
    pod_spec,
    secret_values,
)

IMAGE = KUSTOMIZE / "images/pg-auto-failover"
# The formation's tuning variables (overlays/production/pg-failover-timeouts.env), as the
# image's entry points read them: PGAF_MONITOR_<NAME> is the monitor's
# pgautofailover.<name>, PGAF_KEEPER_<NAME> a keeper's timeout.<name>.
TUNING = {"pg-monitor": ("PGAF_MONITOR_", "pgautofailover."), "pg": ("PGAF_KEEPER_", "timeout.")}
# Read by libpq (the password of the PostgreSQL URLs), not by a settings class.
NOT_SETTINGS = {"PGPASSWORD"}
PLACEHOLDER = "REPLACE_ME"
# The modules that change data the gateways cache (docs/architecture.md, "Shared cache"):
# each must invalidate in the gateways' Redis, or a change shows only after the TTL.
CACHE_WRITERS = ("services.user", "services.activity")


def unknown_names(env: Mapping[str, str], settings: type[BaseSettings]) -> list[str]:
    """The variables no field of ``settings`` reads (prefix + field name, any case)."""
    prefix = settings.model_config.get("env_prefix", "")
    known = {f"{prefix}{name}".lower() for name in settings.model_fields}
    return sorted(n for n in env if n not in NOT_SETTINGS and n.lower() not in known)


def looks_like_a_real_secret(value: str) -> bool:
    """Anything but a placeholder: no REPLACE_ME, or key material, counts as real."""
    return PLACEHOLDER not in value or "-----BEGIN" in value


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
        "fitness-watch-logs",
        "fitness-motion",
        "fitness-motion-processor",
        "fitness-motion-sink",
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


@pytest.mark.parametrize("target", TARGETS)
def test_the_watch_log_service_waits_for_a_replica_exactly_where_its_redis_has_them(
    target: str,
) -> None:
    [env] = [
        env for _, module, env in serving_environments(target) if module == "services.watch_logs"
    ]
    on_cluster = is_cluster(env["WATCH_LOGS_REDIS_URL"])

    # One node has no replica: WAIT 1 there would refuse every batch.
    assert env.get("WATCH_LOGS_REPLICAS_TO_ACK", "0") == ("1" if on_cluster else "0")


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
