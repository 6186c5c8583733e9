"""The PostgreSQL warehouse: COPY into staging tables, then idempotent upserts.

Every write compares before it writes (``IS DISTINCT FROM``), so loading rows the
warehouse already holds changes nothing, and the row counts say what really changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, cast

import psycopg
from psycopg import sql

from etl.domain import (
    Counts,
    DayTotals,
    GoalDeletion,
    Interval,
    Loaded,
    RunInProgress,
    RunStatus,
    Trigger,
    Window,
)
from etl.statements import (
    ADVANCE_WATERMARK,
    AGGREGATE_TOTALS,
    APPLY_GOAL_DELETIONS,
    CLOSE_CHANGED_USERS,
    CREATE_WATERMARK,
    ENSURE_DATES,
    FACT_COLUMNS,
    FACT_TOTALS,
    GOAL_COLUMNS,
    OPEN_USER_VERSIONS,
    REFRESH_AGGREGATES,
    REPOINT_FACTS,
    STAGED_GOAL_DATE_KEYS,
    STAGING,
    UPSERT_GOALS,
    UPSERT_WORKOUTS,
    USER_COLUMNS,
    WORKOUT_COLUMNS,
)
from etl.transform import date_key, days_of, key_date, parse_timestamp

END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)
# Every change time: all facts.
EVERYTHING = Loaded(END_OF_TIME, Window(END_OF_TIME, END_OF_TIME))
# pg_try_advisory_lock key: one ETL run at a time per warehouse ('ETL' in ASCII).
LOCK_KEY = 0x45544C


class BatchLoad:
    """One batch's writes, all inside one transaction of the warehouse."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        self._workout_days: set[int] = set()
        conn.execute(STAGING)

    def load_users(self, versions: Iterable[Sequence[object]]) -> int:
        """Stage user versions and apply them as SCD2; returns the rows written."""
        if not self._copy("stage_user", USER_COLUMNS, versions):
            return 0
        closed = [row[0] for row in self._conn.execute(CLOSE_CHANGED_USERS).fetchall()]
        opened = self._conn.execute(OPEN_USER_VERSIONS).rowcount
        repointed = 0
        if closed:
            for table, column in (("fact_workout", "start_time"), ("fact_goal", "created_at")):
                query = sql.SQL(REPOINT_FACTS).format(
                    table=sql.Identifier(table), time=sql.Identifier(column)
                )
                repointed += self._conn.execute(query, (closed,)).rowcount
        return len(closed) + opened + repointed

    def load_goals(self, facts: Iterable[Sequence[object]]) -> int:
        """Upsert goal facts; returns the rows written."""
        if not self._copy("stage_goal", GOAL_COLUMNS, facts):
            return 0
        return self._conn.execute(UPSERT_GOALS).rowcount

    def apply_goal_deletions(self, deletions: Iterable[GoalDeletion]) -> int:
        """Mark deleted goals; returns the rows written."""
        if not self._copy("stage_goal_deletion", GoalDeletion._fields, deletions):
            return 0
        return self._conn.execute(APPLY_GOAL_DELETIONS).rowcount

    def append_workouts(self, facts: Iterable[Sequence[object]]) -> int | None:
        """COPY new facts straight into fact_workout; None, having written nothing, if one
        of them was there already (then stage and upsert them instead).

        COPY into the table is PostgreSQL's bulk path, several times faster than any
        INSERT ... SELECT: worth trying first, since most facts arrive once.
        """
        versions = self._user_versions()
        rows = ((*fact, _user_key(versions, fact)) for fact in self._noting_days(facts))
        try:
            with self._conn.transaction():  # a savepoint: a conflict undoes only the COPY
                appended = self._copy("fact_workout", FACT_COLUMNS, rows)
        except psycopg.errors.UniqueViolation:
            return None
        return appended

    def load_workouts(self, facts: Iterable[Sequence[object]]) -> int:
        """COPY workout facts into staging and upsert them; returns the rows written."""
        if not self._copy("stage_workout", WORKOUT_COLUMNS, self._noting_days(facts)):
            return 0
        return self._conn.execute(UPSERT_WORKOUTS).rowcount

    def _noting_days(self, facts: Iterable[Sequence[object]]) -> Iterator[Sequence[object]]:
        for fact in facts:
            self._workout_days.add(cast(int, fact[2]))  # the date_key
            yield fact

    def _user_versions(self) -> dict[str, list[tuple[datetime, datetime, int]]]:
        versions: dict[str, list[tuple[datetime, datetime, int]]] = {}
        query = "SELECT user_id, valid_from, valid_to, user_key FROM dim_user"
        for user_id, since, until, key in self._conn.execute(query):
            versions.setdefault(user_id, []).append((since, until, key))
        return versions

    def add_dates(self) -> int:
        """Add the dates the batch's facts name to dim_date; returns the rows written."""
        goal_keys = {row[0] for row in self._conn.execute(STAGED_GOAL_DATE_KEYS)}
        keys = sorted(goal_keys | self._workout_days)
        return self._conn.execute(ENSURE_DATES, (keys,)).rowcount

    def refresh_aggregates(self) -> tuple[list[date], int]:
        """Recompute the aggregates of the days the batch's workouts touched: (days, rows)."""
        days = sorted(self._workout_days)
        return days_of(days), self._conn.execute(REFRESH_AGGREGATES, (days,)).rowcount

    def fact_totals(
        self, days: Sequence[date], loaded: Loaded | None = None
    ) -> dict[date, DayTotals]:
        """Per day: the workout facts (only those whose change time ``loaded`` covers)."""
        window = loaded.window if loaded else Window(END_OF_TIME, END_OF_TIME)
        params = {
            "days": [date_key(day) for day in days],
            "watermark": loaded.watermark if loaded else END_OF_TIME,
            "since": window.since,
            "until": window.until,
        }
        return self._totals(FACT_TOTALS, params)

    def aggregate_totals(self, days: Sequence[date]) -> dict[date, DayTotals]:
        """Per day: the daily aggregates summed over users."""
        return self._totals(AGGREGATE_TOTALS, ([date_key(day) for day in days],))

    def _totals(self, query: str, params: Any) -> dict[date, DayTotals]:
        rows = self._conn.execute(query, params).fetchall()
        return {
            key_date(row[0]): DayTotals(int(row[1]), float(row[2]), float(row[3])) for row in rows
        }

    def watermark(self, source: str) -> datetime | None:
        """What the warehouse held of a source when this batch began."""
        row = self._conn.execute(
            "SELECT loaded_to FROM etl_watermarks WHERE source = %s", (source,)
        ).fetchone()
        return row[0] if row else None

    def advance_watermarks(
        self, sources: Iterable[str], window: Window, now: datetime, may_create: bool
    ) -> None:
        """Move each source's watermark to the window's end, if the window reaches it.

        ``may_create``: a source without a watermark gets one (the first full load).
        """
        for source in sources:
            params = {"source": source, "since": window.since, "until": window.until, "now": now}
            if may_create:
                self._conn.execute(CREATE_WATERMARK, params)
            self._conn.execute(ADVANCE_WATERMARK, params)

    def record_progress(self, run_id: str, counts: Counts, committed_to: datetime) -> None:
        """The run's totals so far, committed with the batch they include."""
        self._conn.execute(
            "UPDATE etl_runs SET rows_read = %s, rows_written = %s, committed_to = %s"
            " WHERE run_id = %s",
            (json.dumps(counts.read), json.dumps(counts.written), committed_to, run_id),
        )

    def _copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
        """COPY rows into a staging table; returns how many."""
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        count = 0
        with self._conn.cursor().copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count


