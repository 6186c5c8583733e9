"""Public operational routes: health with upstream breaker states, and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from gateway.dependencies import Pools

router = APIRouter(tags=["operations"])
REDIS_PING_TIMEOUT = 0.5


@router.get("/health")
async def health(request: Request, pools: Pools) -> dict[str, Any]:
    """Liveness, each upstream instance's health and breaker state, and Redis reachability."""
    upstreams = {pool.service: pool.snapshot() for pool in pools.all()}
    reachable = all(any(i.available() for i in pool.instances) for pool in pools.all())
    redis = await _redis_status(request)
    status = "ok" if reachable and redis == "ok" else "degraded"
    return {"status": status, "upstreams": upstreams, "redis": redis}


async def _redis_status(request: Request) -> str:
    try:
        await asyncio.wait_for(request.app.state.live.store.redis.ping(), REDIS_PING_TIMEOUT)
    except (TimeoutError, OSError, RedisError):
        return "unreachable"
    return "ok"


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus exposition of this gateway's metrics."""
    body = generate_latest(request.app.state.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
