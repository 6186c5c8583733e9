"""The generated Grafana dashboards and scrape configuration, checked structurally in memory.

No Grafana runs here, and no JSON schema of Grafana's dashboards is published on PyPI (its
schemas are CUE kinds in Grafana's AGPL repository). Grafana's foundation SDK (Apache-2.0)
carries models generated from those schemas: each dashboard is round-tripped through them,
which drops any field the schema does not know (panel options too, by panel type, once its
plugins are registered). The other tests check what Grafana needs
to load a provisioned dashboard: its schema version, uid, unique panel ids, panels on the
24-column grid without overlap, and queries that each carry an expression, a refId and the
provisioned datasource. tests/integration/test_monitoring.py evaluates every expression on
a real Prometheus.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard as GrafanaDashboard

from deploy.monitoring import dashboards, prometheus
from deploy.monitoring.grafana import (
    DATASOURCE_UID,
    GRID_COLUMNS,
    SCHEMA_VERSION,
    WAREHOUSE,
    Panel,
    Query,
    dashboard_json,
    layout,
)

ON_PROMETHEUS = (
    *dashboards.DASHBOARDS,
    *dashboards.HEALTH_DASHBOARDS,
    *dashboards.CONTAINER_DASHBOARDS,
)
PROMETHEUS = [build.__name__ for build in ON_PROMETHEUS]
BUILT = {build.__name__: dashboard_json(build()) for build in dashboards.ALL}
METRIC = re.compile(r"\b((?:redis|watch_logs|grpc_server|gateway)_[a-z0-9_]+)\b")
# What the watch-log service, the gRPC runtime and the gateway export (docs/operations.md).
PIPELINE_METRICS = {
    "watch_logs_entries_total",
    "watch_logs_batch_seconds_bucket",
    "watch_logs_stream_length",
    "watch_logs_consumer_lag",
    "watch_logs_consumer_pending",
    "watch_logs_dead_letters",
    "watch_logs_consumer_entries_total",
    "watch_logs_faults_total",
    "grpc_server_handled_total",
    "gateway_http_requests_total",
    "gateway_upstream_breaker_state",
}


def targets(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every query of every panel."""
    return [target for panel in dashboard["panels"] for target in panel["targets"]]


def metrics(dashboard: dict[str, Any]) -> set[str]:
    """The metric names the dashboard's expressions read."""
    return {name for target in targets(dashboard) for name in METRIC.findall(target["expr"])}


def cells(grid: dict[str, int]) -> set[tuple[int, int]]:
    """The grid cells a gridPos covers."""
    return {
        (x, y)
        for x in range(grid["x"], grid["x"] + grid["w"])
        for y in range(grid["y"], grid["y"] + grid["h"])
    }


@pytest.mark.parametrize("name", BUILT)
def test_every_dashboard_has_the_schema_version_a_stable_uid_and_a_title(name: str) -> None:
    dashboard = BUILT[name]

    assert dashboard["schemaVersion"] == SCHEMA_VERSION
    assert re.fullmatch(r"[a-z0-9-]{1,40}", dashboard["uid"])
    assert dashboard["title"]
    assert dashboard["panels"]


def test_dashboard_uids_and_titles_are_unique() -> None:
    uids = [d["uid"] for d in BUILT.values()]
    titles = [d["title"] for d in BUILT.values()]

    assert len(set(uids)) == len(uids) == len(set(titles))


@pytest.mark.parametrize("name", BUILT)
def test_panel_ids_are_unique_within_a_dashboard(name: str) -> None:
    ids = [panel["id"] for panel in BUILT[name]["panels"]]

    assert len(set(ids)) == len(ids)
    assert all(isinstance(i, int) and i > 0 for i in ids)


