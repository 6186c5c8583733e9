"""The health-metrics and host dashboards on a real Prometheus: Debian's node exporter, the
health-metrics service (``python -m services.health_metrics``, its refresh loop running)
and its simulated-device ingester, each a process of our own on free loopback ports.

The scrape jobs are deploy/monitoring's (``health``, ``health-ingester``, ``node``) on the
test's addresses, scraped every second. Uploads go through the service's gRPC API as the
gateway calls it: points stored, the same batch again (unchanged), a point out of range
(rejected); the ingester stores simulated days of one linked user. Then every expression
of those dashboards must return data. cAdvisor needs Docker, which does not run here: the
containers dashboard's expressions are only parsed, by promtool, like all the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fitness.health.v1 import health_metrics_service_pb2 as pb
from fitness.health.v1 import health_metrics_service_pb2_grpc as pb_grpc

from deploy import embedded_postgres
from deploy.local import free_port
from deploy.monitoring import dashboards, prometheus
from deploy.polling import wait_for
from deploy.process_tree import stop_child
from services.common.trust import GATEWAY, HEALTH
from services.health_metrics.postgres import open_store
from tests.helpers import ServiceCerts, channel_as
from tests.integration.monitoring_stack import (
    STARTUP,
    answers,
    health_by_job,
    promtool,
    query,
    spawn,
    start_prometheus,
    value,
)

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"  # Debian's prometheus-node-exporter
JOBS = ("health", "health-ingester", prometheus.NODE_JOB)
USER = "u-monitoring"
POINTS = 120  # one upload: two minutes of heart rate at 1 Hz


def evaluated() -> list[tuple[str, str, str]]:
    """(dashboard, panel, expr) of every query this stack must answer."""
    return _queries(dashboards.HEALTH_DASHBOARDS)


def parsed() -> list[tuple[str, str, str]]:
    """(dashboard, panel, expr) of every query of every Prometheus dashboard."""
    builds = (
        *dashboards.DASHBOARDS,
        *dashboards.HEALTH_DASHBOARDS,
        *dashboards.CONTAINER_DASHBOARDS,
    )
    return _queries(builds)


def _queries(builds: Any) -> list[tuple[str, str, str]]:
    return [
        (dashboard.title, panel.title, target.expr)
        for dashboard in (build() for build in builds)
        for panel in dashboard.panels
        for target in panel.queries
    ]


def start_health(
    database: str, certs: ServiceCerts, ports: dict[str, int], folder: Path
) -> subprocess.Popen[bytes]:
    """``python -m services.health_metrics``, its metrics on, refreshing every 0.5 s."""
    tls = certs.of("health")
    env = {
        "HEALTH_HOST": "127.0.0.1",
        "HEALTH_PORT": str(ports["health"]),
        "HEALTH_METRICS_PORT": str(ports["health_metrics"]),
        "HEALTH_DATABASE_URL": database,
        "HEALTH_REFRESH_INTERVAL_SECONDS": "0.5",
        "HEALTH_TLS_CA_FILE": str(tls.ca),
        "HEALTH_TLS_CERT_FILE": str(tls.cert),
        "HEALTH_TLS_KEY_FILE": str(tls.key),
    }
    process = spawn("health", [sys.executable, "-m", "services.health_metrics"], env, folder)
    url = f"http://127.0.0.1:{ports['health_metrics']}/metrics"
    wait_for(lambda: answers(url, process), STARTUP, "health metrics")
    return process


def start_ingester(database: str, port: int, folder: Path) -> subprocess.Popen[bytes]:
    """The ingester, a simulated day a second from three days ago."""
    first_day = (datetime.now(UTC) - timedelta(days=3)).date()
    env = {
        "HEALTH_INGESTER_DATABASE_URL": database,
        "HEALTH_INGESTER_METRICS_PORT": str(port),
        "HEALTH_INGESTER_INTERVAL_SECONDS": "1",
        "HEALTH_INGESTER_FIRST_DAY": first_day.isoformat(),
    }
    argv = [sys.executable, "-m", "services.health_metrics.ingester"]
    process = spawn("health-ingester", argv, env, folder)
    wait_for(lambda: answers(f"http://127.0.0.1:{port}/metrics", process), STARTUP, "ingester")
    return process


def start_node_exporter(port: int, folder: Path) -> subprocess.Popen[bytes]:
    """Debian's node exporter on loopback."""
    argv = [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}"]
    process = spawn(f"node-exporter-{port}", argv, {}, folder)
    wait_for(lambda: answers(f"http://127.0.0.1:{port}/metrics", process), STARTUP, "node")
    return process


