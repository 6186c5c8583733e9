"""The shared cache: cache-aside reads on Redis (or Redis Cluster), invalidated on write.

``core`` holds the logic and the store port, ``redis_store`` the Redis adapter, ``memory``
the in-memory fake, ``blocking`` the facade for use cases on worker threads, ``kinds``
what is cached (keys, TTLs, shapes) and ``metrics`` the counters.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from services.common.cache.blocking import BlockingCache, Invalidator, NoInvalidation
from services.common.cache.core import (
    TOMBSTONE,
    CacheAside,
    CachePolicy,
    CacheStore,
    Kind,
    NoCache,
    ReadCache,
)
from services.common.cache.kinds import (
    ALL_WORKOUT_TYPES,
    PROFILE,
    STATISTICS,
    WORKOUT_TYPES,
    user_entity,
)
from services.common.cache.memory import MemoryStore
from services.common.cache.metrics import CacheMetrics, metrics_in, process_metrics
from services.common.cache.redis_store import RedisStore

__all__ = [
    "ALL_WORKOUT_TYPES",
    "PROFILE",
    "STATISTICS",
    "TOMBSTONE",
    "WORKOUT_TYPES",
    "BlockingCache",
    "CacheAside",
    "CacheMetrics",
    "CachePolicy",
    "CacheStore",
    "Invalidator",
    "Kind",
    "MemoryStore",
    "NoCache",
    "NoInvalidation",
    "ReadCache",
    "RedisStore",
    "metrics_in",
    "on_redis",
    "process_metrics",
    "user_entity",
]


def on_redis(
    client: Redis | RedisCluster,
    timeout: float,
    registry: CollectorRegistry | None = None,
) -> CacheAside:
    """A cache-aside client on a ``command_client``; reads bounded by ``timeout``.

    Counters go to ``registry`` (the gateway's own), else to the process default.
    """
    metrics = metrics_in(registry) if registry is not None else process_metrics()
    policy = CachePolicy(timeout=timeout, invalidate_timeout=max(timeout, 1.0))
    return CacheAside(RedisStore(client), metrics, policy)
