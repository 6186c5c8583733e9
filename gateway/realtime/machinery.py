"""The wiring of live sessions: store, hub and limits, and the frames every part builds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request

from gateway.realtime.hub import Hub
from gateway.realtime.store import GroupSession, LiveStore
from services.common.timeutil import format_time, parse_time

if TYPE_CHECKING:
    from gateway.realtime.presence import PresenceAnnouncer


@dataclass
class LiveSettings:
    """Limits and origins of the WebSocket endpoint."""

    allowed_origins: list[str]
    queue_size: int = 256
    send_timeout: float = 5.0
    rate_per_second: float = 10.0
    rate_burst: int = 20


@dataclass
class Live:
    """What the live routes need, wired by create_app."""

    store: LiveStore
    hub: Hub
    settings: LiveSettings
    presence: PresenceAnnouncer


async def live(request: Request) -> Live:
    """The app's live-session machinery."""
    machinery: Live = request.app.state.live
    return machinery


LiveDep = Annotated[Live, Depends(live)]


def stamp(seconds: float | None) -> str | None:
    """An epoch time (as Redis keeps it) the way the API shows times: RFC 3339 UTC, or None."""
    if not seconds:
        return None
    return format_time(datetime.fromtimestamp(seconds, UTC))


def session_view(session: GroupSession) -> dict[str, Any]:
    """A session's own fields as clients see them: times as RFC 3339 strings, null if unset."""
    return {
        **asdict(session),
        "scheduled_at": _rfc3339(session.scheduled_at),
        "created_at": stamp(session.created_at),
        "ended_at": stamp(session.ended_at),
    }


def _rfc3339(text: str) -> str | None:
    """A client's RFC 3339 time in the API's one format (UTC, milliseconds, Z); None if unset."""
    if not text:
        return None
    try:
        return format_time(parse_time(text))
    except ValueError:  # stored before times were validated: show it as it came
        return text


def poll_view(poll: dict[str, Any]) -> dict[str, Any]:
    """A poll as clients see it: its deadline as an RFC 3339 string."""
    return {**poll, "closes_at": stamp(poll["closes_at"])}


async def snapshot(store: LiveStore, session: GroupSession) -> dict[str, Any]:
    """The session as a late joiner needs it: who is here, open polls, the last sequence number."""
    return {
        **session_view(session),
        "participants": await store.present(session.session_id),
        "polls": [poll_view(poll) for poll in await store.polls.open(session.session_id)],
        "last_seq": await store.last_seq(session.session_id),
        "summary": await store.summary(session.session_id),
    }


def make_event(kind: str, session_id: str, user_id: str, **payload: Any) -> dict[str, Any]:
    """A session event as every participant receives it (the store adds its seq)."""
    return {
        "type": kind,
        "session_id": session_id,
        "user_id": user_id,
        "ts": stamp(time.time()),
        **payload,
    }


class Background:
    """The live machinery's endless loops, stopped together.

    Each loop checks ``stopping`` as well as being cancelled: redis-py can turn a
    cancellation inside its connection pool into a connection error, which a loop that
    retries on connection errors would otherwise take for a hiccup and carry on.
    """

    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def run(self, loop: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
        """Start a loop that takes the stop flag."""
        self.tasks.append(asyncio.create_task(loop(self.stopping)))

    async def stop(self, grace: float = 5.0) -> None:
        """Ask every loop to stop, cancel them, and wait for them (at most ``grace`` seconds)."""
        self.stopping.set()
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=grace)


def error_frame(code: str, message: str) -> dict[str, Any]:
    """A frame telling one client what was wrong with what it sent."""
    return {"type": "error", "code": code, "message": message}
