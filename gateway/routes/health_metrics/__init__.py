"""REST routes of the health-metrics service: a user's points, series, sleep and days
(the user himself, or an admin)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.routes.health_metrics import days, points, series, sleep

router = APIRouter()
for part in (points.router, series.router, sleep.router, days.router):
    router.include_router(part)

__all__ = ["router"]
