"""Activity use cases as plain functions over ports; no gRPC here."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.activity.domain import (
    DEFAULT_WEIGHT_KG,
    MAX_CLOCK_SKEW_SECONDS,
    WORKOUT_TYPES,
    Cursor,
    EndBeforeStart,
    InvalidInput,
    NotSessionOwner,
    SessionAlreadyEnded,
    SessionNotFound,
    Statistics,
    UnknownUser,
    WorkoutSession,
    WorkoutType,
    calories_burned,
    workout_type,
)
from services.activity.repository import WorkoutRepository
from services.activity.suggestions import (
    GoalPlan,
    Suggestion,
    require_feasible,
    suggest,
    validated_plan,
)
from services.activity.users import UserDirectory
from services.common import page_tokens
from services.common.cache import STATISTICS, Invalidator, NoInvalidation, user_entity
from services.common.timeutil import Clock, to_millis, utc_now

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_GROUP_PARTICIPANTS = 1000
# Group workouts get ids derived from (request_id, user), so a retry finds the same session.
GROUP_SESSION_NAMESPACE = uuid.UUID("5a1d7f0e-8c4b-4d6e-9f21-3b7c9e2a6d40")


@dataclass(frozen=True)
class ActivityDeps:
    """Everything the activity use cases need, wired once by the composition root."""

    repo: WorkoutRepository
    users: UserDirectory
    clock: Clock = utc_now
    make_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    # The shared cache holds the gateway's copy of each user's statistics: forgotten after
    # every write that changes them.
    cache: Invalidator = field(default_factory=NoInvalidation)

    def now(self) -> datetime:
        """Current time at millisecond precision, the precision every store keeps."""
        return to_millis(self.clock())


@dataclass(frozen=True)
class ParticipantTime:
    """When one participant of a group session was in it."""

    user_id: str
    start_time: datetime
    end_time: datetime


@dataclass(frozen=True)
class Page:
    """One page of sessions and the token for the next one ('' on the last)."""

    sessions: list[WorkoutSession]
    next_page_token: str


def start_workout(
    deps: ActivityDeps, user_id: str, type_name: str, request_id: str
) -> WorkoutSession:
    """Start a session of a known workout type now, for a user the user service knows."""
    _require_user(user_id)
    workout_type(type_name)
    weight = deps.users.weight_kg(user_id) or DEFAULT_WEIGHT_KG  # UnknownUser if unknown
    session = WorkoutSession(
        deps.make_id(), user_id, type_name, start_time=deps.now(), weight_kg=weight
    )
    return deps.repo.add_session(session, request_id)


def end_workout(
    deps: ActivityDeps, session_id: str, user_id: str, end_time: datetime | None, request_id: str
) -> WorkoutSession:
    """End the user's running session, computing duration and calories from his weight.

    The weight is the one read at the start, so ending works while the user service is
    down (the relay counts the workout toward his goals once it is back).
    """
    session = _owned_session(deps, session_id, user_id)
    if session.end_time is not None:
        if request_id and session.end_request_id == request_id:
            # A retry of the request that ended it: its first attempt may have committed
            # and lost its answer before invalidating, so invalidate again (idempotent).
            deps.cache.invalidate(STATISTICS, user_entity(user_id))
            return session
        raise SessionAlreadyEnded(f"session {session_id} has already ended")
    end = _checked_end(deps, session, end_time)
    duration = (end - session.start_time).total_seconds()
    weight = session.weight_kg or deps.users.weight_kg(user_id) or DEFAULT_WEIGHT_KG
    calories = calories_burned(workout_type(session.workout_type).met, weight, duration)
    ended = deps.repo.complete_session(session_id, end, duration, calories, request_id)
    if ended is None:
        raise SessionAlreadyEnded(f"session {session_id} has already ended")
    deps.cache.invalidate(STATISTICS, user_entity(user_id))  # after the commit
    return ended


def record_group_workout(
    deps: ActivityDeps,
    group_session_id: str,
    type_name: str,
    participants: list[ParticipantTime],
    request_id: str,
) -> list[WorkoutSession]:
    """Record one ended workout per participant; retries with the same request_id add nothing.

    A participant the user service no longer knows (his account was deleted during the
    session) is left out rather than failing everyone's workout.
    """
    if not (request_id and group_session_id):
        raise InvalidInput("request_id and group_session_id are required")
    if len(participants) > MAX_GROUP_PARTICIPANTS:
        raise InvalidInput(f"at most {MAX_GROUP_PARTICIPANTS} participants")
    workout_type(type_name)
    for participant in participants:
        _require_user(participant.user_id)
        if participant.end_time < participant.start_time:
            raise EndBeforeStart(f"{participant.user_id}: end_time is before start_time")
    return [
        _record_participant(deps, type_name, p, weight, request_id)
        for p in participants
        if (weight := _weight_if_known(deps, p.user_id)) is not None
    ]


def _weight_if_known(deps: ActivityDeps, user_id: str) -> float | None:
    try:
        return deps.users.weight_kg(user_id) or DEFAULT_WEIGHT_KG
    except UnknownUser:
        return None


def _record_participant(
    deps: ActivityDeps,
    type_name: str,
    participant: ParticipantTime,
    weight: float,
    request_id: str,
) -> WorkoutSession:
    key = f"{request_id}:{participant.user_id}"
    session_id = str(uuid.uuid5(GROUP_SESSION_NAMESPACE, key))
    start = to_millis(participant.start_time)
    started = WorkoutSession(
        session_id, participant.user_id, type_name, start_time=start, weight_kg=weight
    )
    deps.repo.add_session(started, key)
    return end_workout(deps, session_id, participant.user_id, participant.end_time, key + ":end")


def _owned_session(deps: ActivityDeps, session_id: str, user_id: str) -> WorkoutSession:
    session = deps.repo.get_session(session_id)
    if session is None:
        raise SessionNotFound(f"session {session_id} not found")
    if session.user_id != user_id:
        raise NotSessionOwner("this session belongs to another user")
    return session


def _checked_end(
    deps: ActivityDeps, session: WorkoutSession, end_time: datetime | None
) -> datetime:
    now = deps.now()
    end = end_time or now
    if end < session.start_time:
        raise EndBeforeStart("end_time is before the session's start_time")
    if end > now + timedelta(seconds=MAX_CLOCK_SKEW_SECONDS):
        raise InvalidInput("end_time is in the future")
    return end


def list_workouts(deps: ActivityDeps, user_id: str, page_size: int, page_token: str) -> Page:
    """Return one page of the user's sessions, newest first."""
    _require_user(user_id)
    if not 0 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    limit = page_size or DEFAULT_PAGE_SIZE
    found = deps.repo.list_sessions(user_id, limit + 1, decode_page_token(page_token))
    page, more = found[:limit], len(found) > limit
    return Page(page, encode_page_token(page[-1]) if more else "")


