"""Ended sessions are written to the activity service exactly once, by whichever instance lives.

Ending a session puts it on a to-persist list in Redis. Every gateway instance sweeps
that list: it takes a short lease on a session, builds the summary, and calls
RecordGroupWorkout with ``request_id = live:<session id>``. If the instance dies
midway, the lease runs out and another instance repeats the call; the activity
service deduplicates on the request_id, so each participant's workout is recorded once.
The same sweep ends sessions everyone has left for longer than the empty timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from fitness.activity.v1 import activity_service_pb2 as activity_pb

from gateway.realtime.events import make_event
from gateway.realtime.outage import OutageLog
from gateway.realtime.store import GroupSession, LiveStore, SessionFacts
from gateway.realtime.views import stamp
from services.common.redis import REDIS_FAILURES
from services.common.upstream import ActivityRpc, UpstreamError, UpstreamPool

# What a persisting pass survives and retries later: Redis or the activity service failing.
_FAILURES: tuple[type[Exception], ...] = (*REDIS_FAILURES, UpstreamError)

log = logging.getLogger(__name__)

LEASE_SECONDS = 30
# An instance silent this long is taken for dead and its connections are dropped.
HEARTBEAT_TTL = 10


def summarize(
    session: GroupSession, facts: SessionFacts, polls: list[dict[str, Any]]
) -> dict[str, Any]:
    """The record of a finished session: who took part, for how long, what they did."""
    participants = []
    for user_id, joined_at in sorted(facts.joined.items()):
        left_at = facts.left.get(user_id, session.ended_at)
        if user_id in facts.present:
            left_at = session.ended_at  # still connected when it ended
        left_at = max(joined_at, min(left_at, session.ended_at))
        totals = facts.totals.get(user_id, {})
        participants.append({
            "user_id": user_id,
            "joined_at": stamp(joined_at),
            "left_at": stamp(left_at),
            "duration": round(left_at - joined_at, 3),
            "chat_messages": totals.get("chat_messages", 0),
            "exercise_updates": totals.get("exercise_updates", 0),
            "reps": totals.get("reps", 0),
        })  # fmt: skip
    return {
        "session_id": session.session_id,
        "title": session.title,
        "workout_type": session.workout_type,
        "owner_id": session.owner_id,
        "created_at": stamp(session.created_at),
        "ended_at": stamp(session.ended_at),
        "participants": participants,
        "chat_messages": sum(p["chat_messages"] for p in participants),
        "polls": [{k: p[k] for k in ("poll_id", "question", "options", "tally")} for p in polls],
    }


def _record_request(summary: dict[str, Any]) -> activity_pb.RecordGroupWorkoutRequest:
    participants = [
        activity_pb.GroupParticipant(
            user_id=p["user_id"], start_time=p["joined_at"], end_time=p["left_at"]
        )
        for p in summary["participants"]
    ]
    return activity_pb.RecordGroupWorkoutRequest(
        request_id=f"live:{summary['session_id']}",
        group_session_id=summary["session_id"],
        workout_type=summary["workout_type"],
        participants=participants,
    )


async def persist(store: LiveStore, activity: UpstreamPool, session_id: str, holder: str) -> bool:
    """Record one ended session if no other instance holds its lease; True when recorded."""
    session = await store.get(session_id)
    if session is None:  # nothing will ever be recorded (e.g. keys from before an upgrade)
        await store.unlist(session_id)
        return False
    if session.state != "ended":  # listed just before it ends (see LiveStore.end)
        return False
    if not await store.lease(session_id, holder, LEASE_SECONDS):
        return False
    polls = await store.polls.all(session_id)
    summary = summarize(session, await store.facts(session_id), polls)
    await activity.call(ActivityRpc.RecordGroupWorkout, _record_request(summary))
    await store.save_summary(session_id, summary)
    return True


async def reap_dead_instances(store: LiveStore) -> None:
    """Announce the leave of everyone whose only connection was on an instance that died."""
    await _announce_left(store, await store.reap_dead_instances())


async def leave_deferred(store: LiveStore) -> None:
    """Announce the leave of those who disconnected while Redis was down, now that it is up."""
    await _announce_left(store, await store.disconnect_deferred())


async def _announce_left(store: LiveStore, left: list[tuple[str, str]]) -> None:
    for session_id, user_id in left:
        event = make_event("leave_session", session_id, user_id, user_ids=[user_id])
        await store.append(session_id, event)


async def end_abandoned(store: LiveStore, empty_timeout: float) -> None:
    """End active sessions nobody has been in for ``empty_timeout`` seconds."""
    for session_id in await store.empty_since(time.time() - empty_timeout):
        if await store.end(session_id):
            event = make_event("session_ended", session_id, "", reason="everyone_left")
            await store.append(session_id, event)


async def sweep_until(
    stopping: asyncio.Event,
    store: LiveStore,
    activity: UpstreamPool,
    empty_timeout: float,
    interval: float = 1.0,
) -> None:
    """Beat, reap dead instances, end abandoned sessions, persist ended ones; repeat."""
    outage = OutageLog(log, "live session sweep")
    while not stopping.is_set():
        try:
            await store.heartbeat(HEARTBEAT_TTL)
            await leave_deferred(store)
            await reap_dead_instances(store)
            await end_abandoned(store, empty_timeout)
            for session_id in await store.pending_persistence():
                await persist(store, activity, session_id, store.instance_id)
            outage.recovered()
        except _FAILURES as error:
            outage.failed(error)
        await asyncio.sleep(interval)
