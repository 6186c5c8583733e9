"""The WebSocket participants connect to: join, chat, exercise updates and polls.

Protocol (JSON text frames, each with a ``type``): the client's first frame is
``join_session`` (with ``last_seq`` to recover what it missed); the server answers with
``session_snapshot`` or the missed events then ``resumed``, and from then on relays
every session event, each carrying the session's sequence number ``seq``.
"""

from __future__ import annotations

import asyncio
import logging
import time

from fastapi import APIRouter, WebSocket

from gateway.edge.errors import REDIS_OUTAGES
from gateway.realtime import polls
from gateway.realtime.events import make_event
from gateway.realtime.frames import (
    ChatMessage,
    ClosePoll,
    ExerciseUpdate,
    JoinSession,
    StartPoll,
    Vote,
)
from gateway.realtime.hub import Farewell, unavailable
from gateway.realtime.live import Live
from gateway.realtime.parsing import Frame, Refusal, parse_frame
from gateway.realtime.protocol import (
    CLOSE_INTERNAL,
    CLOSE_POLICY,
    CLOSE_UNSUPPORTED,
    authorize,
    error_frame,
    refuse_for_now,
    refuse_over_quota,
)
from gateway.realtime.session_channel import SessionClient
from gateway.realtime.views import snapshot

log = logging.getLogger(__name__)
router = APIRouter()

JOIN_TIMEOUT = 10.0


@router.websocket("/ws/sessions/{session_id}")
async def session_socket(websocket: WebSocket, session_id: str) -> None:
    """Join a live session: send join_session first, then chat and exercise updates."""
    live: Live = websocket.app.state.live
    authorized = await authorize(websocket, live.settings.allowed_origins)
    if authorized is None:
        return
    user_id, subprotocol = authorized
    if not live.quota.take(user_id):
        await refuse_over_quota(websocket, subprotocol)
        return
    try:
        await _serve(websocket, live, session_id, user_id, subprotocol)
    finally:
        live.quota.give_back(user_id)


async def _serve(
    websocket: WebSocket, live: Live, session_id: str, user_id: str, subprotocol: str | None
) -> None:
    try:
        session = await live.store.get(session_id)
    except REDIS_OUTAGES as error:
        log.warning("live session handshake refused, redis down", extra={"error": repr(error)})
        await refuse_for_now(websocket, subprotocol)
        return
    if session is None or session.state != "active":
        await websocket.close(CLOSE_POLICY, reason="no such active session")
        return
    await websocket.accept(subprotocol=subprotocol)
    connection = SessionClient(websocket, session_id, user_id, live.settings)
    try:
        await connection.serve(_Reader(live, connection).run())
    finally:
        joined = live.hub.holds(connection)
        live.hub.remove(connection)
        await connection.say_goodbye()
        if joined:
            await _leave(live, connection)


