"""One contract for each repository port, run against every adapter on real stores.

Activity: SQL on SQLite and PostgreSQL, MongoDB through mongomock-ng (see
docs/activity.md for what the emulator cannot prove). User: SQLite and PostgreSQL. Both
also run against the in-memory fakes the unit tests use (tests/unit/fakes.py), so a fake
cannot drift from the adapters it stands in for.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import mongomock_ng
import pytest
from pymongo.database import Database

from services.activity.__main__ import MIGRATIONS as ACTIVITY_MIGRATIONS
from services.activity.domain import Cursor, ProgressEvent, WorkoutSession
from services.activity.mongo_repository import Document, MongoWorkoutRepository
from services.activity.outbox_mongo import MongoProgressOutbox
from services.activity.outbox_sql import SqlProgressOutbox
from services.activity.repository import ProgressOutbox, WorkoutRepository
from services.activity.sql_repository import SqlWorkoutRepository
from services.activity.suggestions import GoalPlan, Totals
from services.common.db import make_engine, migrate
from services.common.logs import request_id_var
from services.user.__main__ import MIGRATIONS as USER_MIGRATIONS
from services.user.domain import (
    EmailAlreadyRegistered,
    Goal,
    GoalOperation,
    GoalStatus,
    GoalType,
    Notification,
    Profile,
    StaleGoal,
    User,
    UsernameTaken,
)
from services.user.repository import GoalWrite, UserRepository
from services.user.sql_repository import SqlUserRepository
from services.user.tokens import generate_keypair
from tests.unit.fakes import FakeUserRepository, FakeWorkoutRepository, fake_user_deps
from tests.unit.goal_steps import saga_created_goal

T0 = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
PRIVATE, _PUBLIC = generate_keypair()


@pytest.fixture(params=["sqlite", "postgresql", "mongomock", "fake"])
def workouts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorkoutRepository]:
    """A WorkoutRepository adapter over an empty store, or the unit tests' fake."""
    if request.param == "fake":
        yield FakeWorkoutRepository()
        return
    if request.param == "mongomock":
        repo = MongoWorkoutRepository(mongomock_ng.MongoClient()["fitness_activity"])
        repo.ensure_indexes()
        yield repo
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    engine = make_engine(url)
    migrate(engine, ACTIVITY_MIGRATIONS)
    yield SqlWorkoutRepository(engine)
    engine.dispose()


def session(n: int, user: str = "u1", minutes: int = 0) -> WorkoutSession:
    return WorkoutSession(f"s-{n:03d}", user, "running", T0 + timedelta(minutes=minutes))


def test_a_stored_session_reads_back_equal(workouts: WorkoutRepository) -> None:
    stored = workouts.add_session(session(1), "r1")
    assert workouts.get_session("s-001") == stored == session(1)
    assert workouts.get_session("missing") is None


def test_a_known_request_id_returns_the_first_session(workouts: WorkoutRepository) -> None:
    first = workouts.add_session(session(1), "r1")
    assert workouts.add_session(session(2), "r1") == first
    assert workouts.get_session("s-002") is None


def test_sessions_without_request_ids_do_not_collide(workouts: WorkoutRepository) -> None:
    workouts.add_session(session(1), "")
    workouts.add_session(session(2), "")
    assert workouts.get_session("s-002") is not None


def test_completing_ends_once_and_counts_once(workouts: WorkoutRepository) -> None:
    workouts.add_session(session(1), "r1")
    end = T0 + timedelta(minutes=30)
    ended = workouts.complete_session("s-001", end, 1800.0, 400.0, "e1")
    assert ended is not None
    assert ended.end_time == end
    assert ended.calories_burned == 400.0
    assert workouts.complete_session("s-001", end, 1800.0, 400.0, "e1") == ended
    assert workouts.complete_session("s-001", end, 1800.0, 400.0, "e2") is None
    stats = workouts.get_statistics("u1")
    assert (stats.total_workouts, stats.total_duration, stats.total_calories_burned) == (
        1,
        1800.0,
        400.0,
    )


