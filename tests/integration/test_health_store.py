"""The health store on a real PostgreSQL: partitions, upserts, rollups equal to a full
recompute (also while a writer ingests), sleep, devices, pagination and outages."""

from __future__ import annotations

import random
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from deploy import embedded_postgres
from deploy.local import free_port
from services.health_metrics.domain import (
    Metric,
    Point,
    Resolution,
    SleepOverlap,
    SleepSession,
    SleepStage,
    StageSpan,
    StoreUnavailable,
    TooMuchSleep,
)
from services.health_metrics.postgres import PostgresHealthStore, open_store, rollups
from services.health_metrics.postgres import points as raw_points
from services.health_metrics.repository import HealthStore, Written
from tests.integration.health_harness import (
    DAY0,
    Writer,
    mismatches,
    refresh_all,
    stored_points,
)
from tests.unit.health_metrics.fake_store import FakeHealthStore

HR = Metric.HEART_RATE


@pytest.fixture(scope="module")
def database(postgres_server: str) -> str:
    """A database of this module's own on the session's PostgreSQL."""
    return embedded_postgres.create_database(postgres_server, f"health_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="module")
def store(database: str) -> Iterator[PostgresHealthStore]:
    """The store on the module's database."""
    opened = open_store(database, pool_size=4)
    yield opened
    opened.close()


@pytest.fixture
def user() -> str:
    """A user no other test writes for."""
    return f"user-{uuid.uuid4().hex[:8]}"


def at(seconds: float, day: datetime = DAY0) -> datetime:
    """An instant ``seconds`` after the start of ``day``."""
    return day + timedelta(seconds=seconds)


def run(start: float, count: int, value: float = 70.0) -> list[Point]:
    """``count`` points at 1 Hz from ``start`` seconds after DAY0."""
    return [Point(at(start + i), value + i % 7) for i in range(count)]


def partitions(store: PostgresHealthStore) -> dict[str, str]:
    """The partitions of the points table and their bounds."""
    statement = """SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'points'::regclass"""
    with store.engine.connect() as conn:
        return {name: bound for name, bound in conn.exec_driver_sql(statement)}


def test_each_day_a_batch_touches_gets_its_own_utc_partition(
    store: PostgresHealthStore, user: str
) -> None:
    store.write_points(user, HR, [Point(at(-1), 60), Point(at(86400 * 2 + 5), 61)])
    found = partitions(store)
    assert "points_20240308" in found
    assert "points_20240311" in found
    assert found["points_20240311"] == (
        "FOR VALUES FROM ('2024-03-11 00:00:00+00') TO ('2024-03-12 00:00:00+00')"
    )


def test_a_batch_spread_over_many_days_is_written_in_parts_of_a_few_days_each(
    store: PostgresHealthStore, user: str
) -> None:
    start = datetime(2001, 1, 1, 12, tzinfo=UTC)  # 40 days: two parts (32 days at most each)
    batch = [Point(start + timedelta(days=i), 60 + i) for i in range(40)]
    assert store.write_points(user, HR, batch) == Written(changed=40, unchanged=0)
    assert store.write_points(user, HR, batch[::-1]) == Written(changed=0, unchanged=40)
    assert store.read_points(user, HR, start, start + timedelta(days=40), None, 100) == batch
    found = partitions(store)
    assert all(f"points_{(start + timedelta(days=i)):%Y%m%d}" in found for i in range(40))


def test_reads_and_deletes_over_years_go_a_window_of_partitions_at_a_time(
    store: PostgresHealthStore, user: str
) -> None:
    start = datetime(2002, 1, 1, 6, tzinfo=UTC)
    batch = [Point(start + timedelta(days=3 * i), 60 + i) for i in range(40)]  # 117 days
    store.write_points(user, HR, batch)
    years = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
    first = store.read_points(user, HR, *years, None, 35)
    rest = store.read_points(user, HR, *years, first[-1].time, 35)
    assert first + rest == batch
    assert store.read_points(user, HR, *years, batch[9].time, 3) == batch[10:13]
    assert store.delete_points(user, HR, *years) == 40
    assert store.read_points(user, HR, *years, None, 100) == []


def test_the_points_table_has_no_default_partition_and_a_brin_index_on_time(
    store: PostgresHealthStore, user: str
) -> None:
    store.write_points(user, HR, run(0, 3))
    with store.engine.connect() as conn:
        default = conn.exec_driver_sql(
            "SELECT partdefid FROM pg_partitioned_table WHERE partrelid = 'points'::regclass"
        ).scalar_one()
        brin = conn.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes"
            " WHERE tablename = 'points_20240309' AND indexdef ~ 'brin'"
        ).scalar_one()
        primary = conn.exec_driver_sql(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'points'::regclass AND contype = 'p'"
        ).scalar_one()
    assert default == 0
    assert 'USING brin ("time")' in brin
    assert primary == 'PRIMARY KEY (user_id, metric, "time")'