async def _leave(live: Live, connection: SessionClient) -> None:
    store, session_id, user_id = live.store, connection.session_id, connection.user_id
    try:
        left = await store.disconnect(session_id, user_id, connection.connection_id)
    except REDIS_OUTAGES:
        # Without this the user would look present for good; the sweep retries it.
        store.disconnect_later(session_id, user_id, connection.connection_id)
        return
    if left:
        live.presence.announce(session_id, "leave_session", user_id)


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

    def __init__(self, live: Live, connection: SessionClient) -> None:
        self.live = live
        self.connection = connection
        self.bucket = _Bucket(live.settings.rate_per_second, live.settings.rate_burst)
        self.refusals = 0
        self.joined = False

    async def run(self) -> None:
        """Handle frames until the client leaves, misbehaves past the limits, or is gone."""
        connection = self.connection
        while (text := await self._next_text()) is not None:
            if not self._within_rate():
                if self.refusals > self.live.settings.rate_burst:
                    connection.end(Farewell(CLOSE_POLICY, "rate limit exceeded"))
                    return
                continue
            frame = parse_frame(text, connection.user_id)
            if isinstance(frame, Refusal):
                self._refuse(frame)
                continue
            try:
                if not await self._dispatch(frame):
                    return
            except REDIS_OUTAGES as error:
                log.warning("live session frame failed, redis down", extra=self._about(error))
                connection.end(unavailable())
                return
            except Exception as error:
                log.exception("live session frame failed", extra=self._about(error))
                message = "the server failed to handle that frame; reconnect"
                connection.end(
                    Farewell(CLOSE_INTERNAL, "internal error", error_frame("INTERNAL", message))
                )
                return

    def _about(self, error: BaseException) -> dict[str, str]:
        connection = self.connection
        return {"session": connection.session_id, "user": connection.user_id, "error": repr(error)}

    def _refuse(self, refusal: Refusal) -> None:
        log.info(
            "live session frame refused",
            extra={"session": self.connection.session_id, "reason": refusal.reason},
        )
        self.connection.send_now(error_frame(refusal.reason, refusal.message))

    async def _next_text(self) -> str | None:
        """The next text frame; None when the client is gone, never joined, or sent binary."""
        connection = self.connection
        try:
            wait = None if self.joined else JOIN_TIMEOUT
            message = await asyncio.wait_for(connection.websocket.receive(), wait)
        except TimeoutError:
            frame = error_frame("JOIN_TIMEOUT", "send join_session first")
            connection.end(Farewell(CLOSE_POLICY, "join_session expected", frame))
            return None
        if message["type"] == "websocket.disconnect":
            return None
        if message.get("text") is None:  # binary frames are not part of the protocol
            connection.end(Farewell(CLOSE_UNSUPPORTED, "text frames only"))
            return None
        return str(message["text"])

    def _within_rate(self) -> bool:
        if self.bucket.take():
            return True
        self.refusals += 1
        self.connection.send_now(error_frame("RATE_LIMITED", "too many messages, slow down"))
        return False

    async def _dispatch(self, frame: Frame) -> bool:
        """Act on a valid frame; False when the client leaves."""
        if not self.joined:
            if isinstance(frame, JoinSession):
                self.joined = await _join(self.live, self.connection, frame)
            else:
                self._refuse(Refusal("NOT_JOINED", "send join_session first"))
            return True
        if isinstance(frame, JoinSession):
            self._refuse(Refusal("ALREADY_JOINED", "this connection has joined already"))
            return True
        if isinstance(frame, ChatMessage | ExerciseUpdate | StartPoll | Vote | ClosePoll):
            await _handle(self.live, self.connection, frame)
            return True
        return False  # leave_session


async def _join(live: Live, connection: SessionClient, frame: JoinSession) -> bool:
    store, session_id = live.store, connection.session_id
    if frame.session_id != session_id:
        connection.send_now(error_frame("WRONG_SESSION", "session_id does not match the URL"))
        return False
    live.hub.add(connection)
    if await store.connect(session_id, connection.user_id, connection.connection_id):
        live.presence.announce(session_id, "join_session", connection.user_id)
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


async def _handle(
    live: Live,
    connection: SessionClient,
    frame: ChatMessage | ExerciseUpdate | StartPoll | Vote | ClosePoll,
) -> None:
    if isinstance(frame, StartPoll):
        await polls.start(live.store, connection, frame)
    elif isinstance(frame, Vote):
        await polls.vote(live.store, connection, frame)
    elif isinstance(frame, ClosePoll):
        await polls.close(live.store, connection, frame)
    else:
        await _publish(live, connection, frame)


async def _publish(
    live: Live, connection: SessionClient, frame: ChatMessage | ExerciseUpdate
) -> None:
    payload = frame.model_dump(exclude={"type", "user_id"}, exclude_none=True)
    event = make_event(frame.type, connection.session_id, connection.user_id, **payload)
    await live.store.append(connection.session_id, event)
    if isinstance(frame, ChatMessage):
        totals = {"chat_messages": 1}
    else:
        totals = {"exercise_updates": 1, "reps": frame.reps or 0}
    await live.store.count(connection.session_id, connection.user_id, **totals)
