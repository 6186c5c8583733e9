"""Live sessions as a channel kind of the hub: a participant's connection, replay and catch-up."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.websockets import WebSocket

from gateway.realtime.hub import Client, Outgoing
from gateway.realtime.redis_keys import CHANNEL_PATTERN, channel, session_of
from gateway.realtime.settings import LiveSettings

LIVE = "live"
# The store's events_after: events of a session after a sequence number, or None if gone.
EventsAfter = Callable[[str, int], Awaitable[list[dict[str, Any]] | None]]


def session_item(event: dict[str, Any], text: str = "") -> Outgoing:
    """A session event ready to send (``text``: its JSON when already encoded)."""
    last = event["type"] == "session_ended"
    return Outgoing(event["seq"], text or json.dumps(event), last)


class SessionClient(Client):
    """One participant's connection: while its backlog is replayed, live events wait."""

    def __init__(
        self, websocket: WebSocket, session_id: str, user_id: str, settings: LiveSettings
    ) -> None:
        super().__init__(websocket, LIVE, session_id, user_id, settings)
        self.session_id = session_id
        self.connection_id = uuid.uuid4().hex
        self.replaying = True
        self.held_back: list[Outgoing] = []

    def offer(self, item: Outgoing) -> None:
        """Queue an event; while the backlog is being replayed, hold live events back."""
        if self.replaying:
            self.held_back.append(item)
            return
        self._enqueue(item)

    def finish_replay(self, replayed: list[dict[str, Any]]) -> None:
        """Queue the backlog, then the live events that arrived meanwhile, without duplicates."""
        backlog = [session_item(event) for event in replayed]
        for item in [*backlog, *sorted(self.held_back, key=lambda held: held.seq)]:
            self._enqueue(item)
        self.held_back.clear()
        self.replaying = False


class SessionChannel:
    """Every session's channel (``live:{<session>}:channel``) and how its clients catch up."""

    name = LIVE
    pattern = CHANNEL_PATTERN

    def __init__(self, events_after: EventsAfter) -> None:
        self.events_after = events_after

    def audience(self, channel: str) -> str:
        """The session of a channel."""
        return session_of(channel)

    def channel(self, audience: str) -> str:
        """A session's channel."""
        return channel(audience)

    def item(self, data: str) -> Outgoing:
        """A published event, sent as published (it is encoded once, by the store's script)."""
        return session_item(json.loads(data), data)

    async def catch_up(self, local: Mapping[str, set[Client]]) -> None:
        """Send local clients, from the session log, what was published while unsubscribed."""
        for session_id, clients in list(local.items()):
            oldest = min((c.last_seq for c in clients), default=0)
            missed = await self.events_after(session_id, oldest)
            for client in list(clients):
                if missed is None:
                    client.send_now({"type": "resync_required", "reason": "events were lost"})
                    continue
                for event in missed:
                    client.offer(session_item(event))
