"""PostgresHealthStore: the HealthStore port on PostgreSQL (see the package's modules)."""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, event

from services.common.db import DatabaseUnavailable, make_engine
from services.health_metrics.domain import (
    Metric,
    Point,
    Resolution,
    Rollup,
    SleepSession,
    StoreUnavailable,
)
from services.health_metrics.postgres import points as raw_points
from services.health_metrics.postgres import rollups, sleep
from services.health_metrics.postgres.schema import (
    PARTITIONS_PER_TRANSACTION,
    REFRESH_LOCK,
    create_partitions,
    create_schema,
    day_of,
)
from services.health_metrics.repository import RefreshReport, Written

# Bounds of every partition there can be (points hold times from 2000 on, see domain).
FIRST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
LAST_INSTANT = datetime(9999, 1, 1, tzinfo=UTC)

# Tables holding a user's rows, cleared when the user is erased.
USER_TABLES = (
    "dirty_minutes",
    *rollups.TABLES.values(),
    "sleep_sessions",  # its stages go with it (ON DELETE CASCADE)
    "simulated_devices",
    "ingest_progress",
)


def open_store(database_url: str, pool_size: int = 16) -> PostgresHealthStore:
    """A store on the database at ``database_url``, its schema created if missing."""
    store = PostgresHealthStore(make_engine(database_url, pool_size=pool_size))
    with store.translated():
        create_schema(store.engine)
    return store


def _plan_every_statement(dbapi_connection: Any, _record: Any) -> None:
    """Never prepare statements: a prepared statement is given a generic plan after five
    runs, and a generic plan holds every partition of the points (its planning took
    400 ms with 400 partitions, a custom plan's a millisecond)."""
    dbapi_connection.prepare_threshold = None


def _by_days(ordered: Sequence[Point]) -> Iterator[Sequence[Point]]:
    """Points in time order, cut so that no part spans PARTITIONS_PER_TRANSACTION days or
    more (a batch within one day, as most are, stays whole).

    A part is one transaction: a batch spread over years would otherwise lock thousands
    of partitions at once, which the server refuses (its lock table is shared).
    """
    start = 0
    while start < len(ordered):
        first = day_of(ordered[start].time)
        midnight = datetime(first.year, first.month, first.day, tzinfo=UTC)
        limit = midnight + timedelta(days=PARTITIONS_PER_TRANSACTION)
        end = bisect.bisect_left(ordered, limit, lo=start, key=lambda point: point.time)
        yield ordered[start:end]
        start = end


def _days(ordered: Sequence[Point]) -> set[date]:
    """The UTC days of points in time order (most batches lie within one day)."""
    first, last = day_of(ordered[0].time), day_of(ordered[-1].time)
    if first == last:
        return {first}
    return {day_of(point.time) for point in ordered}


@contextlib.contextmanager
def _unavailable_as_store_error() -> Iterator[None]:
    """Raise StoreUnavailable for a database that does not answer."""
    try:
        yield
    except DatabaseUnavailable as error:
        raise StoreUnavailable(str(error)) from error


