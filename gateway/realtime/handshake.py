"""The WebSocket handshake: origin, token, account, and refusing it as retryable in an outage."""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import WebSocket

from gateway.edge.errors import ApiError
from gateway.realtime.machinery import Live
from gateway.realtime.outage import CLOSE_TRY_AGAIN, UNAVAILABLE_REASON, unavailable_frame
from gateway.routes.accounts import GONE, account_exists

CLOSE_POLICY = 1008
GOODBYE_TIMEOUT = 1.0


def _handshake_token(websocket: WebSocket) -> tuple[str, str | None]:
    """The token from 'Authorization: Bearer' or the 'bearer, <token>' subprotocol pair."""
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip(), None
    offered = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",")]
    if len(offered) == 2 and offered[0].lower() == "bearer" and offered[1]:
        return offered[1], "bearer"
    return "", None


async def authorize(websocket: WebSocket, machinery: Live) -> tuple[str, str | None] | None:
    """The user and subprotocol for an allowed handshake; None after refusing it.

    Every socket checks the account as well as the token: a token outlives its account.
    """
    origin = websocket.headers.get("origin")
    if origin is not None and origin not in machinery.settings.allowed_origins:
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


async def refuse_for_now(websocket: WebSocket, subprotocol: str | None) -> None:
    """Refuse a handshake as retryable: accept, say why, close with 1013 (not a 403)."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(GOODBYE_TIMEOUT):
            await websocket.accept(subprotocol=subprotocol)
            await websocket.send_text(json.dumps(unavailable_frame()))
            await websocket.close(CLOSE_TRY_AGAIN, reason=UNAVAILABLE_REASON)
