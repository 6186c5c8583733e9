"""The Redis Cluster dashboard: every node through the exporter (job ``redis``)."""

from __future__ import annotations

from deploy.monitoring.grafana import Dashboard, Panel, Query

REDIS = 'job="redis"'


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
