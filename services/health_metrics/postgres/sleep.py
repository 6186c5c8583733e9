"""Sleep sessions keyed by (user, start) with their stages, upserted and read whole.

A write compares each session with the stored one of the same start and replaces only
those that differ. It holds a lock per user while it does: two writes of one new session
would otherwise both find nothing stored and both insert its stages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from services.health_metrics.domain import (
    SleepOverlap,
    SleepSession,
    SleepStage,
    StageSpan,
    TooMuchSleep,
)
from services.health_metrics.postgres.schema import SLEEP_LOCK_NAMESPACE
from services.health_metrics.repository import Written

SELECT = """SELECT s.starts_at, s.ends_at, t.stage, t.starts_at, t.ends_at
FROM sleep_sessions s LEFT JOIN sleep_stages t
  ON t.user_id = s.user_id AND t.session_start = s.starts_at
WHERE s.user_id = %(user)s AND {where}
ORDER BY s.starts_at, t.position{limit}"""

UPSERT_SESSIONS = """INSERT INTO sleep_sessions (user_id, starts_at, ends_at)
SELECT %(user)s, s, e FROM unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]) u(s, e)
ON CONFLICT (user_id, starts_at) DO UPDATE SET ends_at = excluded.ends_at"""

INSERT_STAGES = """INSERT INTO sleep_stages
    (user_id, session_start, position, stage, starts_at, ends_at)
SELECT %(user)s, session_start, position, stage, s, e FROM unnest(
    %(sessions)s::timestamptz[], %(positions)s::int[], %(stages)s::text[],
    %(starts)s::timestamptz[], %(ends)s::timestamptz[]) u(session_start, position, stage, s, e)"""


OVERLAP = """SELECT s.starts_at FROM sleep_sessions s
JOIN unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]) n(start, finish)
  ON s.starts_at < n.finish AND s.ends_at > n.start
WHERE s.user_id = %(user)s AND s.starts_at <> ALL(%(starts)s)
LIMIT 1"""

# Stage rows one read returns at most: a real month is ~1,500; a million would not fit
# one gRPC answer (4 MB) nor belong in the service's memory.
MAX_STAGE_ROWS = 20_000


def write(conn: Connection, user_id: str, sessions: Sequence[SleepSession]) -> Written:
    """Store the sessions that differ from the stored ones of their start."""
    conn.exec_driver_sql(
        "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (SLEEP_LOCK_NAMESPACE, user_id)
    )
    latest = {session.start: session for session in sessions}  # the last of one start wins
    stored = _sessions(conn, user_id, "s.starts_at = ANY(%(starts)s)", {"starts": list(latest)})
    known = {session.start: session for session in stored}
    changed = [session for start, session in latest.items() if known.get(start) != session]
    if changed:
        _refuse_overlaps(conn, user_id, changed)
        _replace(conn, user_id, changed)
    return Written(changed=len(changed), unchanged=len(sessions) - len(changed))


def _refuse_overlaps(conn: Connection, user_id: str, sessions: list[SleepSession]) -> None:
    """SleepOverlap when a session overlaps a stored one of another start."""
    starts = [session.start for session in sessions]
    params = {"user": user_id, "starts": starts, "ends": [session.end for session in sessions]}
    clash = conn.exec_driver_sql(OVERLAP, params).first()
    if clash is not None:
        stored = clash[0].astimezone(UTC).isoformat()
        raise SleepOverlap(f"a session overlaps the stored session starting at {stored}")


def _replace(conn: Connection, user_id: str, sessions: list[SleepSession]) -> None:
    """Upsert the sessions and put their stages in place of the stored ones."""
    starts = [session.start for session in sessions]
    conn.exec_driver_sql(
        "DELETE FROM sleep_stages WHERE user_id = %(user)s AND session_start = ANY(%(starts)s)",
        {"user": user_id, "starts": starts},
    )
    ends = [session.end for session in sessions]
    conn.exec_driver_sql(UPSERT_SESSIONS, {"user": user_id, "starts": starts, "ends": ends})
    conn.exec_driver_sql(INSERT_STAGES, {"user": user_id, **_stage_columns(sessions)})


def _stage_columns(sessions: Iterable[SleepSession]) -> dict[str, list[Any]]:
    """The stages of the sessions as the columns of INSERT_STAGES' unnest."""
    columns: dict[str, list[Any]] = {
        name: [] for name in ("sessions", "positions", "stages", "starts", "ends")
    }
    for session in sessions:
        for position, span in enumerate(session.stages):
            columns["sessions"].append(session.start)
            columns["positions"].append(position)
            columns["stages"].append(span.stage.value)
            columns["starts"].append(span.start)
            columns["ends"].append(span.end)
    return columns


def read(conn: Connection, user_id: str, start: datetime, end: datetime) -> list[SleepSession]:
    """Sessions of the user ending in ``[start, end)``, oldest first."""
    where = "s.ends_at >= %(start)s AND s.ends_at < %(end)s"
    params = {"start": start, "end": end}
    sessions = _sessions(conn, user_id, where, params, limit=MAX_STAGE_ROWS + 1)
    if sum(max(1, len(session.stages)) for session in sessions) > MAX_STAGE_ROWS:
        raise TooMuchSleep(f"over {MAX_STAGE_ROWS} sleep stages in the range: narrow it")
    return sessions


def _sessions(
    conn: Connection, user_id: str, where: str, params: dict[str, Any], limit: int | None = None
) -> list[SleepSession]:
    """The sessions a condition selects, with their stages, in start order (at most
    ``limit`` stage rows)."""
    bound = "" if limit is None else f" LIMIT {int(limit)}"
    statement = SELECT.format(where=where, limit=bound)
    rows = conn.exec_driver_sql(statement, {"user": user_id, **params}).all()
    found: dict[datetime, tuple[datetime, list[StageSpan]]] = {}
    for start, end, stage, stage_start, stage_end in rows:
        _, spans = found.setdefault(start.astimezone(UTC), (end.astimezone(UTC), []))
        if stage is not None:
            spans.append(
                StageSpan(SleepStage(stage), stage_start.astimezone(UTC), stage_end.astimezone(UTC))
            )
    return [SleepSession(start, end, tuple(spans)) for start, (end, spans) in found.items()]
