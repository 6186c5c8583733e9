"""Monitoring for real: Debian's Prometheus and redis-exporter against a running Redis Cluster,
the watch-log service and a gateway, each a process of its own on free loopback ports.

The stack is the compose one in small: the scrape configuration is deploy/monitoring's
``scrape_config`` (the same jobs and the same multi-target relabelling as prometheus.yml)
on the test's addresses, scraped every second. Traffic goes through the gateway's REST
API: entries accepted, a batch retried (duplicates), entries the service refuses as too
old, and an RPC the service is told to fail every time (WATCH_LOGS_FAULT_*), so the
breaker opens and every panel has something to show. Then every PromQL expression of
every dashboard is evaluated on that Prometheus and must return data.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from deploy import redis_cluster
from deploy.local import free_port
from deploy.local.topology import LocalSettings
from deploy.monitoring import dashboards, prometheus
from deploy.monitoring.grafana import DATASOURCE_UID, dashboard_json
from deploy.polling import wait_for
from services.user.tokens import TokenIssuer
from services.watch_logs.config import WatchLogSettings
from tests.helpers import KeyFiles, ServiceCerts
from tests.integration.kubernetes_render import TARGETS, environment, of_kind, pod_spec

ROOT = Path(__file__).parents[2]
MONITORING = ROOT / "deploy/monitoring"
# Debian's packages prometheus and prometheus-redis-exporter (deploy/system_packages.sh).
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
EXPORTER = "/usr/bin/prometheus-redis-exporter"
# The RPC the watch-log service fails (and delays) on purpose; ingestion stays clean.
FAULTED_RPC = "GetPipelineStatus"
STARTUP = 60.0


@dataclass
class Stack:
    """The running monitoring stack: Prometheus' API and the processes behind its targets."""

    prometheus: str
    processes: dict[str, subprocess.Popen[bytes]]
    redis_nodes: list[str]
    watch_log_address: str
    cluster: redis_cluster.RedisCluster