def test_statistics_accumulate_per_user(workouts: WorkoutRepository) -> None:
    for n, user in ((1, "u1"), (2, "u1"), (3, "u2")):
        workouts.add_session(session(n, user), f"r{n}")
        workouts.complete_session(
            f"s-{n:03d}", T0 + timedelta(hours=1), 600.0 * n, 10.0 * n, f"e{n}"
        )
    assert workouts.get_statistics("u1").total_duration == 1800.0
    assert workouts.get_statistics("u2").total_calories_burned == 30.0
    assert workouts.get_statistics("nobody").total_workouts == 0


def test_concurrent_ends_of_one_session_count_it_once(workouts: WorkoutRepository) -> None:
    workouts.add_session(session(1), "r1")
    end = T0 + timedelta(minutes=5)
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(
                lambda n: workouts.complete_session("s-001", end, 300.0, 5.0, f"e{n}"), range(8)
            )
        )
    assert sum(r is not None for r in results) == 1
    assert workouts.get_statistics("u1").total_workouts == 1


def test_listing_is_newest_first_with_keyset_paging(workouts: WorkoutRepository) -> None:
    for n in range(5):
        workouts.add_session(session(n, minutes=n), f"r{n}")
    workouts.add_session(session(9, "other", minutes=9), "r9")
    first = workouts.list_sessions("u1", 2, None)
    assert [s.session_id for s in first] == ["s-004", "s-003"]
    cursor = Cursor(first[-1].start_time, first[-1].session_id)
    assert [s.session_id for s in workouts.list_sessions("u1", 10, cursor)] == [
        "s-002",
        "s-001",
        "s-000",
    ]


def test_sessions_starting_at_the_same_instant_page_by_id(workouts: WorkoutRepository) -> None:
    for n in range(3):
        workouts.add_session(session(n), f"r{n}")
    page = workouts.list_sessions("u1", 1, None)
    rest = workouts.list_sessions("u1", 5, Cursor(page[0].start_time, page[0].session_id))
    assert [s.session_id for s in page + rest] == ["s-002", "s-001", "s-000"]


@pytest.fixture(params=["sqlite", "postgresql", "fake"])
def users(request: pytest.FixtureRequest) -> Iterator[UserRepository]:
    """A user repository on a migrated SQLite or PostgreSQL database, or the unit tests' fake."""
    if request.param == "fake":
        yield FakeUserRepository()
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    engine = make_engine(url)
    migrate(engine, USER_MIGRATIONS)
    yield SqlUserRepository(engine)
    engine.dispose()


def user(n: int, email: str | None = None) -> User:
    return User(
        f"u-{n}", f"user{n}", email or f"user{n}@example.com", "hash", Profile(weight_kg=70.0), T0
    )


def test_a_stored_user_reads_back_by_id_and_any_case_email(users: UserRepository) -> None:
    users.add_user(user(1, "Mixed@Example.com"), "r1")
    assert users.get_user("u-1") == user(1, "Mixed@Example.com")
    assert users.find_by_email("mixed@EXAMPLE.com") == user(1, "Mixed@Example.com")


def test_email_and_username_uniqueness_are_told_apart(users: UserRepository) -> None:
    users.add_user(user(1), "r1")
    with pytest.raises(EmailAlreadyRegistered):
        users.add_user(User("u-2", "other", "USER1@example.com", "h", Profile(), T0), "r2")
    with pytest.raises(UsernameTaken):
        users.add_user(User("u-3", "user1", "new@example.com", "h", Profile(), T0), "r3")


def test_a_retried_registration_returns_the_first_user(users: UserRepository) -> None:
    first = users.add_user(user(1), "r1")
    assert users.add_user(user(2), "r1") == first
    assert users.get_user("u-2") is None


