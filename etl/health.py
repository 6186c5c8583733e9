"""The health step of a run: daily health facts per user and UTC day (fact_health_daily).

The health database keeps no change times a window could select by: its rollups are
rewritten whenever a correction of any age arrives. So the step compares instead. It
stages the fingerprint of every user-day the source has (a digest of the day's 1-day
rollups and sleep sessions, one row a user-day), and loads again only the user-days
whose fingerprint differs from the one their fact was loaded with: new days, corrected
days, however old. A fact whose user-day the source no longer has is deleted, and so is
every fact of an erased account. A backfill (``etl run --from/--to``) derives its days
again whatever their fingerprint.

Loads are chunked, each chunk one transaction carrying its facts' fingerprints: a crash
loses the chunk in flight, and the next run finds the rest still different.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import psycopg
from psycopg import sql

from etl.domain import Counts, HealthDayRecord, Interval, start_of_day
from etl.sources import HealthSource
from etl.statements import ENSURE_DATES
from etl.transform import date_key, key_date
from etl.warehouse import Warehouse

HEALTH, DATES = "health", "dates"
CHUNK = 500  # user-days a load transaction holds
SKIPPED = "health facts skipped: no health database configured (ETL_HEALTH_DATABASE_URL is empty)"
FACT_COLUMNS = (
    "user_id",
    "date_key",
    "day_start",
    "source_fingerprint",
    "resting_heart_rate",
    "steps",
    "active_zone_minutes",
    "spo2_mean",
    "hrv_mean",
    "breathing_rate_mean",
    "deep_minutes",
    "light_minutes",
    "rem_minutes",
    "wake_minutes",
)
# Session tables: they live as long as the step's connection, across its transactions.
STAGING = """
CREATE TEMP TABLE stage_health_key (user_id text, date_key integer, fingerprint text);
CREATE TEMP TABLE health_todo (user_id text, date_key integer, PRIMARY KEY (user_id, date_key));
CREATE TEMP TABLE stage_health_daily (
    user_id text, date_key integer, day_start timestamptz, source_fingerprint text,
    resting_heart_rate double precision, steps double precision,
    active_zone_minutes double precision, spo2_mean double precision, hrv_mean double precision,
    breathing_rate_mean double precision, deep_minutes double precision,
    light_minutes double precision, rem_minutes double precision, wake_minutes double precision
);
"""
# Facts of user-days the source no longer has (all their data deleted), or of erased users.
DELETE_GONE = """DELETE FROM fact_health_daily f
WHERE f.day_start < %(before)s
  AND NOT EXISTS (SELECT 1 FROM stage_health_key s
                  WHERE s.user_id = f.user_id AND s.date_key = f.date_key)"""
DELETE_ERASED = "DELETE FROM fact_health_daily WHERE user_id = ANY(%(erased)s)"
# What to load: new or changed user-days, and every user-day a backfill names.
PLAN = """INSERT INTO health_todo (user_id, date_key)
SELECT s.user_id, s.date_key FROM stage_health_key s
LEFT JOIN fact_health_daily f ON f.user_id = s.user_id AND f.date_key = s.date_key
WHERE NOT s.user_id = ANY(%(erased)s)
  AND (f.source_fingerprint IS DISTINCT FROM s.fingerprint
       OR s.date_key BETWEEN %(first)s AND %(last)s)"""
NEXT_CHUNK = """SELECT user_id, date_key FROM health_todo
WHERE (user_id, date_key) > (%s, %s) ORDER BY user_id, date_key LIMIT %s"""
_MEASURES = FACT_COLUMNS[3:]
UPSERT = f"""INSERT INTO fact_health_daily (user_key, {", ".join(FACT_COLUMNS)})
SELECT d.user_key, {", ".join("s." + name for name in FACT_COLUMNS)}
FROM stage_health_daily s
LEFT JOIN dim_user d
       ON d.user_id = s.user_id AND s.day_start >= d.valid_from AND s.day_start < d.valid_to
ON CONFLICT (user_id, date_key) DO UPDATE SET
    user_key = excluded.user_key, {", ".join(f"{name} = excluded.{name}" for name in _MEASURES)}
