"""The tables of the health-metrics database, created idempotently, and the raw points'
daily partitions, created on demand.

Raw points are partitioned by RANGE on time, one partition a UTC day, with no DEFAULT
partition: a writer creates the days its batch touches before inserting. The partitioned
primary key (user_id, metric, time) and the BRIN index on time are declared on the parent,
so every new partition gets both. DDL runs under an advisory lock: two instances starting
at once (or two writers creating one day) would otherwise race on the catalog.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, Engine

# Advisory lock keys of this database (arbitrary, distinct constants).
SCHEMA_LOCK = 0x48_45_41_4C_01
PARTITION_LOCK = 0x48_45_41_4C_02
REFRESH_LOCK = 0x48_45_41_4C_03
SLEEP_LOCK_NAMESPACE = 0x48_45_4C_04

# Days one transaction creates or writes at most: each takes locks on a partition and its
# indexes, held to the end of the transaction, out of a lock table all sessions share.
PARTITIONS_PER_TRANSACTION = 32

ROLLUP_TABLES = ("rollup_1m", "rollup_1h", "rollup_1d")

TABLES = (
    """CREATE TABLE IF NOT EXISTS points (
        user_id text NOT NULL,
        metric text NOT NULL,
        time timestamptz NOT NULL,
        value double precision NOT NULL,
        PRIMARY KEY (user_id, metric, time)
    ) PARTITION BY RANGE (time)""",
    "CREATE INDEX IF NOT EXISTS points_time_brin ON points USING brin (time)",
    # A minute whose points changed since its rollup was computed; marked_at gives the lag.
    """CREATE TABLE IF NOT EXISTS dirty_minutes (
        user_id text NOT NULL,
        metric text NOT NULL,
        minute timestamptz NOT NULL,
        marked_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, metric, minute)
    )""",
    "CREATE INDEX IF NOT EXISTS dirty_minutes_marked_at ON dirty_minutes (marked_at)",
    *(
        f"""CREATE TABLE IF NOT EXISTS {table} (
        user_id text NOT NULL,
        metric text NOT NULL,
        bucket timestamptz NOT NULL,
        low double precision NOT NULL,
        high double precision NOT NULL,
        total double precision NOT NULL,
        count bigint NOT NULL,
        PRIMARY KEY (user_id, metric, bucket)
    )"""
        for table in ROLLUP_TABLES
    ),
    """CREATE TABLE IF NOT EXISTS sleep_sessions (
        user_id text NOT NULL,
        starts_at timestamptz NOT NULL,
        ends_at timestamptz NOT NULL,
        PRIMARY KEY (user_id, starts_at)
    )""",
    "CREATE INDEX IF NOT EXISTS sleep_sessions_end ON sleep_sessions (user_id, ends_at)",
    """CREATE TABLE IF NOT EXISTS sleep_stages (
        user_id text NOT NULL,
        session_start timestamptz NOT NULL,
        position integer NOT NULL,
        stage text NOT NULL CHECK (stage IN ('deep', 'light', 'rem', 'wake')),
        starts_at timestamptz NOT NULL,
        ends_at timestamptz NOT NULL,
        PRIMARY KEY (user_id, session_start, position),
        FOREIGN KEY (user_id, session_start)
            REFERENCES sleep_sessions (user_id, starts_at) ON DELETE CASCADE
    )""",
    """CREATE TABLE IF NOT EXISTS simulated_devices (
        user_id text PRIMARY KEY,
        linked bigint GENERATED ALWAYS AS IDENTITY,
        linked_at timestamptz NOT NULL DEFAULT now()
    )""",
    """CREATE TABLE IF NOT EXISTS ingest_progress (
        user_id text PRIMARY KEY,
        ingested_through date NOT NULL
    )""",
)


def create_schema(engine: Engine) -> None:
    """Create every table and index that is missing, one instance at a time."""
    with engine.begin() as conn:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        for statement in TABLES:
            conn.exec_driver_sql(statement)


def partition_name(day: date) -> str:
    """The partition of the raw points of one UTC day."""
    return f"points_{day:%Y%m%d}"


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def micros(column: str) -> str:
    """SQL of a timestamptz column as integer microseconds since the epoch.

    Read so, a row's instant costs a third of a parsed timestamptz (and comes back UTC
    whatever the session's time zone).
    """
    return f"(extract(epoch FROM {column}) * 1000000)::int8"


def instant(us: int) -> datetime:
    """The UTC instant ``us`` microseconds after the epoch."""
    return EPOCH + us * MICROSECOND


def day_of(time: datetime) -> date:
    """The UTC day of an instant."""
    return time.astimezone(UTC).date()


def create_partitions(engine: Engine, days: Iterable[date]) -> None:
    """Create the partitions of ``days`` that do not exist yet, in short transactions.

    Transactions of their own: creating a partition locks the parent table, which a write
    transaction must not hold while it inserts. At most PARTITIONS_PER_TRANSACTION each:
    every new table takes locks until its transaction ends, and the server's lock table
    is shared (a batch of points on 3,000 days failed with "out of shared memory").
    """
    ordered = sorted(set(days))
    for first in range(0, len(ordered), PARTITIONS_PER_TRANSACTION):
        with engine.begin() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK,))
            for day in ordered[first : first + PARTITIONS_PER_TRANSACTION]:
                if not _exists(conn, partition_name(day)):
                    conn.exec_driver_sql(_partition_ddl(day))


def windows(conn: Connection, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut into windows of at most PARTITIONS_PER_TRANSACTION existing
    partitions each, in time order; days without a partition (and so without points)
    are left out.

    A statement over a window locks only its partitions (custom plans prune the rest); one
    over years would lock thousands, and the lock table all sessions share would overflow.
    """
    if end <= start:
        return []
    first, last = day_of(start), day_of(end - MICROSECOND)
    statement = """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'points'::regclass AND c.relname BETWEEN %s AND %s
        ORDER BY c.relname"""
    names = conn.exec_driver_sql(statement, (partition_name(first), partition_name(last))).all()
    days = [
        datetime.strptime(name[len("points_") :], "%Y%m%d").replace(tzinfo=UTC) for (name,) in names
    ]
    step = PARTITIONS_PER_TRANSACTION
    return [
        (max(start, days[i]), min(end, days[min(i + step, len(days)) - 1] + timedelta(days=1)))
        for i in range(0, len(days), step)
    ]


def _exists(conn: Connection, table: str) -> bool:
    """Whether a table of that name exists (without touching the parent's lock)."""
    return bool(conn.exec_driver_sql("SELECT to_regclass(%s) IS NOT NULL", (table,)).scalar_one())


def _partition_ddl(day: date) -> str:
    """The CREATE TABLE of one day's partition (bounds in UTC, half open)."""
    low = datetime(day.year, day.month, day.day, tzinfo=UTC)
    high = low + timedelta(days=1)
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(day)} PARTITION OF points "
        f"FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')"
    )
