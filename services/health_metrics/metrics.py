"""The health-metrics service's Prometheus metrics: points written per metric, and the
refresh loop's lag, queue of dirty minutes and duration."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.registry import REGISTRY

from services.health_metrics.domain import WriteResult
from services.health_metrics.repository import RefreshReport

# A refresh of a few minutes takes milliseconds; a backlog of 20,000 minutes, seconds.
REFRESH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HealthMetrics:
    """Counters, gauges and histograms the service and its refresh loop update."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.points = Counter(
            "health_points",
            "Points of WritePoints by metric and outcome (changed, unchanged, rejected).",
            ["metric", "outcome"],
            registry=registry,
        )
        self.refresh_seconds = Histogram(
            "health_refresh_seconds",
            "Time one rollup refresh transaction took.",
            buckets=REFRESH_BUCKETS,
            registry=registry,
        )
        self.refreshed = Counter(
            "health_refreshed_buckets",
            "Buckets recomputed by the refresh loop, by resolution.",
            ["resolution"],
            registry=registry,
        )
        self.refresh_failures = Counter(
            "health_refresh_failures",
            "Refreshes that failed (the database did not answer, or a bug).",
            registry=registry,
        )
        self.dirty_minutes = Gauge(
            "health_dirty_minutes",
            "Minutes waiting for a refresh (the queue of dirty buckets), as last seen.",
            registry=registry,
        )
        self.refresh_lag = Gauge(
            "health_refresh_lag_seconds",
            "How long the longest-waiting dirty minute has waited, as last seen.",
            registry=registry,
        )

    def written(self, metric: str, result: WriteResult) -> None:
        """Count one batch's points (``accepted`` are the inserted or corrected ones)."""
        self.points.labels(metric, "changed").inc(result.accepted)
        self.points.labels(metric, "unchanged").inc(result.unchanged)
        self.points.labels(metric, "rejected").inc(len(result.rejected))

    def refreshed_once(self, report: RefreshReport, seconds: float) -> None:
        """Record one refresh: its duration, what it recomputed, what is left."""
        self.refresh_seconds.observe(seconds)
        self.refreshed.labels("1m").inc(report.minutes)
        self.refreshed.labels("1h").inc(report.hours)
        self.refreshed.labels("1d").inc(report.days)
        self.dirty_minutes.set(report.remaining)
