"""What the parts share: a private server, simulated heart rate, and binary COPY payloads."""

from __future__ import annotations

import contextlib
import shutil
import statistics
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg

from deploy import embedded_postgres
from deploy.local import free_port
from services.health_metrics.domain import Metric, Point

SECONDS_A_DAY = 86_400
BATCH = 10_000  # the service's largest batch (Limits.max_points)
METRIC = Metric.HEART_RATE
# PostgreSQL's binary timestamps count microseconds from 2000-01-01 UTC.
PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension
COPY_TRAILER = b"\xff\xff"
COPY_POINTS = "COPY points (user_id, metric, time, value) FROM STDIN (FORMAT binary)"
COPY_DIRTY = "COPY dirty_minutes (user_id, metric, minute) FROM STDIN (FORMAT binary)"
STATEMENT_TIMEOUT = "?options=-c%20statement_timeout%3D300s"


@contextlib.contextmanager
def private_server() -> Iterator[str]:
    """A throwaway embedded PostgreSQL (run unprivileged when we are root); its URL."""
    # Not 0700: the server's own user must reach its data directory below this folder.
    root = Path(tempfile.mkdtemp(prefix="fitness-bench-health-"))
    root.chmod(0o755)
    server = embedded_postgres.start(root / "data", free_port())
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(server_url: str, label: str) -> str:
    """A new, empty database on the server; its URL (statements bounded in time)."""
    url = embedded_postgres.create_database(server_url, f"{label}_{uuid.uuid4().hex[:8]}")
    # A benchmark stops by itself: a statement gone astray fails instead of running on.
    return url + STATEMENT_TIMEOUT


def drop_database(server_url: str, url: str) -> None:
    """Drop a database made by fresh_database (its connections closed first)."""
    name = url.removesuffix(STATEMENT_TIMEOUT).rsplit("/", 1)[1]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def checkpoint(url: str) -> None:
    """Write the dirty buffers out now, so a checkpoint does not land in a timed section."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def midnight(day: date) -> datetime:
    """The UTC start of a day."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def heart_rate_day(day: date, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A day of 1 Hz heart rate: (microseconds since 2000-01-01 UTC, whole bpm)."""
    rng = np.random.default_rng(seed)
    seconds = np.arange(SECONDS_A_DAY, dtype=np.int64)
    start = int((midnight(day) - PG_EPOCH).total_seconds()) * 1_000_000
    daily = 70 + 12 * np.sin(2 * np.pi * (seconds / SECONDS_A_DAY - 0.3))
    bpm = np.clip(np.round(daily + rng.normal(0, 4, SECONDS_A_DAY)), 40, 180)
    return start + seconds * 1_000_000, bpm.astype(np.float64)


def as_time(micros: int) -> datetime:
    """A PostgreSQL microsecond count as an aware UTC datetime."""
    return PG_EPOCH + timedelta(microseconds=micros)


def points_of(micros: np.ndarray, values: np.ndarray) -> list[Point]:
    """The domain's points of a series (what write_points is given)."""
    start = as_time(int(micros[0]))
    offsets = ((micros - micros[0]) // 1_000_000).tolist()
    return [
        Point(start + timedelta(seconds=s), v)
        for s, v in zip(offsets, values.tolist(), strict=True)
    ]


def batches(points: Sequence[Point], size: int = BATCH) -> list[Sequence[Point]]:
    """Consecutive batches of at most ``size`` points."""
    return [points[first : first + size] for first in range(0, len(points), size)]


def _text_field(name: str, text: str) -> list[tuple[str, str]]:
    """The (length, bytes) fields of one constant text column."""
    return [(f"{name}_len", ">i4"), (name, f"S{len(text.encode())}")]


def copy_points(user: str, micros: np.ndarray, values: np.ndarray) -> bytes:
    """The rows of one user's series as COPY ... (FORMAT binary) tuples, no header."""
    layout = [("fields", ">i2"), *_text_field("user", user), *_text_field("metric", METRIC)]
    layout += [("time_len", ">i4"), ("time", ">i8"), ("value_len", ">i4"), ("value", ">f8")]
    rows = np.zeros(len(micros), dtype=np.dtype(layout))
    rows["fields"], rows["time_len"], rows["value_len"] = 4, 8, 8
    rows["user_len"], rows["user"] = len(user.encode()), user.encode()
    rows["metric_len"], rows["metric"] = len(METRIC.encode()), METRIC.encode()
    rows["time"], rows["value"] = micros, values
    return rows.tobytes()


def copy_minutes(user: str, micros: np.ndarray) -> bytes:
    """The distinct minutes of a series as dirty_minutes COPY tuples (as a write marks them)."""
    minutes = np.unique(micros // 60_000_000) * 60_000_000
    layout = [("fields", ">i2"), *_text_field("user", user), *_text_field("metric", METRIC)]
    layout += [("minute_len", ">i4"), ("minute", ">i8")]
    rows = np.zeros(len(minutes), dtype=np.dtype(layout))
    rows["fields"], rows["minute_len"] = 3, 8
    rows["user_len"], rows["user"] = len(user.encode()), user.encode()
    rows["metric_len"], rows["metric"] = len(METRIC.encode()), METRIC.encode()
    rows["minute"] = minutes
    return rows.tobytes()


def copy_in(conn: psycopg.Connection, statement: str, tuples: Sequence[bytes]) -> None:
    """One COPY of binary tuples (header and trailer added), 1 MiB a write."""
    with conn.cursor().copy(statement) as copy:
        copy.write(COPY_HEADER)
        for block in tuples:
            view = memoryview(block)
            for first in range(0, len(view), 1 << 20):
                copy.write(view[first : first + (1 << 20)])
        copy.write(COPY_TRAILER)


def median_ms(seconds: Sequence[float]) -> float:
    """The median of durations, in milliseconds."""
    return statistics.median(seconds) * 1000


def percentile_ms(seconds: Sequence[float], share: float) -> float:
    """A percentile (nearest rank) of durations, in milliseconds."""
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def table_row(*cells: object) -> str:
    """One row of a Markdown table."""
    return "| " + " | ".join(str(cell) for cell in cells) + " |"