def get_statistics(deps: ActivityDeps, user_id: str) -> Statistics:
    """Return the user's maintained lifetime totals."""
    _require_user(user_id)
    return deps.repo.get_statistics(user_id)


def _require_user(user_id: str) -> None:
    if not user_id:
        raise InvalidInput("user_id is required")


def delete_user_activity(deps: ActivityDeps, user_id: str, request_id: str) -> int:
    """Delete every session, plan and statistic of the user; return how many sessions went.

    Deleting everything is idempotent by nature: a repeat of the request deletes nothing more.
    """
    if not (user_id and request_id):
        raise InvalidInput("user_id and request_id are required")
    deleted = deps.repo.delete_user_data(user_id)
    deps.cache.invalidate(STATISTICS, user_entity(user_id))
    return deleted


def put_goal_plan(deps: ActivityDeps, plan: GoalPlan) -> Suggestion | None:
    """Store a goal's plan (refusing one that cannot be met); a repeat changes nothing."""
    if not plan.request_id:
        raise InvalidInput("request_id is required")
    validated_plan(plan)
    suggestion = _suggestion(deps, plan) if plan.active else None
    if suggestion:
        require_feasible(suggestion)
    deps.repo.put_plan(plan)
    return suggestion


def restore_goal_plan(deps: ActivityDeps, goal_id: str, put_request_id: str) -> None:
    """Undo one put_goal_plan call, if it was applied and is still the latest."""
    if not (goal_id and put_request_id):
        raise InvalidInput("goal_id and put_request_id are required")
    deps.repo.restore_plan(goal_id, put_request_id)


def get_suggestions(deps: ActivityDeps, user_id: str) -> list[Suggestion]:
    """This week's plan for each of the user's active goals."""
    _require_user(user_id)
    plans = deps.repo.active_plans(user_id)
    if not plans:
        return []
    weight = deps.users.weight_kg(user_id) or DEFAULT_WEIGHT_KG
    return [_suggestion(deps, plan, weight) for plan in plans]


def _suggestion(deps: ActivityDeps, plan: GoalPlan, weight: float | None = None) -> Suggestion:
    done = deps.repo.totals_since(plan.user_id, plan.start_time)
    weight = weight or deps.users.weight_kg(plan.user_id) or DEFAULT_WEIGHT_KG
    return suggest(plan, done, deps.clock().date(), weight)


def list_workout_types() -> list[WorkoutType]:
    """All known workout types, sorted by name."""
    return [WORKOUT_TYPES[name] for name in sorted(WORKOUT_TYPES)]


def encode_page_token(last: WorkoutSession) -> str:
    """An opaque token pointing after ``last`` (the format every list RPC shares)."""
    return page_tokens.encode_page_token(page_tokens.Cursor(last.start_time, last.session_id))


def decode_page_token(token: str) -> Cursor | None:
    """Read a token made by encode_page_token; '' means the first page."""
    try:
        found = page_tokens.decode_page_token(token)
    except page_tokens.InvalidPageToken as error:
        raise InvalidInput(str(error)) from error
    return None if found is None else Cursor(found.time, found.id)
