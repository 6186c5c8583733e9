"""Join and leave announcements, coalesced per session over a short window.

When a class of thousands starts, everyone joins within seconds; announcing each join
to everyone present would cost a number of deliveries quadratic in the class size.
Joins (and leaves) seen by this instance within ``window`` seconds go out as one event
whose ``user_ids`` lists them all (``user_id`` is the first, for simple clients).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from gateway.edge.errors import REDIS_OUTAGES
from gateway.realtime.events import make_event
from gateway.realtime.store import LiveStore

log = logging.getLogger(__name__)
PRESENCE_WINDOW = 0.25


class PresenceAnnouncer:
    """Collects joins and leaves per (session, kind) and appends one event per window."""

    def __init__(self, store: LiveStore, window: float = PRESENCE_WINDOW) -> None:
        self.store = store
        self.window = window
        self._pending: dict[tuple[str, str], list[str]] = {}
        self._flushes: dict[tuple[str, str], asyncio.Task[None]] = {}

    def announce(self, session_id: str, kind: str, user_id: str) -> None:
        """Queue a join_session or leave_session announcement."""
        batch = (session_id, kind)
        self._pending.setdefault(batch, []).append(user_id)
        if batch not in self._flushes:
            self._flushes[batch] = asyncio.create_task(self._flush_later(batch))

    async def _flush_later(self, batch: tuple[str, str]) -> None:
        await asyncio.sleep(self.window)
        await self._flush(batch)

    async def _flush(self, batch: tuple[str, str]) -> None:
        self._flushes.pop(batch, None)
        users = self._pending.pop(batch, [])
        if users:
            session_id, kind = batch
            event = make_event(kind, session_id, users[0], user_ids=users)
            try:
                await self.store.append(session_id, event)
            except REDIS_OUTAGES as error:  # presence itself is in Redis, and snapshots show it
                log.warning("presence announcement lost", extra={"error": repr(error)})

    async def close(self) -> None:
        """Send what is still pending (on shutdown)."""
        for task in list(self._flushes.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for batch in list(self._pending):
            await self._flush(batch)
