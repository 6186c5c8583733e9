"""Grafana dashboard JSON, built from small frozen descriptions (no Grafana library needed).

The model is Grafana's dashboard JSON (``schemaVersion`` SCHEMA_VERSION, as Grafana 10 and
11 export it): panels laid out left to right on the 24-column grid, each query a PromQL
``expr`` on the one provisioned Prometheus datasource (DATASOURCE_UID, defined in
grafana/provisioning/datasources/prometheus.yml). Expressions carry fixed ``[1m]`` windows
rather than Grafana's ``$__rate_interval``, so the monitoring test can evaluate each one,
verbatim, on a real Prometheus. A dashboard on the warehouse PostgreSQL (WAREHOUSE, defined
in grafana/provisioning/datasources/warehouse.yml) carries SQL in the same ``Query.expr``,
sent as the target's ``rawSql``, and its query variables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 39
DATASOURCE_UID = "fitness-prometheus"
DATASOURCE = {"type": "prometheus", "uid": DATASOURCE_UID}
WAREHOUSE_UID = "fitness-warehouse"
# The PostgreSQL plugin's id in Grafana 10.4 (compose's) and later; older ones: ``postgres``.
WAREHOUSE = {"type": "grafana-postgresql-datasource", "uid": WAREHOUSE_UID}
SOURCES = {"prometheus": DATASOURCE, "warehouse": WAREHOUSE}
GRID_COLUMNS = 24

Json = dict[str, Any]


@dataclass(frozen=True)
class Query:
    """One query of a panel: PromQL and its legend, or SQL and its result's format."""

    expr: str
    legend: str = "__auto"
    format: str = "table"  # SQL only: "table" or "time_series" (a "time" column)


@dataclass(frozen=True)
class Panel:
    """A panel of ``kind`` (timeseries, stat, gauge, piechart, table, state-timeline); width in
    grid columns, height in grid rows."""

    title: str
    queries: Sequence[Query]
    unit: str = "short"
    kind: str = "timeseries"
    width: int = 12
    height: int = 8
    description: str = ""
    # Stat panels: value -> text (e.g. the breaker's 0/1/2), shown instead of the number.
    mappings: Sequence[tuple[int | str, str, str]] = field(default_factory=tuple)
    limits: tuple[float, float] | None = None  # the axis' or gauge's (min, max)
    fields: str = ""  # stat, gauge, pie: the fields reduced ("" numeric, "/^name$/" a text)


@dataclass(frozen=True)
class Variable:
    """A query variable of a warehouse dashboard: its values are the SQL's first column."""

    name: str
    label: str
    sql: str


@dataclass(frozen=True)
class Dashboard:
    """A dashboard: its stable uid (the URL), title, tags and panels in reading order."""

    uid: str
    title: str
    description: str
    tags: Sequence[str]
    panels: Sequence[Panel]
    source: str = "prometheus"  # or "warehouse": the datasource of every query (SOURCES)
    variables: Sequence[Variable] = ()


def dashboard_json(dashboard: Dashboard) -> Json:
    """The dashboard as Grafana's JSON model, panels placed row by row on the grid."""
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": list(dashboard.tags),
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": False,
        "graphTooltip": 1,  # shared crosshair: one moment across every panel
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "utc",
        "templating": {"list": [variable_json(v) for v in dashboard.variables]},
        "annotations": {"list": []},
        "links": [],
        "panels": [
            panel_json(panel, index + 1, position, SOURCES[dashboard.source])
            for index, (panel, position) in enumerate(layout(dashboard.panels))
        ],
    }


def variable_json(variable: Variable) -> Json:
    """A single-valued query variable on the warehouse, refreshed when the dashboard loads."""
    return {
        "type": "query",
        "name": variable.name,
        "label": variable.label,
        "datasource": dict(WAREHOUSE),
        "query": variable.sql,
        "refresh": 1,
        "sort": 1,
        "multi": False,
        "includeAll": False,
    }


def layout(panels: Sequence[Panel]) -> list[tuple[Panel, Json]]:
    """Each panel with its gridPos: left to right, a new row when the next one does not fit."""
    placed = []
    x = y = row_height = 0
    for panel in panels:
        if x + panel.width > GRID_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        placed.append((panel, {"h": panel.height, "w": panel.width, "x": x, "y": y}))
        x += panel.width
        row_height = max(row_height, panel.height)
    return placed


def panel_json(panel: Panel, panel_id: int, grid: Json, datasource: Json = DATASOURCE) -> Json:
    """One panel's JSON: its queries as targets of ``datasource`` with refIds A, B, ..."""
    targets = [
        {
            "refId": chr(ord("A") + index),
            "datasource": dict(datasource),
            **_query(query, datasource),
        }
        for index, query in enumerate(panel.queries)
    ]
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": dict(datasource),
        "gridPos": grid,
        "targets": targets,
        "fieldConfig": {"defaults": _defaults(panel), "overrides": []},
        "options": _options(panel),
    }


def _query(query: Query, datasource: Json) -> Json:
    if datasource["type"] == "prometheus":
        return {"expr": query.expr, "legendFormat": query.legend, "range": True}
    return {"editorMode": "code", "format": query.format, "rawQuery": True, "rawSql": query.expr}


def _defaults(panel: Panel) -> Json:
    defaults: Json = {"unit": panel.unit}
    if panel.limits:
        defaults["min"], defaults["max"] = panel.limits
    if panel.mappings:
        defaults["mappings"] = [
            {
                "type": "value",
                "options": {
                    str(value): {"text": text, "color": color, "index": index}
                    for index, (value, text, color) in enumerate(panel.mappings)
                },
            }
        ]
    if panel.kind == "timeseries":
        defaults["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10}
    return defaults


def _options(panel: Panel) -> Json:
    reduce = {"calcs": ["lastNotNull"], "fields": panel.fields, "values": False}
    legend = {"displayMode": "list", "placement": "bottom", "showLegend": True}
    if panel.kind == "stat":
        return {
            "reduceOptions": reduce,
            "colorMode": "value",
            "graphMode": "none",
            "textMode": "auto",
        }
    if panel.kind == "gauge":
        return {"reduceOptions": reduce, "showThresholdMarkers": True}
    if panel.kind == "piechart":
        # One slice per reduced field: a one-row result, a column per slice.
        legend |= {"values": ["value", "percent"]}
        return {"reduceOptions": reduce, "pieType": "pie", "legend": legend}
    if panel.kind == "table":
        return {"showHeader": True, "cellHeight": "sm"}
    if panel.kind == "state-timeline":
        # Consecutive rows of one value drawn as one segment, as the API's timeline merges.
        return {"mergeValues": True, "showValue": "auto", "rowHeight": 0.9, "legend": legend}
    return {"legend": legend, "tooltip": {"mode": "multi", "sort": "desc"}}
