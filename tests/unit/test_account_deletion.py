"""The user service's account deletion steps, with fakes through the ports."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.user import account_deletion, service
from services.user.domain import GoalType, InvalidCredentials, InvalidInput, Profile, UserNotFound
from services.user.service import UserDeps
from services.user.tokens import generate_keypair
from tests.unit.fakes import fake_user_deps
from tests.unit.goal_steps import saga_created_goal

PRIVATE, _PUBLIC = generate_keypair()


@pytest.fixture
def deps() -> UserDeps:
    return fake_user_deps(PRIVATE)


def registered(deps: UserDeps, name: str) -> str:
    user = service.register_user(
        deps, name, f"{name}@example.com", "long-password", Profile(), f"register-{name}"
    )
    return user.user_id


def test_a_user_being_deleted_can_no_longer_log_in_or_be_read(deps: UserDeps) -> None:
    user_id = registered(deps, "dora")
    account_deletion.begin_user_deletion(deps, "saga-1", user_id, "saga-1:mark")
    with pytest.raises(InvalidCredentials):
        service.login(deps, "dora@example.com", "long-password")
    with pytest.raises(UserNotFound):
        service.get_user(deps, user_id)


def test_the_goals_of_a_user_being_deleted_can_no_longer_be_read(deps: UserDeps) -> None:
    user_id = registered(deps, "dora")
    target = deps.clock().date() + timedelta(days=30)
    goal = saga_created_goal(deps, user_id, GoalType.WORKOUTS_COUNT, 3, target, "saga-goal")
    account_deletion.begin_user_deletion(deps, "saga-1", user_id, "saga-1:mark")
    with pytest.raises(UserNotFound):
        service.get_goal(deps, user_id, goal.goal_id)
    with pytest.raises(UserNotFound):
        service.list_goals(deps, user_id)


def test_marking_twice_with_one_request_id_is_one_mark(deps: UserDeps) -> None:
    user_id = registered(deps, "dora")
    account_deletion.begin_user_deletion(deps, "saga-1", user_id, "saga-1:mark")
    account_deletion.begin_user_deletion(deps, "saga-1", user_id, "saga-1:mark")
    with pytest.raises(UserNotFound):
        service.get_user(deps, user_id)


def test_deleting_a_user_who_does_not_exist_is_not_found(deps: UserDeps) -> None:
    with pytest.raises(UserNotFound):
        account_deletion.begin_user_deletion(deps, "saga-1", "ghost", "saga-1:mark")


def test_cancelling_the_deletion_gives_the_account_back(deps: UserDeps) -> None:
    user_id = registered(deps, "dora")
    account_deletion.begin_user_deletion(deps, "saga-1", user_id, "saga-1:mark")
    account_deletion.cancel_user_deletion(deps, "other-saga", user_id, "other-saga:mark:undo")
    with pytest.raises(UserNotFound):
        service.get_user(deps, user_id)
    account_deletion.cancel_user_deletion(deps, "saga-1", user_id, "saga-1:mark:undo")
    assert service.get_user(deps, user_id).username == "dora"


def test_an_erased_user_keeps_no_goals_and_stays_gone(deps: UserDeps) -> None:
    user_id = registered(deps, "dora")
    other = registered(deps, "otto")
    soon = date(2030, 2, 1) + timedelta(days=1)
    for owner in (user_id, other):
        saga_created_goal(deps, owner, GoalType.WORKOUTS_COUNT, 3, soon, f"saga-{owner}")
    account_deletion.begin_user_deletion(deps, "saga-1", user_id, "saga-1:mark")
    account_deletion.erase_user(deps, "saga-1", user_id, "saga-1:erase")
    account_deletion.erase_user(deps, "saga-1", user_id, "saga-1:erase")
    assert deps.repo.list_goals(user_id) == []
    assert len(deps.repo.list_goals(other)) == 1
    account_deletion.cancel_user_deletion(deps, "saga-1", user_id, "saga-1:mark:undo")
    with pytest.raises(UserNotFound):
        service.get_user(deps, user_id)
    with pytest.raises(UserNotFound):
        account_deletion.begin_user_deletion(deps, "saga-2", user_id, "saga-2:mark")


def test_a_step_without_its_ids_is_refused(deps: UserDeps) -> None:
    with pytest.raises(InvalidInput, match="request_id, saga_id"):
        account_deletion.erase_user(deps, "", "u", "")
