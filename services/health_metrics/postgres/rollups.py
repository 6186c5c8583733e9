"""The 1-minute, 1-hour and 1-day rollups: their incremental refresh and their reads.

A refresh claims the oldest dirty minutes (DELETE ... RETURNING) in its first statement,
then recomputes those minutes from the raw points, their hours from the minute rollups
and their days from the hour rollups, in later statements of the same transaction: under
READ COMMITTED each sees every write committed before it started. A write still open on a
claimed minute cannot commit before the refresh does (its dirty mark waits for the
claimed row), and a minute whose mark a write holds locked is skipped (SKIP LOCKED), so a
refresh never waits for writers, and a write it missed leaves its minute dirty.

Each bucket is recomputed by an index range scan of its own (LATERAL), so the work is
proportional to the buckets claimed, whatever the planner believes about the tables; a
statement per day keeps the plans to one partition of the points.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection

from services.health_metrics.domain import Resolution, Rollup
from services.health_metrics.postgres.schema import REFRESH_LOCK, instant, micros
from services.health_metrics.repository import RefreshReport

# By row address (a TID scan), not a join: with statistics saying the queue is empty (as
# autoanalyze records after a refresh drained it), the join was planned as a nested loop
# and a burst of 2,000 dirty minutes took 51-55 s to claim; so, 0.1 s for 14,400. The
# claimed rows are locked (FOR UPDATE), so their addresses hold until the DELETE.
CLAIM = """DELETE FROM dirty_minutes WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM dirty_minutes
    ORDER BY marked_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED))
RETURNING user_id, metric, minute"""

BUCKETS = """unnest(%(users)b::text[], %(metrics)b::text[], %(buckets)b::timestamptz[])
    AS c(user_id, metric, bucket)"""

# One statement a level and day: the buckets' aggregates replace their rows, and the rows
# of buckets left empty go (the two touch different rows, as one statement may).
RECOMPUTE = """WITH fresh AS MATERIALIZED (
    SELECT c.user_id, c.metric, c.bucket, a.low, a.high, a.total, a.count
    FROM {buckets} CROSS JOIN LATERAL (
        SELECT {aggregates} FROM {source} s
        WHERE s.user_id = c.user_id AND s.metric = c.metric
          AND s.{column} >= c.bucket AND s.{column} < c.bucket + interval '{width}'
          AND s.{column} >= %(low)s AND s.{column} < %(high)s) a),
kept AS (
    INSERT INTO {table} (user_id, metric, bucket, low, high, total, count)
    SELECT user_id, metric, bucket, low, high, total, count FROM fresh WHERE count > 0
    ON CONFLICT (user_id, metric, bucket) DO UPDATE SET low = excluded.low,
        high = excluded.high, total = excluded.total, count = excluded.count)
DELETE FROM {table} r USING fresh f
WHERE f.count = 0 AND r.user_id = f.user_id AND r.metric = f.metric AND r.bucket = f.bucket"""

FROM_POINTS = "min(value) AS low, max(value) AS high, sum(value) AS total, count(*) AS count"
FROM_ROLLUPS = (
    "min(low) AS low, max(high) AS high, sum(total) AS total, coalesce(sum(count), 0) AS count"
)


class Level(NamedTuple):
    """One rollup table, what it is computed from, and the width of its buckets."""

    table: str
    source: str
    column: str
    aggregates: str
    width: str
    truncate: str


# Widths in hours, never '1 day': a day added to a timestamptz follows the session's zone.
LEVELS = (
    Level("rollup_1m", "points", "time", FROM_POINTS, "1 minute", "minute"),
    Level("rollup_1h", "rollup_1m", "bucket", FROM_ROLLUPS, "1 hour", "hour"),
    Level("rollup_1d", "rollup_1h", "bucket", FROM_ROLLUPS, "24 hours", "day"),
)
TABLES = {Resolution.MINUTE: "rollup_1m", Resolution.HOUR: "rollup_1h", Resolution.DAY: "rollup_1d"}

Bucket = tuple[str, str, datetime]

READ = f"""SELECT {micros("bucket")}, low, high, total, count FROM {{table}}
WHERE user_id = %(user)s AND metric = %(metric)s
  AND bucket >= %(start)s AND bucket < %(end)s{{after}}
