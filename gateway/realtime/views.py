"""Sessions and polls as clients see them: times as RFC 3339 strings, null if unset."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from gateway.realtime.store import GroupSession, LiveStore
from services.common.timeutil import format_time, parse_time


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
