"""Grafana dashboard JSON, built from small frozen descriptions (no Grafana library needed).

The model is Grafana's dashboard JSON (``schemaVersion`` SCHEMA_VERSION, as Grafana 10 and
11 export it): panels laid out left to right on the 24-column grid, each query a PromQL
``expr`` on the one provisioned Prometheus datasource (DATASOURCE_UID, defined in
grafana/provisioning/datasources/prometheus.yml). Expressions carry fixed ``[1m]`` windows
rather than Grafana's ``$__rate_interval``, so the monitoring test can evaluate each one,
verbatim, on a real Prometheus.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 39
DATASOURCE_UID = "fitness-prometheus"
DATASOURCE = {"type": "prometheus", "uid": DATASOURCE_UID}
GRID_COLUMNS = 24

Json = dict[str, Any]


@dataclass(frozen=True)
class Query:
    """One PromQL query of a panel and the legend of its series."""

    expr: str
    legend: str = "__auto"


@dataclass(frozen=True)
class Panel:
    """A time series or a stat panel; width in grid columns, height in grid rows."""

    title: str
    queries: Sequence[Query]
    unit: str = "short"
    kind: str = "timeseries"
    width: int = 12
    height: int = 8
    description: str = ""
    # Stat panels: value -> text (e.g. the breaker's 0/1/2), shown instead of the number.
    mappings: Sequence[tuple[int, str, str]] = field(default_factory=tuple)


@dataclass(frozen=True)
class Dashboard:
    """A dashboard: its stable uid (the URL), title, tags and panels in reading order."""

    uid: str
    title: str
    description: str
    tags: Sequence[str]
    panels: Sequence[Panel]


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
        "templating": {"list": []},
        "annotations": {"list": []},
        "links": [],
        "panels": [
            panel_json(panel, index + 1, position)
            for index, (panel, position) in enumerate(layout(dashboard.panels))
        ],
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


def panel_json(panel: Panel, panel_id: int, grid: Json) -> Json:
    """One panel's JSON: its queries as Prometheus targets with refIds A, B, ..."""
    targets = [
        {
            "refId": chr(ord("A") + index),
            "datasource": dict(DATASOURCE),
            "expr": query.expr,
            "legendFormat": query.legend,
            "range": True,
        }
        for index, query in enumerate(panel.queries)
    ]
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": dict(DATASOURCE),
        "gridPos": grid,
        "targets": targets,
        "fieldConfig": {"defaults": _defaults(panel), "overrides": []},
        "options": _options(panel),
    }


def _defaults(panel: Panel) -> Json:
    defaults: Json = {"unit": panel.unit}
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
    if panel.kind == "stat":
        return {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "none",
            "textMode": "auto",
        }
    return {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
