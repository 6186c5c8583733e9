"""The motion use cases over the in-memory store: ingestion, devices, reads of a device."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.motion import service
from services.motion.domain import (
    Activity,
    ActivityState,
    DeviceNotFound,
    DeviceOwnedByAnother,
    InvalidInput,
    NothingToStore,
    Reading,
    RecordCursor,
    SensorMessage,
    StoreUnavailable,
    TimeRange,
    TooManyDevices,
)
from services.motion.service import DeviceRef, Limits, MotionDeps
from tests.unit.motion_fakes import FakeMotionStore, a_record

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
HOUR_MS = 3_600_000


def deps(store: FakeMotionStore, **limits: int) -> MotionDeps:
    """The use cases' dependencies, at NOW."""
    return MotionDeps(store=store, limits=Limits(**limits), clock=lambda: NOW)


def message(
    *readings: Reading, device: str = "phone-1", user: str = "u1", message_id: str = "m1"
) -> SensorMessage:
    """A message of the given readings (one valid accelerometer reading by default)."""
    chosen = readings or (Reading("accelerometer", NOW_MS - 1000, (0.1, 9.8, 0.2)),)
    return SensorMessage(user, device, "s1", message_id, tuple(chosen))


def good(n: int = 0) -> Reading:
    """A valid accelerometer reading n ms before a second ago."""
    return Reading("accelerometer", NOW_MS - 1000 - n, (0.1, 9.8, 0.2))


def test_a_message_is_stored_as_one_entry_and_its_retry_stores_nothing() -> None:
    store = FakeMotionStore()
    first = service.ingest(deps(store), message(good(0), good(20)))
    again = service.ingest(deps(store), message(good(0), good(20)))
    assert (first.accepted, first.duplicate, first.rejected) == (2, False, ())
    assert (again.accepted, again.duplicate) == (2, True)
    assert len(store.raw) == 1
    assert len(store.raw[0].readings) == 2


def test_a_duplicate_gets_the_first_answer_with_its_rejections() -> None:
    store = FakeMotionStore()
    bad = Reading("accelerometer", NOW_MS, (1.0, 2.0))
    first = service.ingest(deps(store), message(good(), bad))
    again = service.ingest(deps(store), message(good()))
    assert again.rejected == first.rejected
    assert again.accepted == 1


def test_the_same_message_id_of_another_device_is_another_message() -> None:
    store = FakeMotionStore()
    service.ingest(deps(store), message(device="phone-1"))
    other = service.ingest(deps(store), message(device="phone-2"))
    assert not other.duplicate
    assert len(store.raw) == 2


def test_bad_readings_are_listed_by_index_and_only_the_good_ones_stored() -> None:
    store = FakeMotionStore()
    readings = (
        good(),
        Reading("accelerometer", NOW_MS - 25 * HOUR_MS, (0.0, 0.0, 9.8)),
        Reading("gyroscope", NOW_MS, (float("nan"),)),
        Reading("light", NOW_MS, (120.0,)),
    )
    result = service.ingest(deps(store), message(*readings))
    assert result.accepted == 2
    assert [r.index for r in result.rejected] == [1, 2]
    assert [r.name for r in store.raw[0].readings] == ["accelerometer", "light"]


def test_a_message_without_a_valid_reading_stores_nothing_and_claims_no_device() -> None:
    store = FakeMotionStore()
    with pytest.raises(NothingToStore) as refused:
        service.ingest(deps(store), message(Reading("accelerometer", 0, (1.0, 2.0, 3.0))))
    assert [r.index for r in refused.value.rejected] == [0]
    assert "no reading was stored: readings[0]" in str(refused.value)
    assert (store.raw, store.devices) == ([], {})


def test_another_users_device_is_refused_and_nothing_is_stored() -> None:
    store = FakeMotionStore()
    service.ingest(deps(store), message(user="alice"))
    with pytest.raises(DeviceOwnedByAnother):
        service.ingest(deps(store), message(user="mallory", message_id="m2"))
    assert len(store.raw) == 1