@pytest.mark.parametrize("name", BUILT)
def test_every_panel_lies_on_the_grid_and_none_overlaps_another(name: str) -> None:
    covered: set[tuple[int, int]] = set()
    for panel in BUILT[name]["panels"]:
        grid = panel["gridPos"]
        assert set(grid) == {"h", "w", "x", "y"}, panel["title"]
        assert min(grid["x"], grid["y"]) >= 0, panel["title"]
        assert min(grid["w"], grid["h"]) > 0, panel["title"]
        assert grid["x"] + grid["w"] <= GRID_COLUMNS, panel["title"]
        assert not covered & cells(grid), f"{panel['title']} overlaps another panel"
        covered |= cells(grid)


@pytest.mark.parametrize("name", PROMETHEUS)
def test_every_query_has_an_expression_a_ref_id_and_the_provisioned_datasource(
    name: str,
) -> None:
    for panel in BUILT[name]["panels"]:
        assert panel["type"] in {"timeseries", "stat"}
        assert panel["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert panel["targets"], panel["title"]
        assert len(set(ref_ids)) == len(ref_ids), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target["datasource"] == panel["datasource"]
            # Grafana's own macros would not evaluate on Prometheus as the test runs them.
            assert "$" not in target["expr"], panel["title"]


@pytest.mark.parametrize("name", BUILT)
def test_the_json_is_plain_and_round_trips(name: str) -> None:
    dashboard = BUILT[name]

    assert json.loads(json.dumps(dashboard)) == dashboard


def through_grafanas_models(dashboard: dict[str, Any]) -> Any:
    """The dashboard parsed by Grafana's generated models and written back as plain JSON."""
    register_default_plugins()  # each panel type's options model, e.g. the pie's
    model = GrafanaDashboard.from_json(json.loads(json.dumps(dashboard)))
    return json.loads(json.dumps(model.to_json(), default=lambda value: value.to_json()))


def dropped(ours: Any, back: Any, path: str = "") -> list[str]:
    """The paths of what ``ours`` has and ``back`` lost or changed."""
    if isinstance(ours, dict) and isinstance(back, dict):
        return [
            lost
            for key, value in ours.items()
            for lost in (
                dropped(value, back[key], f"{path}/{key}") if key in back else [f"{path}/{key}"]
            )
        ]
    if isinstance(ours, list) and isinstance(back, list) and len(ours) == len(back):
        return [
            lost
            for i, pair in enumerate(zip(ours, back, strict=True))
            for lost in dropped(*pair, f"{path}[{i}]")
        ]
    return [] if ours == back else [path]


@pytest.mark.parametrize("name", BUILT)
def test_every_field_of_a_dashboard_survives_grafanas_own_models(name: str) -> None:
    assert dropped(BUILT[name], through_grafanas_models(BUILT[name])) == []


def test_grafanas_models_drop_a_misspelled_dashboard_or_panel_field() -> None:
    misspelled = json.loads(json.dumps(BUILT["redis_cluster"]))
    misspelled["schemaVersoin"] = SCHEMA_VERSION
    misspelled["panels"][0]["gridPoss"] = misspelled["panels"][0].pop("gridPos")

    lost = dropped(misspelled, through_grafanas_models(misspelled))

    assert sorted(lost) == ["/panels[0]/gridPoss", "/schemaVersoin"]


def test_grafanas_models_drop_a_misspelled_panel_option() -> None:
    misspelled = json.loads(json.dumps(BUILT["motion_activity"]))
    misspelled["panels"][2]["options"]["pieTyp"] = "pie"

    assert dropped(misspelled, through_grafanas_models(misspelled)) == ["/panels[2]/options/pieTyp"]


def test_the_motion_dashboard_has_the_seeds_panels_on_the_warehouse_for_one_device() -> None:
    dashboard = BUILT["motion_activity"]
    [variable] = dashboard["templating"]["list"]
    kinds = {panel["type"] for panel in dashboard["panels"]}

    assert kinds == {"stat", "gauge", "timeseries", "state-timeline", "piechart", "table"}
    assert (variable["name"], variable["datasource"], variable["multi"]) == (
        "device",
        WAREHOUSE,
        False,
    )
    for panel in dashboard["panels"]:
        [target] = panel["targets"]
        assert panel["datasource"] == target["datasource"] == WAREHOUSE, panel["title"]
        assert target["rawQuery"] is True
        assert target["format"] in {"table", "time_series"}
        # A single-valued variable is substituted unquoted: the SQL quotes it.
        assert "device_id = '$device'" in target["rawSql"], panel["title"]
        assert "$__timeFrom()" in target["rawSql"] or "$__timeTo()" in target["rawSql"]


def test_the_redis_dashboard_shows_memory_load_keys_replication_slots_and_clients() -> None:
    used = metrics(BUILT["redis_cluster"])

    assert {
        "redis_memory_used_bytes",
        "redis_commands_processed_total",
        "redis_db_keys",
        "redis_connected_slaves",
        "redis_master_link_up",
        "redis_cluster_slots_ok",
        "redis_cluster_slots_fail",
        "redis_cluster_state",
        "redis_connected_clients",
    } <= used
    assert all('job="redis"' in target["expr"] for target in targets(BUILT["redis_cluster"])), (
        "every Redis query is on the nodes' job, not the exporter's own"
    )


def test_the_pipeline_dashboard_reads_every_watch_log_metric_and_only_exported_names() -> None:
    used = metrics(BUILT["watch_log_pipeline"])

    assert used == PIPELINE_METRICS


def test_the_breaker_panels_read_the_watch_log_pool_by_its_service_name() -> None:
    breaker = [
        target["expr"]
        for target in targets(BUILT["watch_log_pipeline"])
        if "gateway_upstream_breaker_state" in target["expr"]
    ]

    assert breaker
    assert all('service="fitness.watch_logs.v1.WatchLogService"' in e for e in breaker)
    # The scraped `instance` label (the upstream address) is renamed by Prometheus.
    assert any("exported_instance" in e for e in breaker)


def test_a_panel_that_does_not_fit_the_row_starts_the_next_one() -> None:
    panels = [Panel("a", [Query("up")], width=16, height=4), Panel("b", [Query("up")], width=12)]
    panels.append(Panel("c", [Query("up")], width=12, height=3))

    positions = [grid for _, grid in layout(panels)]

    assert positions == [
        {"h": 4, "w": 16, "x": 0, "y": 0},
        {"h": 8, "w": 12, "x": 0, "y": 4},
        {"h": 3, "w": 12, "x": 12, "y": 4},
    ]


def test_the_scrape_config_sends_every_redis_node_through_the_one_exporter() -> None:
    config = prometheus.scrape_config({"gateway": ["g:1"]}, ["r1:6379", "r2:6379"], "x:9121", "1s")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    redis = jobs[prometheus.REDIS_JOB]

    assert redis["metrics_path"] == "/scrape"
    assert redis["static_configs"] == [{"targets": ["r1:6379", "r2:6379"]}]
    assert redis["relabel_configs"][-1] == {"target_label": "__address__", "replacement": "x:9121"}
    assert jobs[prometheus.EXPORTER_JOB]["static_configs"] == [{"targets": ["x:9121"]}]
    assert config["global"]["scrape_timeout"] == "1s"


def test_the_compose_config_scrapes_every_component_and_all_six_redis_nodes() -> None:
    jobs = set(prometheus.COMPOSE_JOBS)

    assert jobs == {
        "gateway",
        "user",
        "activity",
        "saga",
        "watch-logs",
        "motion",
        "motion-processor",
        "motion-sink",
        "health",
        "health-ingester",
        prometheus.NODE_JOB,
        prometheus.CADVISOR_JOB,
    }
    assert len(prometheus.COMPOSE_JOBS["user"]) == len(prometheus.COMPOSE_JOBS["activity"]) == 2
    assert len(prometheus.COMPOSE_REDIS_NODES) == 6