def test_profile_updates_touch_only_the_given_columns(users: UserRepository) -> None:
    users.add_user(user(1), "r1")
    updated = users.update_profile("u-1", {"height_cm": 175.0, "display_name": "One"})
    assert updated is not None
    assert updated.profile == Profile("One", 70.0, 175.0, None)
    assert users.update_profile("ghost", {"height_cm": 1.0}) is None


def test_goals_are_stored_per_user_newest_first(users: UserRepository) -> None:
    deps = replace(fake_user_deps(PRIVATE), repo=users)
    users.add_user(user(1), "r1")
    goals = [
        saga_created_goal(
            deps, "u-1", GoalType.DISTANCE_KM, 10.0 * (n + 1), date(2030, 6, 1), f"s{n}"
        )
        for n in range(3)
    ]
    # A retried saga finds its goal created and changes nothing.
    again = saga_created_goal(deps, "u-1", GoalType.DISTANCE_KM, 99.0, date(2030, 6, 1), "s0")
    assert again == goals[0]
    assert users.list_goals("u-1") == list(reversed(goals))
    assert users.get_goal("u-1", "goal-s1") == goals[1]
    assert users.get_goal("someone-else", "goal-s1") is None


def plan(request_id: str, target: float = 300, active: bool = True) -> GoalPlan:
    return GoalPlan(
        "g-1", "u1", GoalType.ACTIVE_MINUTES, target, date(2030, 2, 1), T0, active, request_id
    )


def test_a_plan_put_twice_with_one_request_id_is_stored_once(workouts: WorkoutRepository) -> None:
    assert workouts.put_plan(plan("saga-1:plan"))
    assert not workouts.put_plan(plan("saga-1:plan", target=999))
    assert workouts.get_plan("g-1") == plan("saga-1:plan")
    assert workouts.active_plans("u1") == [plan("saga-1:plan")]


def test_restoring_a_put_brings_back_the_plan_it_replaced(workouts: WorkoutRepository) -> None:
    workouts.put_plan(plan("saga-1:plan"))
    workouts.put_plan(plan("saga-2:plan", target=600))
    workouts.restore_plan("g-1", "saga-2:plan")
    assert workouts.get_plan("g-1") == plan("saga-1:plan")
    workouts.restore_plan("g-1", "saga-2:plan")  # a repeat finds nothing to undo
    assert workouts.get_plan("g-1") == plan("saga-1:plan")


def test_restoring_the_first_put_removes_the_plan(workouts: WorkoutRepository) -> None:
    workouts.restore_plan("g-1", "saga-1:plan")  # never applied: nothing happens
    workouts.put_plan(plan("saga-1:plan"))
    workouts.restore_plan("g-1", "saga-0:plan")  # not the latest put: nothing happens
    assert workouts.get_plan("g-1") is not None
    workouts.restore_plan("g-1", "saga-1:plan")
    assert workouts.get_plan("g-1") is None


def test_a_retired_plan_is_not_active(workouts: WorkoutRepository) -> None:
    workouts.put_plan(plan("saga-1:plan"))
    workouts.put_plan(plan("saga-2:plan", active=False))
    assert workouts.active_plans("u1") == []
    workouts.restore_plan("g-1", "saga-2:plan")
    assert workouts.active_plans("u1") == [plan("saga-1:plan")]


def test_totals_count_sessions_ended_since_a_moment(workouts: WorkoutRepository) -> None:
    for n, ended in enumerate((-60, 30, 90)):
        workouts.add_session(session(n), f"r{n}")
        workouts.complete_session(
            f"s-{n:03d}", T0 + timedelta(minutes=ended + 45), 2700, 300, f"e{n}"
        )
    workouts.add_session(session(9), "r9")  # still running: not counted
    totals = workouts.totals_since("u1", T0)
    assert (totals.sessions, totals.minutes, totals.calories) == (2, 90.0, 600.0)
    assert workouts.totals_since("nobody", T0) == Totals()


