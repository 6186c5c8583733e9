"""Reports over every user's watch logs (analyst or admin role), and a user's own days."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fitness.watch_logs.v1 import watch_logs_service_pb2 as pb

from gateway.edge.auth import require_self_or_admin
from gateway.edge.dependencies import AUTH_STATUSES, Analyst, Pools, Principal, errors
from gateway.edge.errors import ApiError
from gateway.routes.fields import BucketName, PageToken, PathId, QueryDate, ReportUserId
from gateway.routes.schemas import (
    DailySummaryBody,
    DailySummaryList,
    LogBucketBody,
    LogBucketList,
    PipelineStatus,
    StreamStatusBody,
    WatchLogPage,
)
from gateway.routes.watch_logs.filters import Filter, stored_body
from services.common.timeutil import parse_date, utc_now
from services.common.upstream import UpstreamPool
from services.common.upstream.rpcs import WatchLogRpc

router = APIRouter(tags=["watch logs"])
WIDTHS = {"hour": pb.BUCKET_WIDTH_HOUR, "day": pb.BUCKET_WIDTH_DAY}
# The service keeps per-day summaries; one read spans at most this many days after the first.
MAX_SUMMARY_DAYS = 31
DEFAULT_DAYS = 7
REPORT_STATUSES = (400, 401, 403, 422, 503)
REPORT_ERRORS = errors(*REPORT_STATUSES)


@router.get("/watch-logs", response_model=WatchLogPage, responses=REPORT_ERRORS)
async def list_logs(
    _analyst: Analyst,
    pools: Pools,
    log_filter: Filter,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
    page_token: PageToken = "",
) -> WatchLogPage:
    """Stored entries of any user, in the order they were stored. A page may be short (even
    empty) while more follow: continue while next_page_token is not empty."""
    request = pb.ListLogsRequest(filter=log_filter, page_size=page_size, page_token=page_token)
    reply = await pools.watch_logs.call(WatchLogRpc.ListLogs, request)
    return WatchLogPage(
        logs=[stored_body(s) for s in reply.logs], next_page_token=reply.next_page_token
    )


@router.get(
    "/watch-logs/aggregates", response_model=LogBucketList, responses=errors(409, *REPORT_STATUSES)
)
async def aggregate_logs(
    _analyst: Analyst, pools: Pools, log_filter: Filter, bucket: BucketName = "day"
) -> LogBucketList:
    """Per user and hour or day (UTC): steps, active minutes, calories, heart rate, battery
    drain. 409 when the range holds more entries than one call may scan: narrow it."""
    request = pb.AggregateLogsRequest(filter=log_filter, width=WIDTHS[bucket])
    reply = await pools.watch_logs.call(WatchLogRpc.AggregateLogs, request)
    return LogBucketList(
        buckets=[
            LogBucketBody(
                user_id=b.user_id,
                start=b.start,
                samples=b.samples,
                steps=b.steps,
                active_minutes=b.active_minutes,
                calories=b.calories,
                distance_m=b.distance_m,
                floors=b.floors,
                mean_heart_rate=b.mean_heart_rate,
                max_heart_rate=b.max_heart_rate,
                battery_drain=b.battery_drain,
            )
            for b in reply.buckets
        ]
    )


@router.get("/watch-logs/summaries", response_model=DailySummaryList, responses=REPORT_ERRORS)
async def daily_summaries(
    _analyst: Analyst,
    pools: Pools,
    user_id: ReportUserId,
    from_date: QueryDate = None,
    to_date: QueryDate = None,
) -> DailySummaryList:
    """Any user's days as the reporting consumer counted them, from_date to to_date."""
    return await summaries(pools.watch_logs, user_id, from_date, to_date)


@router.get(
    "/users/{user_id}/watch-logs/summaries",
    response_model=DailySummaryList,
    responses=errors(400, *AUTH_STATUSES),
)
async def own_daily_summaries(
    user_id: PathId,
    principal: Principal,
    pools: Pools,
    from_date: QueryDate = None,
    to_date: QueryDate = None,
) -> DailySummaryList:
    """Your days as the reporting consumer counted them (also readable by an admin)."""
    require_self_or_admin(user_id, principal)
    return await summaries(pools.watch_logs, user_id, from_date, to_date)


@router.get("/watch-logs/pipeline", response_model=PipelineStatus, responses=REPORT_ERRORS)
async def pipeline_status(_analyst: Analyst, pools: Pools) -> PipelineStatus:
    """Each partition stream's length, the reporting group's lag and pending entries."""
    reply = await pools.watch_logs.call(
        WatchLogRpc.GetPipelineStatus, pb.GetPipelineStatusRequest()
    )
    return PipelineStatus(
        streams=[
            StreamStatusBody(
                stream=s.stream,
                length=s.length,
                lag=s.lag,
                pending=s.pending,
                dead_letters=s.dead_letters,
            )
            for s in reply.streams
        ]
    )


async def summaries(
    pool: UpstreamPool, user_id: str, from_date: str | None, to_date: str | None
) -> DailySummaryList:
    """A user's daily summaries; the range (default: the week to today, UTC) is checked
    here first (422)."""
    last = parse_date(to_date) if to_date else utc_now().date()
    try:
        first = parse_date(from_date) if from_date else last - timedelta(days=DEFAULT_DAYS - 1)
    except OverflowError:  # a to_date in the first week of year 1
        raise ApiError(422, "to_date is out of range") from None
    if not 0 <= (last - first).days <= MAX_SUMMARY_DAYS:
        raise ApiError(422, f"to_date must be from_date or up to {MAX_SUMMARY_DAYS} days after it")
    request = pb.GetDailySummariesRequest(
        user_id=user_id, from_date=first.isoformat(), to_date=last.isoformat()
    )
    reply = await pool.call(WatchLogRpc.GetDailySummaries, request)
    return DailySummaryList(
        days=[
            DailySummaryBody(
                date=d.date,
                samples=d.samples,
                steps=d.steps,
                active_minutes=d.active_minutes,
                calories=d.calories,
                distance_m=d.distance_m,
                floors=d.floors,
                mean_heart_rate=d.mean_heart_rate,
                max_heart_rate=d.max_heart_rate,
            )
            for d in reply.days
        ]
    )
