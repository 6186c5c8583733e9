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
from etl.transform import date_key, days_of, key_date, parse_timestamp

END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)
# pg_try_advisory_lock key: one ETL run at a time per warehouse ('ETL' in ASCII).
LOCK_KEY = 0x45544C

WORKOUT_COLUMNS = (
    "session_id",
    "user_id",
    "date_key",
    "workout_type",
    "start_time",
    "end_time",
    "duration_seconds",
    "calories",
    "source_updated_at",
)
# A fact as COPY appends it straight to fact_workout.
FACT_COLUMNS = (*WORKOUT_COLUMNS, "user_key")
USER_COLUMNS = (
    "user_id",
    "username",
    "display_name",
    "weight_kg",
    "height_cm",
    "birth_year",
    "registered_at",
    "changed_at",
)
GOAL_COLUMNS = (
    "goal_id",
    "user_id",
    "goal_type",
    "target_value",
    "current_progress",
    "status",
    "target_date",
    "created_date_key",
    "target_date_key",
    "achieved_date_key",
    "created_at",
    "achieved_at",
    "source_updated_at",
)
STAGING = """
CREATE TEMP TABLE stage_workout (
    session_id varchar(36), user_id varchar(36), date_key integer, workout_type varchar(32),
    start_time timestamptz, end_time timestamptz, duration_seconds double precision,
    calories double precision, source_updated_at timestamptz
) ON COMMIT DROP;
CREATE TEMP TABLE stage_user (
    user_id varchar(36), username varchar(32), display_name varchar(64),
    weight_kg double precision, height_cm double precision, birth_year integer,
    registered_at timestamptz, changed_at timestamptz
) ON COMMIT DROP;
CREATE TEMP TABLE stage_goal (
    goal_id varchar(36), user_id varchar(36), goal_type varchar(32),
    target_value double precision, current_progress double precision, status varchar(16),
    target_date date, created_date_key integer, target_date_key integer,
    achieved_date_key integer, created_at timestamptz, achieved_at timestamptz,
    source_updated_at timestamptz
) ON COMMIT DROP;
CREATE TEMP TABLE stage_goal_deletion (
    goal_id varchar(36), user_id varchar(36), deleted_at timestamptz
) ON COMMIT DROP;
"""