def test_deleting_a_users_data_removes_his_sessions_statistics_and_plans_only(
    workouts: WorkoutRepository,
) -> None:
    for n, owner in enumerate(("u1", "u1", "u2")):
        workouts.add_session(session(n, user=owner), f"r{n}")
        workouts.complete_session(f"s-{n:03d}", T0 + timedelta(minutes=30), 1800, 200, f"e{n}")
    workouts.put_plan(plan("saga-1:plan"))
    assert workouts.delete_user_data("u1") == 2
    assert workouts.list_sessions("u1", 10, None) == []
    assert workouts.get_statistics("u1").total_workouts == 0
    assert workouts.get_plan("g-1") is None
    assert workouts.delete_user_data("u1") == 0
    assert [s.session_id for s in workouts.list_sessions("u2", 10, None)] == ["s-002"]
    assert workouts.get_statistics("u2").total_workouts == 1


@pytest.fixture(params=["sqlite", "postgresql", "mongomock", "fake"])
def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[WorkoutRepository, ProgressOutbox]]:
    """A WorkoutRepository and the ProgressOutbox over the same empty store."""
    if request.param == "fake":
        fake = FakeWorkoutRepository()
        yield fake, fake.outbox
        return
    if request.param == "mongomock":
        db: Database[Document] = mongomock_ng.MongoClient()["fitness_activity"]
        repo = MongoWorkoutRepository(db)
        repo.ensure_indexes()
        yield repo, MongoProgressOutbox(db)
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    engine = make_engine(url)
    migrate(engine, ACTIVITY_MIGRATIONS)
    yield SqlWorkoutRepository(engine), SqlProgressOutbox(engine)
    engine.dispose()


LEASE = timedelta(seconds=30)


def ended_sessions(repo: WorkoutRepository, count: int, user: str = "u1") -> list[ProgressEvent]:
    """End ``count`` sessions; return their progress events, oldest first."""
    events = []
    for n in range(count):
        repo.add_session(session(n, user), f"r-{user}-{n}")
        done = repo.complete_session(f"s-{n:03d}", T0 + timedelta(minutes=30), 1800, 200, f"e{n}")
        assert done is not None
        events.append(ProgressEvent.of(done))
    return events


def test_ending_a_session_queues_its_progress_event_once(
    stores: tuple[WorkoutRepository, ProgressOutbox],
) -> None:
    repo, outbox = stores
    [event] = ended_sessions(repo, 1)
    repo.complete_session("s-000", T0 + timedelta(minutes=30), 1800, 200, "e0")  # a retry
    repo.complete_session("s-000", T0 + timedelta(minutes=40), 2400, 300, "other")  # refused
    assert outbox.pending_progress() == [event]
    assert event.event_id == "progress:s-000"
    assert (event.duration, event.calories_burned) == (1800, 200)


def test_an_event_carries_the_request_id_of_the_end_that_queued_it(
    stores: tuple[WorkoutRepository, ProgressOutbox],
) -> None:
    repo, outbox = stores
    repo.add_session(session(1), "r1")
    token = request_id_var.set("trace-7")
    try:
        repo.complete_session("s-001", T0 + timedelta(minutes=30), 1800, 200, "e1")
    finally:
        request_id_var.reset(token)
    assert [e.trace_id for e in outbox.pending_progress()] == ["trace-7"]


def test_a_leased_event_is_not_claimed_again_until_the_lease_runs_out(
    stores: tuple[WorkoutRepository, ProgressOutbox],
) -> None:
    repo, outbox = stores
    events = ended_sessions(repo, 3)
    now = T0 + timedelta(hours=1)
    assert outbox.claim_progress("relay-1", now, LEASE, 2) == events[:2]
    assert outbox.claim_progress("relay-2", now, LEASE, 5) == events[2:]
    assert outbox.claim_progress("relay-2", now, LEASE, 5) == []
    later = now + LEASE + timedelta(seconds=1)  # relay-1 died holding its two
    assert outbox.claim_progress("relay-2", later, LEASE, 5) == events


