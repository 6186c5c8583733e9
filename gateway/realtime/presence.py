"""Join and leave announcements, coalesced per session over a short window.

When a class of thousands starts, everyone joins within seconds; announcing each join
to everyone present would cost a number of deliveries quadratic in the class size.
Joins (and leaves) seen by this instance within ``window`` seconds go out as one event
whose ``user_ids`` lists them all (``user_id`` is the first, for simple clients). A join
or leave never overtakes one of the other kind still waiting: that one goes out at once,
so a user who reloads the page (join, leave, join within the window) is not shown gone.
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
OPPOSITE = {"join_session": "leave_session", "leave_session": "join_session"}


class PresenceAnnouncer:
    """Collects joins and leaves per (session, kind) and appends one event per window."""

    def __init__(self, store: LiveStore, window: float = PRESENCE_WINDOW) -> None:
        self.store = store
        self.window = window
        self._pending: dict[tuple[str, str], list[str]] = {}
        self._flushes: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._sending: set[asyncio.Task[None]] = set()  # batches sent ahead of their window

    def announce(self, session_id: str, kind: str, user_id: str) -> None:
        """Queue a join_session or leave_session announcement, after any of the other kind."""
        waiting = (session_id, OPPOSITE[kind])
        if waiting in self._flushes:  # still in its window: out now, ahead of this one
            self._flushes.pop(waiting).cancel()
            self._send_now(waiting, self._pending.pop(waiting, []))
        batch = (session_id, kind)
        self._pending.setdefault(batch, []).append(user_id)
        if batch not in self._flushes:
            self._flushes[batch] = asyncio.create_task(self._flush_later(batch))

    def _send_now(self, batch: tuple[str, str], users: list[str]) -> None:
        task = asyncio.create_task(self._append(batch, users))
        self._sending.add(task)  # a task nobody holds may be collected before it runs
        task.add_done_callback(self._sending.discard)

    async def _flush_later(self, batch: tuple[str, str]) -> None:
        await asyncio.sleep(self.window)
        await self._flush(batch)

    async def _flush(self, batch: tuple[str, str]) -> None:
        self._flushes.pop(batch, None)
        await self._append(batch, self._pending.pop(batch, []))

    async def _append(self, batch: tuple[str, str], users: list[str]) -> None:
        if users:
            session_id, kind = batch
            event = make_event(kind, session_id, users[0], user_ids=users)
            try:
                await self.store.append(session_id, event)
            except REDIS_OUTAGES as error:  # presence itself is in Redis, and snapshots show it
                log.warning("presence announcement lost", extra={"error": repr(error)})

    async def close(self) -> None:
        """Send what is still pending (on shutdown), in the order it was announced."""
        for task in list(self._flushes.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(*self._sending)
        for batch in list(self._pending):
            await self._flush(batch)