def test_a_user_may_own_at_most_the_configured_number_of_devices() -> None:
    store = FakeMotionStore()
    for n in range(2):
        service.ingest(deps(store, max_devices=2), message(device=f"phone-{n}"))
    with pytest.raises(TooManyDevices):
        service.ingest(deps(store, max_devices=2), message(device="phone-9"))
    assert service.ingest(deps(store, max_devices=2), message(device="phone-0", message_id="x"))


@pytest.mark.parametrize("field", ["user", "device", "message_id"])
def test_malformed_ids_are_invalid_input(field: str) -> None:
    with pytest.raises(InvalidInput, match="must be 1-64"):
        service.ingest(deps(FakeMotionStore()), message(**{field: "has space"}))


def test_a_message_holds_at_most_the_configured_readings() -> None:
    with pytest.raises(InvalidInput, match="1 to 3 readings"):
        service.ingest(
            deps(FakeMotionStore(), max_readings=3), message(*[good(n) for n in range(4)])
        )


def test_a_store_outage_is_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable):
        service.ingest(deps(FakeMotionStore(unavailable=True)), message())


def owned(store: FakeMotionStore, user: str = "u1", device: str = "phone-1") -> DeviceRef:
    """A device the user has claimed, as its owner reads it."""
    service.ingest(deps(store), message(user=user, device=device))
    return DeviceRef(user, device)


def test_devices_are_listed_most_recently_first_seen_first() -> None:
    store = FakeMotionStore()
    for n, at in enumerate([3, 1, 2]):
        store.claim_device("u1", f"phone-{n}", 10, at)
    store.claim_device("u2", "phone-x", 10, 5)
    listed = service.list_devices(deps(store), "u1")
    assert [d.device_id for d in listed] == ["phone-0", "phone-2", "phone-1"]


def test_only_the_owner_or_an_admin_reads_a_device_and_an_unknown_one_is_not_found() -> None:
    store = FakeMotionStore()
    owned(store)
    with pytest.raises(DeviceOwnedByAnother):
        service.current_activity(deps(store), DeviceRef("mallory", "phone-1"))
    assert (
        service.current_activity(deps(store), DeviceRef("admin", "phone-1", any_owner=True)) is None
    )
    with pytest.raises(DeviceNotFound):
        service.current_activity(deps(store), DeviceRef("u1", "phone-9"))


def test_the_current_activity_is_the_processors_state() -> None:
    store = FakeMotionStore()
    ref = owned(store)
    state = ActivityState("phone-1", Activity.RUNNING, 0.8, NOW_MS - 60_000, NOW_MS - 1000)
    store.put_state(state)
    assert service.current_activity(deps(store), ref) == state


def test_a_range_defaults_to_the_day_up_to_now_and_spans_at_most_a_week() -> None:
    d = deps(FakeMotionStore())
    assert service.time_range(d, None, None) == TimeRange(NOW_MS - 24 * HOUR_MS, NOW_MS)
    assert service.time_range(d, None, 1000 * HOUR_MS) == TimeRange(976 * HOUR_MS, 1000 * HOUR_MS)
    assert service.time_range(d, 0, 7 * 24 * HOUR_MS).end_ms == 7 * 24 * HOUR_MS
    with pytest.raises(InvalidInput, match="7 days"):
        service.time_range(d, 0, 7 * 24 * HOUR_MS + 1)
    with pytest.raises(InvalidInput, match="before"):
        service.time_range(d, 5, 5)


