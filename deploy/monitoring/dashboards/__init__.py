"""The platform's Grafana dashboards, as code: ``python -m deploy.monitoring.dashboards``.

Writes grafana/dashboards/<uid>.json in deploy/monitoring (Grafana's file provisioning
reads that folder); tests/integration/test_monitoring_files.py fails when the committed
files differ from what this writes. Every expression names the Prometheus jobs of
deploy/monitoring/prometheus.py (``redis`` for the nodes behind the exporter,
``watch-logs``, ``gateway``) and the metric names the components export
(docs/operations.md, "Metrics"). WAREHOUSE_DASHBOARDS read the warehouse PostgreSQL
instead (tests/integration/test_motion_dashboard.py runs their SQL).
"""

from __future__ import annotations

import json
from pathlib import Path

from deploy.monitoring.dashboards.health import health_metrics
from deploy.monitoring.dashboards.infrastructure import containers, host
from deploy.monitoring.dashboards.motion import motion_activity
from deploy.monitoring.dashboards.pipeline import WATCH_LOG_SERVICE, watch_log_pipeline
from deploy.monitoring.dashboards.redis import redis_cluster
from deploy.monitoring.grafana import dashboard_json

FOLDER = Path(__file__).parents[1] / "grafana" / "dashboards"
DASHBOARDS = (redis_cluster, watch_log_pipeline)  # on Prometheus
# Also on Prometheus; every query evaluated by tests/integration/test_monitoring_health.py
# (the containers' only parsed there, by promtool: cAdvisor cannot run here).
HEALTH_DASHBOARDS = (health_metrics, host)
CONTAINER_DASHBOARDS = (containers,)
WAREHOUSE_DASHBOARDS = (motion_activity,)

ALL = (*DASHBOARDS, *HEALTH_DASHBOARDS, *CONTAINER_DASHBOARDS, *WAREHOUSE_DASHBOARDS)

__all__ = [
    "ALL",
    "CONTAINER_DASHBOARDS",
    "DASHBOARDS",
    "FOLDER",
    "HEALTH_DASHBOARDS",
    "WAREHOUSE_DASHBOARDS",
    "WATCH_LOG_SERVICE",
    "rendered",
    "write",
]


def rendered() -> dict[str, str]:
    """File name -> JSON text of every dashboard, as committed."""
    return {
        f"{dashboard.uid}.json": json.dumps(dashboard_json(dashboard), indent=2) + "\n"
        for dashboard in (build() for build in ALL)
    }


def write(folder: Path = FOLDER) -> list[Path]:
    """Write every dashboard into ``folder``; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered().items():
        path = folder / name
        path.write_text(text)
        written.append(path)
    return written