class PostgresHealthStore:
    """Raw points (daily partitions), their rollups, sleep and simulated devices."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        event.listen(engine, "connect", _plan_every_statement)
        # Days whose partition this process has seen exist: partitions are never dropped.
        self._partitions: set[date] = set()

    def translated(self) -> contextlib.AbstractContextManager[None]:
        """A block whose unavailable-database errors become StoreUnavailable."""
        return _unavailable_as_store_error()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A connection in a transaction, committed when the block ends without error."""
        with self.translated(), self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection for reads, each statement on its own (autocommit: no BEGIN, no COMMIT)."""
        with self.translated(), self.engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")

    def close(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()

    def write_points(self, user_id: str, metric: Metric, points: Sequence[Point]) -> Written:
        """Upsert the points (distinct times) and mark the minutes of the changed ones dirty."""
        if not points:
            return Written(0, 0)
        ordered = sorted(points, key=lambda point: point.time)
        changed = 0
        with self.translated():
            for part in _by_days(ordered):
                self._ensure_partitions(_days(part))
                changed += raw_points.upsert(self.engine, user_id, metric.value, part)
        return Written(changed=changed, unchanged=len(points) - changed)

    def _ensure_partitions(self, days: set[date]) -> None:
        """Create the partitions of the days not known to exist yet."""
        missing = days - self._partitions
        if missing:
            create_partitions(self.engine, missing)
            self._partitions |= missing

    def delete_points(self, user_id: str, metric: Metric, start: datetime, end: datetime) -> int:
        """Delete the points in ``[start, end)``, marking their minutes dirty; how many."""
        with self.translated():
            return raw_points.delete(self.engine, user_id, metric.value, start, end)

    def read_points(
        self,
        user_id: str,
        metric: Metric,
        start: datetime,
        end: datetime,
        after: datetime | None,
        limit: int,
    ) -> list[Point]:
        """Stored points in ``[start, end)`` (and after ``after``), oldest first."""
        with self._reading() as conn:
            return raw_points.read(conn, (user_id, metric.value), (start, end), after, limit)

    def read_rollups(
        self,
        user_id: str,
        metric: Metric,
        resolution: Resolution,
        start: datetime,
        end: datetime,
        after: datetime | None,
        limit: int,
    ) -> list[Rollup]:
        """Buckets starting in ``[start, end)`` (and after ``after``), oldest first."""
        table = rollups.TABLES[resolution]
        with self._reading() as conn:
            return rollups.read(conn, table, (user_id, metric.value), (start, end), after, limit)

    def rollup_before(
        self, user_id: str, metric: Metric, resolution: Resolution, before: datetime
    ) -> Rollup | None:
        """The last bucket starting before ``before``."""
        with self._reading() as conn:
            return rollups.before(conn, rollups.TABLES[resolution], (user_id, metric.value), before)

    def refresh(self, max_minutes: int) -> RefreshReport:
        """Recompute up to ``max_minutes`` dirty minutes, their hours and their days."""
        with self._transaction() as conn:
            return rollups.refresh(conn, max_minutes)

    def dirty_minutes(self) -> int:
        """How many minutes wait for a refresh."""
        with self._reading() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM dirty_minutes").scalar_one())

    def oldest_dirty_seconds(self) -> float:
        """How long the longest-waiting dirty minute has waited (0 when none waits)."""
        statement = (
            "SELECT coalesce(extract(epoch FROM clock_timestamp() - min(marked_at)), 0) "
            "FROM dirty_minutes"
        )
        with self._reading() as conn:
            return max(0.0, float(conn.exec_driver_sql(statement).scalar_one()))

    def write_sleep(self, user_id: str, sessions: Sequence[SleepSession]) -> Written:
        """Upsert sessions by (user, start); the same session again changes nothing."""
        with self._transaction() as conn:
            return sleep.write(conn, user_id, sessions)

    def read_sleep(self, user_id: str, start: datetime, end: datetime) -> list[SleepSession]:
        """Sessions ending in ``[start, end)``, oldest first, with their stages."""
        with self._reading() as conn:
            return sleep.read(conn, user_id, start, end)

    def delete_user(self, user_id: str) -> None:
        """Forget everything of the user, never while a refresh rewrites their rollups."""
        for metric in Metric:  # a window of partitions at a time; their minutes marked
            self.delete_points(user_id, metric, FIRST_INSTANT, LAST_INSTANT)
        with self._transaction() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (REFRESH_LOCK,))
            for table in USER_TABLES:
                conn.exec_driver_sql(f"DELETE FROM {table} WHERE user_id = %s", (user_id,))

    def link_simulator(self, user_id: str) -> bool:
        """Link a simulated device to the user; False when one was linked already."""
        statement = (
            "INSERT INTO simulated_devices (user_id) VALUES (%s) "
            "ON CONFLICT (user_id) DO NOTHING RETURNING user_id"
        )
        with self._transaction() as conn:
            return conn.exec_driver_sql(statement, (user_id,)).first() is not None

    def simulated_users(self) -> list[str]:
        """The users with a linked simulated device, in the order they linked it."""
        statement = "SELECT user_id FROM simulated_devices ORDER BY linked"
        with self._reading() as conn:
            return list(conn.exec_driver_sql(statement).scalars())

    def ingested_through(self, user_id: str) -> date | None:
        """The last simulated day stored for the user (None before any)."""
        statement = "SELECT ingested_through FROM ingest_progress WHERE user_id = %s"
        with self._reading() as conn:
            day: date | None = conn.exec_driver_sql(statement, (user_id,)).scalar_one_or_none()
            return day

    def mark_ingested(self, user_id: str, day: date) -> None:
        """Record that the simulated ``day`` is stored; the resume point never moves back."""
        statement = (
            "INSERT INTO ingest_progress (user_id, ingested_through) VALUES (%s, %s) "
            "ON CONFLICT (user_id) DO UPDATE SET ingested_through = "
            "greatest(ingest_progress.ingested_through, excluded.ingested_through)"
        )
        with self._transaction() as conn:
            conn.exec_driver_sql(statement, (user_id, day))