def test_instances_opening_a_fresh_database_at_once_all_create_the_schema(
    postgres_server: str,
) -> None:
    fresh = embedded_postgres.create_database(postgres_server, f"health_{uuid.uuid4().hex[:12]}")
    opened: list[PostgresHealthStore] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            opened.append(open_store(fresh, pool_size=1))
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert opened[0].write_points("u", HR, run(0, 2)) == Written(changed=2, unchanged=0)
    for store in opened:
        store.close()


def test_stores_creating_one_new_day_at_once_all_succeed(database: str, user: str) -> None:
    stores = [open_store(database, pool_size=2) for _ in range(4)]
    day = datetime(2023, 1, 1, tzinfo=UTC)
    errors: list[BaseException] = []

    def write(index: int) -> None:
        try:
            stores[index].write_points(
                f"{user}-{index}", HR, [Point(day + timedelta(seconds=index), 60)]
            )
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for opened in stores:
        opened.close()
    assert errors == []
    assert "points_20230101" in partitions(stores[0])


def test_an_upsert_counts_new_and_corrected_points_as_changed_and_resent_ones_as_unchanged(
    store: PostgresHealthStore, user: str
) -> None:
    assert store.write_points(user, HR, run(0, 100)) == Written(changed=100, unchanged=0)
    assert store.write_points(user, HR, run(0, 100)) == Written(changed=0, unchanged=100)
    mixed = [*run(0, 100)[50:], Point(at(10), 199.5), *run(1000, 5)]
    assert store.write_points(user, HR, mixed) == Written(changed=6, unchanged=50)
    stored = store.read_points(user, HR, at(0), at(2000), None, 1000)
    assert len(stored) == 105
    assert Point(at(10), 199.5) in stored


def test_only_the_minutes_of_changed_points_are_marked_dirty(
    store: PostgresHealthStore, user: str
) -> None:
    store.write_points(user, HR, run(0, 180))
    refresh_all(store)
    store.write_points(user, HR, [*run(0, 120), Point(at(150), 10.25)])
    with store.engine.connect() as conn:
        minutes = (
            conn.exec_driver_sql("SELECT minute FROM dirty_minutes WHERE user_id = %s", (user,))
            .scalars()
            .all()
        )
    assert [m.astimezone(UTC) for m in minutes] == [at(120)]
    assert store.dirty_minutes() == 1
    assert 0 < store.oldest_dirty_seconds() < 60
    refresh_all(store)
    assert (store.dirty_minutes(), store.oldest_dirty_seconds()) == (0, 0)


def test_a_late_correction_recomputes_one_minute_one_hour_and_one_day(
    store: PostgresHealthStore, user: str
) -> None:
    store.write_points(user, Metric.STEPS, run(0, 7200, value=10))
    refresh_all(store)
    store.write_points(user, Metric.STEPS, [Point(at(3661), 500)])
    report = store.refresh(1000)
    assert (report.minutes, report.hours, report.days, report.remaining) == (1, 1, 1, 0)
    minute = store.read_rollups(user, Metric.STEPS, Resolution.MINUTE, at(3660), at(3720), None, 5)
    day = store.read_rollups(user, Metric.STEPS, Resolution.DAY, at(0), at(86400), None, 5)
    expected_day = sum(10 + i % 7 for i in range(7200)) - (10 + 3661 % 7) + 500
    assert (minute[0].high, minute[0].count) == (500, 60)
    assert (day[0].total, day[0].count) == (expected_day, 7200)


def test_a_delete_empties_its_buckets_and_a_bucket_left_empty_has_no_row(
    store: PostgresHealthStore, user: str
) -> None:
    store.write_points(user, HR, run(0, 120))
    refresh_all(store)
    assert store.delete_points(user, HR, at(0), at(60)) == 60
    assert store.delete_points(user, HR, at(0), at(60)) == 0
    refresh_all(store)
    minutes = store.read_rollups(user, HR, Resolution.MINUTE, at(0), at(3600), None, 10)
    hours = store.read_rollups(user, HR, Resolution.HOUR, at(0), at(3600), None, 10)
    assert [m.start for m in minutes] == [at(60)]
    assert (hours[0].count, hours[0].low) == (60, 70)
    store.delete_points(user, HR, at(0), at(86400))
    refresh_all(store)
    assert store.read_rollups(user, HR, Resolution.DAY, at(0), at(86400), None, 10) == []


