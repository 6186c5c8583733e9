"""POST and DELETE of one user's points: each point of a batch judged on its own."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fitness.health.v1 import health_metrics_service_pb2 as pb
from pydantic import TypeAdapter, ValidationError

from gateway.config import GatewaySettings
from gateway.edge.auth import require_self_or_admin
from gateway.edge.creation_limit import CreationLimit
from gateway.edge.dependencies import AUTH_STATUSES, Pools, Principal, errors, new_request_id
from gateway.edge.errors import ApiError, nothing_stored
from gateway.routes.health_fields import DeleteFrom, DeleteTo, HealthUserId, MetricPath
from gateway.routes.health_metrics.wire import checked
from gateway.routes.schemas.health import (
    HealthPointBody,
    HealthPointsBody,
    PointRejectionBody,
    PointsDeleted,
    PointsWritten,
)
from gateway.routes.watch_logs.ingest import reason
from services.common.timeutil import parse_time
from services.common.upstream import UpstreamPool
from services.common.upstream.rpcs import HealthRpc
from services.health_metrics.domain import SPECS, Metric, MetricSpec

router = APIRouter(tags=["health metrics"])
POINTS = TypeAdapter(list[HealthPointBody])
POINT = TypeAdapter(HealthPointBody)
Screened = tuple[list[pb.MetricPoint], list[int], list[PointRejectionBody]]


@router.post(
    "/users/{user_id}/health-metrics",
    response_model=PointsWritten,
    responses=errors(400, 429, *AUTH_STATUSES),
)
async def write_points(
    user_id: HealthUserId,
    body: HealthPointsBody,
    principal: Principal,
    pools: Pools,
    request: Request,
) -> PointsWritten | JSONResponse:
    """Store a batch of one metric's points, keyed by time: a point sent again with the
    same value changes nothing, with another value it is a correction. Each point is
    stored or rejected with its reason; a batch of which nothing is stored is 422, two
    points at one instant make the whole batch 400."""
    require_self_or_admin(user_id, principal)
    settings: GatewaySettings = request.app.state.settings
    if len(body.points) > settings.health_max_points:
        raise ApiError(422, f"points: at most {settings.health_max_points} points")
    # Every point counts, refused ones too: junk must not be free to send.
    quota: CreationLimit = request.app.state.health_quota
    await quota.check(principal[0], len(body.points))
    # ~0.3 s of Python for 10,000 points: on a thread, the event loop keeps serving.
    valid, positions, rejected = await asyncio.to_thread(screen, body.metric, body.points)
    written = PointsWritten(accepted=0, unchanged=0, rejected=rejected)
    if valid:
        written = await store(pools.health, user_id, body.metric, (valid, positions, rejected))
    if not written.accepted:
        return nothing_stored("point", "points", written.rejected)
    return written


async def store(
    pool: UpstreamPool, user_id: str, metric: Metric, screened: Screened
) -> PointsWritten:
    """Send the valid points; the service's rejections join the gateway's, by index."""
    valid, positions, rejected = screened
    message = pb.WritePointsRequest(
        request_id=new_request_id(), user_id=user_id, metric=metric, points=valid
    )
    reply = await pool.call(HealthRpc.WritePoints, message)
    rejected = rejected + [
        PointRejectionBody(index=positions[r.index], reason=r.reason)
        for r in reply.rejected
        if r.index < len(positions)
    ]
    rejected.sort(key=lambda rejection: rejection.index)
    return PointsWritten(accepted=reply.accepted, unchanged=reply.unchanged, rejected=rejected)


def screen(metric: Metric, items: list[Any]) -> Screened:
    """The valid points as protobuf, their indexes in ``items``, and the rejections."""
    spec = SPECS[metric]
    # The usual batch is all well-formed: one validation of the list is far cheaper.
    try:
        parsed: list[HealthPointBody | str] = list(POINTS.validate_python(items))
    except ValidationError:
        parsed = [parse_one(item) for item in items]
    valid: list[pb.MetricPoint] = []
    positions: list[int] = []
    rejected: list[PointRejectionBody] = []
    for index, point in enumerate(parsed):
        problem = point if isinstance(point, str) else out_of_range(metric, spec, point.value)
        if problem:
            rejected.append(PointRejectionBody(index=index, reason=problem))
        elif isinstance(point, HealthPointBody):
            valid.append(pb.MetricPoint(time=parse_time(point.time), value=point.value))
            positions.append(index)
    return valid, positions, rejected


def parse_one(item: Any) -> HealthPointBody | str:
    """One point, or why it is not one."""
    try:
        return POINT.validate_python(item)
    except ValidationError as error:
        return reason(error)


def out_of_range(metric: Metric, spec: MetricSpec, value: float) -> str:
    """Why ``value`` is not one of the metric's, or ''."""
    if spec.low <= value <= spec.high:
        return ""
    return f"value: {metric.value} must be {spec.low:g}-{spec.high:g} {spec.unit}"


@router.delete(
    "/users/{user_id}/health-metrics/{metric}",
    response_model=PointsDeleted,
    responses=errors(400, *AUTH_STATUSES),
)
async def delete_points(
    user_id: HealthUserId,
    metric: MetricPath,
    principal: Principal,
    pools: Pools,
    from_time: DeleteFrom,
    to_time: DeleteTo,
) -> PointsDeleted:
    """Delete the metric's points with from <= time < to (at most 400 days); the rollups
    follow within one refresh. Deleting again deletes nothing."""
    require_self_or_admin(user_id, principal)
    span = checked(parse_time(from_time), parse_time(to_time))
    message = pb.DeletePointsRequest(
        request_id=new_request_id(),
        user_id=user_id,
        metric=metric,
        to=span.end,
        **{"from": span.start},
    )
    reply = await pools.health.call(HealthRpc.DeletePoints, message)
    return PointsDeleted(deleted=reply.deleted)
