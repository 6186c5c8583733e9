"""GET one metric's series: raw points or rollups, paginated, gaps optionally filled."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import timedelta

from fastapi import APIRouter
from fitness.health.v1 import health_metrics_service_pb2 as pb

from gateway.edge.auth import require_self_or_admin
from gateway.edge.dependencies import AUTH_STATUSES, Pools, Principal, errors
from gateway.edge.errors import ApiError
from gateway.routes.fields import PageToken
from gateway.routes.health_fields import (
    HealthUserId,
    MetricPath,
    SeriesFrom,
    SeriesPageSize,
    SeriesTo,
)
from gateway.routes.health_metrics.wire import span_of, text_of
from gateway.routes.schemas.health import SeriesPage, SeriesPointBody
from services.common.upstream.rpcs import HealthRpc
from services.health_metrics.domain import Fill, Resolution

router = APIRouter(tags=["health metrics"])
DEFAULT_SPAN = timedelta(hours=24)
DEFAULT_PAGE_SIZE = 1000


@router.get(
    "/users/{user_id}/health-metrics/{metric}",
    response_model=SeriesPage,
    responses=errors(400, *AUTH_STATUSES),
)
async def read_series(
    user_id: HealthUserId,
    metric: MetricPath,
    principal: Principal,
    pools: Pools,
    from_time: SeriesFrom = None,
    to_time: SeriesTo = None,
    resolution: Resolution = Resolution.RAW,
    fill: Fill = Fill.NONE,
    page_size: SeriesPageSize = DEFAULT_PAGE_SIZE,
    page_token: PageToken = "",
) -> SeriesPage:
    """The metric's points in [from, to), oldest first: stored points (raw) or 1-minute,
    1-hour or 1-day buckets (value = mean; sum for steps and active_zone_minutes).
    fill=linear (not with raw) interpolates gaps of up to 60 minutes, 6 hours or 2 days
    and marks each such point imputed. Pass the same query with next_page_token until it
    is empty: every point comes exactly once. A token of another query is 400."""
    require_self_or_admin(user_id, principal)
    span = span_of(from_time, to_time, DEFAULT_SPAN)
    if resolution is Resolution.RAW and fill is Fill.LINEAR:
        raise ApiError(422, "fill=linear needs a resolution of 1m, 1h or 1d")
    request = pb.ReadSeriesRequest(
        user_id=user_id,
        metric=metric,
        to=span.end,
        resolution=resolution,
        fill=fill,
        page_size=page_size,
        page_token=page_token,
        **{"from": span.start},
    )
    reply = await pools.health.call(HealthRpc.ReadSeries, request)
    return SeriesPage(
        metric=reply.metric,
        unit=reply.unit,
        resolution=reply.resolution,
        # Up to 20,000 points: converted on a thread, so the event loop keeps serving.
        points=await asyncio.to_thread(point_bodies, reply.points),
        next_page_token=reply.next_page_token,
    )


def point_bodies(points: Iterable[pb.SeriesPoint]) -> list[SeriesPointBody]:
    """A page's points as the REST API shows them."""
    return [point_body(point) for point in points]


def point_body(point: pb.SeriesPoint) -> SeriesPointBody:
    """A series point as the REST API shows it."""
    return SeriesPointBody(
        time=text_of(point.time),
        value=point.value,
        min=point.min,
        max=point.max,
        count=point.count,
        imputed=point.imputed,
    )
