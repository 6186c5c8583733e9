"""REST routes for group sessions, and the WebSocket endpoint participants connect to."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, WebSocket
from fitness.activity.v1 import activity_service_pb2 as activity_pb
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.dependencies import Caller, Pools, errors
from gateway.errors import ApiError
from gateway.live.frames import (
    CLIENT_FRAME,
    FRAME_TYPES,
    ChatMessage,
    ExerciseUpdate,
    JoinSession,
    LeaveSession,
)
from gateway.live.hub import ClientConnection, Hub
from gateway.live.store import GroupSession, LiveStore

router = APIRouter(tags=["group sessions"])

CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
JOIN_TIMEOUT = 10.0


@dataclass
class LiveSettings:
    """Limits and origins of the WebSocket endpoint."""

    allowed_origins: list[str]
    queue_size: int = 256
    send_timeout: float = 5.0
    rate_per_second: float = 10.0
    rate_burst: int = 20


@dataclass
class Live:
    """What the live routes need, wired by create_app."""

    store: LiveStore
    hub: Hub
    settings: LiveSettings


async def live(request: Request) -> Live:
    """The app's live-session machinery."""
    machinery: Live = request.app.state.live
    return machinery


LiveDep = Annotated[Live, Depends(live)]


class CreateGroupSession(BaseModel):
    """POST /group-sessions."""

    model_config = ConfigDict(extra="forbid", strict=True)
    title: str = Field(min_length=1, max_length=100)
    workout_type: str
    scheduled_at: str = Field("", max_length=40, description="RFC 3339, optional")


async def snapshot(store: LiveStore, session: GroupSession) -> dict[str, Any]:
    """The session as a late joiner needs it: fields, who is here, and the last sequence number."""
    return {
        **asdict(session),
        "participants": await store.present(session.session_id),
        "last_seq": await store.last_seq(session.session_id),
    }


async def _session_or_404(store: LiveStore, session_id: str) -> GroupSession:
    session = await store.get(session_id)
    if session is None:
        raise ApiError(404, f"group session {session_id} not found")
    return session


@router.post("/group-sessions", status_code=201, responses=errors(400, 401, 422, 503))
async def create_group_session(
    body: CreateGroupSession, caller: Caller, pools: Pools, machinery: LiveDep
) -> dict[str, Any]:
    """Open a live class that others can join."""
    types = await pools.activity.call("ListWorkoutTypes", activity_pb.ListWorkoutTypesRequest())
    if body.workout_type not in {t.name for t in types.workout_types}:
        raise ApiError(400, f"unknown workout_type {body.workout_type!r}")
    session = await machinery.store.create(caller, body.title, body.workout_type, body.scheduled_at)
    return await snapshot(machinery.store, session)


@router.get("/group-sessions", responses=errors(401))
async def list_group_sessions(_caller: Caller, machinery: LiveDep) -> dict[str, Any]:
    """Active sessions, newest first."""
    sessions = await machinery.store.active()
    return {"sessions": [await snapshot(machinery.store, s) for s in sessions]}


@router.get("/group-sessions/{session_id}", responses=errors(401, 404))
async def get_group_session(session_id: str, _caller: Caller, machinery: LiveDep) -> dict[str, Any]:
    """A session's snapshot: participants, state and last sequence number."""
    return await snapshot(machinery.store, await _session_or_404(machinery.store, session_id))


@router.post("/group-sessions/{session_id}/end", responses=errors(401, 403, 404, 409))
async def end_group_session(session_id: str, caller: Caller, machinery: LiveDep) -> dict[str, Any]:
    """End the session (its owner only); everyone connected gets session_ended."""
    session = await _session_or_404(machinery.store, session_id)
    if session.owner_id != caller:
        raise ApiError(403, "only the owner can end a group session")
    if not await machinery.store.end(session_id):
        raise ApiError(409, "the session has already ended", status="FAILED_PRECONDITION")
    await machinery.store.append(session_id, _event("session_ended", session_id, caller))
    return await snapshot(machinery.store, await _session_or_404(machinery.store, session_id))


