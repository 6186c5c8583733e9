"""What both WebSockets (live sessions, notifications) share: handshake, close codes, error frames.

Error frames speak the REST vocabulary: ``code`` is the status name a REST answer would
carry for the same cause (``INVALID_ARGUMENT``, ``NOT_FOUND``, ... see gateway/edge/errors.py),
``reason`` the precise cause in the same UPPER_SNAKE_CASE (as google.rpc.ErrorInfo does).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import urlsplit

from fastapi import WebSocket

from gateway.edge.errors import REDIS_RETRY_AFTER, ApiError
from gateway.realtime.quota import TOO_MANY_SOCKETS
from gateway.routes.accounts import GONE, account_exists

CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN = 1013
GOODBYE_TIMEOUT = 1.0
UNAVAILABLE_REASON = "live sessions are unavailable, retry"

# Each reason a frame is refused for, and the REST status of the same cause.
CODES: dict[str, str] = {
    "MALFORMED_JSON": "INVALID_ARGUMENT",
    "UNKNOWN_TYPE": "INVALID_ARGUMENT",
    "INVALID_FRAME": "INVALID_ARGUMENT",
    "WRONG_SESSION": "INVALID_ARGUMENT",
    "BAD_OPTION": "INVALID_ARGUMENT",
    "NOT_YOUR_USER_ID": "PERMISSION_DENIED",
    "NOT_CREATOR_OR_OWNER": "PERMISSION_DENIED",
    "NO_SUCH_POLL": "NOT_FOUND",
    "NOT_JOINED": "FAILED_PRECONDITION",
    "ALREADY_JOINED": "FAILED_PRECONDITION",
    "POLL_CLOSED": "FAILED_PRECONDITION",
    "RATE_LIMITED": "RESOURCE_EXHAUSTED",
    "JOIN_TIMEOUT": "DEADLINE_EXCEEDED",
    "INTERNAL": "INTERNAL",
    "UNAVAILABLE": "UNAVAILABLE",
}


def error_frame(reason: str, message: str, **extra: Any) -> dict[str, Any]:
    """A frame telling one client what went wrong: REST status ``code``, precise ``reason``."""
    return {"type": "error", "code": CODES[reason], "reason": reason, "message": message, **extra}


def unavailable_frame() -> dict[str, Any]:
    """The error frame a socket gets before it is closed with 1013 during an outage."""
    message = "the gateway's shared store is unavailable; reconnect in a few seconds"
    return error_frame("UNAVAILABLE", message, retry_after=int(REDIS_RETRY_AFTER))


def _handshake_token(websocket: WebSocket) -> tuple[str, str | None]:
    """The token from 'Authorization: Bearer' or the 'bearer, <token>' subprotocol pair."""
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip(), None
    offered = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",")]
    if len(offered) == 2 and offered[0].lower() == "bearer" and offered[1]:
        return offered[1], "bearer"
    return "", None


def _origin_allowed(origin: str, host: str | None, origins: list[str]) -> bool:
    """A listed origin, or our own: the dashboard the gateway serves is same-origin.

    Comparing the Origin's host:port with the Host header keeps cross-site pages out
    (their Origin names their own site) whatever port or TLS proxy the gateway is behind.
    """
    return origin in origins or (bool(host) and urlsplit(origin).netloc == host)


async def authorize(websocket: WebSocket, origins: list[str]) -> tuple[str, str | None] | None:
    """The user and subprotocol for an allowed handshake; None after refusing it.

    Every socket checks the account as well as the token: a token outlives its account.
    """
    origin = websocket.headers.get("origin")
    if origin is not None and not _origin_allowed(origin, websocket.headers.get("host"), origins):
        await websocket.close(CLOSE_POLICY, reason="origin not allowed")
        return None
    token, subprotocol = _handshake_token(websocket)
    try:
        user_id = websocket.app.state.verifier.user_id(token) if token else None
    except ApiError:
        user_id = None
    if user_id is None:
        await websocket.close(CLOSE_POLICY, reason="missing or invalid token")
        return None
    if not await account_exists(websocket.app.state.upstreams, user_id):
        await websocket.close(CLOSE_POLICY, reason=GONE)
        return None
    return user_id, subprotocol


async def refuse_over_quota(websocket: WebSocket, subprotocol: str | None) -> None:
    """Refuse a user who holds as many sockets as allowed: accept, close 1008 saying why
    (a close before accepting reaches the client as a bare 403)."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(GOODBYE_TIMEOUT):
            await websocket.accept(subprotocol=subprotocol)
            await websocket.close(CLOSE_POLICY, reason=TOO_MANY_SOCKETS)


async def refuse_for_now(websocket: WebSocket, subprotocol: str | None) -> None:
    """Refuse a handshake as retryable: accept, say why, close with 1013 (not a 403)."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(GOODBYE_TIMEOUT):
            await websocket.accept(subprotocol=subprotocol)
            await websocket.send_text(json.dumps(unavailable_frame()))
            await websocket.close(CLOSE_TRY_AGAIN, reason=UNAVAILABLE_REASON)
