"""Public operational routes: health with upstream breaker states, and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.dependencies import Pools

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health(pools: Pools) -> dict[str, Any]:
    """Liveness, plus each upstream instance's health check result and breaker state."""
    upstreams = {pool.service: pool.snapshot() for pool in pools.all()}
    reachable = all(any(i.available() for i in pool.instances) for pool in pools.all())
    return {"status": "ok" if reachable else "degraded", "upstreams": upstreams}


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus exposition of this gateway's metrics."""
    body = generate_latest(request.app.state.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
