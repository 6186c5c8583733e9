"""Raw points: the bulk upsert and delete that mark their minutes dirty, and keyset reads.

A batch travels as two arrays in binary (``%b``: ten times cheaper to send than text) and
is written by one statement that also marks the minutes of the changed points dirty, so
the mark commits with the points or not at all. The mark locks an existing dirty row
(``DO UPDATE ... WHERE false`` locks without writing): a refresh claiming that minute then
skips it (SKIP LOCKED) instead of deleting a mark this write still relies on.

Two statements do the upsert. The fast one looks the batch's times up first and inserts
the new points plainly (an ON CONFLICT insert costs about twice as much); a concurrent
writer inserting one of those points makes it fail, and the batch is then written again
with ON CONFLICT, which cannot fail so (and locks points in time order, so two such
writers cannot deadlock either).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from services.health_metrics.domain import Point
from services.health_metrics.postgres.schema import instant, micros, windows

# SQLSTATEs after which the batch is written again the safe way.
UNIQUE_VIOLATION = "23505"
DEADLOCK = "40P01"
SAFE_ATTEMPTS = 3

MARK_CHANGED = """marked AS (
    INSERT INTO dirty_minutes AS d (user_id, metric, minute, marked_at)
    SELECT DISTINCT %(user)s, %(metric)s, date_trunc('minute', time, 'UTC'), now()
    FROM changed ORDER BY 3
    ON CONFLICT (user_id, metric, minute) DO UPDATE SET marked_at = d.marked_at WHERE false)
SELECT count(*) FROM changed"""

BATCH = "batch AS (SELECT t, v FROM unnest(%(times)b::timestamptz[], %(values)b::float8[]) b(t, v))"

FAST_UPSERT = f"""WITH {BATCH},
stored AS MATERIALIZED (
    SELECT p.time, p.value FROM batch JOIN points p ON p.time = batch.t
    WHERE p.user_id = %(user)s AND p.metric = %(metric)s
      AND p.time >= %(low)s AND p.time <= %(high)s),
inserted AS (
    INSERT INTO points (user_id, metric, time, value)
    SELECT %(user)s, %(metric)s, batch.t, batch.v FROM batch
    WHERE NOT EXISTS (SELECT 1 FROM stored WHERE stored.time = batch.t)
    ORDER BY batch.t
    RETURNING time),
updated AS (
    UPDATE points p SET value = batch.v
    FROM batch JOIN stored ON stored.time = batch.t
    WHERE p.user_id = %(user)s AND p.metric = %(metric)s AND p.time = batch.t
      AND p.time >= %(low)s AND p.time <= %(high)s
      AND stored.value IS DISTINCT FROM batch.v
    RETURNING p.time),
changed AS (SELECT time FROM inserted UNION ALL SELECT time FROM updated),
{MARK_CHANGED}"""

SAFE_UPSERT = f"""WITH {BATCH},
changed AS (
    INSERT INTO points AS p (user_id, metric, time, value)
    SELECT %(user)s, %(metric)s, t, v FROM batch ORDER BY t
    ON CONFLICT (user_id, metric, time) DO UPDATE SET value = excluded.value
    WHERE p.value IS DISTINCT FROM excluded.value
    RETURNING p.time),
{MARK_CHANGED}"""

DELETE = f"""WITH changed AS (
    DELETE FROM points
    WHERE user_id = %(user)s AND metric = %(metric)s AND time >= %(start)s AND time < %(end)s
    RETURNING time),
{MARK_CHANGED}"""

READ = f"""SELECT {micros("time")}, value FROM points
WHERE user_id = %(user)s AND metric = %(metric)s AND time >= %(start)s AND time < %(end)s{{after}}
ORDER BY time LIMIT %(limit)s"""


def upsert(engine: Engine, user_id: str, metric: str, points: Sequence[Point]) -> int:
    """Upsert a batch of distinct times in time order; how many were inserted or changed."""
    params = {
        "user": user_id,
        "metric": metric,
        "times": [point.time for point in points],
        "values": [float(point.value) for point in points],
        "low": points[0].time,
        "high": points[-1].time,
    }
    try:
        return _run(engine, FAST_UPSERT, params)
    except DBAPIError as error:
        if _sqlstate(error) not in (UNIQUE_VIOLATION, DEADLOCK):
            raise
    return _past_deadlocks(engine, SAFE_UPSERT, params)


def _past_deadlocks(engine: Engine, statement: str, params: dict[str, Any]) -> int:
    """``_run``, tried again after a deadlock: an upsert locks rows in time order, a delete
    in the table's order, so the two can deadlock; the loser's whole statement is undone."""
    for attempt in range(SAFE_ATTEMPTS):
        try:
            return _run(engine, statement, params)
        except DBAPIError as error:
            if _sqlstate(error) != DEADLOCK or attempt == SAFE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # the last attempt returns or raises


def _run(engine: Engine, statement: str, params: dict[str, Any]) -> int:
    """Run a statement counting changed points in a transaction of its own."""
    with engine.begin() as conn:
        return int(conn.exec_driver_sql(statement, params).scalar_one())


def _sqlstate(error: DBAPIError) -> str | None:
    """The SQLSTATE of a driver error, if the server sent one."""
    return getattr(error.orig, "sqlstate", None)


def delete(engine: Engine, user_id: str, metric: str, start: datetime, end: datetime) -> int:
    """Delete the points in ``[start, end)``, marking their minutes dirty; how many.

    A transaction per window of partitions (see schema.windows): a delete over all the
    years would lock every partition at once.
    """
    with engine.connect() as conn:
        parts = windows(conn, start, end)
    deleted = 0
    for low, high in parts:
        params = {"user": user_id, "metric": metric, "start": low, "end": high}
        deleted += _past_deadlocks(engine, DELETE, params)
    return deleted


def read(
    conn: Connection,
    key: tuple[str, str],
    window: tuple[datetime, datetime],
    after: datetime | None,
    limit: int,
) -> list[Point]:
    """Points of (user, metric) in the window ``[start, end)``, after ``after``, oldest first.

    A statement per window of partitions, until ``limit`` points are found.
    """
    start, end = window
    found: list[Point] = []
    for low, high in windows(conn, start, end):
        if after is not None and high <= after:
            continue
        found += _read(conn, key, (low, high), after, limit - len(found))
        if len(found) == limit:
            break
    return found


def _read(
    conn: Connection,
    key: tuple[str, str],
    window: tuple[datetime, datetime],
    after: datetime | None,
    limit: int,
) -> list[Point]:
    """Points of (user, metric) in one window of partitions."""
    params = {"user": key[0], "metric": key[1], "start": window[0], "end": window[1]}
    params |= {"after": after, "limit": limit}
    statement = READ.format(after="" if after is None else " AND time > %(after)s")
    rows = conn.exec_driver_sql(statement, params).all()  # fetchall: rows one by one cost 3x
    return [Point(instant(us), value) for us, value in rows]
