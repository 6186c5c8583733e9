"""Sleep sessions: stored by start, corrected by sending again, read by night, validated."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.health_metrics import service
from services.health_metrics.domain import (
    InvalidInput,
    SleepOverlap,
    SleepSession,
    SleepStage,
    StageSpan,
)
from services.health_metrics.validation import parse_stage
from tests.unit.health_metrics.fake_store import FakeHealthStore
from tests.unit.health_metrics.support import NOW, USER, at, deps

LIGHT, DEEP, REM, WAKE = SleepStage.LIGHT, SleepStage.DEEP, SleepStage.REM, SleepStage.WAKE


def span(stage: SleepStage, start: float, end: float, base: datetime | None = None) -> StageSpan:
    """A stage from ``start`` to ``end`` minutes after ``base`` (the test day's start)."""
    first = base or at(0)
    return StageSpan(stage, first + timedelta(minutes=start), first + timedelta(minutes=end))


def night(*stages: StageSpan, start: datetime | None = None) -> SleepSession:
    """A session from the first stage's start (or ``start``) to the last one's end."""
    return SleepSession(start or stages[0].start, stages[-1].end, stages)


NIGHT = night(span(LIGHT, 0, 30), span(DEEP, 30, 90), span(REM, 90, 120), span(WAKE, 120, 125))


def test_a_session_is_stored_read_back_with_its_stage_minutes_and_not_stored_twice() -> None:
    store = FakeHealthStore()
    first = service.write_sleep(deps(store), USER, [NIGHT])
    again = service.write_sleep(deps(store), USER, [NIGHT])
    assert (first.changed, first.unchanged, again.changed, again.unchanged) == (1, 0, 0, 1)
    (found,) = service.read_sleep(deps(store), USER, at(0), at(days=1))
    assert found.session == NIGHT
    assert found.minutes == {LIGHT: 30.0, DEEP: 60.0, REM: 30.0, WAKE: 5.0}
    assert found.asleep_minutes == 120.0


def test_a_session_sent_again_with_other_stages_replaces_the_stored_one() -> None:
    store = FakeHealthStore()
    service.write_sleep(deps(store), USER, [NIGHT])
    corrected = night(span(LIGHT, 0, 100), span(DEEP, 100, 125))
    assert service.write_sleep(deps(store), USER, [corrected]).changed == 1
    (found,) = service.read_sleep(deps(store), USER, at(0), at(days=1))
    assert found.session == corrected


def test_sleep_is_read_by_the_time_sessions_end_oldest_first() -> None:
    store = FakeHealthStore()
    late = night(span(LIGHT, 0, 60, base=at(hours=23)))  # ends the next day
    early = night(span(LIGHT, 0, 60, base=at(hours=-1)))  # started the day before
    service.write_sleep(deps(store), USER, [late, NIGHT, early])
    found = service.read_sleep(deps(store), USER, at(0), at(days=1))
    assert [s.session for s in found] == [early, NIGHT]


def test_a_session_of_24_hours_with_500_stages_is_accepted() -> None:
    stages = [span(LIGHT if i % 2 else DEEP, i * 2.88, (i + 1) * 2.88) for i in range(500)]
    whole = SleepSession(at(0), at(hours=24), tuple(stages))
    assert service.write_sleep(deps(FakeHealthStore()), USER, [whole]).changed == 1


ONE = span(LIGHT, 0, 30)


@pytest.mark.parametrize(
    ("sessions", "message"),
    [
        ([], "a call holds 1 to 31 sleep sessions"),
        (
            [night(span(LIGHT, 0, 30, base=at(days=i))) for i in range(32)],
            "a call holds 1 to 31 sleep sessions",
        ),
        ([NIGHT, replace(NIGHT, stages=(ONE,), end=ONE.end)], "sessions[1] has the start of"),
        ([SleepSession(at(30), at(30), (ONE,))], "sessions[0]: start must be before end"),
        ([SleepSession(at(0), at(hours=24, minutes=1), (ONE,))], "a session lasts at most 24 h"),
        ([SleepSession(at(0), at(30), ())], "a session holds 1 to 500 stages"),
        (
            [SleepSession(at(0), at(hours=24), tuple(span(LIGHT, i, i + 1) for i in range(501)))],
            "a session holds 1 to 500 stages",
        ),
        ([night(span(LIGHT, 0, 30), start=at(1))], "stages[0]: stages lie within their session"),
        ([SleepSession(at(0), at(20), (ONE,))], "stages[0]: stages lie within their session"),
        (
            [night(span(LIGHT, 0, 30), span(DEEP, 20, 40))],
            "stages[1]: stages lie within their session, in time order, without overlapping",
        ),
        (
            [SleepSession(at(0), at(60), (span(LIGHT, 30, 60), span(DEEP, 0, 20)))],
            "stages[1]: stages lie within their session",
        ),
        ([night(span(LIGHT, 0, 30), span(DEEP, 40, 40))], "stages[1]: start must be before end"),
        (
            [SleepSession(at(0), at(30), (StageSpan("nap", at(0), at(30)),))],  # type: ignore[arg-type]
            "stages[0]: stage must be a sleep stage",
        ),
        (
            [night(span(LIGHT, 0, 30, base=datetime(1999, 12, 31, 22, tzinfo=UTC)))],
            "time is before 2000-01-01",
        ),
        ([night(span(LIGHT, 0, 30, base=NOW))], "time is more than 300 s in the future"),
        (
            [night(span(LIGHT, 0, 30, base=datetime(2026, 5, 1)))],  # no timezone
            "time needs a timezone",
        ),
    ],
)
def test_a_malformed_call_or_session_is_refused_whole(
    sessions: list[SleepSession], message: str
) -> None:
    store = FakeHealthStore()
    with pytest.raises(InvalidInput, match=re.escape(message)):
        service.write_sleep(deps(store), USER, sessions)
    assert store.sessions == {}


def test_a_stage_name_is_parsed_or_refused_with_the_choices() -> None:
    assert parse_stage("rem") is REM
    with pytest.raises(InvalidInput, match="stage must be one of deep, light, rem, wake"):
        parse_stage("REM")


def test_a_sleep_read_over_a_bad_range_or_for_a_bad_user_is_refused() -> None:
    with pytest.raises(InvalidInput, match="from must be before to"):
        service.read_sleep(deps(FakeHealthStore()), USER, at(1), at(0))
    with pytest.raises(InvalidInput, match="user_id"):
        service.read_sleep(deps(FakeHealthStore()), "a\x1bb", at(0), at(1))


def test_two_sessions_of_one_call_that_overlap_are_refused_whole() -> None:
    store = FakeHealthStore()
    second = night(span(LIGHT, 100, 200))  # starts inside NIGHT
    with pytest.raises(SleepOverlap, match=re.escape("sessions[0] overlaps sessions[1]")):
        service.write_sleep(deps(store), USER, [second, NIGHT])
    assert store.sessions.get(USER, {}) == {}


def test_a_session_overlapping_a_stored_one_of_another_start_is_refused() -> None:
    store = FakeHealthStore()
    service.write_sleep(deps(store), USER, [NIGHT])
    with pytest.raises(SleepOverlap):
        service.write_sleep(deps(store), USER, [night(span(DEEP, 60, 180))])
    after = night(span(DEEP, 125, 180))  # begins as NIGHT ends: no overlap
    assert service.write_sleep(deps(store), USER, [after]).changed == 1
    assert [s.session for s in service.read_sleep(deps(store), USER, at(0), at(days=1))] == [
        NIGHT,
        after,
    ]
