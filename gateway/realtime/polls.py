"""Polls inside a live session: start, vote (changeable until close), close, auto-close."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from gateway.realtime.events import make_event
from gateway.realtime.frames import ClosePoll, StartPoll, Vote
from gateway.realtime.outage import OutageLog
from gateway.realtime.poll_store import PollRefused
from gateway.realtime.protocol import error_frame
from gateway.realtime.session_channel import SessionClient
from gateway.realtime.store import LiveStore
from gateway.realtime.views import poll_view
from services.common.redis import REDIS_FAILURES

log = logging.getLogger(__name__)


async def start(store: LiveStore, connection: SessionClient, frame: StartPoll) -> None:
    """Open a poll and announce it to the session."""
    poll = {
        "poll_id": uuid.uuid4().hex,
        "question": frame.question,
        "options": frame.options,
        "creator": connection.user_id,
        "closes_at": time.time() + frame.duration_seconds,
    }
    # Redis keeps the deadline as epoch seconds (the vote script compares it); clients get RFC 3339.
    event = make_event("start_poll", connection.session_id, connection.user_id, **poll_view(poll))
    await store.polls.start(connection.session_id, poll, event)


async def vote(store: LiveStore, connection: SessionClient, frame: Vote) -> None:
    """Record the vote; everyone gets the new tally, but not who chose what."""
    event = make_event("vote", connection.session_id, connection.user_id, poll_id=frame.poll_id)
    try:
        await store.polls.vote(
            connection.session_id, frame.poll_id, connection.user_id, frame.option, event
        )
    except PollRefused as refused:
        connection.send_now(error_frame(str(refused), f"vote not counted: {refused}"))


async def close(store: LiveStore, connection: SessionClient, frame: ClosePoll) -> None:
    """Close a poll early; only its creator or the session owner may."""
    poll = await store.polls.get(connection.session_id, frame.poll_id)
    session = await store.get(connection.session_id)
    if poll is None or session is None:
        connection.send_now(error_frame("NO_SUCH_POLL", "no such poll in this session"))
        return
    if connection.user_id not in (poll["creator"], session.owner_id):
        connection.send_now(
            error_frame("NOT_CREATOR_OR_OWNER", "only the poll's creator or the owner may close it")
        )
        return
    event = make_event(
        "close_poll", connection.session_id, connection.user_id, poll_id=frame.poll_id
    )
    if await store.polls.close(connection.session_id, frame.poll_id, event) is None:
        connection.send_now(error_frame("POLL_CLOSED", "the poll is already closed"))


async def close_due_polls(store: LiveStore) -> int:
    """Close every poll past its deadline; any instance may run this, only one close wins."""
    closed = 0
    for session_id, poll_id in await store.polls.due(time.time()):
        event = make_event("close_poll", session_id, "", poll_id=poll_id, reason="deadline")
        if await store.polls.close(session_id, poll_id, event) is not None:
            closed += 1
    return closed


async def close_due_polls_until(
    stopping: asyncio.Event, store: LiveStore, interval: float = 0.5
) -> None:
    """Sweep for expired polls every ``interval`` seconds, surviving Redis outages."""
    outage = OutageLog(log, "poll deadline sweep")
    while not stopping.is_set():
        try:
            await close_due_polls(store)
            outage.recovered()
        except REDIS_FAILURES as error:
            outage.failed(error)
        await asyncio.sleep(interval)
