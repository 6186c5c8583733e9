"""The user service's read model for extraction, on SQLite and PostgreSQL, written through
the service's own repository on a clock the test sets."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.common.db import make_engine, migrate
from services.common.timeutil import as_utc
from services.user.__main__ import MIGRATIONS
from services.user.domain import Goal, GoalOperation, GoalStatus, GoalType, Profile, User
from services.user.export import SqlUserExport, UserRecord
from services.user.repository import GoalWrite
from services.user.sql_repository import SqlUserRepository

MIDNIGHT = datetime(2026, 5, 4, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = (MIDNIGHT, MIDNIGHT + 24 * HOUR)


class Store:
    """A user repository writing on a clock the test sets, and the export reading its tables."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url, pool_size=2)
        migrate(self.engine, MIGRATIONS)
        self.now = MIDNIGHT
        self.repo = SqlUserRepository(self.engine, lambda: self.now)
        self.export = SqlUserExport(self.engine)

    def register(self, name: str, when: datetime) -> str:
        """A user registered at ``when``."""
        profile = Profile(display_name=name.title(), weight_kg=70.0)
        user = User(str(uuid.uuid4()), name, f"{name}@example.com", "secret-hash", profile, when)
        return self.repo.add_user(user, "").user_id

    def goal(self, user_id: str, when: datetime, pending: GoalOperation | None = None) -> Goal:
        """A goal written at ``when``, maybe with a saga's operation pending on it."""
        goal = Goal(
            str(uuid.uuid4()),
            user_id,
            GoalType.ACTIVE_MINUTES,
            300.0,
            (when + timedelta(days=30)).date(),
            0.0,
            GoalStatus.ACTIVE,
            when,
        )
        if pending:
            goal = replace(goal, pending_operation=pending, pending_saga_id=f"saga-{pending}")
        self.repo.write_goals(str(uuid.uuid4()), [GoalWrite(None, goal)], when)
        return goal

    def erase(self, user_id: str, when: datetime) -> None:
        """The deletion saga's mark and erase of the user at ``when``."""
        saga = str(uuid.uuid4())
        self.repo.mark_deleting(user_id, saga, f"{saga}:mark", when)
        self.repo.erase_user(user_id, f"{saga}:erase", when)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated user store on SQLite or PostgreSQL."""
    store = Store(database_url)
    yield store
    store.engine.dispose()


def test_users_are_exported_by_change_time_without_their_credentials(store: Store) -> None:
    before = store.register("early", MIDNIGHT - HOUR)
    inside = store.register("ada", MIDNIGHT + HOUR)
    store.now = MIDNIGHT + 2 * HOUR
    store.repo.update_profile(before, {"weight_kg": 71.5})
    store.register("late", MIDNIGHT + 24 * HOUR)

    found = sorted(store.export.users(*DAY), key=lambda user: user.username)

    assert [user.user_id for user in found] == [inside, before]
    assert found[0][:6] == (inside, "ada", "Ada", 70.0, None, None)
    assert as_utc(found[0].updated_at) == MIDNIGHT + HOUR
    assert (found[1].weight_kg, as_utc(found[1].updated_at)) == (71.5, MIDNIGHT + 2 * HOUR)
    assert not {"email", "password_hash"} & set(UserRecord._fields)


def test_a_goal_still_pending_creation_is_not_exported_until_its_saga_commits_it(
    store: Store,
) -> None:
    user_id = store.register("ada", MIDNIGHT - HOUR)
    committed = store.goal(user_id, MIDNIGHT + HOUR)
    store.goal(user_id, MIDNIGHT + 2 * HOUR, pending=GoalOperation.CREATE)
    being_updated = store.goal(user_id, MIDNIGHT + 3 * HOUR, pending=GoalOperation.UPDATE)

    found = {goal.goal_id: goal for goal in store.export.goals(*DAY)}

    assert set(found) == {committed.goal_id, being_updated.goal_id}
    assert found[committed.goal_id].goal_type == "active_minutes"
    assert found[committed.goal_id].status == "active"
    assert found[committed.goal_id].target_date == committed.target_date


def test_a_deleted_goal_leaves_a_tombstone_exported_in_the_window_of_its_deletion(
    store: Store,
) -> None:
    user_id = store.register("ada", MIDNIGHT - 2 * HOUR)
    goal = store.goal(user_id, MIDNIGHT - HOUR)
    store.repo.write_goals("delete-it", [GoalWrite(goal, None)], MIDNIGHT + 5 * HOUR)

    assert list(store.export.goals(*DAY)) == []
    deletions = list(store.export.goal_deletions(*DAY))
    assert [(d.goal_id, d.user_id) for d in deletions] == [(goal.goal_id, user_id)]
    assert list(store.export.goal_deletions(MIDNIGHT - 24 * HOUR, MIDNIGHT)) == []


def test_only_erased_accounts_are_listed_as_erased_not_those_still_being_deleted(
    store: Store,
) -> None:
    erased = store.register("gone", MIDNIGHT)
    deleting = store.register("leaving", MIDNIGHT)
    store.register("staying", MIDNIGHT)
    store.erase(erased, MIDNIGHT + HOUR)
    store.repo.mark_deleting(deleting, "saga-9", "saga-9:mark", MIDNIGHT + HOUR)

    assert store.export.erased_users() == [erased]


def test_the_earliest_change_is_the_oldest_of_any_user_or_goal_and_none_when_empty(
    store: Store,
) -> None:
    assert store.export.earliest_change() is None
    user_id = store.register("ada", MIDNIGHT + 3 * HOUR)
    store.goal(user_id, MIDNIGHT + HOUR)

    assert store.export.earliest_change() == MIDNIGHT + HOUR
