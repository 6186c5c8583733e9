"""Operational routes: public liveness and readiness, and the admins' detailed health."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from gateway.edge.dependencies import Admin, Pools, Upstreams, errors
from gateway.edge.errors import REDIS_RETRY_AFTER, ApiError
from gateway.edge.redis import redis_of
from services.common.redis import REDIS_FAILURES

router = APIRouter(tags=["operations"])
REDIS_PING_TIMEOUT = 0.5
OK = {"status": "ok"}


@router.get("/health/live")
async def live() -> dict[str, str]:
    """The process answers; nothing about what is behind it."""
    return OK


@router.get("/health/ready", responses=errors(503))
async def ready(request: Request, pools: Pools) -> dict[str, str]:
    """200 when every service has an instance that can take calls and Redis answers, else 503.

    The 503 carries Retry-After, the same as a Redis outage's on every other route.
    """
    if not _reachable(pools) or await _redis_status(request) != "ok":
        # Load balancers and orchestrators back off by it, as clients do on the routes.
        raise ApiError(503, "not ready", headers={"Retry-After": REDIS_RETRY_AFTER})
    return OK


@router.get("/health", responses=errors(401, 403))
async def health(_admin: Admin, request: Request, pools: Pools) -> dict[str, Any]:
    """Admins only: each upstream instance's address, health and breaker state, and Redis."""
    upstreams = {pool.service: pool.snapshot() for pool in pools.all()}
    redis = await _redis_status(request)
    status = "ok" if _reachable(pools) and redis == "ok" else "degraded"
    return {"status": status, "upstreams": upstreams, "redis": redis}


def _reachable(pools: Upstreams) -> bool:
    return all(any(i.available() for i in pool.instances) for pool in pools.all())


async def _redis_status(request: Request) -> str:
    try:
        await asyncio.wait_for(redis_of(request).ping(), REDIS_PING_TIMEOUT)
    except REDIS_FAILURES:  # TimeoutError is an OSError
        return "unreachable"
    return "ok"