ORDER BY bucket LIMIT %(limit)s"""

BEFORE = f"""SELECT {micros("bucket")}, low, high, total, count FROM {{table}}
WHERE user_id = %(user)s AND metric = %(metric)s AND bucket < %(before)s
ORDER BY bucket DESC LIMIT 1"""


def refresh(conn: Connection, max_minutes: int) -> RefreshReport:
    """Recompute up to ``max_minutes`` dirty minutes, then their hours, then their days."""
    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (REFRESH_LOCK,))
    rows = conn.exec_driver_sql(CLAIM, {"limit": max_minutes}).all()
    buckets: list[Bucket] = [
        (user, metric, minute.astimezone(UTC)) for user, metric, minute in rows
    ]
    counts = []
    for level in LEVELS:
        buckets = sorted(
            {(user, metric, _truncate(t, level.truncate)) for user, metric, t in buckets}
        )
        _recompute(conn, level, buckets)
        counts.append(len(buckets))
    remaining = conn.exec_driver_sql("SELECT count(*) FROM dirty_minutes").scalar_one()
    return RefreshReport(counts[0], counts[1], counts[2], int(remaining))


def _truncate(time: datetime, unit: str) -> datetime:
    """The start of the UTC minute, hour or day of an instant."""
    time = time.replace(second=0, microsecond=0)
    if unit == "minute":
        return time
    time = time.replace(minute=0)
    return time if unit == "hour" else time.replace(hour=0)


def _recompute(conn: Connection, level: Level, buckets: list[Bucket]) -> None:
    """Replace the rows of ``buckets`` in one table by aggregates of its source.

    One statement per UTC day, bounded by constants: its plan then holds that day's
    partition of the points only (with 400 partitions, planning the unbounded statement
    took 220 ms for one minute).
    """
    statement = RECOMPUTE.format(buckets=BUCKETS, **level._asdict())
    for day, group in itertools.groupby(sorted(buckets, key=_day), key=_day):
        params = _columns(group) | {"low": day, "high": day + timedelta(hours=24)}
        conn.exec_driver_sql(statement, params)


def _day(bucket: Bucket) -> datetime:
    """The start of the UTC day of a bucket."""
    return _truncate(bucket[2], "day")


def _columns(buckets: Iterable[Bucket]) -> dict[str, Any]:
    """Buckets as the three arrays of the statements' unnest."""
    users, metrics, starts = zip(*buckets, strict=True)
    return {"users": list(users), "metrics": list(metrics), "buckets": list(starts)}


def read(
    conn: Connection,
    table: str,
    key: tuple[str, str],
    window: tuple[datetime, datetime],
    after: datetime | None,
    limit: int,
) -> list[Rollup]:
    """Rows of one rollup table for (user, metric) in the window, after ``after``, oldest first."""
    params = {"user": key[0], "metric": key[1], "start": window[0], "end": window[1]}
    params |= {"after": after, "limit": limit}
    after_clause = "" if after is None else " AND bucket > %(after)s"
    rows = conn.exec_driver_sql(READ.format(table=table, after=after_clause), params).all()
    return [Rollup(instant(us), low, high, total, n) for us, low, high, total, n in rows]


def before(conn: Connection, table: str, key: tuple[str, str], time: datetime) -> Rollup | None:
    """The last row of one rollup table for (user, metric) starting before ``time``."""
    params = {"user": key[0], "metric": key[1], "before": time}
    row = conn.exec_driver_sql(BEFORE.format(table=table), params).first()
    return None if row is None else _rollup(row)


def _rollup(row: Any) -> Rollup:
    """A rollup row as the domain's Rollup."""
    us, low, high, total, count = row
    return Rollup(instant(us), low, high, total, int(count))
