"""Per-user notifications as a channel kind of the hub, and the socket that delivers them.

Notifications are stored by the user service (its REST list survives anything); the
activity service's progress relay publishes each goal-achieved alert on
``notifications:<user_id>`` (services/common/notifications.py), and the hub of every
gateway instance relays it, as published, to that user's open ``/ws/notifications``
sockets, each through its own bounded queue like every other hub client.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, WebSocket

from gateway.realtime.hub import Client, Outgoing
from gateway.realtime.live import Live
from gateway.realtime.protocol import authorize, refuse_for_now, refuse_over_quota
from services.common.notifications import CHANNEL_PREFIX
from services.common.notifications import channel as notification_channel

router = APIRouter(tags=["notifications"])
NOTIFICATIONS = "notifications"


class NotificationChannel:
    """Every user's notification channel, relayed to that user's sockets."""

    name = NOTIFICATIONS
    pattern = CHANNEL_PREFIX + "*"

    def audience(self, channel: str) -> str:
        """The user of a channel."""
        return channel.removeprefix(CHANNEL_PREFIX)

    def channel(self, audience: str) -> str:
        """A user's channel."""
        return notification_channel(audience)

    def item(self, data: str) -> Outgoing:
        """A notification, sent as published."""
        return Outgoing(0, data)

    async def catch_up(self, local: Mapping[str, set[Client]]) -> None:
        """Nothing to replay: notifications missed during an outage stay in the REST list."""


@router.websocket("/ws/notifications")
async def notification_socket(websocket: WebSocket) -> None:
    """Your notifications as they happen; the server only sends, closing ends it."""
    live: Live = websocket.app.state.live
    hub, settings = live.hub, live.settings
    authorized = await authorize(websocket, settings.allowed_origins)
    if authorized is None:
        return
    user_id, subprotocol = authorized
    if not hub.subscribed:
        await refuse_for_now(websocket, subprotocol)
        return
    if not live.quota.take(user_id):
        await refuse_over_quota(websocket, subprotocol)
        return
    try:
        await websocket.accept(subprotocol=subprotocol)
        client = Client(websocket, NOTIFICATIONS, user_id, user_id, settings)
        hub.add(client)
        try:
            await client.serve(_until_closed_by(websocket))
        finally:
            hub.remove(client)
            await client.say_goodbye()
    finally:
        live.quota.give_back(user_id)


async def _until_closed_by(websocket: WebSocket) -> None:
    """Nothing is expected from the client; receiving is how its close is noticed."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass
