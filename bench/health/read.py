"""One user-day at 1-minute resolution: the store's rollups against aggregating raw points."""

from __future__ import annotations

import argparse
import math
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta

import psycopg

from bench.health.common import (
    COPY_DIRTY,
    COPY_POINTS,
    METRIC,
    checkpoint,
    copy_in,
    copy_minutes,
    copy_points,
    fresh_database,
    heart_rate_day,
    median_ms,
    midnight,
    percentile_ms,
    private_server,
    table_row,
)
from services.health_metrics.domain import Resolution, Rollup
from services.health_metrics.postgres import PostgresHealthStore, open_store
from services.health_metrics.postgres.schema import create_partitions, partition_name

FIRST_DAY = date(2026, 10, 1)
FULL_REFRESH_MINUTES = 50_000
WARM_UP = 3

RAW_MINUTES = """SELECT date_trunc('minute', time, 'UTC') AS bucket,
    min(value), max(value), sum(value), count(*)
FROM points
WHERE user_id = %(user)s AND metric = %(metric)s AND time >= %(start)s AND time < %(end)s
GROUP BY 1 ORDER BY 1"""

ROLLUP_MINUTES = """SELECT bucket, low, high, total, count FROM rollup_1m
WHERE user_id = %s AND metric = %s AND bucket >= %s AND bucket < %s ORDER BY bucket"""


@dataclass
class Loaded:
    """What the load stored, and how long its COPY, refreshes and VACUUMs took."""

    users: list[str]
    days: list[date] = field(default_factory=list)
    copy_seconds: float = 0.0
    refresh_seconds: float = 0.0
    vacuum_seconds: float = 0.0

    @property
    def points(self) -> int:
        """Raw points stored (1 Hz, whole days)."""
        return len(self.users) * len(self.days) * 86_400

    @property
    def seconds(self) -> float:
        """The whole load."""
        return self.copy_seconds + self.refresh_seconds + self.vacuum_seconds


def copy_day(conn: psycopg.Connection, users: list[str], day: date) -> None:
    """COPY one day of every user, and the dirty minutes the store's writes would mark."""
    seeds = [n * 1_000_000 + day.toordinal() for n in range(len(users))]
    series = [heart_rate_day(day, seed) for seed in seeds]
    pairs = list(zip(users, series, strict=True))
    copy_in(conn, COPY_POINTS, [copy_points(u, m, v) for u, (m, v) in pairs])
    copy_in(conn, COPY_DIRTY, [copy_minutes(u, m) for u, (m, _) in pairs])
    # Fresh statistics of the queue: planned on those of its drained state (0 rows), the
    # refresh's claim once joined it in a nested loop (> 100 s for one day; it now claims
    # by row address), and the measured refresh should be the usual one either way.
    conn.execute("ANALYZE dirty_minutes")
    conn.commit()


def load_day(
    store: PostgresHealthStore, conn: psycopg.Connection, loaded: Loaded, day: date
) -> None:
    """COPY a day, refresh it fully with the store, then VACUUM ANALYZE its partition."""
    began = time.perf_counter()
    copy_day(conn, loaded.users, day)
    copied = time.perf_counter()
    while store.refresh(FULL_REFRESH_MINUTES).remaining:
        pass
    refreshed = time.perf_counter()
    conn.autocommit = True
    conn.execute(f"VACUUM ANALYZE {partition_name(day)}")
    conn.autocommit = False
    loaded.copy_seconds += copied - began
    loaded.refresh_seconds += refreshed - copied
    loaded.vacuum_seconds += time.perf_counter() - refreshed
    loaded.days.append(day)


def load(store: PostgresHealthStore, url: str, args: argparse.Namespace) -> Loaded:
    """Whole days (every user) while the budget lasts: COPY, full refresh, VACUUM ANALYZE."""
    loaded = Loaded([f"bench-user-{n}" for n in range(args.users)])
    days = [FIRST_DAY + timedelta(days=d) for d in range(args.days)]
    create_partitions(store.engine, days)
    with psycopg.connect(url) as conn:
        for day in days:
            before = loaded.seconds
            load_day(store, conn, loaded, day)
            took = loaded.seconds - before
            print(f"  {day} loaded ({len(loaded.days)}/{len(days)} days): {took:.1f} s", flush=True)
            if loaded.seconds + took > args.load_budget:
                break
        conn.autocommit = True
        conn.execute("ANALYZE rollup_1m")
    checkpoint(url)
    return loaded


def from_rollups(store: PostgresHealthStore, user: str, day: date) -> tuple[float, list[Rollup]]:
    """Seconds of store.read_rollups for the user-day at 1 minute; its rows."""
    start = midnight(day)
    began = time.perf_counter()
    rows = store.read_rollups(
        user, METRIC, Resolution.MINUTE, start, start + timedelta(hours=24), None, 1440
    )
    return time.perf_counter() - began, rows