# SCD2: close the current version of users whose tracked attributes changed...
CLOSE_CHANGED_USERS = """
UPDATE dim_user d SET valid_to = s.changed_at, is_current = false
FROM stage_user s
WHERE d.user_id = s.user_id AND d.is_current AND s.changed_at > d.valid_from
  AND (d.username, d.display_name, d.weight_kg, d.height_cm, d.birth_year)
      IS DISTINCT FROM (s.username, s.display_name, s.weight_kg, s.height_cm, s.birth_year)
RETURNING d.user_id
"""
# ...then open a version for every staged user without a current one. A user's first
# version reaches back to the start of time: nothing older is known about them.
OPEN_USER_VERSIONS = """
INSERT INTO dim_user (user_id, username, display_name, weight_kg, height_cm, birth_year,
                      registered_at, valid_from, is_current)
SELECT s.user_id, s.username, s.display_name, s.weight_kg, s.height_cm, s.birth_year,
       s.registered_at,
       CASE WHEN EXISTS (SELECT 1 FROM dim_user o WHERE o.user_id = s.user_id)
            THEN s.changed_at ELSE '1900-01-01 00:00:00+00' END,
       true
FROM stage_user s
WHERE NOT EXISTS (SELECT 1 FROM dim_user d WHERE d.user_id = s.user_id AND d.is_current)
"""
# Facts point at the version that was valid when they happened.
REPOINT_FACTS = """
UPDATE {table} f SET user_key = d.user_key
FROM dim_user d
WHERE d.user_id = f.user_id AND d.user_id = ANY(%s)
  AND f.{time} >= d.valid_from AND f.{time} < d.valid_to
  AND f.user_key IS DISTINCT FROM d.user_key
"""
UPSERT_WORKOUTS = """
INSERT INTO fact_workout (session_id, user_id, user_key, date_key, workout_type, start_time,
                          end_time, duration_seconds, calories, source_updated_at)
SELECT s.session_id, s.user_id, d.user_key, s.date_key, s.workout_type, s.start_time,
       s.end_time, s.duration_seconds, s.calories, s.source_updated_at
FROM stage_workout s
LEFT JOIN dim_user d
       ON d.user_id = s.user_id AND s.start_time >= d.valid_from AND s.start_time < d.valid_to
ON CONFLICT (session_id) DO UPDATE SET
    user_id = excluded.user_id, user_key = excluded.user_key, date_key = excluded.date_key,
    workout_type = excluded.workout_type, start_time = excluded.start_time,
    end_time = excluded.end_time, duration_seconds = excluded.duration_seconds,
    calories = excluded.calories, source_updated_at = excluded.source_updated_at
WHERE (fact_workout.user_id, fact_workout.user_key, fact_workout.date_key,
       fact_workout.workout_type, fact_workout.start_time, fact_workout.end_time,
       fact_workout.duration_seconds, fact_workout.calories, fact_workout.source_updated_at)
      IS DISTINCT FROM
      (excluded.user_id, excluded.user_key, excluded.date_key, excluded.workout_type,
       excluded.start_time, excluded.end_time, excluded.duration_seconds, excluded.calories,
       excluded.source_updated_at)
"""
UPSERT_GOALS = """
INSERT INTO fact_goal (goal_id, user_id, user_key, goal_type, target_value, current_progress,
                       status, target_date, created_date_key, target_date_key,
                       achieved_date_key, created_at, achieved_at, deleted_at,
                       source_updated_at)
SELECT s.goal_id, s.user_id, d.user_key, s.goal_type, s.target_value, s.current_progress,
       s.status, s.target_date, s.created_date_key, s.target_date_key, s.achieved_date_key,
       s.created_at, s.achieved_at, NULL, s.source_updated_at
FROM stage_goal s
LEFT JOIN dim_user d
       ON d.user_id = s.user_id AND s.created_at >= d.valid_from AND s.created_at < d.valid_to
ON CONFLICT (goal_id) DO UPDATE SET
    user_key = excluded.user_key, goal_type = excluded.goal_type,
    target_value = excluded.target_value, current_progress = excluded.current_progress,
    status = excluded.status, target_date = excluded.target_date,
    target_date_key = excluded.target_date_key, achieved_date_key = excluded.achieved_date_key,
    achieved_at = excluded.achieved_at, deleted_at = NULL,
    source_updated_at = excluded.source_updated_at
WHERE (fact_goal.user_key, fact_goal.goal_type, fact_goal.target_value,
       fact_goal.current_progress, fact_goal.status, fact_goal.target_date,
       fact_goal.achieved_at, fact_goal.deleted_at, fact_goal.source_updated_at)
      IS DISTINCT FROM
      (excluded.user_key, excluded.goal_type, excluded.target_value,
       excluded.current_progress, excluded.status, excluded.target_date,
       excluded.achieved_at, NULL, excluded.source_updated_at)
  AND excluded.source_updated_at >= fact_goal.source_updated_at
"""
# A tombstone counts only if it is newer than the goal the warehouse holds.
APPLY_GOAL_DELETIONS = """
UPDATE fact_goal g SET deleted_at = s.deleted_at
FROM stage_goal_deletion s
WHERE g.goal_id = s.goal_id AND s.deleted_at >= g.source_updated_at
  AND g.deleted_at IS DISTINCT FROM s.deleted_at
"""
ENSURE_DATES = """
INSERT INTO dim_date
SELECT to_char(d, 'YYYYMMDD')::integer, d, extract(year FROM d), extract(quarter FROM d),
       extract(month FROM d), extract(day FROM d), extract(isoyear FROM d),
       extract(week FROM d), extract(isodow FROM d), extract(isodow FROM d) >= 6
FROM (SELECT to_date(k::text, 'YYYYMMDD') AS d FROM unnest(%s::integer[]) AS k) AS days
ON CONFLICT (date_key) DO NOTHING
"""
STAGED_GOAL_DATE_KEYS = """
SELECT created_date_key FROM stage_goal
UNION SELECT target_date_key FROM stage_goal
UNION SELECT achieved_date_key FROM stage_goal WHERE achieved_date_key IS NOT NULL
"""
REFRESH_AGGREGATES = """
INSERT INTO agg_daily_activity (date_key, user_id, workouts, duration_seconds, calories)
SELECT date_key, user_id, count(*), round(sum(duration_seconds)::numeric, 3),
       round(sum(calories)::numeric, 3)
FROM fact_workout WHERE date_key = ANY(%s)
GROUP BY date_key, user_id
ON CONFLICT (date_key, user_id) DO UPDATE SET
    workouts = excluded.workouts, duration_seconds = excluded.duration_seconds,
    calories = excluded.calories
WHERE (agg_daily_activity.workouts, agg_daily_activity.duration_seconds,
       agg_daily_activity.calories)
      IS DISTINCT FROM (excluded.workouts, excluded.duration_seconds, excluded.calories)
"""
FACT_TOTALS = """
SELECT date_key, count(*), coalesce(sum(duration_seconds), 0), coalesce(sum(calories), 0)
FROM fact_workout
WHERE date_key = ANY(%(days)s)
  AND (source_updated_at < %(watermark)s
       OR source_updated_at >= %(since)s AND source_updated_at < %(until)s)
GROUP BY date_key
"""
AGGREGATE_TOTALS = """
SELECT date_key, sum(workouts), sum(duration_seconds), sum(calories)
FROM agg_daily_activity WHERE date_key = ANY(%s) GROUP BY date_key
"""
# A watermark moves only forward, and only over a batch that reaches it: a backfill of
# a later day must not claim the days between.
ADVANCE_WATERMARK = """
UPDATE etl_watermarks SET loaded_to = %(until)s, updated_at = %(now)s
WHERE source = %(source)s AND loaded_to >= %(since)s AND loaded_to < %(until)s
"""
CREATE_WATERMARK = """
INSERT INTO etl_watermarks (source, loaded_to, updated_at)
VALUES (%(source)s, %(until)s, %(now)s)
ON CONFLICT (source) DO NOTHING
"""


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
