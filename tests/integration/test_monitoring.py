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
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy import redis_cluster
from deploy.local import free_port
from deploy.monitoring import dashboards, prometheus
from deploy.polling import wait_for
from deploy.process_tree import stop_child
from services.user.tokens import TokenIssuer
from tests.helpers import KeyFiles, ServiceCerts
from tests.integration.monitoring_stack import (
    STARTUP,
    Stack,
    drive_traffic,
    health_by_job,
    query,
    start_exporter,
    start_gateway,
    start_prometheus,
    start_watch_logs,
    targets,
    value,
)


def every_expression() -> list[tuple[str, str, str]]:
    """(dashboard, panel, expr) of every query of every generated dashboard."""
    return [
        (dashboard.title, panel.title, target.expr)
        for dashboard in (build() for build in dashboards.DASHBOARDS)
        for panel in dashboard.panels
        for target in panel.queries
    ]


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
            stop_child(process)


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
        stop_child(server)
        stop_child(exporter)
    print(f"exporter SIGKILLed: its 7 targets down after {seconds:.1f} s (scrape every 1 s)")

    assert all(errors)
    assert {float(s["value"][1]) for s in redis_up} == {0.0}
    assert len(redis_up) == len(redis_cluster_server.nodes)
