"""The ingester's Prometheus metrics: days and points stored, failures, how far behind."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.registry import REGISTRY

from services.health_metrics.repository import Written

# A round writes ~90,000 points a linked user: a second or more each.
ROUND_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 60.0, 120.0)


class IngesterMetrics:
    """Counters and gauges one ingester process updates."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.days = Counter(
            "health_ingester_days", "Simulated user-days stored and marked.", registry=registry
        )
        self.points = Counter(
            "health_ingester_points",
            "Simulated points written, by metric and outcome (changed, unchanged).",
            ["metric", "outcome"],
            registry=registry,
        )
        self.failures = Counter(
            "health_ingester_failures",
            "Rounds cut short because the database did not answer.",
            registry=registry,
        )
        self.round_seconds = Histogram(
            "health_ingester_round_seconds",
            "Time one round (a day for every linked user) took.",
            buckets=ROUND_BUCKETS,
            registry=registry,
        )
        self.behind_days = Gauge(
            "health_ingester_behind_days",
            "Complete days not simulated yet for the furthest-behind linked user.",
            registry=registry,
        )
        self.users = Gauge(
            "health_ingester_users", "Users with a linked simulated device.", registry=registry
        )

    def written(self, metric: str, written: Written) -> None:
        """Count one batch."""
        self.points.labels(metric, "changed").inc(written.changed)
        self.points.labels(metric, "unchanged").inc(written.unchanged)
