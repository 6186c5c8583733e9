"""Activity use cases with fakes through the ports."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest

from services.activity import service
from services.activity.domain import (
    DEFAULT_WEIGHT_KG,
    EndBeforeStart,
    InvalidInput,
    NotSessionOwner,
    ProgressEvent,
    SessionAlreadyEnded,
    SessionNotFound,
    UnknownUser,
    UnknownWorkoutType,
    calories_burned,
)
from services.activity.service import ActivityDeps
from services.common.cache import Kind, user_entity
from tests.unit.fakes import (
    FakeProgressOutbox,
    FakeUserDirectory,
    FakeWorkoutRepository,
    SteppingClock,
)


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(step=timedelta(0))


@pytest.fixture
def deps(clock: SteppingClock) -> ActivityDeps:
    ids = (f"s-{n:03d}" for n in itertools.count())
    users = FakeUserDirectory({"heavy": 100.0}, unknown={"deleted"})
    return ActivityDeps(FakeWorkoutRepository(), users, clock, lambda: next(ids))


def test_calories_are_met_times_weight_times_hours() -> None:
    assert calories_burned(8.0, 75.0, 1800) == 300.0


def test_an_unknown_workout_type_is_refused_not_guessed(deps: ActivityDeps) -> None:
    with pytest.raises(UnknownWorkoutType, match="known: cycling"):
        service.start_workout(deps, "u", "sleeping", "r")


def test_starting_twice_with_one_request_id_makes_one_session(deps: ActivityDeps) -> None:
    first = service.start_workout(deps, "u", "yoga", "r1")
    assert service.start_workout(deps, "u", "yoga", "r1") == first


def test_ending_uses_the_users_weight(deps: ActivityDeps, clock: SteppingClock) -> None:
    session = service.start_workout(deps, "heavy", "running", "r1")
    clock.now += timedelta(hours=2)
    ended = service.end_workout(
        deps, session.session_id, "heavy", session.start_time + timedelta(minutes=30), "e1"
    )
    assert ended.duration == 1800
    assert ended.calories_burned == calories_burned(9.8, 100.0, 1800)


def test_ending_without_a_known_weight_uses_the_default(
    deps: ActivityDeps, clock: SteppingClock
) -> None:
    session = service.start_workout(deps, "light", "yoga", "r1")
    clock.now += timedelta(hours=2)
    ended = service.end_workout(
        deps, session.session_id, "light", session.start_time + timedelta(hours=1), "e1"
    )
    assert ended.calories_burned == calories_burned(2.5, DEFAULT_WEIGHT_KG, 3600)


def test_a_user_the_user_service_does_not_know_cannot_start_a_workout(
    deps: ActivityDeps,
) -> None:
    with pytest.raises(UnknownUser, match="deleted"):
        service.start_workout(deps, "deleted", "yoga", "r1")
    assert service.list_workouts(deps, "deleted", 10, "").sessions == []


def test_a_group_workout_leaves_out_a_participant_who_no_longer_exists(
    deps: ActivityDeps, clock: SteppingClock
) -> None:
    start = clock.now
    clock.now += timedelta(hours=1)
    times = [
        service.ParticipantTime(user, start, start + timedelta(minutes=30))
        for user in ("heavy", "deleted")
    ]
    recorded = service.record_group_workout(deps, "g1", "hiit", times, "group-1")
    assert [s.user_id for s in recorded] == ["heavy"]


def test_deleting_a_users_activity_removes_his_sessions_and_statistics_only(
    deps: ActivityDeps,
) -> None:
    for user in ("u", "other"):
        session = service.start_workout(deps, user, "yoga", f"start-{user}")
        service.end_workout(deps, session.session_id, user, None, f"end-{user}")
    assert service.delete_user_activity(deps, "u", "saga:delete_activity_data") == 1
    assert service.list_workouts(deps, "u", 10, "").sessions == []
    assert service.get_statistics(deps, "u").total_workouts == 0
    assert service.delete_user_activity(deps, "u", "saga:delete_activity_data") == 0
    assert service.get_statistics(deps, "other").total_workouts == 1
    with pytest.raises(InvalidInput):
        service.delete_user_activity(deps, "u", "")


def test_a_retried_end_returns_the_first_result_but_a_new_end_is_refused(
    deps: ActivityDeps,
) -> None:
    session = service.start_workout(deps, "u", "yoga", "r1")
    first = service.end_workout(deps, session.session_id, "u", None, "e1")
    assert service.end_workout(deps, session.session_id, "u", None, "e1") == first
    with pytest.raises(SessionAlreadyEnded):
        service.end_workout(deps, session.session_id, "u", None, "e2")
    assert service.get_statistics(deps, "u").total_workouts == 1


def test_ending_someone_elses_session_is_refused(deps: ActivityDeps) -> None:
    session = service.start_workout(deps, "owner", "yoga", "r1")
    with pytest.raises(NotSessionOwner):
        service.end_workout(deps, session.session_id, "intruder", None, "e1")


def test_ending_before_the_start_or_in_the_future_is_refused(deps: ActivityDeps) -> None:
    session = service.start_workout(deps, "u", "yoga", "r1")
    with pytest.raises(EndBeforeStart):
        service.end_workout(
            deps, session.session_id, "u", session.start_time - timedelta(seconds=1), "e"
        )
    with pytest.raises(InvalidInput):
        service.end_workout(
            deps, session.session_id, "u", session.start_time + timedelta(hours=1), "e"
        )


def test_ending_an_unknown_session_is_not_found(deps: ActivityDeps) -> None:
    with pytest.raises(SessionNotFound):
        service.end_workout(deps, "nope", "u", None, "e")


def test_statistics_average_is_derived_from_the_totals(
    deps: ActivityDeps, clock: SteppingClock
) -> None:
    for minutes, request in ((10, "a"), (20, "b")):
        session = service.start_workout(deps, "u", "walking", f"s{request}")
        clock.now += timedelta(hours=1)
        service.end_workout(
            deps, session.session_id, "u", session.start_time + timedelta(minutes=minutes), request
        )
    stats = service.get_statistics(deps, "u")
    assert (stats.total_workouts, stats.total_duration, stats.average_session_duration) == (
        2,
        1800,
        900,
    )


def test_pages_follow_each_other_without_gaps_or_repeats(
    deps: ActivityDeps, clock: SteppingClock
) -> None:
    started = []
    for n in range(5):
        started.append(service.start_workout(deps, "u", "yoga", f"r{n}").session_id)
        clock.now += timedelta(minutes=1)
    seen, token = [], ""
    while True:
        page = service.list_workouts(deps, "u", 2, token)
        seen += [s.session_id for s in page.sessions]
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(started))


@pytest.mark.parametrize(
    ("size", "token"), [(-1, ""), (101, ""), (10, "!!notbase64"), (10, "e30=")]
)
def test_bad_page_parameters_are_invalid_input(deps: ActivityDeps, size: int, token: str) -> None:
    with pytest.raises(InvalidInput):
        service.list_workouts(deps, "u", size, token)


def test_workout_types_are_sorted_and_have_positive_mets() -> None:
    types = service.list_workout_types()
    assert [t.name for t in types] == sorted(t.name for t in types)
    assert all(t.met > 0 for t in types)


@dataclass
class RecordingInvalidator:
    """The cache port: remembers which entities' statistics it was told to forget."""

    forgotten: list[tuple[str, str]] = field(default_factory=list)

    def invalidate(self, kind: Kind[Any], entity: str) -> None:
        self.forgotten.append((kind.name, entity))