def test_a_refresh_claims_the_oldest_dirty_minutes_first_and_at_most_its_limit(
    store: PostgresHealthStore, user: str
) -> None:
    refresh_all(store)
    store.write_points(user, HR, [Point(at(600), 80)])
    store.write_points(user, HR, [Point(at(0), 80), Point(at(1200), 80)])
    assert store.refresh(1).minutes == 1
    assert store.read_rollups(user, HR, Resolution.MINUTE, at(0), at(3600), None, 10)[
        0
    ].start == at(600)
    report = store.refresh(5)
    assert (report.minutes, report.hours, report.remaining) == (2, 1, 0)


def test_a_refresh_skips_a_minute_whose_mark_a_write_holds_and_leaves_it_dirty(
    store: PostgresHealthStore, database: str, user: str
) -> None:
    refresh_all(store)
    store.write_points(user, HR, [Point(at(30), 80)])
    with psycopg.connect(database) as writer:
        writer.execute("SELECT 1 FROM dirty_minutes WHERE user_id = %s FOR UPDATE", (user,))
        report = store.refresh(100)
        assert (report.minutes, report.remaining) == (0, 1)
    assert store.refresh(100).minutes == 1


def test_a_correction_committed_after_a_refresh_began_is_left_dirty_for_the_next_one(
    store: PostgresHealthStore, database: str, user: str
) -> None:
    store.write_points(user, HR, run(0, 60))
    store.write_points(user, HR, [Point(at(1), 100)])  # the minute is dirty, not refreshed
    params = {"user": user, "metric": "heart_rate", "times": [at(2)], "values": [150.0]}
    with psycopg.connect(database) as writer:  # the store's own upsert, held open
        writer.execute(raw_points.SAFE_UPSERT, params)
        assert store.refresh(100).minutes == 0  # its mark is locked: skipped, not lost
    assert store.refresh(100).minutes == 1
    minute = store.read_rollups(user, HR, Resolution.MINUTE, at(0), at(60), None, 1)
    assert (minute[0].high, minute[0].count) == (150, 60)


def test_a_batch_racing_another_on_the_same_new_points_is_written_again_with_on_conflict(
    store: PostgresHealthStore, database: str, user: str
) -> None:
    store.write_points(user, HR, [Point(at(0), 1)])  # the day's partition
    result: list[Written] = []
    with psycopg.connect(database) as other:
        other.execute(
            "INSERT INTO points VALUES (%s, 'heart_rate', %s, 90), (%s, 'heart_rate', %s, 91)",
            (user, at(5), user, at(6)),
        )
        thread = threading.Thread(
            target=lambda: result.append(
                store.write_points(user, HR, [Point(at(5), 90), Point(at(6), 95), Point(at(7), 92)])
            )
        )
        thread.start()
        _wait_for_a_lock_wait(other)
    thread.join(10)
    assert result == [Written(changed=2, unchanged=1)]
    values = {p.time: p.value for p in store.read_points(user, HR, at(0), at(60), None, 10)}
    assert values == {at(0): 1, at(5): 90, at(6): 95, at(7): 92}


