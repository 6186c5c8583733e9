"""The Redis adapter of ``CacheStore``: single-key commands only, so a Redis Cluster serves it."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster


class RedisStore:
    """GET, SET PX [NX] and DEL on a client from ``services.common.redis.command_client``.

    The client's own socket timeout still applies; the cache bounds each call tighter.
    """

    def __init__(self, client: Redis | RedisCluster) -> None:
        self.client = client

    async def get(self, key: str) -> str | None:
        """GET."""
        value = await self.client.get(key)
        return None if value is None else str(value)

    async def set(self, key: str, value: str, ttl: float, only_if_absent: bool = False) -> bool:
        """SET key value PX ttl [NX]; milliseconds, so sub-second TTLs keep their meaning."""
        stored = await self.client.set(key, value, px=max(1, int(ttl * 1000)), nx=only_if_absent)
        return bool(stored)

    async def delete(self, key: str) -> None:
        """DEL."""
        await self.client.delete(key)
