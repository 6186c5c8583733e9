"""The committed monitoring files: generated ones are what their generators write, promtool
accepts the Prometheus configurations, Grafana's provisioning names the dashboards'
datasource, compose mounts them, and the watch-log pods are annotated for scraping.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from deploy.local.topology import LocalSettings
from deploy.monitoring import dashboards, prometheus
from deploy.monitoring.grafana import DATASOURCE_UID, dashboard_json
from services.watch_logs.config import WatchLogSettings
from tests.integration.kubernetes_render import TARGETS, environment, of_kind, pod_spec
from tests.integration.monitoring_stack import promtool

ROOT = Path(__file__).parents[2]
MONITORING = ROOT / "deploy/monitoring"


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
        *map(int, settings.motion_metrics_ports),
        settings.motion_processor_metrics_port,
        settings.motion_sink_metrics_port,
        *map(int, settings.health_metrics_ports),
        settings.health_ingester_metrics_port,
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


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("fitness-motion", "MOTION_METRICS_PORT"),
        ("fitness-motion-processor", "MOTION_PROCESSOR_METRICS_PORT"),
        ("fitness-motion-sink", "MOTION_SINK_METRICS_PORT"),
    ],
)
def test_the_motion_pods_are_annotated_for_scraping_on_the_port_they_serve_metrics_on(
    target: str, name: str, variable: str
) -> None:
    [deployment] = [d for d in of_kind(target, "Deployment") if d["metadata"]["name"] == name]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    [container] = pod_spec(deployment)["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}

    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == ports["metrics"]
    assert int(environment(target, container)[variable]) == ports["metrics"]
