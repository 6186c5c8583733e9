"""The WebSocket participants connect to: join, chat, exercise updates and polls.

Protocol (JSON text frames, each with a ``type``): the client's first frame is
``join_session`` (with ``last_seq`` to recover what it missed); the server answers with
``session_snapshot`` or the missed events then ``resumed``, and from then on relays
every session event, each carrying the session's sequence number ``seq``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from fastapi import APIRouter, WebSocket
from pydantic import ValidationError
from redis.exceptions import RedisError

from gateway.errors import ApiError
from gateway.live import polls
from gateway.live.frames import (
    CLIENT_FRAME,
    FRAME_TYPES,
    ChatMessage,
    ClosePoll,
    ExerciseUpdate,
    JoinSession,
    LeaveSession,
    StartPoll,
    Vote,
)
from gateway.live.hub import ClientConnection
from gateway.live.machinery import Live, error_frame, make_event, snapshot

router = APIRouter()

CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_TRY_AGAIN = 1013
JOIN_TIMEOUT = 10.0


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
    """The user and subprotocol for an allowed handshake; None after refusing it."""
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
    return user_id, subprotocol


@router.websocket("/ws/sessions/{session_id}")
async def session_socket(websocket: WebSocket, session_id: str) -> None:
    """Join a live session: send join_session first, then chat and exercise updates."""
    machinery: Live = websocket.app.state.live
    authorized = await authorize(websocket, machinery)
    if authorized is None:
        return
    user_id, subprotocol = authorized
    try:
        session = await machinery.store.get(session_id)
    except RedisError:
        await websocket.close(CLOSE_TRY_AGAIN, reason="live sessions are unavailable, retry")
        return
    if session is None or session.state != "active":
        await websocket.close(CLOSE_POLICY, reason="no such active session")
        return
    await websocket.accept(subprotocol=subprotocol)
    connection = ClientConnection(
        websocket,
        session_id,
        user_id,
        machinery.settings.queue_size,
        machinery.settings.send_timeout,
    )
    await _serve(machinery, connection)


async def _serve(machinery: Live, connection: ClientConnection) -> None:
    writer = asyncio.create_task(connection.write_until_closed())
    reader = asyncio.create_task(_Reader(machinery, connection).run())
    try:
        await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (reader, writer):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await _leave(machinery, connection)
        code = CLOSE_POLICY if connection.closed.is_set() else CLOSE_NORMAL
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.websocket.close(code), 1.0)


async def _leave(machinery: Live, connection: ClientConnection) -> None:
    if connection not in machinery.hub.connections.get(connection.session_id, ()):
        return
    machinery.hub.remove(connection)
    store = machinery.store
    if await store.disconnect(connection.session_id, connection.user_id, connection.connection_id):
        machinery.presence.announce(connection.session_id, "leave_session", connection.user_id)


class _Bucket:
    """Token bucket: ``rate`` frames a second on average, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.updated = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class _Reader:
    """Reads one client's frames: join first, then the rest, within the rate limit."""

    def __init__(self, machinery: Live, connection: ClientConnection) -> None:
        self.machinery = machinery
        self.connection = connection
        self.bucket = _Bucket(machinery.settings.rate_per_second, machinery.settings.rate_burst)
        self.refusals = 0
        self.joined = False

    async def run(self) -> None:
        """Handle frames until the client leaves, misbehaves past the limits, or is gone."""
        while (text := await self._next_text()) is not None:
            if not self._within_rate():
                if self.refusals > self.machinery.settings.rate_burst:
                    self.connection.closed.set()
                    return
                continue
            frame = _parse(self.connection, text)
            if frame is not None and not await self._dispatch(frame):
                return

    async def _next_text(self) -> str | None:
        """The next text frame; None when the client is gone, never joined, or sent binary."""
        connection = self.connection
        try:
            wait = None if self.joined else JOIN_TIMEOUT
            message = await asyncio.wait_for(connection.websocket.receive(), wait)
        except TimeoutError:
            connection.send_now(error_frame("join_timeout", "send join_session first"))
            return None
        if message["type"] == "websocket.disconnect":
            return None
        if message.get("text") is None:
            connection.closed.set()  # binary frames are not part of the protocol
            await connection.websocket.close(CLOSE_UNSUPPORTED, reason="text frames only")
            return None
        return str(message["text"])

    def _within_rate(self) -> bool:
        if self.bucket.take():
            return True
        self.refusals += 1
        self.connection.send_now(error_frame("rate_limited", "too many messages, slow down"))
        return False

    async def _dispatch(self, frame: Any) -> bool:
        """Act on a valid frame; False when the client leaves."""
        if not self.joined:
            if isinstance(frame, JoinSession):
                self.joined = await _join(self.machinery, self.connection, frame)
            else:
                self.connection.send_now(error_frame("not_joined", "send join_session first"))
            return True
        if isinstance(frame, LeaveSession):
            return False
        await _handle(self.machinery, self.connection, frame)
        return True


