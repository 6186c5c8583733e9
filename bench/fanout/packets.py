"""What each path's frames carry: Engine.IO/Socket.IO packets and every path's send time."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

# Engine.IO v4 / Socket.IO v5 over a websocket: one packet per frame, its type the first
# character(s): "0" open, "2" ping, "3" pong, "40" namespace connect, "42" event.
ENGINEIO_PING = "2"
ENGINEIO_PONG = "3"
SOCKETIO_CONNECT = "40"
SOCKETIO_EVENT = "42"
# Timestamps decoded from a frame; None when the frame is not one of the bench's events.
Decode = Callable[[str | bytes], float | None]


def engineio_open(raw: str | bytes) -> dict[str, Any]:
    """The handshake of an Engine.IO open packet ``0{...}`` (sid, pingInterval, ...)."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    if not text.startswith("0"):
        raise ValueError(f"not an Engine.IO open packet: {text[:40]!r}")
    handshake: dict[str, Any] = json.loads(text[1:])
    return handshake


def socketio_event(raw: str | bytes) -> tuple[str, list[Any]] | None:
    """(name, arguments) of a Socket.IO event packet ``42["name", ...]``; None for others."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    if not text.startswith(SOCKETIO_EVENT):
        return None
    name, *arguments = json.loads(text[len(SOCKETIO_EVENT) :])
    return name, arguments


def socketio_chat(sent_at: float) -> str:
    """The packet a Socket.IO client sends to emit ``chat`` with its send time."""
    return SOCKETIO_EVENT + json.dumps(["chat", {"t": sent_at}])


def socketio_sent_at(raw: str | bytes) -> float | None:
    """The send time of a ``chat`` event."""
    event = socketio_event(raw)
    if event is None or event[0] != "chat":
        return None
    return float(event[1][0]["t"])


def bare_sent_at(raw: str | bytes) -> float | None:
    """The send time of a bare relay's event."""
    frame = json.loads(raw)
    return float(frame["t"]) if frame.get("type") == "x" else None


def gateway_sent_at(raw: str | bytes) -> float | None:
    """The send time of a gateway chat message (its text starts with it)."""
    frame = json.loads(raw)
    if frame.get("type") != "chat_message":
        return None
    return float(frame["message"].split()[0])
