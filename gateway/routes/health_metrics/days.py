"""A user's daily health summary, and linking a simulated device."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from fitness.health.v1 import health_metrics_service_pb2 as pb

from gateway.edge.auth import require_self_or_admin
from gateway.edge.dependencies import AUTH_STATUSES, Pools, Principal, errors, new_request_id
from gateway.routes.health_fields import DayPath, HealthUserId
from gateway.routes.health_metrics.wire import stage_minutes
from gateway.routes.schemas.health import HealthSummary, SimulatorLink
from services.common.upstream.rpcs import HealthRpc

router = APIRouter(tags=["health metrics"])


@router.get(
    "/users/{user_id}/health-summary/{day}",
    response_model=HealthSummary,
    responses=errors(400, *AUTH_STATUSES),
)
async def daily_summary(
    user_id: HealthUserId, day: DayPath, principal: Principal, pools: Pools
) -> HealthSummary:
    """One UTC day: resting heart rate (the lowest mean of 30 consecutive minutes), steps,
    active zone minutes, SpO2, HRV and breathing-rate means, and minutes of sleep per
    stage (sessions ending that day). Null where the day has no such data."""
    require_self_or_admin(user_id, principal)
    request = pb.GetDailySummaryRequest(user_id=user_id, day=day)
    reply = await pools.health.call(HealthRpc.GetDailySummary, request)
    return HealthSummary(
        day=reply.day,
        resting_heart_rate=optional(reply.resting_heart_rate),
        steps=optional(reply.steps),
        active_zone_minutes=optional(reply.active_zone_minutes),
        spo2_mean=optional(reply.spo2_mean),
        hrv_mean=optional(reply.hrv_mean),
        breathing_rate_mean=optional(reply.breathing_rate_mean),
        sleep_minutes=stage_minutes(reply.sleep_minutes),
    )


def optional(value: pb.OptionalValue) -> float | None:
    """The value, or None when the day has none."""
    return value.value if value.present else None


@router.post(
    "/users/{user_id}/health-metrics/simulator",
    status_code=201,
    response_model=SimulatorLink,
    responses={
        200: {"model": SimulatorLink, "description": "Linked before: nothing changed"},
        **errors(*AUTH_STATUSES),
    },
)
async def link_simulator(
    user_id: HealthUserId, principal: Principal, pools: Pools
) -> SimulatorLink | JSONResponse:
    """Link a simulated Fitbit Charge 6 to the user (201; 200 when one is linked already):
    the ingester then stores one simulated day of every metric and of sleep per interval."""
    require_self_or_admin(user_id, principal)
    request = pb.LinkSimulatedDeviceRequest(request_id=new_request_id(), user_id=user_id)
    reply = await pools.health.call(HealthRpc.LinkSimulatedDevice, request)
    link = SimulatorLink(created=reply.created, ingested_through=reply.ingested_through or None)
    if not link.created:
        return JSONResponse(link.model_dump(), status_code=200)
    return link
