"""POST and GET of one user's sleep sessions."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import APIRouter
from fitness.health.v1 import health_metrics_service_pb2 as pb

from gateway.edge.auth import require_self_or_admin
from gateway.edge.dependencies import AUTH_STATUSES, Pools, Principal, errors, new_request_id
from gateway.routes.health_fields import HealthUserId, SleepFrom, SleepTo
from gateway.routes.health_metrics.wire import span_of, stage_minutes, text_of
from gateway.routes.schemas.health import (
    SleepBody,
    SleepList,
    SleepSessionBody,
    SleepSummaryBody,
    SleepWritten,
    StageSpanAnswer,
)
from services.common.timeutil import parse_time
from services.common.upstream.rpcs import HealthRpc

router = APIRouter(tags=["health metrics"])
DEFAULT_SPAN = timedelta(days=7)


@router.post(
    "/users/{user_id}/sleep", response_model=SleepWritten, responses=errors(400, *AUTH_STATUSES)
)
async def write_sleep(
    user_id: HealthUserId, body: SleepBody, principal: Principal, pools: Pools
) -> SleepWritten:
    """Store sleep sessions with their stages, keyed by start: a session sent again with
    the same start replaces the stored one; the same session again changes nothing."""
    require_self_or_admin(user_id, principal)
    # Up to 15,500 stages: converted on a thread, so the event loop keeps serving.
    sessions = await asyncio.to_thread(lambda: [session_proto(s) for s in body.sessions])
    message = pb.WriteSleepRequest(request_id=new_request_id(), user_id=user_id, sessions=sessions)
    reply = await pools.health.call(HealthRpc.WriteSleep, message)
    return SleepWritten(accepted=reply.accepted, unchanged=reply.unchanged)


def session_proto(session: SleepSessionBody) -> pb.SleepSession:
    """A session as the service takes it."""
    return pb.SleepSession(
        start=parse_time(session.start),
        end=parse_time(session.end),
        stages=[
            pb.SleepStageSpan(stage=s.stage, start=parse_time(s.start), end=parse_time(s.end))
            for s in session.stages
        ],
    )


@router.get(
    "/users/{user_id}/sleep", response_model=SleepList, responses=errors(400, *AUTH_STATUSES)
)
async def read_sleep(
    user_id: HealthUserId,
    principal: Principal,
    pools: Pools,
    from_time: SleepFrom = None,
    to_time: SleepTo = None,
) -> SleepList:
    """The sessions ending in [from, to) (at most 400 days), oldest first, each with its
    minutes per stage."""
    require_self_or_admin(user_id, principal)
    span = span_of(from_time, to_time, DEFAULT_SPAN)
    request = pb.ReadSleepRequest(user_id=user_id, to=span.end, **{"from": span.start})
    reply = await pools.health.call(HealthRpc.ReadSleep, request)
    summaries = await asyncio.to_thread(lambda: [summary_body(s) for s in reply.sessions])
    return SleepList(sessions=summaries)


def summary_body(summary: pb.SleepSummary) -> SleepSummaryBody:
    """A stored session as the REST API shows it."""
    session = summary.session
    return SleepSummaryBody(
        start=text_of(session.start),
        end=text_of(session.end),
        night=summary.night,
        stages=[
            StageSpanAnswer(stage=s.stage, start=text_of(s.start), end=text_of(s.end))
            for s in session.stages
        ],
        minutes=stage_minutes(summary.minutes),
        asleep_minutes=summary.asleep_minutes,
    )
