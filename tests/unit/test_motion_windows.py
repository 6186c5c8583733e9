"""The processor's window engine (pure, fake clock): sliding windows in event time, grace,
late and out-of-order readings, gaps, idle closing, any rate, ack bookkeeping, owned
intervals that tile the timeline, and a crash replay that rebuilds exactly the windows
that were not emitted; and the raw-entry decoder."""

from __future__ import annotations

import base64
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.motion.domain import (
    Activity,
    ActivityRecord,
    Classification,
    Features,
    Reading,
    SensorMessage,
)
from services.motion.entries import decode_message, encode_message
from services.motion.processor.decode import UNREADABLE, chunk_of
from services.motion.windows import MAX_HELD_READINGS, Chunk, Closed, WindowEngine, WindowSpec

# Geometry first: every window with a reading is emitted (thin ones: a test of their own).
SPEC = WindowSpec(window_ms=5000, slide_ms=2500, grace_ms=500, idle_timeout_ms=3000, min_samples=1)
T0 = 1_790_000_000_000  # a multiple of the slide


def fake_recognise(
    ts: np.ndarray, xyz: np.ndarray, length_ms: int
) -> tuple[Features, Classification]:
    """Features that say which samples the window held: their count and the sum of x."""
    assert np.all(np.diff(ts) >= 0), "a window's samples reach the classifier sorted"
    features = Features(float(xyz[:, 0].sum()), 0.0, 0.0, 0.0, 0.0, len(ts), 1.0)
    return features, Classification(Activity.WALKING, 1.0)


def engine(spec: WindowSpec = SPEC) -> WindowEngine:
    """An engine whose classifier is the fake above."""
    return WindowEngine(spec, fake_recognise)


def chunk(n: int, ts: list[int] | np.ndarray, session: str = "s1", device: str = "d1") -> Chunk:
    """Entry ``n`` holding readings at ``ts`` (x = the timestamp, to recognise them later)."""
    times = np.asarray(ts, dtype=np.int64)
    xyz = np.stack([times.astype(np.float64), np.zeros(len(times)), np.full(len(times), 9.8)], 1)
    return Chunk(f"{n}-0", "u1", device, session, f"m{n}", times, xyz.reshape(-1, 3))


def stream(start: int, stop: int, period: int, per_message: int) -> list[Chunk]:
    """Readings every ``period`` ms in [start, stop), ``per_message`` to an entry."""
    times = np.arange(start, stop, period, dtype=np.int64)
    return [
        chunk(i, times[k : k + per_message])
        for i, k in enumerate(range(0, len(times), per_message))
    ]


def feed(eng: WindowEngine, chunks: list[Chunk], wall: int = 0) -> Closed:
    """Add every chunk, then close what is due at ``wall``."""
    for c in chunks:
        eng.add(c, wall)
    return eng.close_due(wall)


def finish(eng: WindowEngine, wall: int = 0) -> Closed:
    """Close everything: wall time moves past the idle timeout."""
    return eng.close_due(wall + SPEC.idle_timeout_ms)


def ends(records: tuple[ActivityRecord, ...] | list[ActivityRecord]) -> list[int]:
    """Window ends relative to T0."""
    return [r.window_end_ms - T0 for r in records]


def test_windows_slide_by_the_slide_and_last_the_window_length() -> None:
    eng = engine()
    closed = feed(eng, stream(T0, T0 + 10_000, 20, 50))
    # Watermark 9980 - 500: windows ending 2500, 5000 and 7500 are due; 10 000 is not.
    assert ends(closed.records) == [2500, 5000, 7500]
    assert [r.window_start_ms - T0 for r in closed.records] == [-2500, 0, 2500]
    assert [r.features.samples for r in closed.records] == [125, 250, 250]
    assert [r.window_key for r in closed.records][1] == f"s1/{T0}"


def test_a_window_waits_for_the_grace_period_before_closing() -> None:
    eng = engine()
    assert ends(feed(eng, stream(T0, T0 + 5_400, 20, 10)).records) == [2500]
    # 5 480 - 500 < 5 000: the window ending at 5 000 is still open.
    assert ends(feed(eng, [chunk(99, [T0 + 5_480])]).records) == []
    assert ends(feed(eng, [chunk(100, [T0 + 5_500])]).records) == [5000]


