"""The watch-log pipeline dashboard: the service (job ``watch-logs``) and the gateway's view."""

from __future__ import annotations

from deploy.monitoring.grafana import Dashboard, Panel, Query

# The gateway labels its upstream metrics with the gRPC service's full name.
WATCH_LOG_SERVICE = "fitness.watch_logs.v1.WatchLogService"
WATCH_LOG_ROUTES = 'route=~".*/watch-logs.*"'  # also /users/{user_id}/watch-logs/...
# Prometheus renames a scraped label that collides with its own target label `instance`.
UPSTREAM = "exported_instance"
BREAKER = ((0, "closed", "green"), (1, "half-open", "orange"), (2, "open", "red"))
WATCH = 'job="watch-logs"'


def watch_log_pipeline() -> Dashboard:
    """The watch-log service end to end: ingestion, consumer group, faults, the gateway's view."""
    return Dashboard(
        uid="fitness-watch-log-pipeline",
        title="Watch-log pipeline",
        description="Ingestion, the reporting consumer group, injected faults, and the gateway.",
        tags=["fitness", "watch-logs"],
        panels=[
            Panel(
                "Accepted entries/s",
                [Query('sum(rate(watch_logs_entries_total{outcome="accepted"}[1m]))', "accepted")],
                unit="ops",
                kind="stat",
                width=4,
                height=4,
            ),
            Panel(
                "Consumer lag",
                [Query("sum(watch_logs_consumer_lag)", "lag")],
                kind="stat",
                width=4,
                height=4,
                description="Entries not yet read by the reporting group, over every stream.",
            ),
            Panel(
                "Pending",
                [Query("sum(watch_logs_consumer_pending)", "pending")],
                kind="stat",
                width=4,
                height=4,
                description="Read but not acknowledged; taken over (XAUTOCLAIM) when idle.",
            ),
            Panel(
                "Dead letters",
                [Query("sum(watch_logs_dead_letters)", "dead letters")],
                kind="stat",
                width=4,
                height=4,
            ),
            Panel(
                "Stored entries",
                [Query("sum(watch_logs_stream_length)", "entries")],
                kind="stat",
                width=4,
                height=4,
            ),
            Panel(
                "Gateway breaker (watch-logs)",
                [
                    Query(
                        f'max(gateway_upstream_breaker_state{{service="{WATCH_LOG_SERVICE}"}})',
                        "worst",
                    )
                ],
                kind="stat",
                width=4,
                height=4,
                mappings=BREAKER,
            ),
            Panel(
                "Ingested entries by outcome",
                [Query("sum by (outcome) (rate(watch_logs_entries_total[1m]))", "{{outcome}}")],
                unit="ops",
            ),
            Panel(
                "IngestLogs latency",
                [
                    Query(
                        "histogram_quantile(0.5, sum by (le)"
                        " (rate(watch_logs_batch_seconds_bucket[1m])))",
                        "p50",
                    ),
                    Query(
                        "histogram_quantile(0.99, sum by (le)"
                        " (rate(watch_logs_batch_seconds_bucket[1m])))",
                        "p99",
                    ),
                ],
                unit="s",
            ),
            Panel(
                "Consumer lag by stream",
                [Query("sum by (stream) (watch_logs_consumer_lag)", "{{stream}}")],
            ),
            Panel(
                "Pending entries by stream",
                [Query("sum by (stream) (watch_logs_consumer_pending)", "{{stream}}")],
            ),
            Panel(
                "Consumer entries by outcome",
                [
                    Query(
                        "sum by (outcome) (rate(watch_logs_consumer_entries_total[1m]))",
                        "{{outcome}}",
                    )
                ],
                unit="ops",
            ),
            Panel(
                "Dead letters and stream length",
                [
                    Query("sum by (stream) (watch_logs_dead_letters)", "dead {{stream}}"),
                    Query("max(watch_logs_stream_length)", "longest stream"),
                ],
            ),
            Panel(
                "RPC errors",
                [
                    Query(
                        "sum by (method, code) (rate(grpc_server_handled_total"
                        f'{{{WATCH}, code!="OK"}}[1m]))',
                        "{{method}} {{code}}",
                    )
                ],
                unit="ops",
                description="Every status but OK the service answered, by RPC.",
            ),
            Panel(
                "Injected faults",
                [
                    Query(
                        "sum by (method, kind) (rate(watch_logs_faults_total[1m]))",
                        "{{method}} {{kind}}",
                    )
                ],
                unit="ops",
                description="WATCH_LOGS_FAULT_*: off by default (docs/watch-logs.md).",
            ),
            Panel(
                "Gateway 5xx on watch-log routes",
                [
                    Query(
                        "sum by (route, status) (rate(gateway_http_requests_total"
                        f'{{job="gateway", {WATCH_LOG_ROUTES}, status=~"5.."}}[1m]))',
                        "{{status}} {{route}}",
                    )
                ],
                unit="ops",
            ),
            Panel(
                "Gateway breaker per watch-log instance",
                [
                    Query(
                        f"max by ({UPSTREAM}) (gateway_upstream_breaker_state"
                        f'{{service="{WATCH_LOG_SERVICE}"}})',
                        f"{{{{{UPSTREAM}}}}}",
                    )
                ],
                description="0 closed, 1 half-open, 2 open.",
            ),
        ],
    )