def test_a_delivered_event_is_never_claimed_again(
    stores: tuple[WorkoutRepository, ProgressOutbox],
) -> None:
    repo, outbox = stores
    [event] = ended_sessions(repo, 1)
    now = T0 + timedelta(hours=1)
    outbox.claim_progress("relay-1", now, LEASE, 5)
    outbox.progress_delivered(event.event_id, now)
    assert outbox.pending_progress() == []
    assert outbox.claim_progress("relay-1", now + 2 * LEASE, LEASE, 5) == []


def test_a_failed_attempt_is_counted_and_due_again_only_at_its_time(
    stores: tuple[WorkoutRepository, ProgressOutbox],
) -> None:
    repo, outbox = stores
    [event] = ended_sessions(repo, 1)
    now = T0 + timedelta(hours=1)
    outbox.claim_progress("relay-1", now, LEASE, 5)
    due = now + timedelta(seconds=4)
    outbox.retry_progress(event.event_id, "relay-2", now, "not its lease: ignored")
    outbox.retry_progress(event.event_id, "relay-1", due, "user service: UNAVAILABLE")
    assert outbox.claim_progress("relay-1", due - timedelta(seconds=1), LEASE, 5) == []
    assert outbox.claim_progress("relay-1", due, LEASE, 5) == [replace(event, attempts=1)]


# Not on mongomock: its updates are not atomic across threads, as MongoDB's are.
@pytest.mark.parametrize("stores", ["sqlite", "postgresql", "fake"], indirect=True)
def test_concurrent_relays_claim_each_event_once(
    stores: tuple[WorkoutRepository, ProgressOutbox],
) -> None:
    repo, outbox = stores
    events = ended_sessions(repo, 12)
    now = T0 + timedelta(hours=1)
    with ThreadPoolExecutor(6) as pool:
        batches = list(
            pool.map(lambda n: outbox.claim_progress(f"relay-{n}", now, LEASE, 3), range(6))
        )
    claimed = [e.event_id for batch in batches for e in batch]
    assert sorted(claimed) == sorted(e.event_id for e in events)


def test_pruning_deletes_only_delivered_events_older_than_the_cutoff_oldest_first_and_bounded(
    stores: tuple[WorkoutRepository, ProgressOutbox],
) -> None:
    repo, outbox = stores
    events = ended_sessions(repo, 4)
    now = T0 + timedelta(hours=1)
    outbox.claim_progress("relay-1", now, LEASE, 5)
    for n, event in enumerate(events[:3]):  # events[3] stays pending
        outbox.progress_delivered(event.event_id, now + timedelta(minutes=n))
    cutoff = now + timedelta(minutes=2)  # after events 0 and 1 were delivered, not 2
    assert outbox.prune_delivered(cutoff, 1) == 1
    assert outbox.prune_delivered(now + timedelta(seconds=30), 5) == 0  # event 0 went first
    assert outbox.prune_delivered(cutoff, 5) == 1
    assert outbox.prune_delivered(cutoff, 5) == 0
    assert outbox.prune_delivered(now + timedelta(days=365), 5) == 1  # event 2, not 3
    assert outbox.pending_progress() == [events[3]]


def test_deleting_a_users_data_drops_his_pending_progress_only(
    stores: tuple[WorkoutRepository, ProgressOutbox],
) -> None:
    repo, outbox = stores
    ended_sessions(repo, 1, user="u1")
    repo.add_session(session(7, "u2"), "r7")
    repo.complete_session("s-007", T0 + timedelta(minutes=30), 1800, 200, "e7")
    repo.delete_user_data("u1")
    assert [e.user_id for e in outbox.pending_progress()] == ["u2"]


