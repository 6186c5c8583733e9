"""Per-user notifications: the REST list and the live WebSocket channel.

Notifications are stored by the user service (the REST list survives anything); the
gateway that learns of one publishes it on ``notifications:<user_id>`` in Redis, and
every gateway instance relays it to that user's open ``/ws/notifications`` sockets. One
pattern subscription per instance serves all its sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, WebSocket
from fitness.user.v1 import user_service_pb2 as pb
from redis.asyncio import Redis

from gateway.edge.auth import require_self
from gateway.edge.dependencies import AUTH_ERRORS, Caller, Pools
from gateway.realtime.handshake import GOODBYE_TIMEOUT, authorize, refuse_for_now
from gateway.realtime.outage import (
    CLOSE_TRY_AGAIN,
    UNAVAILABLE_REASON,
    Subscription,
    unavailable_frame,
)
from gateway.routes.fields import PathId
from gateway.routes.schemas import NotificationList, NotificationResponse

log = logging.getLogger(__name__)
router = APIRouter(tags=["notifications"])
CHANNEL_PREFIX = "notifications:"
SEND_TIMEOUT = 5.0


async def _nothing_missed() -> None:
    """Notifications missed during an outage stay in the REST list; nothing to replay."""


class NotificationHub:
    """Relays notifications published in Redis to this instance's open sockets."""

    def __init__(self, redis: Redis, subscriber: Redis | None = None, timeout: float = 1.0) -> None:
        self.redis = redis
        # Subscribing through a client that does not retry silently, so a loss is noticed.
        self.subscriber = subscriber or redis
        self.timeout = timeout  # silence after which Redis is asked, then taken for gone
        self.sockets: dict[str, set[WebSocket]] = defaultdict(set)
        self.subscription = Subscription(
            self.subscriber, CHANNEL_PREFIX, timeout, "notification subscription"
        )

    async def publish(self, user_id: str, notification: dict[str, Any]) -> None:
        """Tell every instance to deliver the notification to the user's sockets."""
        await self.redis.publish(CHANNEL_PREFIX + user_id, json.dumps(notification))

    @property
    def subscribed(self) -> bool:
        """Whether notifications published anywhere reach this instance now."""
        return self.subscription.up

    async def listen_until(self, stopping: asyncio.Event) -> None:
        """Relay published notifications, resubscribing after Redis failures.

        When resubscribing fails too, Redis is down: every socket is told and closed
        with 1013, and new ones are refused the same way until it is back.
        """
        await self.subscription.relay_until(
            stopping, self._deliver, _nothing_missed, self._drop_all
        )

    async def _deliver(self, user_id: str, text: str) -> None:
        sockets = list(self.sockets.get(user_id, ()))
        results = await asyncio.gather(
            *(asyncio.wait_for(s.send_text(text), SEND_TIMEOUT) for s in sockets),
            return_exceptions=True,
        )
        for socket, result in zip(sockets, results, strict=True):
            if isinstance(result, BaseException):
                self.sockets[user_id].discard(socket)  # a stalled or gone client

    async def _drop_all(self) -> None:
        sockets = [s for local in self.sockets.values() for s in local]
        self.sockets.clear()
        await asyncio.gather(*(_say_unavailable(s) for s in sockets))

    def add(self, user_id: str, socket: WebSocket) -> None:
        """Deliver the user's notifications to this socket from now on."""
        self.sockets[user_id].add(socket)

    def remove(self, user_id: str, socket: WebSocket) -> None:
        """Stop delivering to this socket."""
        local = self.sockets.get(user_id)
        if local is not None:
            local.discard(socket)
            if not local:
                del self.sockets[user_id]


async def _say_unavailable(socket: WebSocket) -> None:
    with contextlib.suppress(Exception):  # the client may be gone already
        async with asyncio.timeout(GOODBYE_TIMEOUT):
            await socket.send_text(json.dumps(unavailable_frame()))
            await socket.close(CLOSE_TRY_AGAIN, reason=UNAVAILABLE_REASON)


async def notification_hub(request: Request) -> NotificationHub:
    """FastAPI dependency: this instance's notification hub."""
    hub: NotificationHub = request.app.state.notifications
    return hub


Notifications = Annotated[NotificationHub, Depends(notification_hub)]


def notification_event(note: pb.Notification) -> dict[str, Any]:
    """The frame a socket receives, and the REST item: the same fields."""
    return {"type": note.kind, **notification_response(note).model_dump()}


def notification_response(note: pb.Notification) -> NotificationResponse:
    """Render a notification."""
    return NotificationResponse(
        notification_id=note.notification_id,
        kind=note.kind,
        goal_id=note.goal_id or None,
        message=note.message,
        created_at=note.create_time,
    )


@router.get(
    "/users/{user_id}/notifications", response_model=NotificationList, responses=AUTH_ERRORS
)
async def list_notifications(
    user_id: PathId,
    caller: Caller,
    pools: Pools,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationList:
    """Your notifications (e.g. goal achieved), newest first."""
    require_self(user_id, caller)
    request = pb.ListNotificationsRequest(user_id=user_id, page_size=page_size)
    reply = await pools.users.call("ListNotifications", request)
    return NotificationList(notifications=[notification_response(n) for n in reply.notifications])


@router.websocket("/ws/notifications")
async def notification_socket(websocket: WebSocket) -> None:
    """Your notifications as they happen; the server only sends, closing ends it."""
    authorized = await authorize(websocket, websocket.app.state.live)
    if authorized is None:
        return
    user_id, subprotocol = authorized
    hub: NotificationHub = websocket.app.state.notifications
    if not hub.subscribed:
        await refuse_for_now(websocket, subprotocol)
        return
    await websocket.accept(subprotocol=subprotocol)
    hub.add(user_id, websocket)
    try:
        # Nothing is expected from the client; receiving is how its close is noticed.
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    finally:
        hub.remove(user_id, websocket)