def _user_key(
    versions: dict[str, list[tuple[datetime, datetime, int]]], fact: Sequence[object]
) -> int | None:
    """The key of the user's version valid when the workout began (as UPSERT_WORKOUTS joins)."""
    spans = versions.get(str(fact[1]))
    if not spans:
        return None
    if len(spans) == 1:  # one version: it spans all time
        return spans[0][2]
    began = parse_timestamp(cast(datetime | str, fact[4]))
    return next((key for since, until, key in spans if since <= began < until), None)


class Warehouse:
    """Connections to the warehouse, its run manifest, watermarks and reports."""

    def __init__(self, url: str, connect_timeout: float = 10.0) -> None:
        self._url = url
        self._timeout = connect_timeout

    def connect(self, autocommit: bool = False) -> psycopg.Connection[Any]:
        """A new connection (UTC session time zone)."""
        conn = psycopg.connect(self._url, autocommit=autocommit, connect_timeout=int(self._timeout))
        conn.execute("SET TIME ZONE 'UTC'")
        if not autocommit:
            conn.commit()
        return conn

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the warehouse's ETL lock for the block; RunInProgress if another run has it."""
        with self.connect(autocommit=True) as conn:
            locked = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
            if not (locked and locked[0]):
                raise RunInProgress("another ETL run is loading this warehouse")
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))

    @contextmanager
    def batch(self) -> Iterator[BatchLoad]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.connect() as conn, conn.transaction():
            yield BatchLoad(conn)

    def watermarks(self) -> dict[str, datetime]:
        """Each source's watermark."""
        with self.connect() as conn:
            return dict(conn.execute("SELECT source, loaded_to FROM etl_watermarks").fetchall())

    def start_run(
        self, run_id: str, trigger: Trigger, interval: Interval, now: datetime
    ) -> datetime | None:
        """Record a new run; runs left 'running' died. Returns where to resume, if anywhere.

        A run may resume where the last unfinished run over the same interval stopped.
        """
        with self.connect() as conn, conn.transaction():
            conn.execute(
                "UPDATE etl_runs SET status = %s, error = 'the process died mid-run'"
                " WHERE status = %s",
                (RunStatus.CRASHED, RunStatus.RUNNING),
            )
            last = conn.execute(
                "SELECT status, committed_to FROM etl_runs"
                " WHERE interval_start = %s AND interval_end = %s"
                " ORDER BY started_at DESC LIMIT 1",
                (interval.start, interval.end),
            ).fetchone()
            conn.execute(
                "INSERT INTO etl_runs (run_id, trigger, interval_start, interval_end, status,"
                " started_at) VALUES (%s, %s, %s, %s, %s, %s)",
                (run_id, trigger, interval.start, interval.end, RunStatus.RUNNING, now),
            )
        if last and last[0] in (RunStatus.CRASHED, RunStatus.FAILED):
            committed_to: datetime | None = last[1]
            return committed_to
        return None

    def finish_run(
        self, run_id: str, status: RunStatus, now: datetime, seconds: float, error: str = ""
    ) -> None:
        """Record how a run ended."""
        with self.connect() as conn, conn.transaction():
            conn.execute(
                "UPDATE etl_runs SET status = %s, finished_at = %s, duration_seconds = %s,"
                " error = %s WHERE run_id = %s",
                (status, now, seconds, error, run_id),
            )

    def query(
        self, statement: str, params: Sequence[object] = ()
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of a read-only query."""
        with self.connect() as conn:
            cursor = conn.execute(statement, params)
            columns = [column.name for column in cursor.description or []]
            return columns, cursor.fetchall()