def test_late_readings_of_closed_windows_are_dropped_counted_and_their_entry_acked() -> None:
    eng = engine()
    feed(eng, stream(T0, T0 + 8_000, 20, 50))  # closes the windows ending at 2500 and 5000
    late = chunk(500, [T0 + 100, T0 + 2_400])  # newest windows end at 5000: closed
    assert eng.add(late, 0) == 2
    assert eng.late_dropped == 2
    assert "500-0" in eng.close_due(0).ackable


def test_a_reading_late_for_its_older_windows_only_joins_its_open_ones() -> None:
    eng = engine()
    feed(eng, stream(T0, T0 + 5_600, 20, 50))  # closed up to the window ending at 5000
    assert eng.add(chunk(500, [T0 + 4_000]), 0) == 0  # 5000 closed, 7500 open
    records = finish(eng).records
    assert ends(records) == [7500]
    assert records[0].features.magnitude == pytest.approx(
        sum(range(T0 + 2_500, T0 + 5_600, 20)) + T0 + 4_000
    )


def test_out_of_order_messages_within_grace_give_the_same_windows_as_ordered_ones() -> None:
    chunks = stream(T0, T0 + 12_000, 20, 10)
    shuffled = chunks[:]
    for i in range(0, len(shuffled) - 1, 2):  # neighbours swapped: 200 ms out of order
        shuffled[i], shuffled[i + 1] = shuffled[i + 1], shuffled[i]
    ordered, swapped = engine(), engine()
    a = [*feed(ordered, chunks).records, *finish(ordered).records]
    b = [*feed(swapped, shuffled).records, *finish(swapped).records]
    assert [r.features for r in a] == [r.features for r in b]
    assert [r.window_key for r in a] == [r.window_key for r in b]
    assert swapped.late_dropped == 0


def test_a_gap_emits_no_window_for_the_silence_and_owns_none_of_it() -> None:
    eng = engine()
    chunks = [*stream(T0, T0 + 3_000, 20, 50), *stream(T0 + 20_000, T0 + 23_000, 20, 50)]
    records = [*feed(eng, chunks).records, *finish(eng).records]
    assert ends(records) == [2500, 5000, 22500, 25000]
    owned = [(r.owned_start_ms - T0, r.owned_end_ms - T0) for r in records]
    assert owned == [(0, 2500), (2500, 5000), (20_000, 22_500), (22_500, 22_981)]


def test_a_silent_session_has_its_last_windows_closed_after_the_idle_timeout() -> None:
    eng = engine()
    assert ends(feed(eng, stream(T0, T0 + 3_700, 20, 50), wall=1_000).records) == [2500]
    assert eng.close_due(1_000 + SPEC.idle_timeout_ms - 1).records == ()
    last = eng.close_due(1_000 + SPEC.idle_timeout_ms)
    assert ends(last.records) == [5000]
    assert last.records[0].owned_end_ms == T0 + 3_681  # up to the last reading
    assert eng.pending_entries() == 0


def test_windows_thinner_than_the_minimum_are_closed_but_not_emitted() -> None:
    eng = engine(WindowSpec(5000, 2500, 500, 3000, min_samples=16))
    sparse = stream(T0, T0 + 60_000, 500, 4)  # 2 Hz: 10 readings a window
    closed = [feed(eng, sparse), finish(eng)]
    assert [r for c in closed for r in c.records] == []
    assert sorted(e for c in closed for e in c.ackable) == sorted(c.entry_id for c in sparse)


def test_a_sessions_first_emitted_window_owns_back_to_its_first_reading() -> None:
    eng = engine(WindowSpec(5000, 2500, 500, 3000, min_samples=16))
    chunks = stream(T0 + 2300, T0 + 9000, 20, 50)  # 10 readings before the first boundary
    records = [*feed(eng, chunks).records, *finish(eng).records]
    assert records[0].window_end_ms == T0 + 5000  # the thin window ending at 2500 is not
    assert records[0].owned_start_ms == T0 + 2300
    for before, after in itertools.pairwise(records):
        assert before.owned_end_ms == after.owned_start_ms


