"""The health service's published read model for extraction: one summary a user-day.

Other components (the nightly ETL) read the health database only through this module;
its tables stay private to the service. A user-day is every UTC day on which a user has a
1-day rollup of some metric or a sleep session ending. Its facts are the daily summary the
API serves (``services.health_metrics.summary``, computed the same way from the same
rollups), and its fingerprint is a digest of the day's 1-day rollups and sleep sessions:
a reader compares fingerprints to find the days that changed since it last read them,
whatever their age, without reading the minute rollups of the days that did not.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from services.common.db import DatabaseUnavailable
from services.health_metrics.domain import Metric, Rollup, SleepSession, SleepStage, StageSpan
from services.health_metrics.summary import daily_summary

STREAM_ROWS = 20_000
END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)
# Keys of the user-days a query reads: (user, day start) pairs, bound as two arrays.
KEYS = "unnest(%(users)s::text[], %(days)s::timestamptz[]) AS k(user_id, day)"
# Floats print exactly (shortest round trip) and times as epoch seconds, so the digest
# does not depend on the session's time zone or output settings.
FINGERPRINTS = """WITH parts AS (
    SELECT r.user_id, (r.bucket AT TIME ZONE 'UTC')::date AS day,
           concat_ws(':', r.metric, r.low, r.high, r.total, r.count) AS part
    FROM rollup_1d r {rollup_keys}
    WHERE r.bucket < %(before)s
    UNION ALL
    SELECT s.user_id, (s.ends_at AT TIME ZONE 'UTC')::date,
           concat_ws(':', 'sleep', extract(epoch FROM s.starts_at), extract(epoch FROM s.ends_at),
                     (SELECT string_agg(concat_ws(',', t.stage, extract(epoch FROM t.starts_at),
                                                  extract(epoch FROM t.ends_at)),
                                        ';' ORDER BY t.position)
                      FROM sleep_stages t
                      WHERE t.user_id = s.user_id AND t.session_start = s.starts_at))
    FROM sleep_sessions s {sleep_keys}
    WHERE s.ends_at < %(before)s
)
SELECT user_id, day, md5(string_agg(part, '|' ORDER BY part))
FROM parts GROUP BY user_id, day ORDER BY user_id, day"""
DAY_ROLLUPS = f"""SELECT r.user_id, r.bucket, r.metric, r.low, r.high, r.total, r.count
FROM rollup_1d r JOIN {KEYS} ON r.user_id = k.user_id AND r.bucket = k.day"""
HEART_MINUTES = f"""SELECT r.user_id, k.day, r.bucket, r.low, r.high, r.total, r.count
FROM {KEYS} JOIN rollup_1m r ON r.user_id = k.user_id AND r.metric = 'heart_rate'
  AND r.bucket >= k.day AND r.bucket < k.day + interval '24 hours'
ORDER BY r.user_id, r.bucket"""
NIGHTS = f"""SELECT s.user_id, k.day, s.starts_at, s.ends_at, t.stage, t.starts_at, t.ends_at
FROM {KEYS} JOIN sleep_sessions s ON s.user_id = k.user_id
  AND s.ends_at >= k.day AND s.ends_at < k.day + interval '24 hours'
LEFT JOIN sleep_stages t ON t.user_id = s.user_id AND t.session_start = s.starts_at
ORDER BY s.user_id, s.starts_at, t.position"""

UserDay = tuple[str, datetime]


class DayFingerprint(NamedTuple):
    """A user-day and the digest of what its facts are computed from."""

    user_id: str
    day: date
    fingerprint: str


class HealthDayRecord(NamedTuple):
    """One user's UTC day as the daily summary has it, with its fingerprint."""

    user_id: str
    day: date
    fingerprint: str
    resting_heart_rate: float | None
    steps: float | None
    active_zone_minutes: float | None
    spo2_mean: float | None
    hrv_mean: float | None
    breathing_rate_mean: float | None
    deep_minutes: float
    light_minutes: float
    rem_minutes: float
    wake_minutes: float


