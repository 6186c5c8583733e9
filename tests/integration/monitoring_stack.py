"""The monitoring test's processes (tests/integration/test_monitoring.py): Debian's Prometheus
and redis-exporter, the watch-log service and a gateway, each started on free loopback
ports as a process of our own and stopped by PID; Prometheus' HTTP API; the traffic that
gives every dashboard panel something to show.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from deploy import redis_cluster
from deploy.local import free_port
from deploy.monitoring import dashboards, prometheus
from deploy.polling import wait_for
from tests.helpers import KeyFiles, ServiceCerts

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


def value(url: str, expr: str) -> float:
    """The one sample an instant query returns, as a number (nan when there is none)."""
    result = query(url, expr)
    return float(result[0]["value"][1]) if len(result) == 1 else float("nan")
