"""REST routes for group sessions: open, list, read and end them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fitness.activity.v1 import activity_service_pb2 as activity_pb
from pydantic import Field

from gateway.edge.dependencies import Caller, Creator, Pools, errors
from gateway.edge.errors import ApiError
from gateway.edge.idempotency import idempotency_var
from gateway.realtime.events import make_event
from gateway.realtime.live import LiveDep
from gateway.realtime.schemas import GroupSessionList, GroupSessionResponse
from gateway.realtime.store import GroupSession, LiveStore
from gateway.realtime.views import snapshot
from gateway.routes.accounts import require_account
from gateway.routes.fields import PathId, Timestamp, Title, WorkoutType
from gateway.routes.schemas import StrictBody
from services.common.upstream import ActivityRpc

router = APIRouter(tags=["group sessions"])


class CreateGroupSession(StrictBody):
    """POST /group-sessions."""

    title: Title
    workout_type: WorkoutType
    scheduled_at: Timestamp | None = Field(None, description="When it starts; optional")


async def _session_or_404(store: LiveStore, session_id: str) -> GroupSession:
    session = await store.get(session_id)
    if session is None:
        raise ApiError(404, f"group session {session_id} not found")
    return session


@router.post(
    "/group-sessions",
    status_code=201,
    response_model=GroupSessionResponse,
    responses=errors(400, 401, 422, 503),
)
async def create_group_session(
    body: CreateGroupSession, caller: Creator, pools: Pools, live: LiveDep
) -> dict[str, Any]:
    """Open a live class that others can join."""
    await require_account(pools, caller)
    listing = activity_pb.ListWorkoutTypesRequest()
    types = await pools.activity.call(ActivityRpc.ListWorkoutTypes, listing)
    if body.workout_type not in {t.name for t in types.workout_types}:
        raise ApiError(400, f"unknown workout_type {body.workout_type!r}")
    # With an Idempotency-Key, a retry after a crash re-creates the same session, not a second.
    scoped = idempotency_var.get()
    session = await live.store.create(
        caller, body.title, body.workout_type, body.scheduled_at or "", session_id=scoped
    )
    return await snapshot(live.store, session)


@router.get("/group-sessions", response_model=GroupSessionList, responses=errors(401))
async def list_group_sessions(_caller: Caller, live: LiveDep) -> dict[str, Any]:
    """Active sessions, newest first."""
    sessions = await live.store.active()
    return {"sessions": [await snapshot(live.store, s) for s in sessions]}


@router.get(
    "/group-sessions/{session_id}",
    response_model=GroupSessionResponse,
    responses=errors(401, 404),
)
async def get_group_session(session_id: PathId, _caller: Caller, live: LiveDep) -> dict[str, Any]:
    """A session's snapshot: participants, state and last sequence number."""
    return await snapshot(live.store, await _session_or_404(live.store, session_id))


@router.post(
    "/group-sessions/{session_id}/end",
    response_model=GroupSessionResponse,
    responses=errors(401, 403, 404, 409),
)
async def end_group_session(session_id: PathId, caller: Caller, live: LiveDep) -> dict[str, Any]:
    """End the session (its owner only); everyone connected gets session_ended."""
    session = await _session_or_404(live.store, session_id)
    if session.owner_id != caller:
        raise ApiError(403, "only the owner can end a group session")
    if not await live.store.end(session_id):
        raise ApiError(409, "the session has already ended", status="FAILED_PRECONDITION")
    await live.store.append(session_id, make_event("session_ended", session_id, caller))
    return await snapshot(live.store, await _session_or_404(live.store, session_id))