def walk_then_run(store: FakeMotionStore, count: int) -> None:
    """``count`` segments of alternating activity, two windows each, from 0."""
    for n in range(2 * count):
        activity = Activity.WALKING if (n // 2) % 2 == 0 else Activity.RUNNING
        store.put_record(a_record(n * 2500, activity))


def test_timeline_pages_return_each_segment_once_in_order() -> None:
    store = FakeMotionStore()
    ref = owned(store)
    walk_then_run(store, 5)
    span = TimeRange(0, 25_000)
    got, resume, pages = [], None, 0
    while True:
        page = service.activity_timeline(deps(store), ref, span, 2, resume)
        got.extend(page.segments)
        pages += 1
        if page.resume_ms is None:
            break
        resume = page.resume_ms
    assert [(s.start_ms, s.end_ms) for s in got] == [(n * 5000, n * 5000 + 5000) for n in range(5)]
    assert pages == 3


def test_a_timeline_page_stops_when_its_scan_budget_is_spent_and_goes_on_from_there() -> None:
    store = FakeMotionStore()
    ref = owned(store)
    for n in range(10):
        store.put_record(a_record(n * 2500))
    d = MotionDeps(store=store, limits=Limits(timeline_budget=4), clock=lambda: NOW)
    first = service.activity_timeline(d, ref, TimeRange(0, 25_000), 100, None)
    assert [(s.start_ms, s.end_ms) for s in first.segments] == [(0, 10_000)]
    assert first.resume_ms == 10_000
    got = list(first.segments)
    resume: int | None = first.resume_ms
    while resume is not None:
        page = service.activity_timeline(d, ref, TimeRange(0, 25_000), 100, resume)
        got.extend(page.segments)
        resume = page.resume_ms
    # Cut at each page's end, never overlapping, never leaving a gap.
    assert [s.start_ms for s in got[1:]] == [s.end_ms for s in got[:-1]]
    assert (got[0].start_ms, got[-1].end_ms) == (0, 25_000)


def test_the_distribution_counts_each_second_once_and_refuses_ranges_over_its_budget() -> None:
    store = FakeMotionStore()
    ref = owned(store)
    walk_then_run(store, 2)
    seconds = service.activity_distribution(deps(store), ref, TimeRange(0, 60_000))
    assert seconds == {
        Activity.UNKNOWN: 0.0,
        Activity.STATIONARY: 0.0,
        Activity.WALKING: 5.0,
        Activity.RUNNING: 5.0,
    }
    with pytest.raises(InvalidInput, match="narrow"):
        service.activity_distribution(deps(store, distribution_budget=3), ref, TimeRange(0, 60_000))


def test_a_timeline_orders_overlapping_sessions_by_the_time_they_speak_for() -> None:
    store = FakeMotionStore()
    ref = owned(store)
    for start in (0, 2500, 5000, 7500, 15_000):
        store.put_record(a_record(start, Activity.WALKING, session_id="b"))
    # Longer windows of another session: they end after a later window of the first.
    for start in (10_000, 12_500):
        store.put_record(a_record(start, Activity.STATIONARY, session_id="a", window_ms=20_000))
    page = service.activity_timeline(deps(store), ref, TimeRange(0, 60_000), 100, None)
    assert [(s.activity, s.start_ms, s.end_ms) for s in page.segments] == [
        (Activity.WALKING, 0, 10_000),
        (Activity.STATIONARY, 10_000, 15_000),
        (Activity.WALKING, 15_000, 17_500),
    ]


def test_a_scan_near_its_deadline_stops_after_its_first_chunk() -> None:
    store = FakeMotionStore()
    ref = owned(store)
    for n in range(2 * service.SCAN_CHUNK + 10):
        store.put_record(a_record(n * 2500))
    late = MotionDeps(store=store, clock=lambda: NOW, time_left=lambda: 0.1)
    span = TimeRange(0, 2 * service.SCAN_CHUNK * 2500)
    page = service.activity_timeline(late, ref, span, 100, None)
    assert page.resume_ms == service.SCAN_CHUNK * 2500  # cut short, and it moved on
    with pytest.raises(InvalidInput, match="narrow"):
        service.activity_distribution(late, ref, span)


def test_record_pages_follow_the_window_end_and_key_once_each() -> None:
    store = FakeMotionStore()
    ref = owned(store)
    for n in range(7):
        store.put_record(a_record(n * 2500))
        store.put_record(a_record(n * 2500, session_id="s2"))  # the same window ends
    keys: list[tuple[int, str]] = []
    after: RecordCursor | None = None
    while True:
        found, after = service.activity_records(deps(store), ref, TimeRange(0, 10**9), 3, after)
        keys.extend((r.window_end_ms, r.window_key) for r in found)
        if after is None:
            break
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys) == 14


@pytest.mark.parametrize("size", [-1, 1001])
def test_a_page_holds_1_to_1000(size: int) -> None:
    store = FakeMotionStore()
    with pytest.raises(InvalidInput, match="page_size"):
        service.activity_records(deps(store), owned(store), TimeRange(0, 1), size, None)