def test_a_session_whose_timestamps_never_advance_is_closed_before_it_holds_too_much() -> None:
    eng = engine()
    stuck = [chunk(n, np.full(1000, T0 + 1_000)) for n in range(MAX_HELD_READINGS // 1000 + 1)]
    closed = feed(eng, stuck)
    assert len(closed.records) == 1  # the one window, closed at once, as if idle
    assert sorted(closed.ackable) == sorted(c.entry_id for c in stuck)
    assert eng.pending_entries() == 0


def test_a_reader_behind_its_backlog_closes_no_session_for_idleness() -> None:
    eng = engine()
    feed(eng, stream(T0, T0 + 3_700, 20, 50), wall=1_000)
    behind = eng.close_due(1_000 + 10 * SPEC.idle_timeout_ms, caught_up=False)
    assert behind.records == ()
    # The rest of the recording was still queued: read now, it is on time, not late.
    assert eng.add(chunk(900, np.arange(T0 + 3_700, T0 + 9_000, 20)), 40_000) == 0
    assert eng.late_dropped == 0


def test_an_idle_close_acks_every_entry_once_and_a_later_resume_opens_new_windows() -> None:
    eng = engine()
    chunks = stream(T0, T0 + 3_700, 20, 50)
    acked = [*feed(eng, chunks).ackable, *finish(eng).ackable]
    assert sorted(acked) == sorted(c.entry_id for c in chunks)
    later = chunk(900, np.arange(T0 + 10_000, T0 + 11_000, 20))
    assert eng.add(later, 10_000) == 0
    assert ends(finish(eng, 10_000).records) == [12500]


def test_a_closed_session_is_forgotten_after_ten_idle_timeouts_and_then_starts_afresh() -> None:
    eng = engine()
    feed(eng, stream(T0, T0 + 3_000, 20, 50))
    finish(eng)
    assert eng.add(chunk(800, [T0 + 100]), 0) == 1  # still remembered: late
    eng.close_due(10 * SPEC.idle_timeout_ms - 1)
    assert eng.sessions
    eng.close_due(10 * SPEC.idle_timeout_ms)
    assert not eng.sessions
    assert eng.add(chunk(801, [T0 + 100]), 0) == 0  # a new session's first reading


@pytest.mark.parametrize("rate_hz", [10, 26, 50, 100])
def test_the_sampling_rate_comes_from_the_readings_not_from_a_setting(rate_hz: int) -> None:
    eng = engine()
    period = 1000 // rate_hz
    times = range(T0, T0 + 20_000, period)
    records = feed(eng, stream(T0, T0 + 20_000, period, 25)).records
    assert len(records) == 7
    for r in records:
        inside = [t for t in times if r.window_start_ms <= t < r.window_end_ms]
        assert r.features.samples == len(inside)


def test_the_real_classifier_names_a_still_phone_stationary() -> None:
    eng = WindowEngine(SPEC)
    rng = np.random.default_rng(7)
    times = np.arange(T0, T0 + 12_000, 20, dtype=np.int64)
    xyz = np.tile([0.0, 0.0, 9.81], (len(times), 1)) + rng.normal(0, 0.02, (len(times), 3))
    records = feed(eng, [Chunk("1-0", "u1", "d1", "s1", "m1", times, xyz)]).records
    assert {r.activity for r in records[1:]} == {Activity.STATIONARY}


def test_sessions_and_devices_have_windows_of_their_own() -> None:
    eng = engine()
    a = chunk(1, np.arange(T0, T0 + 6_000, 20), session="a")
    b = chunk(2, np.arange(T0 + 1_000, T0 + 3_000, 20), session="b")
    c = chunk(3, np.arange(T0, T0 + 6_000, 20), device="d2")
    records = feed(eng, [a, b, c]).records
    # Session b's watermark (2980 - 500) has closed nothing of its own yet.
    assert sorted((r.device_id, r.session_id, r.window_end_ms - T0) for r in records) == [
        ("d1", "a", 2500),
        ("d1", "a", 5000),
        ("d2", "s1", 2500),
        ("d2", "s1", 5000),
    ]


def test_an_entry_without_accelerometer_readings_is_ackable_at_once() -> None:
    eng = engine()
    eng.add(chunk(1, []), 0)
    assert eng.close_due(0).ackable == ("1-0",)


def test_a_windows_message_id_is_the_last_message_contributing_to_it() -> None:
    eng = engine()
    records = feed(eng, stream(T0, T0 + 8_000, 20, 50)).records  # one message a second
    assert [r.message_id for r in records] == ["m2", "m4"]  # m2 holds 2000-2980


@pytest.mark.parametrize(("window", "slide"), [(5000, 3000), (5000, 0), (0, 0)])
def test_a_slide_that_does_not_divide_the_window_is_refused(window: int, slide: int) -> None:
    with pytest.raises(ValueError, match="slide"):
        WindowSpec(window, slide, 0, 1000)


@settings(max_examples=60, deadline=None)
@given(
    period=st.integers(5, 120),
    offset=st.integers(0, 9_999),
    per_message=st.integers(1, 80),
    length=st.integers(1_000, 30_000),
)
def test_owned_intervals_tile_the_recording_from_first_to_last_reading(
    period: int, offset: int, per_message: int, length: int
) -> None:
    eng = engine()
    chunks = stream(T0 + offset, T0 + offset + length, period, per_message)
    records = [*feed(eng, chunks).records, *finish(eng).records]
    first, last = int(chunks[0].timestamps_ms[0]), int(chunks[-1].timestamps_ms[-1])
    assert records[0].owned_start_ms == first
    assert records[-1].owned_end_ms == last + 1
    for before, after in itertools.pairwise(records):
        assert before.owned_end_ms == after.owned_start_ms
        assert after.window_end_ms - before.window_end_ms == SPEC.slide_ms


@settings(max_examples=80, deadline=None)
@given(
    period=st.integers(10, 100),
    per_message=st.integers(1, 120),
    length=st.integers(2_000, 25_000),
    closes=st.lists(st.integers(0, 400), min_size=1, max_size=8),
    crash_at=st.integers(0, 400),
)
def test_a_crash_replaying_the_unacked_entries_rebuilds_exactly_the_unemitted_windows(
    period: int, per_message: int, length: int, closes: list[int], crash_at: int
) -> None:
    chunks = stream(T0, T0 + length, period, per_message)
    whole = engine()
    expected = [*feed(whole, chunks).records, *finish(whole).records]
    # The first worker closes windows now and then, and dies after ``crash_at`` entries.
    first, emitted, acked = engine(), list[ActivityRecord](), set[str]()
    crash_at = min(crash_at, len(chunks))
    for n, c in enumerate(chunks[:crash_at]):
        first.add(c, 0)
        if n in closes:
            closed = first.close_due(0)
            emitted += closed.records
            acked |= set(closed.ackable)
            # Acked entries never reach a window still to come.
            assert not acked & {c.entry_id for c in chunks[n + 1 :]}
    # The next one replays what was not acked, then the rest of the stream.
    second = engine()
    replay = [c for c in chunks[:crash_at] if c.entry_id not in acked] + chunks[crash_at:]
    rebuilt = [*feed(second, replay).records, *finish(second).records]
    done = {r.window_key for r in emitted}
    written = emitted + [r for r in rebuilt if r.window_key not in done]  # first write wins
    assert sorted(written, key=lambda r: r.window_end_ms) == expected


def test_the_decoder_reads_what_the_ingest_path_encodes() -> None:
    readings = (
        Reading("accelerometer", T0, (0.5, -1.0, 9.75)),
        Reading("gyroscope", T0 + 5, (1.0, 2.0, 3.0)),
        Reading("accelerometer", T0 + 20, (0.25, 0.0, 9.5)),
    )
    message = SensorMessage("u1", "d1", "s1", "m1", readings)
    fields = encode_message(message, T0)
    decoded = decode_message("7-0", fields).message
    got = chunk_of("7-0", fields)
    accel = [r for r in decoded.readings if r.name == "accelerometer"]
    assert got.timestamps_ms.tolist() == [r.timestamp_ms for r in accel]
    assert got.xyz.tolist() == [list(r.values) for r in accel]
    assert (got.user_id, got.device_id, got.session_id, got.message_id) == ("u1", "d1", "s1", "m1")


def packed(rows: list[list[float]]) -> str:
    """Rows [t, x, y, z] packed as the ingest path packs them."""
    return base64.b64encode(np.array(rows, dtype="<f8").tobytes()).decode()


@pytest.mark.parametrize(
    "extra",
    [
        {},  # no packed readings
        {"a": "not base64!"},
        {"a": base64.b64encode(b"\x00" * 24).decode()},  # not whole [t, x, y, z] rows
    ],
)
def test_the_decoder_refuses_entries_that_are_no_message(extra: dict[str, str]) -> None:
    fields = {"u": "u", "d": "d", "s": "s", "m": "m", "i": "0", "r": "[]", **extra}
    with pytest.raises(UNREADABLE):
        chunk_of("1-0", fields)


def test_the_decoder_drops_readings_that_are_not_finite() -> None:
    rows = [[1, 1.0, 2.0, 3.0], [2, float("nan"), 0, 0], [3, 0, float("inf"), 0]]
    fields = {"u": "u", "d": "d", "s": "s", "m": "m", "i": "0", "r": "[]", "a": packed(rows)}
    assert chunk_of("1-0", fields).timestamps_ms.tolist() == [1]