def from_raw(store: PostgresHealthStore, user: str, day: date) -> tuple[float, list[Rollup]]:
    """Seconds of a GROUP BY minute of the raw points of the user-day; its rows."""
    start = midnight(day)
    params = {"user": user, "metric": METRIC.value, "start": start}
    params["end"] = start + timedelta(hours=24)
    began = time.perf_counter()
    with store.engine.connect() as conn:  # autocommit, as the store's reads
        alone = conn.execution_options(isolation_level="AUTOCOMMIT")
        result = alone.exec_driver_sql(RAW_MINUTES, params).all()
    rows = [Rollup(b.astimezone(UTC), lo, hi, tot, int(n)) for b, lo, hi, tot, n in result]
    return time.perf_counter() - began, rows


def driver_only(conn: psycopg.Connection, user: str, day: date) -> float:
    """Seconds of the rollup SELECT alone, on an open connection, rows left as tuples."""
    start = midnight(day)
    began = time.perf_counter()
    rows = conn.execute(ROLLUP_MINUTES, (user, METRIC.value, start, start + timedelta(hours=24)))
    rows.fetchall()
    return time.perf_counter() - began


def sample(
    store: PostgresHealthStore, conn: psycopg.Connection, pick: tuple[str, date], first: bool
) -> tuple[float, float, float]:
    """(rollup, raw, driver-only) seconds of one user-day; rollup or raw first as told."""
    user, day = pick
    if first:
        rolled, by_rollup = from_rollups(store, user, day)
        raw, by_raw = from_raw(store, user, day)
    else:
        raw, by_raw = from_raw(store, user, day)
        rolled, by_rollup = from_rollups(store, user, day)
    if len(by_rollup) != 1440 or not _same(by_rollup, by_raw):
        raise RuntimeError(f"the rollups of {user} on {day} differ from the raw points")
    return rolled, raw, driver_only(conn, user, day)


def _same(rollups: list[Rollup], aggregated: list[Rollup]) -> bool:
    """Whether the store's rollups equal the raw points' aggregates (sums to 1e-9)."""
    if len(rollups) != len(aggregated):
        return False
    return all(
        (a.start, a.low, a.high, a.count) == (b.start, b.low, b.high, b.count)
        and math.isclose(a.total, b.total, rel_tol=1e-9)
        for a, b in zip(rollups, aggregated, strict=True)
    )


def read(args: argparse.Namespace) -> None:
    """Load, refresh, then read random user-days both ways, alternating which goes first."""
    rng = random.Random(15)
    with private_server() as server:
        url = fresh_database(server, "read")
        store = open_store(url, pool_size=2)
        try:
            loaded = load(store, url, args)
            picks = [
                (rng.choice(loaded.users), rng.choice(loaded.days)) for _ in range(args.samples)
            ]
            with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
                for pick in picks[:WARM_UP]:
                    sample(store, conn, pick, True)
                timed = [sample(store, conn, pick, n % 2 == 0) for n, pick in enumerate(picks)]
        finally:
            store.close()
    report(loaded, args, timed)


def report(
    loaded: Loaded, args: argparse.Namespace, timed: list[tuple[float, float, float]]
) -> None:
    """The table of both reads and their ratio, and what was loaded."""
    rolled, raw, driver = ([t[n] for t in timed] for n in range(3))
    size = f"{len(loaded.users)} users x {len(loaded.days)} days"
    print(f"\n### One user-day at 1-minute resolution ({size}: {loaded.points:,} points)\n")
    if len(loaded.days) < args.days:
        budget = f"{args.load_budget:.0f} s"
        print(f"**Only {len(loaded.days)} of {args.days} days loaded within {budget}.**\n")
    rate = f"{loaded.points / loaded.copy_seconds:,.0f} rows/s"
    print(
        f"load {loaded.seconds:.0f} s: binary COPY of the points and their dirty minutes "
        f"{loaded.copy_seconds:.1f} s ({rate}); store.refresh() of every minute "
        f"{loaded.refresh_seconds:.1f} s; VACUUM ANALYZE {loaded.vacuum_seconds:.1f} s\n"
    )
    print(f"| read ({len(timed)} random user-days) | median ms | p90 ms |\n|---|---|---|")
    for label, seconds in (
        ("store.read_rollups 1m (1,440 rows)", rolled),
        ("GROUP BY date_trunc('minute') of the 86,400 raw points", raw),
        ("(the rollup SELECT alone: open psycopg connection, rows as tuples)", driver),
    ):
        print(table_row(label, f"{median_ms(seconds):.2f}", f"{percentile_ms(seconds, 0.9):.2f}"))
    ratio = median_ms(raw) / median_ms(rolled)
    print(
        f"\nrollup **{median_ms(rolled):.2f} ms** (target <= 5 ms); raw / rollup **{ratio:.1f}x** "
        "(target >= 10x)"
    )