WHERE (fact_health_daily.user_key, {", ".join("fact_health_daily." + n for n in _MEASURES)})
      IS DISTINCT FROM
      (excluded.user_key, {", ".join("excluded." + name for name in _MEASURES)})"""
# A chunk's user-days the source had no data for any more when the chunk was read.
DELETE_VANISHED = """DELETE FROM fact_health_daily f
USING unnest(%(users)s::text[], %(keys)s::integer[]) AS k(user_id, date_key)
WHERE f.user_id = k.user_id AND f.date_key = k.date_key
  AND NOT EXISTS (SELECT 1 FROM stage_health_daily s
                  WHERE s.user_id = k.user_id AND s.date_key = k.date_key)"""
# Facts point at the user's version valid at the start of their day (new users, SCD2).
REPOINT = """UPDATE fact_health_daily f SET user_key = d.user_key
FROM dim_user d
WHERE d.user_id = f.user_id AND f.day_start >= d.valid_from AND f.day_start < d.valid_to
  AND f.user_key IS DISTINCT FROM d.user_key"""


def load_health(
    source: HealthSource, warehouse: Warehouse, interval: Interval, erased: Sequence[str]
) -> Counts:
    """Bring fact_health_daily up to the source for the days before the interval's end."""
    counts = Counts(read={HEALTH: 0}, written={HEALTH: 0, DATES: 0})
    # Autocommit: each transaction block below commits on its own.
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(STAGING)
        with conn.transaction():
            counts.written[HEALTH] += _plan(conn, source, interval, list(erased))
        after: tuple[str, int] = ("", 0)
        while chunk := conn.execute(NEXT_CHUNK, (*after, CHUNK)).fetchall():
            with conn.transaction():
                _load_chunk(conn, source, chunk, counts)
            after = chunk[-1]
    return counts


def _plan(
    conn: psycopg.Connection[Any], source: HealthSource, interval: Interval, erased: list[str]
) -> int:
    """Stage the source's fingerprints, drop facts it no longer has, list what to load."""
    before = interval.end
    rows = ((f.user_id, date_key(f.day), f.fingerprint) for f in source.fingerprints(before))
    _copy(conn, "stage_health_key", ("user_id", "date_key", "fingerprint"), rows)
    deleted = conn.execute(DELETE_GONE, {"before": before}).rowcount
    deleted += conn.execute(DELETE_ERASED, {"erased": erased}).rowcount
    conn.execute(PLAN, {"erased": erased, **_forced(interval)})
    return deleted + conn.execute(REPOINT).rowcount


def _forced(interval: Interval) -> dict[str, int]:
    """The date keys a backfill derives again: the days starting in its interval (none
    for a nightly run)."""
    if interval.nightly:
        return {"first": 0, "last": -1}
    last = (interval.end - timedelta(microseconds=1)).date()
    return {"first": date_key(interval.start.date()), "last": date_key(last)}


def _load_chunk(
    conn: psycopg.Connection[Any],
    source: HealthSource,
    chunk: Sequence[tuple[str, int]],
    counts: Counts,
) -> None:
    """Read one chunk of user-days from the source and upsert their facts."""
    records = source.days([(user_id, key_date(key)) for user_id, key in chunk])
    counts.read[HEALTH] += len(records)
    conn.execute("TRUNCATE stage_health_daily")
    _copy(conn, "stage_health_daily", FACT_COLUMNS, map(_fact_row, records))
    keys = sorted({date_key(record.day) for record in records})
    counts.written[DATES] += conn.execute(ENSURE_DATES, (keys,)).rowcount
    written = conn.execute(UPSERT).rowcount
    users, day_keys = [row[0] for row in chunk], [row[1] for row in chunk]
    params = {"users": users, "keys": day_keys}
    counts.written[HEALTH] += written + conn.execute(DELETE_VANISHED, params).rowcount


def _fact_row(record: HealthDayRecord) -> tuple[object, ...]:
    """A stage_health_daily row: the record with its date key and day start."""
    user_id, day, fingerprint, *measures = record
    return (user_id, date_key(day), start_of_day(day), fingerprint, *measures)


def _copy(
    conn: psycopg.Connection[Any],
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
) -> None:
    """COPY rows into a staging table."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor().copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