class HealthExport:
    """The read model over the service's rollup and sleep tables (PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def fingerprints(self, before: datetime) -> Iterator[DayFingerprint]:
        """Every user-day starting before ``before``, in (user, day) order, streamed."""
        statement = FINGERPRINTS.format(rollup_keys="", sleep_keys="")
        with self._engine.connect() as conn:
            rows = conn.execution_options(
                stream_results=True, yield_per=STREAM_ROWS
            ).exec_driver_sql(statement, {"before": before})
            for user_id, day, digest in rows:
                yield DayFingerprint(user_id, day, digest)

    def days(self, keys: Sequence[tuple[str, date]]) -> list[HealthDayRecord]:
        """The facts of these user-days (those with data), all read from one snapshot."""
        if not keys:
            return []
        params = {
            "users": [user for user, _ in keys],
            "days": [_midnight(day) for _, day in keys],
        }
        with self._engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                return _records(conn, params)

    def ready(self) -> bool:
        """Whether the database answers and holds the service's tables (it creates them
        when it first starts, maybe after the reader)."""
        try:
            with self._engine.connect() as conn:
                found = conn.exec_driver_sql("SELECT to_regclass('sleep_stages') IS NOT NULL")
                return bool(found.scalar_one())
        except (DatabaseUnavailable, SQLAlchemyError):
            return False

    def close(self) -> None:
        """Close the pooled connections."""
        self._engine.dispose()


def _records(conn: Connection, params: dict[str, Any]) -> list[HealthDayRecord]:
    """The user-days' fingerprints and summaries, read in the caller's transaction."""
    joined = FINGERPRINTS.format(
        rollup_keys=f"JOIN {KEYS} ON r.user_id = k.user_id AND r.bucket = k.day",
        sleep_keys=f"JOIN {KEYS} ON s.user_id = k.user_id AND s.ends_at >= k.day"
        " AND s.ends_at < k.day + interval '24 hours'",
    )
    digests = conn.exec_driver_sql(joined, {**params, "before": END_OF_TIME}).all()
    days = _day_rollups(conn, params)
    minutes = _heart_minutes(conn, params)
    nights = _nights(conn, params)
    return [
        _record(user_id, day, digest, days, minutes, nights) for user_id, day, digest in digests
    ]


def _record(
    user_id: str,
    day: date,
    digest: str,
    days: dict[UserDay, dict[Metric, Rollup]],
    minutes: dict[UserDay, list[Rollup]],
    nights: dict[UserDay, list[SleepSession]],
) -> HealthDayRecord:
    """One user-day's summary from the rows read for it."""
    key = (user_id, _midnight(day))
    summary = daily_summary(day, minutes.get(key, []), days.get(key, {}), nights.get(key, []))
    asleep = summary.sleep_minutes
    return HealthDayRecord(
        user_id,
        day,
        digest,
        summary.resting_heart_rate,
        summary.steps,
        summary.active_zone_minutes,
        summary.spo2_mean,
        summary.hrv_mean,
        summary.breathing_rate_mean,
        *(asleep[stage] for stage in SleepStage),
    )


def _day_rollups(conn: Connection, params: dict[str, Any]) -> dict[UserDay, dict[Metric, Rollup]]:
    """Per user-day, its 1-day rollup of each metric it has."""
    found: dict[UserDay, dict[Metric, Rollup]] = {}
    for user_id, bucket, metric, low, high, total, count in conn.exec_driver_sql(
        DAY_ROLLUPS, params
    ):
        start = bucket.astimezone(UTC)
        found.setdefault((user_id, start), {})[Metric(metric)] = Rollup(
            start, low, high, total, count
        )
    return found


def _heart_minutes(conn: Connection, params: dict[str, Any]) -> dict[UserDay, list[Rollup]]:
    """Per user-day, its heart-rate minute rollups in time order."""
    found: dict[UserDay, list[Rollup]] = {}
    for user_id, day, bucket, low, high, total, count in conn.exec_driver_sql(
        HEART_MINUTES, params
    ):
        rollup = Rollup(bucket.astimezone(UTC), low, high, total, count)
        found.setdefault((user_id, day.astimezone(UTC)), []).append(rollup)
    return found


def _nights(conn: Connection, params: dict[str, Any]) -> dict[UserDay, list[SleepSession]]:
    """Per user-day, the sleep sessions ending on it, with their stages."""
    spans: dict[tuple[str, datetime, datetime], tuple[datetime, list[StageSpan]]] = {}
    for user_id, day, start, end, stage, stage_start, stage_end in conn.exec_driver_sql(
        NIGHTS, params
    ):
        key = (user_id, day.astimezone(UTC), start.astimezone(UTC))
        _, stages = spans.setdefault(key, (end.astimezone(UTC), []))
        if stage is not None:
            stages.append(StageSpan(SleepStage(stage), stage_start, stage_end))
    found: dict[UserDay, list[SleepSession]] = {}
    for (user_id, day, start), (end, stages) in spans.items():
        found.setdefault((user_id, day), []).append(SleepSession(start, end, tuple(stages)))
    return found


def _midnight(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
