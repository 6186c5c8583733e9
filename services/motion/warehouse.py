"""The motion tables of the warehouse PostgreSQL: their DDL and idempotent batch inserts.

Two tables, the seed's two sinks:

- ``raw_data.activity_records``: one row per reading, keyed by (device, message, index
  of the reading in the stored message);
- ``processed_data.user_activity_processed``: one row per classified window, keyed by
  (device, window key), its columns those of ``records.record_fields``.

A batch is copied (COPY) into a temporary table and inserted from there with ``ON
CONFLICT DO NOTHING`` in one transaction: a batch delivered twice writes its rows once,
and the count returned is of the rows this batch added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

# A warehouse that does not answer within this is treated as down (the sink backs off).
CONNECT_TIMEOUT_SECONDS = 5
STATEMENT_TIMEOUT = "30s"

SCHEMA = (
    "CREATE SCHEMA IF NOT EXISTS raw_data",
    "CREATE SCHEMA IF NOT EXISTS processed_data",
    """CREATE TABLE IF NOT EXISTS raw_data.activity_records (
        device_id text NOT NULL,
        message_id text NOT NULL,
        reading_index integer NOT NULL,
        user_id text NOT NULL,
        session_id text NOT NULL,
        sensor text NOT NULL,
        ts timestamptz NOT NULL,
        "values" double precision[] NOT NULL,
        ingested_at timestamptz NOT NULL,
        sunk_at timestamptz NOT NULL DEFAULT now(),
        -- ingested_at too: a message id reused after the dedup window is another message.
        PRIMARY KEY (device_id, message_id, ingested_at, reading_index))""",
    """CREATE INDEX IF NOT EXISTS activity_records_device_ts
        ON raw_data.activity_records (device_id, ts)""",
    """CREATE TABLE IF NOT EXISTS processed_data.user_activity_processed (
        window_key text NOT NULL,
        device_id text NOT NULL,
        user_id text NOT NULL,
        session_id text NOT NULL,
        message_id text NOT NULL,
        window_start_ms bigint NOT NULL,
        window_end_ms bigint NOT NULL,
        owned_start_ms bigint NOT NULL,
        owned_end_ms bigint NOT NULL,
        magnitude double precision NOT NULL,
        dynamic_rms double precision NOT NULL,
        cadence_hz double precision NOT NULL,
        periodicity double precision NOT NULL,
        rate_hz double precision NOT NULL,
        samples integer NOT NULL,
        coverage double precision NOT NULL,
        activity text NOT NULL,
        confidence double precision NOT NULL,
        sunk_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (device_id, window_key))""",
    """CREATE INDEX IF NOT EXISTS user_activity_processed_device_end
        ON processed_data.user_activity_processed (device_id, window_end_ms)""",
)
# Two sinks starting at once may both create a table: one waits for the other's lock.
SCHEMA_LOCK = 0x4D4F54  # 'MOT'


@dataclass(frozen=True)
class Table:
    """A sink's table: the columns a batch copies and how they become the table's."""

    name: str
    staging: str  # the temporary table a batch is copied into
    staging_columns: str  # its DDL
    copied: tuple[str, ...]  # the staging columns, in row order
    insert: str  # INSERT ... SELECT FROM staging ON CONFLICT DO NOTHING


RAW = Table(
    name="raw_data.activity_records",
    staging="motion_raw_in",
    staging_columns="device_id text, message_id text, reading_index integer, user_id text,"
    ' session_id text, sensor text, ts_ms bigint, "values" double precision[],'
    " ingested_ms bigint",
    copied=(
        "device_id",
        "message_id",
        "reading_index",
        "user_id",
        "session_id",
        "sensor",
        "ts_ms",
        "values",
        "ingested_ms",
    ),
    # Milliseconds to timestamptz exactly (no float rounding), in the server.
    insert="INSERT INTO raw_data.activity_records (device_id, message_id, reading_index,"
    ' user_id, session_id, sensor, ts, "values", ingested_at)'
    " SELECT device_id, message_id, reading_index, user_id, session_id, sensor,"
    " timestamptz 'epoch' + ts_ms * interval '1 millisecond', \"values\","
    " timestamptz 'epoch' + ingested_ms * interval '1 millisecond'"
    " FROM motion_raw_in ON CONFLICT DO NOTHING",
)

PROCESSED_COLUMNS = (
    "window_key",
    "device_id",
    "user_id",
    "session_id",
    "message_id",
    "window_start_ms",
    "window_end_ms",
    "owned_start_ms",
    "owned_end_ms",
    "magnitude",
    "dynamic_rms",
    "cadence_hz",
    "periodicity",
    "rate_hz",
    "samples",
    "coverage",
    "activity",
    "confidence",
)
PROCESSED = Table(
    name="processed_data.user_activity_processed",
    staging="motion_processed_in",
    staging_columns="window_key text, device_id text, user_id text, session_id text,"
    " message_id text, window_start_ms bigint, window_end_ms bigint, owned_start_ms bigint,"
    " owned_end_ms bigint, magnitude double precision, dynamic_rms double precision,"
    " cadence_hz double precision, periodicity double precision, rate_hz double precision,"
    " samples integer, coverage double precision, activity text, confidence double precision",
    copied=PROCESSED_COLUMNS,
    insert=f"INSERT INTO processed_data.user_activity_processed ({', '.join(PROCESSED_COLUMNS)})"
    f" SELECT {', '.join(PROCESSED_COLUMNS)} FROM motion_processed_in ON CONFLICT DO NOTHING",
)
TABLES = (RAW, PROCESSED)


class MotionWarehouse:
    """One connection to the warehouse, opened when first needed and after a failure."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: psycopg.Connection[Any] | None = None

    def ensure_schema(self) -> None:
        """Connect: every new connection creates what is missing (``_connect``)."""
        self._connection()

    def insert(self, table: Table, rows: Sequence[Sequence[object]]) -> int:
        """Insert ``rows`` (in ``table.copied`` order) in one transaction; how many were new.

        Raises psycopg errors; a failed call leaves the connection closed, so the next one
        starts afresh (a restarted server, a dropped table recreated).
        """
        if not rows:
            return 0
        conn = self._connection()
        try:
            with conn.transaction():
                columns = ", ".join(f'"{name}"' for name in table.copied)
                with conn.cursor() as cursor:
                    with cursor.copy(f"COPY {table.staging} ({columns}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                    cursor.execute(table.insert)
                    inserted = cursor.rowcount
        except psycopg.DataError:
            raise  # the rows, not the connection: it stays usable
        except (ValueError, TypeError) as error:  # a value psycopg cannot send (COPY aborted)
            raise psycopg.DataError(f"{type(error).__name__}: {error}") from error
        except psycopg.Error:
            self.close()
            raise
        return max(inserted, 0)

    def count(self, table: Table) -> int:
        """The rows ``table`` holds (tests and operators)."""
        row = self._connection().execute(f"SELECT count(*) FROM {table.name}").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close the connection, if open."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
        try:
            conn.execute("SET TIME ZONE 'UTC'")
            conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")
            _create_tables(conn)
        except psycopg.Error:
            conn.close()
            raise
        return conn


def _create_tables(conn: psycopg.Connection[Any]) -> None:
    """The schemas and tables unless they exist, and the session's staging tables.

    On every connection, so a table an operator dropped comes back with the next batch.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        for statement in SCHEMA:
            conn.execute(statement)
    for table in TABLES:  # emptied by every commit: a batch sees only its own rows
        conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {table.staging} ({table.staging_columns})"
            " ON COMMIT DELETE ROWS"
        )
