"""A refresh after a late correction of one point of a refreshed user-day at 1 Hz."""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event

from bench.health.common import (
    METRIC,
    batches,
    checkpoint,
    fresh_database,
    heart_rate_day,
    median_ms,
    midnight,
    percentile_ms,
    points_of,
    private_server,
)
from services.health_metrics.domain import Point, Resolution
from services.health_metrics.postgres import PostgresHealthStore, open_store
from services.health_metrics.repository import RefreshReport

DAY = date(2026, 11, 1)
USER = "bench-user"
WARM_UP = 5
MAX_MINUTES = 20_000  # HealthSettings.refresh_batch_minutes
# A refresh's statements that every refresh runs; the others recompute buckets.
FIXED = (
    "SELECT pg_advisory_xact_lock",
    "DELETE FROM dirty_minutes",
    "SELECT count(*) FROM dirty_minutes",
)


class StatementClock:
    """Seconds the engine's statements take (sent to answered), recomputing ones apart
    (those other than the lock, the claim and the count every refresh runs)."""

    def __init__(self, engine: Engine) -> None:
        self.statements = self.recomputing = 0.0
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_: Any) -> None:
        """Note when a statement is sent."""
        self._started = time.perf_counter()

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        """Add its time to the totals."""
        took = time.perf_counter() - self._started
        self.statements += took
        if not statement.lstrip().startswith(FIXED):
            self.recomputing += took

    def take(self) -> tuple[float, float]:
        """(all statements, recomputing statements) seconds since the last take."""
        totals = (self.statements, self.recomputing)
        self.statements = self.recomputing = 0.0
        return totals


def refresh_all(store: PostgresHealthStore) -> tuple[int, float]:
    """Refresh until nothing is dirty; (minutes recomputed, seconds)."""
    began = time.perf_counter()
    minutes = 0
    while True:
        report = store.refresh(MAX_MINUTES)
        minutes += report.minutes
        if report.remaining == 0:
            return minutes, time.perf_counter() - began


@dataclass(frozen=True)
class Timed:
    """One timed refresh: its seconds, its statements' and its recomputing statements'."""

    seconds: float
    statements: float
    recomputing: float
    report: RefreshReport


def correct(store: PostgresHealthStore, clock: StatementClock, rng: random.Random) -> Timed:
    """Correct the point of a random second, then time the refresh that follows it."""
    second = rng.randrange(86_400)
    at = midnight(DAY) + timedelta(seconds=second)
    minute = at.replace(second=0)
    old = store.read_points(USER, METRIC, at, at + timedelta(seconds=1), None, 1)[0].value
    before = _minute_total(store, minute)
    store.write_points(USER, METRIC, [Point(at, old + rng.choice((-7.0, 5.0)))])
    timed = _timed_refresh(store, clock)
    if _minute_total(store, minute) == before or timed.report.remaining:
        raise RuntimeError(f"the refresh did not recompute {minute}: {timed.report}")
    return timed


def _timed_refresh(store: PostgresHealthStore, clock: StatementClock) -> Timed:
    """One store.refresh(), timed whole and by its statements."""
    clock.take()
    began = time.perf_counter()
    report = store.refresh(MAX_MINUTES)
    seconds = time.perf_counter() - began
    return Timed(seconds, *clock.take(), report)


def _minute_total(store: PostgresHealthStore, minute: datetime) -> float:
    """The total of one 1-minute rollup (to check that a refresh recomputed it)."""
    end = minute + timedelta(minutes=1)
    return store.read_rollups(USER, METRIC, Resolution.MINUTE, minute, end, None, 1)[0].total


def refresh(args: argparse.Namespace) -> None:
    """Load and refresh a user-day, then time the refresh of each correction."""
    rng = random.Random(15)
    micros, values = heart_rate_day(DAY, seed=1)
    with private_server() as server:
        url = fresh_database(server, "refresh")
        store = open_store(url, pool_size=1)
        try:
            for batch in batches(points_of(micros, values)):
                store.write_points(USER, METRIC, batch)
            minutes, full = refresh_all(store)
            checkpoint(url)
            clock = StatementClock(store.engine)
            for _ in range(WARM_UP):
                correct(store, clock, rng)
            timed = [correct(store, clock, rng) for _ in range(args.corrections)]
            # Nothing dirty: the transaction, lock, claim and count a refresh always costs.
            idles = [_timed_refresh(store, clock) for _ in range(args.corrections)]
        finally:
            store.close()
    report(len(micros), (minutes, full), timed, idles)


def report(points: int, full: tuple[int, float], timed: list[Timed], idles: list[Timed]) -> None:
    """The table of the refresh's times and what it recomputed."""
    print(f"\n### Refresh after a late correction ({points:,} points of one user-day at 1 Hz)\n")
    print(f"full refresh of the day: {full[0]:,} minutes in {full[1] * 1000:,.0f} ms\n")
    print("| refresh (median ms) | whole call | its statements | recomputing statements |")
    print("|---|---|---|---|")
    print(f"| after one corrected point ({len(timed)} random minutes) | {_row(timed)} |")
    print(f"| nothing dirty (fixed cost) | {_row(idles)} |")
    work = sorted({(t.report.minutes, t.report.hours, t.report.days) for t in timed})
    print(f"\nrecomputed per correction (minutes, hours, days): {work}")
    whole = median_ms([t.seconds for t in timed])
    p90 = percentile_ms([t.seconds for t in timed], 0.9)
    print(f"median **{whole:.2f} ms** (p90 {p90:.2f} ms; target <= 10 ms)")


def _row(timed: list[Timed]) -> str:
    """Median whole-call, statements' and recomputing statements' milliseconds."""
    columns = ([t.seconds for t in timed], [t.statements for t in timed])
    medians = [median_ms(c) for c in (*columns, [t.recomputing for t in timed])]
    return " | ".join(f"{m:.2f}" for m in medians)