def goal(**changes: object) -> Goal:
    base = Goal(
        "g-1", "u-1", GoalType.WORKOUTS_COUNT, 2, date(2030, 2, 1), 0, GoalStatus.ACTIVE, T0
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_goal_writes_apply_once_per_request_id(users: UserRepository) -> None:
    users.add_user(user(1), "")
    assert users.write_goals("saga:prepare", [GoalWrite(None, goal())], T0)
    assert not users.write_goals("saga:prepare", [GoalWrite(None, goal(goal_id="g-2"))], T0)
    assert [g.goal_id for g in users.list_goals("u-1")] == ["g-1"]


def test_a_goal_write_computed_from_a_stale_read_is_refused_whole(users: UserRepository) -> None:
    users.add_user(user(1), "")
    users.write_goals("create", [GoalWrite(None, goal())], T0)
    users.write_goals("workout-1", [GoalWrite(goal(), goal(current_progress=1.0))], T0)
    note = Notification("n-1", "u-1", "goal_achieved", "g-1", "done", T0)
    stale = GoalWrite(goal(), goal(current_progress=2.0, status=GoalStatus.ACHIEVED), (note,))
    with pytest.raises(StaleGoal):
        users.write_goals("workout-2", [stale], T0)
    assert users.get_goal("u-1", "g-1") == goal(current_progress=1.0)
    assert users.list_notifications("u-1", 10) == []
    assert users.write_goals("workout-2", [GoalWrite(goal(current_progress=1.0), None)], T0)


def test_a_claimed_goal_keeps_its_pending_change(users: UserRepository) -> None:
    users.add_user(user(1), "")
    users.write_goals("create", [GoalWrite(None, goal())], T0)
    claimed = goal(
        pending_operation=GoalOperation.UPDATE,
        pending_saga_id="saga-9",
        pending_target=(5.0, date(2030, 3, 1)),
    )
    users.write_goals("saga-9:prepare", [GoalWrite(goal(), claimed)], T0)
    assert users.get_goal("u-1", "g-1") == claimed


def test_a_user_marked_for_deletion_is_hidden_and_unmarking_brings_him_back(
    users: UserRepository,
) -> None:
    users.add_user(user(1), "r1")
    assert users.mark_deleting("u-1", "saga-d", "saga-d:mark", T0)
    assert users.mark_deleting("u-1", "saga-d", "saga-d:mark", T0)  # a repeat
    assert users.get_user("u-1") is None
    assert users.find_by_email("user1@example.com") is None
    users.unmark_deleting("u-1", "another-saga")  # not this saga's mark: nothing
    assert users.get_user("u-1") is None
    users.unmark_deleting("u-1", "saga-d")
    assert users.get_user("u-1") == user(1)
    assert not users.mark_deleting("ghost", "saga-g", "saga-g:mark", T0)


def test_erasing_a_user_deletes_his_rows_and_leaves_tombstones(
    users: UserRepository,
) -> None:
    users.add_user(user(1), "r1")
    users.add_user(user(2), "r2")
    note = Notification("n-1", "u-1", "goal_achieved", "g-1", "done", T0)
    users.write_goals("create", [GoalWrite(None, goal(), (note,))], T0)
    users.write_goals("other", [GoalWrite(None, goal(goal_id="g-2", user_id="u-2"))], T0)
    users.mark_deleting("u-1", "saga-d", "saga-d:mark", T0)
    users.erase_user("u-1", "saga-d:erase", T0 + timedelta(seconds=1))
    users.erase_user("u-1", "saga-d:erase", T0 + timedelta(seconds=2))  # a repeat
    assert users.list_goals("u-1") == []
    assert users.list_notifications("u-1", 10) == []
    users.unmark_deleting("u-1", "saga-d")  # too late: the account is gone for good
    assert users.get_user("u-1") is None
    assert not users.mark_deleting("u-1", "saga-e", "saga-e:mark", T0)
    assert [g.goal_id for g in users.list_goals("u-2")] == ["g-2"]
    # The email is free again for a new account.
    users.add_user(User("u-3", "user1", "user1@example.com", "h", Profile(), T0), "r3")
