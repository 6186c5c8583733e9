"""The PostgreSQL warehouse: connections, the ETL lock, the run manifest, watermarks and
read-only queries. One batch's writes are etl.batch.BatchLoad."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg

from etl.batch import BatchLoad
from etl.domain import Interval, RunInProgress, RunStatus, Trigger

# pg_try_advisory_lock key: one ETL run at a time per warehouse ('ETL' in ASCII).
LOCK_KEY = 0x45544C


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
