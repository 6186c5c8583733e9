"""Goal changes carried out by sagas, goal progress from workouts, and notifications."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import TypeVar

from services.user.domain import (
    Goal,
    GoalBusy,
    GoalOperation,
    GoalStatus,
    GoalType,
    InvalidInput,
    Notification,
    StaleGoal,
    WorkoutDone,
    validate_goal,
)
from services.user.repository import GoalWrite
from services.user.service import UserDeps, get_goal, get_user

T = TypeVar("T")
# Optimistic writes lose to a concurrent change this many times before giving up.
STALE_RETRIES = 5
MAX_NOTIFICATIONS_PAGE = 200


@dataclass(frozen=True)
class GoalChange:
    """What a saga asks to prepare on a goal."""

    saga_id: str
    user_id: str
    goal_id: str
    operation: GoalOperation
    goal_type: GoalType | None = None
    target_value: float = 0.0
    target_date: date | None = None


def prepare_goal_change(deps: UserDeps, change: GoalChange, request_id: str) -> Goal:
    """Create a pending goal, or claim an existing one for the saga; GoalBusy if taken."""
    get_user(deps, change.user_id)
    if change.operation is GoalOperation.CREATE:
        return _prepare_create(deps, change, request_id)
    return _retrying_stale(lambda: _claim(deps, change, request_id))


def _prepare_create(deps: UserDeps, change: GoalChange, request_id: str) -> Goal:
    if change.goal_type is None or change.target_date is None:
        raise InvalidInput("goal_type and target_date are required")
    validate_goal(change.target_value, change.target_date, deps.clock().date())
    goal = Goal(
        goal_id=change.goal_id,
        user_id=change.user_id,
        goal_type=change.goal_type,
        target_value=change.target_value,
        target_date=change.target_date,
        current_progress=0.0,
        status=GoalStatus.ACTIVE,
        created_at=deps.clock(),
        pending_operation=GoalOperation.CREATE,
        pending_saga_id=change.saga_id,
    )
    if deps.repo.write_goals(request_id, [GoalWrite(None, goal)], deps.clock()):
        return goal
    return get_goal(deps, change.user_id, change.goal_id)


def _claim(deps: UserDeps, change: GoalChange, request_id: str) -> Goal:
    current = get_goal(deps, change.user_id, change.goal_id)
    if current.pending_saga_id == change.saga_id:
        return current
    if current.pending_saga_id:
        raise GoalBusy(f"goal {change.goal_id} is being changed by another request")
    target = None
    if change.operation is GoalOperation.UPDATE:
        if change.target_date is None:
            raise InvalidInput("target_date is required")
        validate_goal(change.target_value, change.target_date, deps.clock().date())
        target = (change.target_value, change.target_date)
    claimed = replace(
        current,
        pending_operation=change.operation,
        pending_saga_id=change.saga_id,
        pending_target=target,
    )
    if deps.repo.write_goals(request_id, [GoalWrite(current, claimed)], deps.clock()):
        return claimed
    return get_goal(deps, change.user_id, change.goal_id)


def commit_goal_change(
    deps: UserDeps, saga_id: str, user_id: str, goal_id: str, request_id: str
) -> Goal | None:
    """Apply the change the saga prepared; a repeat finds it applied and changes nothing."""
    return _retrying_stale(lambda: _finish(deps, saga_id, user_id, goal_id, request_id, True))


def cancel_goal_change(
    deps: UserDeps, saga_id: str, user_id: str, goal_id: str, request_id: str
) -> Goal | None:
    """Forget the change the saga prepared; a pending new goal disappears."""
    return _retrying_stale(lambda: _finish(deps, saga_id, user_id, goal_id, request_id, False))


def _finish(
    deps: UserDeps, saga_id: str, user_id: str, goal_id: str, request_id: str, commit: bool
) -> Goal | None:
    current = deps.repo.get_goal(user_id, goal_id)
    if current is None or current.pending_saga_id != saga_id:
        return current  # never prepared, or already finished: nothing to do
    new = _committed(current, deps) if commit else _cancelled(current)
    notes = _achievement_notes(deps, current, new)
    deps.repo.write_goals(request_id, [GoalWrite(current, new, notes)], deps.clock())
    return deps.repo.get_goal(user_id, goal_id)


def _committed(goal: Goal, deps: UserDeps) -> Goal | None:
    if goal.pending_operation is GoalOperation.DELETE:
        return None
    value, day = goal.pending_target or (goal.target_value, goal.target_date)
    applied = replace(goal, target_value=value, target_date=day)
    return _unclaimed(applied).settled(deps.clock())


def _cancelled(goal: Goal) -> Goal | None:
    return None if goal.pending_operation is GoalOperation.CREATE else _unclaimed(goal)


def _unclaimed(goal: Goal) -> Goal:
    return replace(goal, pending_operation=None, pending_saga_id=None, pending_target=None)


@dataclass(frozen=True)
class Progress:
    """What one workout achieved: goals reached and the notifications telling of them."""

    achieved: list[Goal]
    notifications: list[Notification]


def record_workout_progress(
    deps: UserDeps, user_id: str, workout: WorkoutDone, request_id: str
) -> Progress:
    """Add the workout to the user's active goals; return those it achieved (once per request)."""
    if not request_id:
        raise InvalidInput("request_id is required")
    get_user(deps, user_id)
    return _retrying_stale(lambda: _advance_goals(deps, user_id, workout, request_id))