def _wait_for_a_lock_wait(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Wait until another backend waits for a lock (then commit ``conn``'s transaction)."""
    with psycopg.connect(conn.info.dsn, autocommit=True) as watcher:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            ).fetchone()
            if waiting and waiting[0]:
                break
            time.sleep(0.02)
    conn.commit()


def test_keyset_pages_of_points_and_rollups_return_every_row_once_in_order(
    store: PostgresHealthStore, user: str
) -> None:
    store.write_points(user, HR, run(30, 300))
    refresh_all(store)
    seen: list[datetime] = []
    after: datetime | None = None
    while page := store.read_points(user, HR, at(0), at(86400), after, 7):
        seen.extend(p.time for p in page)
        after = page[-1].time
    assert seen == [at(30 + i) for i in range(300)]
    buckets: list[datetime] = []
    after = None
    while rows := store.read_rollups(user, HR, Resolution.MINUTE, at(0), at(86400), after, 2):
        buckets.extend(r.start for r in rows)
        after = rows[-1].start
    assert buckets == [at(60 * i) for i in range(6)]
    before = store.rollup_before(user, HR, Resolution.MINUTE, at(121))
    assert before is not None
    assert (before.start, before.count) == (at(120), 60)
    assert store.rollup_before(user, HR, Resolution.HOUR, at(0)) is None


def test_rollup_buckets_are_utc_whatever_the_session_time_zone(database: str, user: str) -> None:
    kolkata = open_store(database + "?options=-c%20TimeZone%3DAsia/Kolkata", pool_size=1)
    try:
        kolkata.write_points(user, HR, run(-1800, 3600))
        refresh_all(kolkata)
        days = kolkata.read_rollups(user, HR, Resolution.DAY, at(-86400), at(86400), None, 5)
        hours = kolkata.read_rollups(user, HR, Resolution.HOUR, at(-86400), at(86400), None, 5)
    finally:
        kolkata.close()
    assert [(d.start, d.count) for d in days] == [(at(-86400), 1800), (at(0), 1800)]
    assert [h.start for h in hours] == [at(-3600), at(0)]


def session(start: datetime, *stages: tuple[SleepStage, int]) -> SleepSession:
    """A session from ``start`` made of stages of the given minutes, one after another."""
    spans, t = [], start
    for stage, minutes in stages:
        spans.append(StageSpan(stage, t, t + timedelta(minutes=minutes)))
        t += timedelta(minutes=minutes)
    return SleepSession(start, t, tuple(spans))


def test_a_sleep_session_is_stored_replaced_by_its_start_and_unchanged_when_sent_again(
    store: PostgresHealthStore, user: str
) -> None:
    night = session(at(-3600), (SleepStage.LIGHT, 30), (SleepStage.DEEP, 60), (SleepStage.REM, 20))
    nap = session(at(13 * 3600), (SleepStage.LIGHT, 20))
    assert store.write_sleep(user, [night, nap]) == Written(changed=2, unchanged=0)
    assert store.write_sleep(user, [night, nap]) == Written(changed=0, unchanged=2)
    corrected = session(night.start, (SleepStage.WAKE, 10), (SleepStage.DEEP, 90))
    assert store.write_sleep(user, [corrected, nap]) == Written(changed=1, unchanged=1)
    assert store.read_sleep(user, at(0), at(86400)) == [corrected, nap]
    assert store.read_sleep(user, at(0), at(3600)) == [corrected]
    assert store.read_sleep(user, at(3600), at(86400)) == [nap]


def test_a_session_overlapping_a_stored_one_of_another_start_is_refused_and_nothing_changes(
    store: PostgresHealthStore, user: str
) -> None:
    night = session(at(0), (SleepStage.LIGHT, 60), (SleepStage.DEEP, 60))
    store.write_sleep(user, [night])
    inside = session(at(1800), (SleepStage.LIGHT, 30))
    after = session(at(7200), (SleepStage.REM, 30))  # begins as the night ends
    with pytest.raises(SleepOverlap, match="starting at"):
        store.write_sleep(user, [after, inside])
    assert store.read_sleep(user, at(0), at(86400)) == [night]
    assert store.write_sleep(user, [after]) == Written(changed=1, unchanged=0)


def test_a_sleep_read_of_more_stages_than_one_answer_holds_is_refused(
    store: PostgresHealthStore, user: str
) -> None:
    stages = [(SleepStage.LIGHT, 1)] * 500
    hours = [session(at(h * 36_000), *stages) for h in range(41)]  # 20,500 stages
    store.write_sleep(user, hours[:31])
    store.write_sleep(user, hours[31:])
    assert len(store.read_sleep(user, at(0), at(40 * 36_000))) == 40  # 20,000 stages
    with pytest.raises(TooMuchSleep, match="narrow it"):
        store.read_sleep(user, at(0), at(41 * 36_000))


def test_simulated_devices_link_once_in_order_and_keep_their_ingest_progress(
    store: PostgresHealthStore, user: str
) -> None:
    assert store.link_simulator(f"{user}-b") is True
    assert store.link_simulator(f"{user}-a") is True
    assert store.link_simulator(f"{user}-b") is False
    linked = [u for u in store.simulated_users() if u.startswith(user)]
    assert linked == [f"{user}-b", f"{user}-a"]
    assert store.ingested_through(f"{user}-b") is None
    store.mark_ingested(f"{user}-b", date(2024, 1, 2))
    store.mark_ingested(f"{user}-b", date(2024, 1, 1))
    assert store.ingested_through(f"{user}-b") == date(2024, 1, 2)


def test_deleting_a_user_forgets_points_rollups_sleep_and_devices(
    store: PostgresHealthStore, user: str
) -> None:
    other = f"{user}-other"
    for someone in (user, other):
        store.write_points(someone, HR, run(0, 90))
        store.write_sleep(someone, [session(at(-3600), (SleepStage.DEEP, 30))])
        store.link_simulator(someone)
        store.mark_ingested(someone, date(2024, 3, 9))
    refresh_all(store)
    store.write_points(user, HR, [Point(at(5), 33)])
    store.delete_user(user)
    assert store.read_points(user, HR, at(0), at(86400), None, 10) == []
    assert store.read_rollups(user, HR, Resolution.DAY, at(0), at(86400), None, 10) == []
    assert store.read_sleep(user, at(-86400), at(86400)) == []
    assert (user in store.simulated_users(), store.ingested_through(user)) == (False, None)
    assert len(store.read_points(other, HR, at(0), at(86400), None, 100)) == 90
    assert store.ingested_through(other) == date(2024, 3, 9)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollups_equal_a_full_recompute_after_random_writes_corrections_deletes_and_late_data(
    store: PostgresHealthStore, seed: int
) -> None:
    rng = random.Random(seed)
    writer = Writer(store, [f"eq{seed}-{i}-{uuid.uuid4().hex[:6]}" for i in range(3)], rng)
    for step in range(60):
        writer.step()
        if rng.random() < 0.3:
            store.refresh(rng.choice([1, 7, 50, 5000]))  # partial refreshes too
        if step % 20 == 19:
            refresh_all(store)
            assert mismatches(store.engine) == []
    refresh_all(store)
    assert mismatches(store.engine) == []
    raw = stored_points(store.engine)
    assert {k: v for k, v in raw.items() if k[0] in writer.users} == writer.model.points


def test_rollups_equal_a_full_recompute_after_refreshes_ran_while_a_writer_ingested(
    store: PostgresHealthStore,
) -> None:
    rng = random.Random(99)
    writers = [
        Writer(store, [f"live{i}-{j}-{uuid.uuid4().hex[:6]}" for j in range(2)], random.Random(i))
        for i in range(2)
    ]
    errors: list[BaseException] = []

    def ingest(writer: Writer) -> None:
        try:
            for _ in range(80):
                writer.step()
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=ingest, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    refreshes = 0
    while any(thread.is_alive() for thread in threads):
        store.refresh(rng.choice([3, 40, 500]))
        refreshes += 1
    for thread in threads:
        thread.join()
    assert errors == []
    assert refreshes > 5
    refresh_all(store)
    assert mismatches(store.engine) == []


def test_a_store_on_a_closed_port_is_unavailable() -> None:
    with pytest.raises(StoreUnavailable):
        open_store(f"postgresql://postgres@127.0.0.1:{free_port()}/health", pool_size=1)


@pytest.fixture
def own_server() -> Iterator[embedded_postgres.EmbeddedPostgres]:
    """A PostgreSQL server of this test's own, which it may stop."""
    root = Path(tempfile.mkdtemp(prefix="pytest-health-pg-"))
    root.chmod(0o755)
    server = embedded_postgres.start(root / "data", free_port())
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def test_every_call_raises_store_unavailable_once_the_server_is_stopped(
    own_server: embedded_postgres.EmbeddedPostgres, user: str
) -> None:
    stopped = open_store(embedded_postgres.create_database(own_server.url, "health"), pool_size=2)
    stopped.write_points(user, HR, run(0, 10))
    own_server.stop()
    calls = [
        lambda: stopped.write_points(user, HR, run(0, 10)),
        lambda: stopped.read_points(user, HR, at(0), at(60), None, 10),
        lambda: stopped.refresh(10),
        lambda: stopped.delete_points(user, HR, at(0), at(60)),
        lambda: stopped.read_sleep(user, at(0), at(60)),
    ]
    for call in calls:
        with pytest.raises(StoreUnavailable):
            call()
    stopped.close()


@pytest.fixture(params=["fake", "postgres"])
def either(request: pytest.FixtureRequest) -> HealthStore:
    """The unit tests' fake store, then the PostgreSQL store: the contract both keep."""
    if request.param == "fake":
        return FakeHealthStore()
    real: PostgresHealthStore = request.getfixturevalue("store")
    return real


def drain(store: HealthStore) -> None:
    """Refresh until nothing is dirty."""
    while store.refresh(10_000).remaining:
        pass


def test_both_stores_count_upserts_alike_and_roll_them_up_alike(
    either: HealthStore, user: str
) -> None:
    assert either.write_points(user, HR, run(0, 90)) == Written(90, 0)
    assert either.write_points(user, HR, [*run(0, 3), Point(at(100), 1.5)]) == Written(1, 3)
    drain(either)
    minutes = either.read_rollups(user, HR, Resolution.MINUTE, at(0), at(3600), None, 10)
    assert [(m.start, m.count, m.low) for m in minutes] == [(at(0), 60, 70), (at(60), 31, 1.5)]
    hours = either.read_rollups(user, HR, Resolution.HOUR, at(0), at(3600), None, 10)
    assert (hours[0].count, hours[0].total) == (91, sum(m.total for m in minutes))


def test_both_stores_delete_alike_and_drop_the_buckets_left_empty(
    either: HealthStore, user: str
) -> None:
    either.write_points(user, HR, run(0, 120))
    drain(either)
    assert either.delete_points(user, HR, at(60), at(120)) == 60
    drain(either)
    minutes = either.read_rollups(user, HR, Resolution.MINUTE, at(0), at(3600), None, 10)
    assert [m.start for m in minutes] == [at(0)]
    assert either.rollup_before(user, HR, Resolution.MINUTE, at(3600)) == minutes[0]


def test_both_stores_page_points_alike(either: HealthStore, user: str) -> None:
    either.write_points(user, HR, run(10, 25))
    first = either.read_points(user, HR, at(0), at(30), None, 10)
    second = either.read_points(user, HR, at(0), at(30), first[-1].time, 10)
    assert [p.time for p in first + second] == [at(10 + i) for i in range(20)]


def test_both_stores_upsert_sleep_alike(either: HealthStore, user: str) -> None:
    night = session(at(-3600), (SleepStage.LIGHT, 30), (SleepStage.DEEP, 60))
    assert either.write_sleep(user, [night]) == Written(1, 0)
    assert either.write_sleep(user, [night]) == Written(0, 1)
    corrected = session(night.start, (SleepStage.REM, 45))
    assert either.write_sleep(user, [corrected]) == Written(1, 0)
    assert either.read_sleep(user, at(-86400), at(86400)) == [corrected]


def test_both_stores_link_devices_and_forget_a_deleted_user_alike(
    either: HealthStore, user: str
) -> None:
    assert (either.link_simulator(user), either.link_simulator(user)) == (True, False)
    either.mark_ingested(user, date(2024, 3, 9))
    either.write_points(user, HR, run(0, 5))
    drain(either)
    either.delete_user(user)
    assert user not in either.simulated_users()
    assert either.ingested_through(user) is None
    assert either.read_rollups(user, HR, Resolution.DAY, at(0), at(86400), None, 5) == []


def test_a_delete_that_loses_a_deadlock_to_a_writer_is_tried_again_and_deletes_all(
    store: PostgresHealthStore, user: str, database: str
) -> None:
    store.write_points(user, HR, [Point(at(s), 60.0) for s in range(3)])
    with psycopg.connect(database) as writer:
        # The writer outwaits the delete's deadlock check, so the delete is the victim.
        writer.execute("SET deadlock_timeout = '10s'")
        lock = "UPDATE points SET value = 61 WHERE user_id = %s AND time = %s"
        writer.execute(lock, (user, at(2)))  # the delete will wait for this row
        deleted: list[int] = []
        deleting = threading.Thread(
            target=lambda: deleted.append(store.delete_points(user, HR, at(0), at(3)))
        )
        deleting.start()
        time.sleep(0.5)  # the delete holds at(0) and at(1), waiting for at(2)
        writer.execute(lock, (user, at(0)))  # waits for the delete: a deadlock, found in 1 s
        writer.commit()
    deleting.join(30)
    assert deleted == [3]
    assert store.read_points(user, HR, at(0), at(3), None, 10) == []


def test_the_refresh_claims_dirty_minutes_by_row_address_not_a_join_whatever_the_statistics(
    store: PostgresHealthStore,
) -> None:
    # A join here was planned as a nested loop once autoanalyze had seen the queue empty:
    # claiming a burst of 2,000 minutes took 51-55 s.
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE dirty_minutes")
        plan = conn.exec_driver_sql("EXPLAIN " + rollups.CLAIM, {"limit": 2000}).all()
    text = "\n".join(row[0] for row in plan)
    assert "Nested Loop" not in text, text
    assert "ctid = ANY" in text, text