def _event(kind: str, session_id: str, user_id: str, **payload: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "session_id": session_id,
        "user_id": user_id,
        "ts": time.time(),
        **payload,
    }


def _handshake_token(websocket: WebSocket) -> tuple[str, str | None]:
    """The token from 'Authorization: Bearer' or the 'bearer, <token>' subprotocol pair."""
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip(), None
    offered = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",")]
    if len(offered) == 2 and offered[0].lower() == "bearer" and offered[1]:
        return offered[1], "bearer"
    return "", None


async def _authorize(websocket: WebSocket, machinery: Live) -> tuple[str, str | None] | None:
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
    authorized = await _authorize(websocket, machinery)
    if authorized is None:
        return
    user_id, subprotocol = authorized
    session = await machinery.store.get(session_id)
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
    reader = asyncio.create_task(_read(machinery, connection))
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
        await store.append(
            connection.session_id,
            _event("leave_session", connection.session_id, connection.user_id),
        )


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


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}


async def _read(machinery: Live, connection: ClientConnection) -> None:
    bucket = _Bucket(machinery.settings.rate_per_second, machinery.settings.rate_burst)
    refusals = 0
    joined = False
    while True:
        try:
            message = await asyncio.wait_for(
                connection.websocket.receive(), None if joined else JOIN_TIMEOUT
            )
        except TimeoutError:
            connection.send_now(_error("join_timeout", "send join_session first"))
            return
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is None:
            connection.closed.set()  # binary frames are not part of the protocol
            await connection.websocket.close(CLOSE_UNSUPPORTED, reason="text frames only")
            return
        if not bucket.take():
            refusals += 1
            connection.send_now(_error("rate_limited", "too many messages, slow down"))
            if refusals > machinery.settings.rate_burst:
                connection.closed.set()
                return
            continue
        frame = _parse(connection, message["text"])
        if frame is None:
            continue
        if not joined:
            if not isinstance(frame, JoinSession):
                connection.send_now(_error("not_joined", "send join_session first"))
                continue
            joined = await _join(machinery, connection, frame)
            continue
        if isinstance(frame, LeaveSession):
            return
        await _publish(machinery, connection, frame)


def _parse(connection: ClientConnection, text: str) -> Any:
    try:
        raw = json.loads(text)
    except ValueError:
        connection.send_now(_error("malformed_json", "frames must be JSON objects"))
        return None
    if not isinstance(raw, dict) or raw.get("type") not in FRAME_TYPES:
        kind = raw.get("type") if isinstance(raw, dict) else None
        connection.send_now(
            _error("unknown_type", f"unknown frame type {kind!r}; known: {', '.join(FRAME_TYPES)}")
        )
        return None
    try:
        frame = CLIENT_FRAME.validate_python(raw)
    except ValidationError as error:
        details = "; ".join(
            f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in error.errors()
        )
        connection.send_now(_error("invalid_frame", details))
        return None
    if getattr(frame, "user_id", None) not in (None, connection.user_id):
        connection.send_now(_error("forbidden", "user_id must be your own"))
        return None
    return frame


async def _join(machinery: Live, connection: ClientConnection, frame: JoinSession) -> bool:
    store, session_id = machinery.store, connection.session_id
    if frame.session_id != session_id:
        connection.send_now(_error("wrong_session", "session_id does not match the URL"))
        return False
    machinery.hub.add(connection)
    if await store.connect(session_id, connection.user_id, connection.connection_id):
        await store.append(session_id, _event("join_session", session_id, connection.user_id))
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


async def _publish(
    machinery: Live, connection: ClientConnection, frame: ChatMessage | ExerciseUpdate
) -> None:
    payload = frame.model_dump(exclude={"type", "user_id"}, exclude_none=True)
    event = _event(frame.type, connection.session_id, connection.user_id, **payload)
    await machinery.store.append(connection.session_id, event)
