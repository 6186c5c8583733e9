"""The health-metrics, host and containers dashboards: which metrics and jobs they read.

The names of the health dashboard are checked against the metrics the service and its
ingester register (their own registries, collected here). node-exporter's are evaluated on
a real node exporter by tests/integration/test_monitoring_health.py; cAdvisor cannot run
here (no Docker), so its names are checked against the list cAdvisor documents
(docs/storage/prometheus.md of google/cadvisor, v0.47) and its expressions are parsed by
promtool in that integration test.
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry

from deploy.monitoring.dashboards.health import health_metrics
from deploy.monitoring.dashboards.infrastructure import containers, host
from deploy.monitoring.grafana import Dashboard
from services.health_metrics.ingester.metrics import IngesterMetrics
from services.health_metrics.metrics import HealthMetrics

NAME = re.compile(r"\b((?:health|node|container|machine)_[a-zA-Z0-9_]+)\b")
# cAdvisor's container metrics, as its documentation lists them (a subset: those a
# dashboard of ours could read, with the default -disable_metrics).
CADVISOR_METRICS = {
    "container_cpu_usage_seconds_total",
    "container_cpu_system_seconds_total",
    "container_cpu_user_seconds_total",
    "container_fs_reads_bytes_total",
    "container_fs_writes_bytes_total",
    "container_fs_usage_bytes",
    "container_last_seen",
    "container_memory_usage_bytes",
    "container_memory_working_set_bytes",
    "container_network_receive_bytes_total",
    "container_network_transmit_bytes_total",
    "container_oom_events_total",
    "container_start_time_seconds",
    "container_spec_memory_limit_bytes",
    "machine_memory_bytes",
}


def expressions(dashboard: Dashboard) -> list[str]:
    """Every PromQL expression of the dashboard."""
    return [query.expr for panel in dashboard.panels for query in panel.queries]


def names(dashboard: Dashboard) -> set[str]:
    """The metric names its expressions read."""
    return {name for expr in expressions(dashboard) for name in NAME.findall(expr)}


def registered(*registries: CollectorRegistry) -> set[str]:
    """Every sample name the registries expose (counters with _total, histograms' series)."""
    return {
        sample.name
        for registry in registries
        for family in registry.collect()
        for sample in family.samples
    }


def exported_health_names() -> set[str]:
    """What the health service and its ingester export, label values set once."""
    service, ingester = CollectorRegistry(), CollectorRegistry()
    metrics = HealthMetrics(service)
    metrics.points.labels("heart_rate", "changed").inc()
    metrics.refreshed.labels("1m").inc()
    IngesterMetrics(ingester).points.labels("heart_rate", "changed").inc()
    return registered(service, ingester)


def test_the_health_dashboard_reads_only_names_the_service_and_the_ingester_export() -> None:
    used = names(health_metrics())

    assert used <= exported_health_names()
    assert {
        "health_points_total",
        "health_refresh_lag_seconds",
        "health_dirty_minutes",
        "health_refresh_seconds_bucket",
        "health_ingester_behind_days",
    } <= used


def test_the_health_dashboard_shows_ingest_rate_refresh_lag_queue_and_duration() -> None:
    titles = {panel.title for panel in health_metrics().panels}

    assert {"Points stored/s", "Refresh lag", "Dirty minutes", "Refresh duration"} <= titles


def test_every_health_query_names_the_services_or_the_ingesters_job() -> None:
    for expr in expressions(health_metrics()):
        jobs = re.findall(r'job="([a-z-]+)"', expr)
        assert jobs in (["health"], ["health-ingester"]), expr


def test_every_host_query_reads_node_exporter_names_on_the_node_job() -> None:
    for expr in expressions(host()):
        assert all(name.startswith("node_") for name in NAME.findall(expr)), expr
        assert set(re.findall(r'job="([a-z-]+)"', expr)) == {"node"}, expr


def test_the_containers_dashboard_reads_only_documented_cadvisor_names_of_named_containers() -> (
    None
):
    used = names(containers())

    assert used <= CADVISOR_METRICS
    for expr in expressions(containers()):
        assert 'job="cadvisor"' in expr, expr
        if "container_" in expr:
            # The unnamed series are the host's raw cgroups, not containers.
            assert 'name!=""' in expr, expr
