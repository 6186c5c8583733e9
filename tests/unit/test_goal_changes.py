"""Goal changes by sagas and goal progress from workouts, with fakes through the ports."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.user import goal_changes, service
from services.user.domain import (
    GoalBusy,
    GoalOperation,
    GoalStatus,
    GoalType,
    InvalidInput,
    Profile,
    WorkoutDone,
)
from services.user.goal_changes import GoalChange
from services.user.service import UserDeps
from services.user.tokens import generate_keypair
from tests.unit.fakes import fake_user_deps

PRIVATE, _ = generate_keypair()


@pytest.fixture
def deps() -> UserDeps:
    deps = fake_user_deps(PRIVATE)
    service.register_user(deps, "ann", "ann@example.com", "password1", Profile(), "r")
    return deps


def user_id(deps: UserDeps) -> str:
    return str(next(iter(deps.repo.users)))  # type: ignore[attr-defined]


def created(deps: UserDeps, target: float = 2, saga: str = "s1") -> str:
    day = deps.clock().date() + timedelta(days=30)
    change = GoalChange(
        saga,
        user_id(deps),
        f"goal-{saga}",
        GoalOperation.CREATE,
        GoalType.WORKOUTS_COUNT,
        target,
        day,
    )
    goal_changes.prepare_goal_change(deps, change, f"{saga}:prepare")
    goal_changes.commit_goal_change(deps, saga, user_id(deps), change.goal_id, f"{saga}:commit")
    return change.goal_id


def workout(deps: UserDeps) -> WorkoutDone:
    return WorkoutDone(deps.clock() + timedelta(hours=1), 1800, 250)


def test_a_prepared_goal_is_pending_until_its_saga_commits(deps: UserDeps) -> None:
    day = deps.clock().date() + timedelta(days=30)
    change = GoalChange(
        "s1", user_id(deps), "g1", GoalOperation.CREATE, GoalType.ACTIVE_MINUTES, 60, day
    )
    pending = goal_changes.prepare_goal_change(deps, change, "s1:prepare")
    assert (pending.pending_operation, pending.pending_saga_id) == (GoalOperation.CREATE, "s1")
    done = goal_changes.commit_goal_change(deps, "s1", user_id(deps), "g1", "s1:commit")
    assert done is not None
    assert (done.pending_operation, done.pending_saga_id) == (None, None)


def test_cancelling_a_prepared_create_leaves_no_goal(deps: UserDeps) -> None:
    day = deps.clock().date() + timedelta(days=30)
    change = GoalChange(
        "s1", user_id(deps), "g1", GoalOperation.CREATE, GoalType.ACTIVE_MINUTES, 60, day
    )
    goal_changes.prepare_goal_change(deps, change, "s1:prepare")
    assert goal_changes.cancel_goal_change(deps, "s1", user_id(deps), "g1", "s1:undo") is None
    assert goal_changes.cancel_goal_change(deps, "s1", user_id(deps), "g1", "s1:undo") is None
    assert service.list_goals(deps, user_id(deps)) == []


def test_a_goal_claimed_by_one_saga_is_busy_for_another(deps: UserDeps) -> None:
    goal_id = created(deps)
    day = deps.clock().date() + timedelta(days=40)
    first = GoalChange("s2", user_id(deps), goal_id, GoalOperation.UPDATE, None, 5, day)
    goal_changes.prepare_goal_change(deps, first, "s2:prepare")
    assert goal_changes.prepare_goal_change(deps, first, "s2:prepare").pending_saga_id == "s2"
    second = GoalChange("s3", user_id(deps), goal_id, GoalOperation.DELETE)
    with pytest.raises(GoalBusy):
        goal_changes.prepare_goal_change(deps, second, "s3:prepare")


def test_an_update_with_a_bad_target_is_refused_before_claiming(deps: UserDeps) -> None:
    goal_id = created(deps)
    day = deps.clock().date() - timedelta(days=1)
    change = GoalChange("s2", user_id(deps), goal_id, GoalOperation.UPDATE, None, 5, day)
    with pytest.raises(InvalidInput):
        goal_changes.prepare_goal_change(deps, change, "s2:prepare")
    assert service.get_goal(deps, user_id(deps), goal_id).pending_saga_id is None


def test_committing_a_lower_target_than_the_progress_achieves_the_goal(deps: UserDeps) -> None:
    goal_id = created(deps, target=5)
    goal_changes.record_workout_progress(deps, user_id(deps), workout(deps), "progress:w1")
    day = deps.clock().date() + timedelta(days=30)
    change = GoalChange("s2", user_id(deps), goal_id, GoalOperation.UPDATE, None, 1, day)
    goal_changes.prepare_goal_change(deps, change, "s2:prepare")
    done = goal_changes.commit_goal_change(deps, "s2", user_id(deps), goal_id, "s2:commit")
    assert done is not None
    assert (done.status, done.target_value) == (GoalStatus.ACHIEVED, 1)
    assert [n.goal_id for n in goal_changes.list_notifications(deps, user_id(deps), 0)] == [goal_id]


def test_a_workout_counts_once_and_reaching_the_target_notifies_once(deps: UserDeps) -> None:
    goal_id = created(deps, target=2)
    first = goal_changes.record_workout_progress(deps, user_id(deps), workout(deps), "progress:w1")
    again = goal_changes.record_workout_progress(deps, user_id(deps), workout(deps), "progress:w1")
    assert (first.achieved, again.achieved) == ([], [])
    second = goal_changes.record_workout_progress(deps, user_id(deps), workout(deps), "progress:w2")
    assert [g.goal_id for g in second.achieved] == [goal_id]
    assert [n.kind for n in second.notifications] == ["goal_achieved"]
    third = goal_changes.record_workout_progress(deps, user_id(deps), workout(deps), "progress:w3")
    assert third.achieved == []
    assert service.get_goal(deps, user_id(deps), goal_id).current_progress == 2


def test_a_repeat_of_the_workout_that_reached_a_goal_answers_with_the_same_alert(
    deps: UserDeps,
) -> None:
    goal_id = created(deps, target=1)
    first = goal_changes.record_workout_progress(deps, user_id(deps), workout(deps), "progress:w1")
    again = goal_changes.record_workout_progress(deps, user_id(deps), workout(deps), "progress:w1")
    assert [g.goal_id for g in again.achieved] == [g.goal_id for g in first.achieved] == [goal_id]
    assert again.notifications == first.notifications
    assert len(goal_changes.list_notifications(deps, user_id(deps), 0)) == 1
    assert service.get_goal(deps, user_id(deps), goal_id).current_progress == 1


def test_workouts_that_ended_before_a_goal_was_set_do_not_count(deps: UserDeps) -> None:
    goal_id = created(deps, target=2)
    early = WorkoutDone(deps.clock() - timedelta(days=1), 1800, 250)
    goal_changes.record_workout_progress(deps, user_id(deps), early, "progress:w0")
    assert service.get_goal(deps, user_id(deps), goal_id).current_progress == 0


def test_progress_needs_a_request_id(deps: UserDeps) -> None:
    with pytest.raises(InvalidInput):
        goal_changes.record_workout_progress(deps, user_id(deps), workout(deps), "")


@pytest.mark.parametrize(
    ("goal_type", "expected"),
    [
        (GoalType.WORKOUTS_COUNT, 1.0),
        (GoalType.ACTIVE_MINUTES, 30.0),
        (GoalType.CALORIES_BURNED, 250.0),
        (GoalType.DISTANCE_KM, 0.0),
    ],
)
def test_a_workout_adds_to_each_goal_type_in_its_unit(goal_type: GoalType, expected: float) -> None:
    done = WorkoutDone(date.today(), 1800, 250)  # type: ignore[arg-type]
    assert done.progress_toward(goal_type) == expected


def test_the_achievement_message_names_the_goal_in_its_unit(deps: UserDeps) -> None:
    created(deps, target=1)
    goal_changes.record_workout_progress(deps, user_id(deps), workout(deps), "progress:w1")
    [note] = goal_changes.list_notifications(deps, user_id(deps), 0)
    assert note.message == "Goal reached: 1 workout"
    assert GoalType.ACTIVE_MINUTES.quantity(90) == "90 active minutes"