def test_a_retried_end_invalidates_the_statistics_again(deps: ActivityDeps) -> None:
    cache = RecordingInvalidator()
    deps = replace(deps, cache=cache)
    session = service.start_workout(deps, "u", "yoga", "r1")
    service.end_workout(deps, session.session_id, "u", None, "e1")
    # The first attempt's answer (or its invalidation) was lost: the retry must forget too.
    service.end_workout(deps, session.session_id, "u", None, "e1")
    assert cache.forgotten == [("statistics", user_entity("u"))] * 2


def test_a_retried_group_workout_invalidates_each_participants_statistics_again(
    deps: ActivityDeps, clock: SteppingClock
) -> None:
    cache = RecordingInvalidator()
    deps = replace(deps, cache=cache)
    people = _participants(clock, "a", "b")
    service.record_group_workout(deps, "g1", "yoga", people, "g1")
    cache.forgotten.clear()
    service.record_group_workout(deps, "g1", "yoga", people, "g1")
    assert cache.forgotten == [("statistics", user_entity("a")), ("statistics", user_entity("b"))]


def _participants(clock: SteppingClock, *users: str) -> list[service.ParticipantTime]:
    start = clock.now - timedelta(minutes=45)
    return [service.ParticipantTime(u, start, start + timedelta(minutes=30)) for u in users]


