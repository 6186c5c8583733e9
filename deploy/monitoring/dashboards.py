"""The platform's Grafana dashboards, as code: ``python -m deploy.monitoring.dashboards``.

Writes grafana/dashboards/<uid>.json beside this module (Grafana's file provisioning
reads that folder); tests/unit/test_dashboards.py fails when the committed files differ
from what this writes. Every expression names the Prometheus jobs of prometheus.py
(``redis`` for the nodes behind the exporter, ``watch-logs``, ``gateway``) and the metric
names the components export (docs/operations.md, "Metrics").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from deploy.monitoring.grafana import Dashboard, Panel, Query, dashboard_json

FOLDER = Path(__file__).parent / "grafana" / "dashboards"
# The gateway labels its upstream metrics with the gRPC service's full name.
WATCH_LOG_SERVICE = "fitness.watch_logs.v1.WatchLogService"
WATCH_LOG_ROUTES = 'route=~".*/watch-logs.*"'  # also /users/{user_id}/watch-logs/...
# Prometheus renames a scraped label that collides with its own target label `instance`.
UPSTREAM = "exported_instance"
BREAKER = ((0, "closed", "green"), (1, "half-open", "orange"), (2, "open", "red"))
REDIS = 'job="redis"'
WATCH = 'job="watch-logs"'


def redis_cluster() -> Dashboard:
    """Every node of the Redis Cluster through the exporter: health, memory, load, replication."""
    return Dashboard(
        uid="fitness-redis-cluster",
        title="Redis Cluster",
        description="The 3 masters and 3 replicas, scraped through one redis-exporter.",
        tags=["fitness", "redis"],
        panels=[
            Panel(
                "Cluster state",
                [Query(f"min(redis_cluster_state{{{REDIS}}})", "state")],
                kind="stat",
                width=4,
                height=4,
                description="1 when every node says cluster_state:ok; 0 on any node that does not.",
                mappings=((0, "fail", "red"), (1, "ok", "green")),
            ),
            Panel(
                "Slots ok",
                [Query(f"min(redis_cluster_slots_ok{{{REDIS}}})", "ok")],
                kind="stat",
                width=4,
                height=4,
                description="16384 when every hash slot is served; the lowest any node reports.",
            ),
            Panel(
                "Slots failing",
                [
                    Query(f"max(redis_cluster_slots_fail{{{REDIS}}})", "fail"),
                    Query(f"max(redis_cluster_slots_pfail{{{REDIS}}})", "possibly failing"),
                ],
                kind="stat",
                width=4,
                height=4,
            ),
            Panel(
                "Nodes up",
                [
                    Query(f"sum(redis_up{{{REDIS}}})", "up"),
                    Query(f"count(redis_up{{{REDIS}}})", "scraped"),
                ],
                kind="stat",
                width=4,
                height=4,
            ),
            Panel(
                "Masters",
                [Query(f'count(redis_instance_info{{{REDIS}, role="master"}})', "masters")],
                kind="stat",
                width=4,
                height=4,
            ),
            Panel(
                "Replica links up",
                [Query(f"sum(redis_master_link_up{{{REDIS}}})", "links up")],
                kind="stat",
                width=4,
                height=4,
            ),
            Panel(
                "Memory used",
                [
                    Query(f"redis_memory_used_bytes{{{REDIS}}}", "{{instance}}"),
                    Query(f"redis_memory_used_rss_bytes{{{REDIS}}}", "rss {{instance}}"),
                ],
                unit="bytes",
            ),
            Panel(
                "Commands per second",
                [Query(f"rate(redis_commands_processed_total{{{REDIS}}}[1m])", "{{instance}}")],
                unit="ops",
            ),
            Panel(
                "Keys",
                [
                    Query(f"sum by (instance) (redis_db_keys{{{REDIS}}})", "{{instance}}"),
                    Query(
                        f"sum by (instance) (redis_db_keys_expiring{{{REDIS}}})",
                        "expiring {{instance}}",
                    ),
                ],
            ),
            Panel(
                "Connected clients",
                [Query(f"redis_connected_clients{{{REDIS}}}", "{{instance}}")],
            ),
            Panel(
                "Replicas per master",
                [
                    Query(
                        f"redis_connected_slaves{{{REDIS}}}"
                        f' and on (instance) redis_instance_info{{{REDIS}, role="master"}}',
                        "{{instance}}",
                    )
                ],
                description="Each master should have one replica; 0 means a shard has no copy.",
            ),
            Panel(
                "Replica link and lag",
                [
                    Query(f"redis_master_link_up{{{REDIS}}}", "link up {{instance}}"),
                    Query(
                        f"max by (instance) (redis_connected_slave_lag_seconds{{{REDIS}}})",
                        "lag s {{instance}}",
                    ),
                ],
                description="Replication is asynchronous: lag is what a failover may lose.",
            ),
            Panel(
                "Network",
                [
                    Query(f"rate(redis_net_input_bytes_total{{{REDIS}}}[1m])", "in {{instance}}"),
                    Query(f"rate(redis_net_output_bytes_total{{{REDIS}}}[1m])", "out {{instance}}"),
                ],
                unit="Bps",
            ),
            Panel(
                "Expired and evicted keys",
                [
                    Query(f"sum(rate(redis_expired_keys_total{{{REDIS}}}[1m]))", "expired"),
                    Query(f"sum(rate(redis_evicted_keys_total{{{REDIS}}}[1m]))", "evicted"),
                ],
                unit="ops",
                description="Retention trims streams by time; evictions mean maxmemory is hit.",
            ),
        ],
    )


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


DASHBOARDS = (redis_cluster, watch_log_pipeline)


def rendered() -> dict[str, str]:
    """File name -> JSON text of every dashboard, as committed."""
    return {
        f"{dashboard.uid}.json": json.dumps(dashboard_json(dashboard), indent=2) + "\n"
        for dashboard in (build() for build in DASHBOARDS)
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


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else FOLDER):
        print(f"wrote {path}")
