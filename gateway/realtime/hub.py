"""Fan-out of session events to the WebSocket clients connected to this gateway instance.

Each instance subscribes once to every session channel in Redis and hands each event
to its local connections of that session. Every connection has a bounded queue and
its own writer task: a client that stops reading fills only its own queue and is
disconnected, never slowing the others.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from starlette.websockets import WebSocket

from gateway.realtime.outage import (
    CLOSE_TRY_AGAIN,
    UNAVAILABLE_REASON,
    Subscription,
    unavailable_frame,
)
from gateway.realtime.redis_keys import CHANNEL_PREFIX

log = logging.getLogger(__name__)

# The store's events_after: events of a session after a sequence number, or None if gone.
EventsAfter = Callable[[str, int], Awaitable[list[dict[str, Any]] | None]]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A frame ready to send: its sequence number and type, and its JSON text encoded once."""

    seq: int
    kind: str
    text: str

    @classmethod
    def of(cls, frame: dict[str, Any]) -> Outgoing:
        """Encode a frame built in this process."""
        return cls(frame.get("seq", 0), frame.get("type", ""), json.dumps(frame))


@dataclass(frozen=True, slots=True)
class Farewell:
    """How a connection ends: close code and reason, and a last frame sent just before."""

    code: int
    reason: str = ""
    frame: dict[str, Any] | None = None


def unavailable() -> Farewell:
    """The end of a connection that Redis going away makes impossible to serve."""
    return Farewell(CLOSE_TRY_AGAIN, UNAVAILABLE_REASON, unavailable_frame())


class ClientConnection:
    """One WebSocket client: what it has been sent, and a bounded queue of what it will be."""

    def __init__(
        self,
        websocket: WebSocket,
        session_id: str,
        user_id: str,
        queue_size: int,
        send_timeout: float,
    ) -> None:
        self.websocket = websocket
        self.session_id = session_id
        self.user_id = user_id
        self.connection_id = uuid.uuid4().hex
        self.queue: asyncio.Queue[Outgoing] = asyncio.Queue(queue_size)
        self.send_timeout = send_timeout
        self.last_seq = 0
        self.replaying = True
        self.held_back: list[Outgoing] = []
        self.closed = asyncio.Event()
        self.farewell: Farewell | None = None

    def end(self, farewell: Farewell) -> None:
        """Close the connection (its serving task notices) with this code, reason and frame."""
        if not self.closed.is_set():
            self.farewell = farewell
            self.closed.set()

    def offer(self, item: Outgoing) -> None:
        """Queue an event; while the backlog is being replayed, hold live events back."""
        if self.replaying:
            self.held_back.append(item)
            return
        self._enqueue(item)

    def _enqueue(self, item: Outgoing) -> None:
        if self.closed.is_set():
            return
        if item.seq and item.seq <= self.last_seq:
            return  # already delivered (replay and live delivery overlap)
        if item.seq:
            self.last_seq = item.seq
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            log.warning(
                "slow client disconnected", extra={"session": self.session_id, "user": self.user_id}
            )
            self.closed.set()

    def finish_replay(self, replayed: list[dict[str, Any]]) -> None:
        """Queue the backlog, then the live events that arrived meanwhile, without duplicates."""
        backlog = [Outgoing.of(event) for event in replayed]
        for item in [*backlog, *sorted(self.held_back, key=lambda held: held.seq)]:
            self._enqueue(item)
        self.held_back.clear()
        self.replaying = False

    def send_now(self, frame: dict[str, Any]) -> None:
        """Queue a frame for this client only (no sequence number)."""
        self._enqueue(Outgoing.of(frame))

    async def write_until_closed(self) -> None:
        """Send queued frames; a send that stalls past the timeout disconnects the client."""
        while True:
            item = await self.queue.get()
            if self.closed.is_set():
                return
            try:
                async with asyncio.timeout(self.send_timeout):
                    await self.websocket.send_text(item.text)
            except (TimeoutError, RuntimeError, OSError):
                self.closed.set()
                return
            if item.kind == "session_ended":
                return


class Hub:
    """This instance's registry of local connections, fed by one Redis subscription."""

    def __init__(self, redis: Redis, events_after: EventsAfter, timeout: float = 1.0) -> None:
        self.redis: Any = redis  # redis-py's stubs type replies loosely
        self.events_after = events_after
        self.timeout = timeout  # silence after which Redis is asked, then taken for gone
        self.connections: dict[str, set[ClientConnection]] = defaultdict(set)
        self.subscription = Subscription(redis, CHANNEL_PREFIX, timeout, "live event subscription")

    def add(self, connection: ClientConnection) -> None:
        """Start delivering the session's events to the connection."""
        self.connections[connection.session_id].add(connection)

    def remove(self, connection: ClientConnection) -> None:
        """Stop delivering to the connection."""
        local = self.connections.get(connection.session_id)
        if local is not None:
            local.discard(connection)
            if not local:
                del self.connections[connection.session_id]

    def deliver(self, session_id: str, item: Outgoing) -> None:
        """Offer an event to every local connection of the session."""
        for connection in list(self.connections.get(session_id, ())):
            connection.offer(item)

    def drop_all(self, farewell: Farewell) -> None:
        """End every local connection (when Redis is gone and nothing can be served)."""
        for local in list(self.connections.values()):
            for connection in list(local):
                connection.end(farewell)

    @property
    def subscribed(self) -> bool:
        """Whether events from other instances reach this one now."""
        return self.subscription.up

    async def listen_until(self, stopping: asyncio.Event) -> None:
        """Relay Redis events to local connections, resubscribing after failures.

        A lost subscription alone (Redis still answers) is caught up from the log and
        clients notice nothing; when resubscribing fails too, Redis is down, and every
        local client is told so and closed with 1013 rather than left waiting.
        """
        await self.subscription.relay_until(stopping, self._relay, self._catch_up, self._down)

    async def _relay(self, session_id: str, data: str) -> None:
        event = json.loads(data)
        self.deliver(session_id, Outgoing(event["seq"], event["type"], data))

    async def _down(self) -> None:
        self.drop_all(unavailable())

    async def _catch_up(self) -> None:
        """After a lost subscription, send local clients what was published meanwhile."""
        for session_id, local in list(self.connections.items()):
            oldest = min((c.last_seq for c in local), default=0)
            missed = await self.events_after(session_id, oldest)
            for connection in list(local):
                if missed is None:
                    connection.send_now({"type": "resync_required", "reason": "events were lost"})
                    continue
                for event in missed:
                    connection.offer(Outgoing.of(event))