def test_a_group_workout_becomes_one_ended_session_per_participant(
    deps: ActivityDeps, clock: SteppingClock
) -> None:
    recorded = service.record_group_workout(
        deps, "g1", "hiit", _participants(clock, "heavy", "light"), "g1"
    )
    assert [(s.user_id, s.duration) for s in recorded] == [("heavy", 1800), ("light", 1800)]
    assert recorded[0].calories_burned == calories_burned(8.0, 100.0, 1800)
    assert service.get_statistics(deps, "light").total_workouts == 1


def test_recording_a_group_workout_again_adds_nothing(
    deps: ActivityDeps, clock: SteppingClock
) -> None:
    people = _participants(clock, "a", "b")
    first = service.record_group_workout(deps, "g1", "yoga", people, "g1")
    assert service.record_group_workout(deps, "g1", "yoga", people, "g1") == first
    assert service.get_statistics(deps, "a").total_workouts == 1


def outbox_of(deps: ActivityDeps) -> FakeProgressOutbox:
    repo = deps.repo
    assert isinstance(repo, FakeWorkoutRepository)
    return repo.outbox


def test_ending_a_workout_queues_its_progress_for_the_user_service_once(
    deps: ActivityDeps, clock: SteppingClock
) -> None:
    session = service.start_workout(deps, "heavy", "running", "r1")
    clock.now += timedelta(minutes=30)
    ended = service.end_workout(deps, session.session_id, "heavy", None, "e1")
    service.end_workout(deps, session.session_id, "heavy", None, "e1")  # a retry
    assert outbox_of(deps).pending_progress() == [ProgressEvent.of(ended)]
    assert ProgressEvent.of(ended).event_id == f"progress:{session.session_id}"


def test_a_group_workout_queues_one_progress_event_per_participant(
    deps: ActivityDeps, clock: SteppingClock
) -> None:
    people = _participants(clock, "a", "b")
    recorded = service.record_group_workout(deps, "g1", "yoga", people, "g1")
    service.record_group_workout(deps, "g1", "yoga", people, "g1")  # a retry
    queued = outbox_of(deps).pending_progress()
    assert sorted(queued, key=lambda e: e.user_id) == [ProgressEvent.of(s) for s in recorded]


@pytest.mark.parametrize(
    ("group", "kind", "request_id"), [("", "yoga", "g"), ("g", "yoga", ""), ("g", "napping", "g")]
)
def test_group_workouts_need_ids_and_a_known_type(
    deps: ActivityDeps, clock: SteppingClock, group: str, kind: str, request_id: str
) -> None:
    with pytest.raises(InvalidInput):
        service.record_group_workout(deps, group, kind, _participants(clock, "a"), request_id)


def test_a_participant_who_left_before_joining_is_refused(
    deps: ActivityDeps, clock: SteppingClock
) -> None:
    backwards = service.ParticipantTime("a", clock.now, clock.now - timedelta(minutes=1))
    with pytest.raises(EndBeforeStart):
        service.record_group_workout(deps, "g", "yoga", [backwards], "g")
    assert service.get_statistics(deps, "a").total_workouts == 0
