"""The goal-achieved alert on the wire: its Redis channel and its JSON, shared by the
activity service's progress relay (which publishes) and the gateway (which relays it to
the user's ``/ws/notifications`` sockets)."""

from __future__ import annotations

import json
from typing import Any

from fitness.user.v1 import user_service_pb2 as user_pb

CHANNEL_PREFIX = "notifications:"


def channel(user_id: str) -> str:
    """The Redis pub/sub channel of one user's notifications."""
    return CHANNEL_PREFIX + user_id


def notification_event(note: user_pb.Notification) -> dict[str, Any]:
    """The frame a socket receives: the REST item's fields, and its kind as ``type``."""
    return {
        "type": note.kind,
        "notification_id": note.notification_id,
        "kind": note.kind,
        "goal_id": note.goal_id or None,
        "message": note.message,
        "created_at": note.create_time,
    }


def encode(note: user_pb.Notification) -> str:
    """The message published on the user's channel."""
    return json.dumps(notification_event(note))