async def upload(certs: ServiceCerts, address: str) -> list[pb.WritePointsResponse]:
    """A batch stored, the same batch again, and a batch with one point out of range."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    times = [start + timedelta(seconds=s) for s in range(POINTS)]
    good = [pb.MetricPoint(time=t, value=70.0) for t in times]
    bad = [pb.MetricPoint(time=start - timedelta(minutes=5), value=999.0)]
    channel = channel_as(certs, GATEWAY, HEALTH, address)
    try:
        stub = pb_grpc.HealthMetricsServiceStub(channel)
        return [
            await stub.WritePoints(
                pb.WritePointsRequest(
                    request_id=str(uuid.uuid4()), user_id=USER, metric="heart_rate", points=batch
                ),
                timeout=10,
            )
            for batch in (good, good, bad)
        ]
    finally:
        await channel.close()


def stack_config(ports: dict[str, int]) -> dict[str, Any]:
    """deploy/monitoring's jobs on the test's ports, every second, without Redis."""
    config = prometheus.scrape_config(
        {
            "health": [f"127.0.0.1:{ports['health_metrics']}"],
            "health-ingester": [f"127.0.0.1:{ports['ingester_metrics']}"],
            prometheus.NODE_JOB: [f"127.0.0.1:{ports['node']}"],
        },
        [],
        "127.0.0.1:1",
        interval="1s",
    )
    redis = {prometheus.REDIS_JOB, prometheus.EXPORTER_JOB}
    config["scrape_configs"] = [j for j in config["scrape_configs"] if j["job_name"] not in redis]
    return config


@pytest.fixture(scope="module")
def stack(
    postgres_server: str, service_certs: ServiceCerts, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Node exporter, health service, ingester and Prometheus running; uploads sent."""
    folder = tmp_path_factory.mktemp("monitoring-health")
    database = embedded_postgres.create_database(postgres_server, f"hm_{uuid.uuid4().hex[:12]}")
    store = open_store(database, pool_size=1)  # its tables, and one linked simulated device
    store.link_simulator(USER)
    store.close()
    ports = {name: free_port() for name in ("health", "health_metrics", "ingester_metrics")}
    ports |= {name: free_port() for name in ("node", "prometheus")}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(start_node_exporter(ports["node"], folder))
        processes.append(start_health(database, service_certs, ports, folder))
        processes.append(start_ingester(database, ports["ingester_metrics"], folder))
        url, process = start_prometheus(stack_config(ports), ports["prometheus"], folder)
        processes.append(process)
        replies = asyncio.run(upload(service_certs, f"127.0.0.1:{ports['health']}"))
        assert [len(reply.rejected) for reply in replies] == [0, 0, 1]
        yield url
    finally:
        for started in reversed(processes):
            stop_child(started)


def test_every_target_of_the_health_and_host_stack_is_scraped_and_up(stack: str) -> None:
    every_job_up = {job: {"up"} for job in JOBS}

    wait_for(lambda: health_by_job(stack) == every_job_up, STARTUP, "targets up")

    assert health_by_job(stack) == every_job_up


def test_every_query_of_the_health_and_host_dashboards_returns_data(stack: str) -> None:
    expressions = evaluated()

    def empty() -> list[str]:
        return [f"{d} / {p}: {e}" for d, p, e in expressions if not query(stack, e)]

    # rate() needs two scrapes after a counter's first increase; the ingester a round.
    with contextlib.suppress(TimeoutError):
        wait_for(lambda: not empty(), STARTUP, "data for every dashboard query", every=1)

    assert empty() == []
    assert len(expressions) > 30


def test_the_health_panels_count_the_uploads_and_the_ingested_days(stack: str) -> None:
    def outcomes() -> dict[str, float]:
        return {
            outcome: value(stack, f'sum(health_points_total{{job="health", outcome="{outcome}"}})')
            for outcome in ("changed", "unchanged", "rejected")
        }

    wait_for(lambda: outcomes()["rejected"] == 1, STARTUP, "the uploads scraped")

    assert outcomes() == {"changed": POINTS, "unchanged": POINTS, "rejected": 1}
    wait_for(
        lambda: value(stack, 'sum(health_ingester_days_total{job="health-ingester"})') >= 1,
        STARTUP,
        "a simulated day stored",
    )
    assert value(stack, 'max(health_ingester_users{job="health-ingester"})') == 1


def rules_file(folder: Path, exprs: list[str]) -> Path:
    """A Prometheus rules file recording each expression (what promtool parses)."""
    rules = [{"record": f"dashboard:query_{i}:value", "expr": e} for i, e in enumerate(exprs)]
    path = folder / f"rules-{uuid.uuid4().hex[:8]}.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    return path


def test_promtool_parses_every_expression_of_every_prometheus_dashboard(tmp_path: Path) -> None:
    exprs = [expr for _, _, expr in parsed()]

    checked = promtool("check", "rules", str(rules_file(tmp_path, exprs)))

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in checked.stdout


def test_promtool_refuses_an_expression_that_does_not_parse(tmp_path: Path) -> None:
    broken = 'sum by (name) (rate(container_cpu_usage_seconds_total{job="cadvisor"}[1m])'

    checked = promtool("check", "rules", str(rules_file(tmp_path, [broken])))

    assert checked.returncode != 0
