"""The health-metrics dashboard: the service (job ``health``) and its simulated-device
ingester (job ``health-ingester``): ingest rate, the refresh loop's lag, queue and duration."""

from __future__ import annotations

from deploy.monitoring.dashboards.infrastructure import stat
from deploy.monitoring.grafana import Dashboard, Panel, Query

HEALTH = 'job="health"'
INGESTER = 'job="health-ingester"'


def _quantiles(histogram: str, selector: str) -> list[Query]:
    """p50 and p99 of a histogram over the last minute."""
    return [
        Query(
            f"histogram_quantile({q}, sum by (le) (rate({histogram}_bucket{{{selector}}}[1m])))",
            f"p{round(q * 100)}",
        )
        for q in (0.5, 0.99)
    ]


def _stats() -> list[Panel]:
    """The row of single numbers: what comes in, how far behind the rollups are."""
    return [
        stat(
            "Points stored/s",
            f'sum(rate(health_points_total{{{HEALTH}, outcome="changed"}}[1m]))',
            "ops",
            "Points of WritePoints inserted or corrected (the API's uploads).",
        ),
        stat(
            "Refresh lag",
            f"max(health_refresh_lag_seconds{{{HEALTH}}})",
            "s",
            "How long the longest-waiting dirty minute has waited for its rollup.",
        ),
        stat(
            "Dirty minutes",
            f"max(health_dirty_minutes{{{HEALTH}}})",
            description="Minutes whose rollups wait for a refresh (the queue of dirty buckets).",
        ),
        stat(
            "Refresh failures (1h)",
            f"sum(increase(health_refresh_failures_total{{{HEALTH}}}[1h]))",
        ),
        stat(
            "Ingester days behind",
            f"max(health_ingester_behind_days{{{INGESTER}}})",
            description="Complete days not simulated yet for the furthest-behind linked user.",
        ),
        stat("Linked simulated devices", f"max(health_ingester_users{{{INGESTER}}})"),
    ]


def _service() -> list[Panel]:
    """The service's uploads and its refresh loop over time."""
    return [
        Panel(
            "Uploaded points by metric and outcome",
            [
                Query(
                    f"sum by (metric, outcome) (rate(health_points_total{{{HEALTH}}}[1m]))",
                    "{{metric}} {{outcome}}",
                )
            ],
            unit="ops",
        ),
        Panel(
            "Refresh lag",
            [Query(f"max(health_refresh_lag_seconds{{{HEALTH}}})", "oldest dirty minute")],
            unit="s",
            description="A correction of any age shows in the rollups once this has passed.",
        ),
        Panel(
            "Dirty-minute queue",
            [Query(f"max(health_dirty_minutes{{{HEALTH}}})", "dirty minutes")],
        ),
        Panel(
            "Refresh duration",
            _quantiles("health_refresh_seconds", HEALTH),
            unit="s",
            description="One refresh transaction: its dirty minutes, then their hours and days.",
        ),
        Panel(
            "Buckets recomputed by resolution",
            [
                Query(
                    f"sum by (resolution) (rate(health_refreshed_buckets_total{{{HEALTH}}}[1m]))",
                    "{{resolution}}",
                )
            ],
            unit="ops",
        ),
        Panel(
            "Refreshes/s",
            [Query(f"sum(rate(health_refresh_seconds_count{{{HEALTH}}}[1m]))", "refreshes")],
            unit="ops",
        ),
    ]


def _ingester() -> list[Panel]:
    """The simulated-device ingester's rounds."""
    return [
        Panel(
            "Ingested points by metric",
            [
                Query(
                    "sum by (metric, outcome) (rate(health_ingester_points_total"
                    f"{{{INGESTER}}}[1m]))",
                    "{{metric}} {{outcome}}",
                )
            ],
            unit="ops",
            width=8,
        ),
        Panel(
            "Ingester round duration",
            _quantiles("health_ingester_round_seconds", INGESTER),
            unit="s",
            width=8,
            description="One round: the next simulated day of every linked user.",
        ),
        Panel(
            "Simulated days stored",
            [
                Query(f"sum(increase(health_ingester_days_total{{{INGESTER}}}[5m]))", "days"),
                Query(
                    f"sum(increase(health_ingester_failures_total{{{INGESTER}}}[5m]))",
                    "failed rounds",
                ),
            ],
            width=8,
            description="Per 5 minutes; a failed round is retried (the database did not answer).",
        ),
    ]


def health_metrics() -> Dashboard:
    """Ingestion, the rollup refresh loop and the ingester of the health-metrics service."""
    return Dashboard(
        uid="fitness-health-metrics",
        title="Health metrics",
        description="Uploads, the incremental rollup refresh (lag, queue, duration), the ingester.",
        tags=["fitness", "health"],
        panels=[*_stats(), *_service(), *_ingester()],
    )
