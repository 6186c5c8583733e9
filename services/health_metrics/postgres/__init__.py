"""The health-metrics store on PostgreSQL: daily partitions of raw points, rollups kept
fresh incrementally, sleep sessions and simulated devices."""

from services.health_metrics.postgres.store import PostgresHealthStore, open_store

__all__ = ["PostgresHealthStore", "open_store"]