def spawn(
    name: str, argv: Sequence[str], env: Mapping[str, str], folder: Path
) -> subprocess.Popen[bytes]:
    """Start a process of our own (own process group), its output in folder/<name>.log."""
    if not Path(argv[0]).is_file():
        raise RuntimeError(f"{argv[0]} not found: run `bash deploy/system_packages.sh` as root")
    log = (folder / f"{name}.log").open("wb")
    return subprocess.Popen(
        list(argv), env={**os.environ, **env}, stdout=log, stderr=log, process_group=0
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process we started, by PID; SIGKILL after 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def answers(url: str, process: subprocess.Popen[bytes]) -> bool:
    """Whether ``url`` answers 200; RuntimeError when the process behind it has exited."""
    if process.poll() is not None:
        raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_exporter(
    cluster: redis_cluster.RedisCluster, port: int, folder: Path
) -> subprocess.Popen[bytes]:
    """redis-exporter in multi-target mode only (no -redis.addr of its own), with the password."""
    argv = [EXPORTER, "-redis.addr=", f"-web.listen-address=127.0.0.1:{port}"]
    # From the environment, not the command line every local user sees in ps.
    env = {"REDIS_PASSWORD": cluster.nodes[0].password}
    process = spawn(f"redis-exporter-{port}", argv, env, folder)
    wait_for(lambda: answers(f"http://127.0.0.1:{port}/metrics", process), STARTUP, "exporter")
    return process


def start_prometheus(
    config: Mapping[str, Any], port: int, folder: Path
) -> tuple[str, subprocess.Popen[bytes]]:
    """A real Prometheus on ``config`` (checked by promtool first), in a folder of its own."""
    data = folder / f"prometheus-{port}"
    data.mkdir()
    config_file = data / "prometheus.yml"
    config_file.write_text(prometheus.render(config))
    checked = promtool("check", "config", str(config_file))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    argv = [
        PROMETHEUS,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={data / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    process = spawn(f"prometheus-{port}", argv, {}, folder)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: answers(f"{url}/-/ready", process), STARTUP, "prometheus ready")
    return url, process


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run Debian's promtool."""
    if not Path(PROMTOOL).is_file():
        raise RuntimeError(f"{PROMTOOL} not found: run `bash deploy/system_packages.sh` as root")
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=60, check=False
    )


def targets(url: str) -> list[dict[str, Any]]:
    """Prometheus' active targets (job, instance, health, lastError)."""
    reply = httpx.get(f"{url}/api/v1/targets", params={"state": "active"}, timeout=5).json()
    return list(reply["data"]["activeTargets"])


def health_by_job(url: str) -> dict[str, set[str]]:
    """job -> the health values of its targets."""
    health: dict[str, set[str]] = {}
    for target in targets(url):
        health.setdefault(target["labels"]["job"], set()).add(target["health"])
    return health


def query(url: str, expr: str) -> list[dict[str, Any]]:
    """An instant query's result (empty list: no data)."""
    reply = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert reply["status"] == "success", f"{expr}: {reply}"
    return list(reply["data"]["result"])


def every_expression() -> list[tuple[str, str, str]]:
    """(dashboard, panel, expr) of every query of every generated dashboard."""
    return [
        (dashboard.title, panel.title, target.expr)
        for dashboard in (build() for build in dashboards.DASHBOARDS)
        for panel in dashboard.panels
        for target in panel.queries
    ]


def watch_log(index: int, taken: datetime) -> dict[str, Any]:
    """One valid entry of the REST schema (docs/watch-logs.md)."""
    return {
        "message_id": f"m-{uuid.uuid4().hex[:12]}-{index}",
        "device_id": "w-monitoring",
        "device_model": "Forerunner 265",
        "firmware": "20.26",
        "timestamp": taken.isoformat(timespec="seconds"),
        "activity": "walking",
        "duration_s": 60,
        "steps": 90 + index,
        "heart_rate": 95,
        "calories": 4.5,
        "distance_m": 70.0,
        "floors": 0,
        "battery": 80,
    }


def drive_traffic(gateway: str, token: str) -> None:
    """Accepted entries, a retried batch, too-old entries, then the faulted RPC until 5xx."""
    headers = {"Authorization": f"Bearer {token}"}
    now = datetime.now(UTC)
    with httpx.Client(base_url=gateway, headers=headers, timeout=10) as client:
        batch = {"logs": [watch_log(i, now - timedelta(minutes=i)) for i in range(20)]}
        first = client.post("/watch-logs", json=batch)
        assert first.status_code == 200, first.text
        assert first.json()["accepted"] == 20
        retried = client.post("/watch-logs", json=batch)
        assert retried.json()["duplicates"] == 20, retried.text
        old = now - timedelta(days=3)
        mixed = {"logs": [watch_log(0, now), watch_log(1, old)]}
        refused = client.post("/watch-logs", json=mixed)
        assert refused.status_code == 200, refused.text
        assert len(refused.json()["rejected"]) == 1
        # Faulted every time: 503s at the gateway, then its breaker opens.
        statuses = [client.get("/watch-logs/pipeline").status_code for _ in range(8)]
        assert set(statuses) <= {502, 503, 504}, statuses


@pytest.fixture(scope="module")
def stack(
    redis_cluster_server: redis_cluster.RedisCluster,
    service_certs: ServiceCerts,
    jwt_keys: KeyFiles,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """Exporter, watch-log service, gateway and Prometheus, running; traffic sent."""
    folder = tmp_path_factory.mktemp("monitoring")
    processes: dict[str, subprocess.Popen[bytes]] = {}
    ports = {name: free_port() for name in ("exporter", "watch", "watch_metrics")}
    ports |= {name: free_port() for name in ("gateway", "gateway_metrics", "prometheus")}
    try:
        processes["exporter"] = start_exporter(redis_cluster_server, ports["exporter"], folder)
        processes["watch-logs"] = start_watch_logs(
            redis_cluster_server, service_certs, ports, folder
        )
        processes["gateway"] = start_gateway(
            redis_cluster_server, service_certs, jwt_keys, ports, folder
        )
        config = prometheus.scrape_config(
            {
                "gateway": [f"127.0.0.1:{ports['gateway_metrics']}"],
                "watch-logs": [f"127.0.0.1:{ports['watch_metrics']}"],
            },
            [node.address for node in redis_cluster_server.nodes],
            f"127.0.0.1:{ports['exporter']}",
            interval="1s",
        )
        url, processes["prometheus"] = start_prometheus(config, ports["prometheus"], folder)
        issuer = TokenIssuer(
            jwt_keys.private.read_bytes(), "fitness-user-service", "fitness-api", 3600
        )
        token = issuer.issue(f"u-{uuid.uuid4().hex[:8]}", roles=["analyst"]).token
        drive_traffic(f"http://127.0.0.1:{ports['gateway']}", token)
        nodes = [node.address for node in redis_cluster_server.nodes]
        watch_log_address = f"127.0.0.1:{ports['watch']}"
        yield Stack(url, processes, nodes, watch_log_address, redis_cluster_server)
    finally:
        for process in reversed(processes.values()):
            stop(process)


def start_watch_logs(
    cluster: redis_cluster.RedisCluster,
    certs: ServiceCerts,
    ports: Mapping[str, int],
    folder: Path,
) -> subprocess.Popen[bytes]:
    """``python -m services.watch_logs`` on the cluster, its metrics on, one RPC faulted."""
    tls = certs.of("watch_logs")
    env = {
        "WATCH_LOGS_PORT": str(ports["watch"]),
        "WATCH_LOGS_METRICS_PORT": str(ports["watch_metrics"]),
        "WATCH_LOGS_REDIS_URL": cluster.url,
        "WATCH_LOGS_TLS_CA_FILE": str(tls.ca),
        "WATCH_LOGS_TLS_CERT_FILE": str(tls.cert),
        "WATCH_LOGS_TLS_KEY_FILE": str(tls.key),
        "WATCH_LOGS_FAULT_ERROR_RATE": "1",
        "WATCH_LOGS_FAULT_DELAY_RATE": "1",
        "WATCH_LOGS_FAULT_DELAY_MEAN_MS": "1",
        "WATCH_LOGS_FAULT_METHODS": FAULTED_RPC,
    }
    argv = [sys.executable, "-m", "services.watch_logs"]
    process = spawn("watch-logs", argv, env, folder)
    url = f"http://127.0.0.1:{ports['watch_metrics']}/metrics"
    wait_for(lambda: answers(url, process), STARTUP, "watch-log metrics")
    return process


def start_gateway(
    cluster: redis_cluster.RedisCluster,
    certs: ServiceCerts,
    keys: KeyFiles,
    ports: Mapping[str, int],
    folder: Path,
) -> subprocess.Popen[bytes]:
    """``python -m gateway`` in front of the watch-log service (the other services absent)."""
    tls = certs.of("gateway")
    nowhere = f"127.0.0.1:{free_port()}"
    env = {
        "GATEWAY_PORT": str(ports["gateway"]),
        "GATEWAY_METRICS_PORT": str(ports["gateway_metrics"]),
        "GATEWAY_REDIS_URL": cluster.url,
        "GATEWAY_JWT_PUBLIC_KEY_FILE": str(keys.public),
        "GATEWAY_USER_SERVICE_ADDRESSES": nowhere,
        "GATEWAY_ACTIVITY_SERVICE_ADDRESSES": nowhere,
        "GATEWAY_SAGA_COORDINATOR_ADDRESSES": nowhere,
        "GATEWAY_WATCH_LOG_SERVICE_ADDRESSES": f"127.0.0.1:{ports['watch']}",
        "GATEWAY_TLS_CA_FILE": str(tls.ca),
        "GATEWAY_TLS_CERT_FILE": str(tls.cert),
        "GATEWAY_TLS_KEY_FILE": str(tls.key),
        "GATEWAY_HEALTH_INTERVAL": "0.5",
        # Open stays open for the whole module (no half-open trial while the panels are read).
        "GATEWAY_BREAKER_RESET_TIMEOUT": "600",
    }
    argv = [sys.executable, "-m", "gateway"]
    process = spawn("gateway", argv, env, folder)
    live = f"http://127.0.0.1:{ports['gateway']}/health/live"
    wait_for(lambda: answers(live, process), STARTUP, "gateway live")
    # The gateway sends calls only to instances its health checks found serving.
    metrics = f"http://127.0.0.1:{ports['gateway_metrics']}/metrics"
    wait_for(lambda: watch_log_pool_healthy(metrics), STARTUP, "watch-log pool healthy")
    return process


def watch_log_pool_healthy(metrics_url: str) -> bool:
    """Whether the gateway's last health check found the watch-log instance serving."""
    families = text_string_to_metric_families(httpx.get(metrics_url, timeout=2).text)
    return any(
        sample.labels.get("service") == dashboards.WATCH_LOG_SERVICE and sample.value == 1
        for family in families
        if family.name == "gateway_upstream_healthy"
        for sample in family.samples
    )


def test_every_target_of_the_stack_is_scraped_and_up(stack: Stack) -> None:
    jobs = {"gateway", "watch-logs", prometheus.REDIS_JOB, prometheus.EXPORTER_JOB}
    every_job_up = {job: {"up"} for job in jobs}
    wait_for(lambda: health_by_job(stack.prometheus) == every_job_up, STARTUP, "targets up")
    instances = {t["labels"]["instance"] for t in targets(stack.prometheus)}

    assert health_by_job(stack.prometheus) == every_job_up
    # Each node is its own target, named by its address, though one exporter serves them.
    assert set(stack.redis_nodes) <= instances


def test_every_query_of_every_dashboard_returns_data(stack: Stack) -> None:
    expressions = every_expression()

    def empty() -> list[str]:
        return [f"{d} / {p}: {e}" for d, p, e in expressions if not query(stack.prometheus, e)]

    # rate() needs two scrapes of a counter after its first increase: a few seconds.
    # On timeout the assertion below names the queries still without data.
    with contextlib.suppress(TimeoutError):
        wait_for(lambda: not empty(), STARTUP, "data for every dashboard query", every=1)

    assert empty() == []
    assert len(expressions) > 30


def test_the_cluster_panels_show_six_nodes_three_masters_and_every_slot_served(
    stack: Stack,
) -> None:
    url = stack.prometheus
    wait_for(lambda: value(url, 'sum(redis_up{job="redis"})') == 6, STARTUP, "six nodes up")

    assert value(url, 'count(redis_instance_info{job="redis", role="master"})') == 3
    assert value(url, 'min(redis_cluster_slots_ok{job="redis"})') == 16384
    assert value(url, 'min(redis_cluster_state{job="redis"})') == 1


def test_the_pipeline_panels_count_what_the_traffic_did(stack: Stack) -> None:
    wanted = 'sum(watch_logs_faults_total{kind="error"})'
    wait_for(lambda: bool(query(stack.prometheus, wanted)), STARTUP, "faults scraped")
    outcomes = {
        s["metric"]["outcome"]: float(s["value"][1])
        for s in query(stack.prometheus, "sum by (outcome) (watch_logs_entries_total)")
    }
    breaker = query(
        stack.prometheus,
        f'gateway_upstream_breaker_state{{service="{dashboards.WATCH_LOG_SERVICE}"}}',
    )

    assert outcomes == {"accepted": 21, "duplicate": 20, "rejected": 1}
    assert float(query(stack.prometheus, wanted)[0]["value"][1]) >= 1
    # The upstream's address survives as exported_instance (Prometheus owns `instance`).
    assert [s["metric"]["exported_instance"] for s in breaker] == [stack.watch_log_address]
    assert float(breaker[0]["value"][1]) == 2  # open after the faulted calls


def value(url: str, expr: str) -> float:
    """The one sample an instant query returns, as a number (nan when there is none)."""
    result = query(url, expr)
    return float(result[0]["value"][1]) if len(result) == 1 else float("nan")


def test_a_killed_replica_shows_on_the_cluster_panels_and_its_return_too(stack: Stack) -> None:
    cluster = stack.cluster
    cluster.wait_healthy()
    [replica, *_] = [n for n in cluster.nodes if n.info("replication").get("role") == "slave"]
    url = stack.prometheus
    nodes_up = 'sum(redis_up{job="redis"})'
    links_up = 'sum(redis_master_link_up{job="redis"})'
    wait_for(lambda: value(url, nodes_up) == 6, STARTUP, "six nodes up")

    cluster.kill(replica)
    killed = time.monotonic()
    try:
        wait_for(lambda: value(url, nodes_up) == 5, STARTUP, "the panel to show 5 nodes up")
        shown_down = time.monotonic() - killed
        down = value(url, f'redis_up{{job="redis", instance="{replica.address}"}}')
        links_while_down = value(url, links_up)
        state_while_down = value(url, 'min(redis_cluster_state{job="redis"})')
    finally:
        cluster.restart(replica)
        cluster.wait_healthy()
    back = time.monotonic()
    wait_for(lambda: value(url, nodes_up) == 6, STARTUP, "the panel to show 6 nodes up")
    shown_back = time.monotonic() - back
    print(
        f"replica {replica.address} SIGKILLed: 'Nodes up' showed 5 after {shown_down:.1f} s,"
        f" 6 again {shown_back:.1f} s after the cluster was healthy again (scrape every 1 s)"
    )

    assert down == 0
    assert links_while_down == 2  # the killed replica's own link is gone with it
    assert state_while_down == 1  # a replica's loss leaves every slot served
    wait_for(lambda: value(url, links_up) == 3, STARTUP, "three replica links up")


def test_a_killed_exporter_takes_its_targets_down(
    redis_cluster_server: redis_cluster.RedisCluster, tmp_path: Path
) -> None:
    port = free_port()
    exporter = start_exporter(redis_cluster_server, port, tmp_path)
    config = prometheus.scrape_config(
        {}, [n.address for n in redis_cluster_server.nodes], f"127.0.0.1:{port}", interval="1s"
    )
    url, server = start_prometheus(config, free_port(), tmp_path)
    try:
        wait_for(
            lambda: health_by_job(url) == {"redis": {"up"}, "redis-exporter": {"up"}},
            STARTUP,
            "exporter targets up",
        )
        exporter.kill()
        exporter.wait(timeout=10)
        killed = time.monotonic()
        wait_for(
            lambda: health_by_job(url) == {"redis": {"down"}, "redis-exporter": {"down"}},
            STARTUP,
            "exporter targets down",
        )
        seconds = time.monotonic() - killed
        errors = {t["lastError"] for t in targets(url)}
        redis_up = query(url, 'up{job="redis"}')
    finally:
        stop(server)
        stop(exporter)
    print(f"exporter SIGKILLed: its 7 targets down after {seconds:.1f} s (scrape every 1 s)")

    assert all(errors)
    assert {float(s["value"][1]) for s in redis_up} == {0.0}
    assert len(redis_up) == len(redis_cluster_server.nodes)


@pytest.mark.parametrize(
    ("name", "generate"),
    [("prometheus.yml", prometheus.compose_text), ("prometheus-local.yml", prometheus.local_text)],
)
def test_the_committed_prometheus_configurations_are_what_the_generator_writes(
    name: str, generate: Callable[[], str]
) -> None:
    committed = (MONITORING / name).read_text()

    assert committed == generate(), (
        "stale: run `python -m deploy.monitoring.prometheus` and commit the result"
    )


@pytest.mark.parametrize("name", ["prometheus.yml", "prometheus-local.yml"])
def test_promtool_accepts_the_committed_configurations(name: str) -> None:
    result = promtool("check", "config", str(MONITORING / name))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_the_local_configuration_scrapes_what_make_run_ha_opens() -> None:
    config = yaml.safe_load(prometheus.local_text())
    jobs = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    settings = LocalSettings.model_construct()
    exporter = jobs.pop(prometheus.EXPORTER_JOB)
    nodes = jobs.pop(prometheus.REDIS_JOB)
    metrics_ports = {int(target.rsplit(":", 1)[1]) for job in jobs.values() for target in job}

    assert nodes == [f"127.0.0.1:{port}" for port in settings.ha_redis_ports]
    assert metrics_ports == {
        settings.gateway_metrics_port,
        settings.saga_metrics_port,
        *map(int, settings.user_metrics_ports),
        *map(int, settings.activity_metrics_ports),
        *map(int, settings.watch_log_metrics_ports),
    }
    # The exporter's default port 9121 is the saga's metrics port there.
    assert exporter == [f"127.0.0.1:{prometheus.LOCAL_EXPORTER_PORT}"]
    assert prometheus.LOCAL_EXPORTER_PORT not in metrics_ports


def test_promtool_rejects_a_configuration_with_a_misspelled_field(tmp_path: Path) -> None:
    config = prometheus.scrape_config({}, ["r:6379"], "x:9121")
    config["scrape_configs"][0]["metric_path"] = "/scrape"
    bad = tmp_path / "bad.yml"
    bad.write_text(prometheus.render(config))

    result = promtool("check", "config", str(bad))

    assert result.returncode != 0
    assert "metric_path" in result.stdout + result.stderr


def test_the_committed_dashboards_are_what_the_generator_writes() -> None:
    folder = MONITORING / "grafana/dashboards"
    committed = {path.name: path.read_text() for path in folder.glob("*.json")}

    assert committed == dashboards.rendered(), (
        "stale: run `python -m deploy.monitoring.dashboards` and commit the result"
    )


def test_every_dashboard_query_names_the_datasource_grafana_is_provisioned_with() -> None:
    provisioned = yaml.safe_load(
        (MONITORING / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    uids = {source["uid"] for source in provisioned["datasources"]}
    used = {
        target["datasource"]["uid"]
        for build in dashboards.DASHBOARDS
        for panel in dashboard_json(build())["panels"]
        for target in panel["targets"]
    }

    assert used == {DATASOURCE_UID} <= uids
    assert json.loads(json.dumps(provisioned))["apiVersion"] == 1


def test_compose_runs_prometheus_and_grafana_on_the_committed_files() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    scraped_hosts = {
        target.rsplit(":", 1)[0]
        for targets_of_job in prometheus.COMPOSE_JOBS.values()
        for target in targets_of_job
    }
    redis_hosts = {target.rsplit(":", 1)[0] for target in prometheus.COMPOSE_REDIS_NODES}
    prometheus_mounts = " ".join(services["prometheus"]["volumes"])
    grafana_mounts = " ".join(services["grafana"]["volumes"])

    assert scraped_hosts | redis_hosts | {"redis-exporter"} <= set(services)
    assert "./deploy/monitoring/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in (
        prometheus_mounts
    )
    assert "./deploy/monitoring/grafana/provisioning:/etc/grafana/provisioning:ro" in (
        grafana_mounts
    )
    assert "./deploy/monitoring/grafana/dashboards:/var/lib/grafana/dashboards:ro" in (
        grafana_mounts
    )


@pytest.mark.parametrize("target", TARGETS)
def test_the_watch_log_pods_are_annotated_for_scraping_on_their_metrics_port(target: str) -> None:
    [deployment] = [
        d for d in of_kind(target, "Deployment") if d["metadata"]["name"] == "fitness-watch-logs"
    ]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    [container] = pod_spec(deployment)["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    settings = WatchLogSettings.model_validate(
        {"metrics_port": environment(target, container)["WATCH_LOGS_METRICS_PORT"]}
    )

    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == ports["metrics"] == settings.metrics_port
    assert annotations["prometheus.io/path"] == "/metrics"