def _advance_goals(deps: UserDeps, user_id: str, workout: WorkoutDone, request_id: str) -> Progress:
    now = deps.clock()
    counting = [
        goal
        for goal in deps.repo.list_goals(user_id)
        if goal.status is GoalStatus.ACTIVE
        and goal.pending_operation is not GoalOperation.CREATE
        and goal.created_at <= workout.end_time
    ]
    writes = [
        GoalWrite(goal, new, _achievement_notes(deps, goal, new))
        for goal in counting
        if (new := goal.with_progress(workout.progress_toward(goal.goal_type), now)) != goal
    ]
    if not deps.repo.write_goals(request_id, writes, now):
        return _counted_before(deps, user_id, request_id)
    reached = [w for w in writes if w.new and w.notifications]
    return Progress(
        [w.new for w in reached if w.new], [note for w in reached for note in w.notifications]
    )


def _counted_before(deps: UserDeps, user_id: str, request_id: str) -> Progress:
    """A repeat counts nothing but answers as the first time did, so a caller whose
    first answer was lost (or who failed to pass the alerts on) still gets them."""
    notes = deps.repo.notifications_of(request_id)
    goals = (deps.repo.get_goal(user_id, note.goal_id) for note in notes if note.goal_id)
    return Progress([goal for goal in goals if goal is not None], notes)


def _achievement_notes(
    deps: UserDeps, before: Goal, after: Goal | None
) -> tuple[Notification, ...]:
    if after is None or before.status is GoalStatus.ACHIEVED:
        return ()
    if after.status is not GoalStatus.ACHIEVED:
        return ()
    message = f"Goal reached: {after.goal_type.quantity(after.target_value)}"
    note = Notification(
        deps.make_id(), after.user_id, "goal_achieved", after.goal_id, message, deps.clock()
    )
    return (note,)


def list_notifications(deps: UserDeps, user_id: str, page_size: int) -> list[Notification]:
    """Return the user's newest notifications."""
    if not 0 <= page_size <= MAX_NOTIFICATIONS_PAGE:
        raise InvalidInput(f"page_size must be between 1 and {MAX_NOTIFICATIONS_PAGE}")
    get_user(deps, user_id)
    return deps.repo.list_notifications(user_id, page_size or 50)


def _retrying_stale(attempt: Callable[[], T]) -> T:
    """Run an optimistic read-compute-write, again while a concurrent change beats it."""
    for _ in range(STALE_RETRIES - 1):
        try:
            return attempt()
        except StaleGoal:
            continue
    try:
        return attempt()
    except StaleGoal as error:
        raise GoalBusy("the goal is changing too often; retry later") from error
