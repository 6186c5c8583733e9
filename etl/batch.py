"""One batch's writes to the warehouse: COPY into staging tables, then idempotent upserts.

Every write compares before it writes (``IS DISTINCT FROM``), so loading rows the
warehouse already holds changes nothing, and the row counts say what really changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any, cast

import psycopg
from psycopg import sql

from etl.domain import Counts, DayTotals, GoalDeletion, Loaded, Window
from etl.quarantine import Quarantined
from etl.statements import (
    ADVANCE_WATERMARK,
    AGGREGATE_TOTALS,
    APPLY_GOAL_DELETIONS,
    CLOSE_CHANGED_USERS,
    CREATE_WATERMARK,
    ENSURE_DATES,
    ERASE_USER_ROWS,
    ERASE_USER_WORKOUTS,
    FACT_COLUMNS,
    FACT_TOTALS,
    GOAL_COLUMNS,
    OPEN_USER_VERSIONS,
    QUARANTINE,
    QUARANTINE_TOTALS,
    REFRESH_AGGREGATES,
    REPOINT_FACTS,
    STAGED_GOAL_DATE_KEYS,
    STAGING,
    UPSERT_GOALS,
    UPSERT_WORKOUTS,
    USER_COLUMNS,
    WORKOUT_COLUMNS,
)
from etl.transform import date_key, day_key, days_of, key_date, parse_timestamp

END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)


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

    def erase_users(self, user_ids: Sequence[str]) -> int:
        """Remove every row of erased accounts; returns the rows written."""
        if not user_ids:
            return 0
        ids = list(user_ids)
        days = [row[0] for row in self._conn.execute(ERASE_USER_WORKOUTS, (ids,))]
        self._workout_days.update(days)
        erased = sum(
            self._conn.execute(statement, (ids,)).rowcount for statement in ERASE_USER_ROWS
        )
        return len(days) + erased

    def quarantined_keys(self, source: str) -> frozenset[str]:
        """The keys of a source's rows in quarantine now."""
        query = "SELECT record_key FROM etl_quarantine WHERE source = %s"
        return frozenset(row[0] for row in self._conn.execute(query, (source,)))

    def quarantine(self, run_id: str, rows: Sequence[Quarantined], now: datetime) -> int:
        """Set rows aside (again); returns how many."""
        params = [(*_quarantine_row(row, run_id, now), *self._workout_totals(row)) for row in rows]
        with self._conn.cursor() as cursor:
            cursor.executemany(QUARANTINE, params)
        return len(rows)

    def _workout_totals(self, row: Quarantined) -> tuple[object, ...]:
        if row.totals is None:
            return (None, None, None, None)
        start, duration, calories, updated_at = row.totals
        key = day_key(start)
        self._workout_days.add(key)  # reconcile and aggregate its day like a fact's
        return (key, duration, calories, updated_at)

    def release(self, source: str, keys: Sequence[str]) -> None:
        """Take rows that now load out of quarantine."""
        if keys:
            self._conn.execute(
                "DELETE FROM etl_quarantine WHERE source = %s AND record_key = ANY(%s)",
                (source, list(keys)),
            )

    def fact_totals(
        self, days: Sequence[date], loaded: Loaded | None = None
    ) -> dict[date, DayTotals]:
        """Per day: the workout facts (only those whose change time ``loaded`` covers)."""
        return self._totals(FACT_TOTALS, _totals_params(days, loaded))

    def quarantine_totals(self, days: Sequence[date], loaded: Loaded) -> dict[date, DayTotals]:
        """Per day: the quarantined workouts, over the same change times as fact_totals."""
        return self._totals(QUARANTINE_TOTALS, _totals_params(days, loaded))

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
            "UPDATE etl_runs SET rows_read = %s, rows_written = %s, rows_quarantined = %s,"
            " committed_to = %s WHERE run_id = %s",
            (
                json.dumps(counts.read),
                json.dumps(counts.written),
                json.dumps(counts.quarantined),
                committed_to,
                run_id,
            ),
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


def _totals_params(days: Sequence[date], loaded: Loaded | None) -> dict[str, object]:
    """FACT_TOTALS' parameters: the days, and the change times ``loaded`` covers (all)."""
    window = loaded.window if loaded else Window(END_OF_TIME, END_OF_TIME)
    return {
        "days": [date_key(day) for day in days],
        "watermark": loaded.watermark if loaded else END_OF_TIME,
        "since": window.since,
        "until": window.until,
    }


def _quarantine_row(row: Quarantined, run_id: str, now: datetime) -> tuple[object, ...]:
    return (row.source, row.record_key, row.user_id, row.reason, row.record, run_id, now, now)


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