def _parse(connection: ClientConnection, text: str) -> Any:
    try:
        raw = json.loads(text)
    except ValueError:
        connection.send_now(error_frame("malformed_json", "frames must be JSON objects"))
        return None
    if not isinstance(raw, dict) or raw.get("type") not in FRAME_TYPES:
        kind = raw.get("type") if isinstance(raw, dict) else None
        connection.send_now(
            error_frame(
                "unknown_type", f"unknown frame type {kind!r}; known: {', '.join(FRAME_TYPES)}"
            )
        )
        return None
    try:
        frame = CLIENT_FRAME.validate_python(raw)
    except ValidationError as error:
        details = "; ".join(
            f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in error.errors()
        )
        connection.send_now(error_frame("invalid_frame", details))
        return None
    if getattr(frame, "user_id", None) not in (None, connection.user_id):
        connection.send_now(error_frame("forbidden", "user_id must be your own"))
        return None
    return frame


async def _join(machinery: Live, connection: ClientConnection, frame: JoinSession) -> bool:
    store, session_id = machinery.store, connection.session_id
    if frame.session_id != session_id:
        connection.send_now(error_frame("wrong_session", "session_id does not match the URL"))
        return False
    machinery.hub.add(connection)
    if await store.connect(session_id, connection.user_id, connection.connection_id):
        machinery.presence.announce(session_id, "join_session", connection.user_id)
    session = await store.get(session_id)
    if frame.last_seq is not None:
        missed = await store.events_after(session_id, frame.last_seq)
        if missed is not None:
            connection.last_seq = frame.last_seq
            connection.finish_replay(missed)
            connection.send_now({"type": "resumed", "last_seq": connection.last_seq})
            return True
        connection.send_now(
            {"type": "resync_required", "reason": "events since last_seq are no longer kept"}
        )
    state = await snapshot(store, session) if session else {}
    connection.send_now({"type": "session_snapshot", **state})
    connection.last_seq = state.get("last_seq", 0)
    connection.finish_replay([])
    return True


async def _handle(machinery: Live, connection: ClientConnection, frame: Any) -> None:
    if isinstance(frame, StartPoll):
        await polls.start(machinery.store, connection, frame)
    elif isinstance(frame, Vote):
        await polls.vote(machinery.store, connection, frame)
    elif isinstance(frame, ClosePoll):
        await polls.close(machinery.store, connection, frame)
    else:
        await _publish(machinery, connection, frame)


async def _publish(
    machinery: Live, connection: ClientConnection, frame: ChatMessage | ExerciseUpdate
) -> None:
    payload = frame.model_dump(exclude={"type", "user_id"}, exclude_none=True)
    event = make_event(frame.type, connection.session_id, connection.user_id, **payload)
    await machinery.store.append(connection.session_id, event)
    if isinstance(frame, ChatMessage):
        totals = {"chat_messages": 1}
    else:
        totals = {"exercise_updates": 1, "reps": frame.reps or 0}
    await machinery.store.count(connection.session_id, connection.user_id, **totals)
