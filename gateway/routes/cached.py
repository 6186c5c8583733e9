"""The gateway's shared cache: built once per app on its Redis command client, asked by routes.

Routes read only what the caller may see: the key is the user id the route already
authorised (``require_self``), or data every user may read (workout types).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from gateway.config import GatewaySettings
from services.common.cache import NoCache, ReadCache, on_redis


def open_cache(
    settings: GatewaySettings, commands: Redis | RedisCluster, registry: CollectorRegistry
) -> ReadCache:
    """The cache on the gateway's command client, or none when switched off."""
    if not settings.cache_enabled:
        return NoCache()
    return on_redis(commands, settings.cache_timeout, registry)


async def shared_cache(request: Request) -> ReadCache:
    """The app's cache."""
    cache: ReadCache = request.app.state.cache
    return cache


Cache = Annotated[ReadCache, Depends(shared_cache)]
