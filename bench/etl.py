"""Benchmark: the nightly ETL of N workout facts against a plain COPY of the same rows.

In one run, on one PostgreSQL server:
  etl      - ``python -m etl run --date D`` over SQLite stores holding N workouts ended on
             night D, into a warehouse that holds their users (loaded by an earlier,
             untimed night); the time is the run's own (from its manifest row), the peak
             memory that of the process
  copy     - the facts the ETL produced, exported with COPY TO, then COPY FROM into an
             empty table with the same columns and indexes (the already-transformed rows)
  re-run   - the same night again: rows written must be 0
Reports etl/copy, peak RSS and rows written by the re-run.

    python -m bench.etl [--workouts 1000000] [--users 2000]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg

from deploy import embedded_postgres
from deploy.local import free_port
from etl.__main__ import MIGRATIONS as WAREHOUSE_MIGRATIONS
from services.activity.__main__ import MIGRATIONS as ACTIVITY_MIGRATIONS
from services.common.db import make_engine, migrate
from services.user.__main__ import MIGRATIONS as USER_MIGRATIONS

NIGHT = date(2026, 3, 2)
REGISTERED = date(2026, 1, 1)
TYPES = ("running", "cycling", "swimming", "yoga", "rowing", "strength")
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime in SQLite


def fill_sources(folder: Path, workouts: int, users: int) -> dict[str, str]:
    """SQLite user and activity stores: ``users`` users, ``workouts`` ended on NIGHT."""
    urls = {
        "ETL_USER_DATABASE_URL": f"sqlite:///{folder / 'user.db'}",
        "ETL_ACTIVITY_DATABASE_URL": f"sqlite:///{folder / 'activity.db'}",
    }
    migrate(make_engine(urls["ETL_USER_DATABASE_URL"]), USER_MIGRATIONS)
    migrate(make_engine(urls["ETL_ACTIVITY_DATABASE_URL"]), ACTIVITY_MIGRATIONS)
    user_ids = [str(uuid.uuid4()) for _ in range(users)]
    registered = datetime.combine(REGISTERED, datetime.min.time()).strftime(SQLITE_TIME)
    with sqlite3.connect(folder / "user.db") as db:
        db.executemany(
            "INSERT INTO users (user_id, username, email, email_key, password_hash,"
            " display_name, weight_kg, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 'x', ?, ?, ?, ?)",
            (
                (
                    uid,
                    f"u{n}",
                    f"u{n}@x.io",
                    f"u{n}@x.io",
                    f"User {n}",
                    60 + n % 40,
                    registered,
                    registered,
                )
                for n, uid in enumerate(user_ids)
            ),
        )
    rng = random.Random(7)
    night = datetime(NIGHT.year, NIGHT.month, NIGHT.day, tzinfo=UTC)
    with sqlite3.connect(folder / "activity.db") as db:
        db.executemany(
            "INSERT INTO workout_sessions (session_id, user_id, workout_type, start_time,"
            " end_time, duration, calories_burned, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (_session(rng, night, user_ids) for _ in range(workouts)),
        )
    return urls


def _session(rng: random.Random, night: datetime, user_ids: list[str]) -> tuple[object, ...]:
    end = night + timedelta(seconds=rng.randrange(86_400))
    minutes = rng.randrange(10, 120)
    start = end - timedelta(minutes=minutes)
    return (
        str(uuid.uuid4()),
        rng.choice(user_ids),
        rng.choice(TYPES),
        start.strftime(SQLITE_TIME),
        end.strftime(SQLITE_TIME),
        minutes * 60.0,
        round(minutes * rng.uniform(5, 12), 1),
        end.strftime(SQLITE_TIME),
    )


def run_etl(env: dict[str, str], night: date = NIGHT) -> tuple[float, int]:
    """Run the ETL for a night in a child process; (wall seconds, peak RSS in KiB)."""
    command = [sys.executable, "-m", "etl", "run", "--date", night.isoformat(), "--no-progress"]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise RuntimeError(f"etl exited with {child.returncode}")
    return wall, usage.ru_maxrss


def last_run(url: str) -> tuple[float, dict[str, int]]:
    """The newest manifest row: (its duration, rows written per source)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT duration_seconds, rows_written FROM etl_runs ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    assert row is not None
    return float(row[0]), dict(row[1])


def copy_baseline(url: str, folder: Path) -> tuple[float, int]:
    """Seconds to COPY the ETL's facts into an empty, identically indexed table; rows."""
    exported = folder / "facts.copy"
    with psycopg.connect(url, autocommit=True) as conn:
        with exported.open("wb") as out, conn.cursor().copy("COPY fact_workout TO STDOUT") as copy:
            for block in copy:
                out.write(block)
        conn.execute("CREATE TABLE copy_target (LIKE fact_workout INCLUDING ALL)")
        conn.execute("CHECKPOINT")
        started = time.perf_counter()
        with (
            conn.transaction(),
            exported.open("rb") as source,
            conn.cursor().copy("COPY copy_target FROM STDIN") as copy,
        ):
            while block := source.read(1 << 20):
                copy.write(block)
        seconds = time.perf_counter() - started
        count = conn.execute("SELECT count(*) FROM copy_target").fetchone()
    return seconds, int(count[0]) if count else 0


def main() -> None:
    """Fill the stores, run the ETL, the COPY baseline and the re-run; print the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workouts", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        folder.chmod(0o755)
        server = embedded_postgres.start(folder / "pg", free_port())
        try:
            measure(folder, server.url, args.workouts, args.users)
        finally:
            server.stop()


def measure(folder: Path, server_url: str, workouts: int, users: int) -> None:
    """The three runs, printed."""
    print(f"filling stores: {workouts:,} workouts by {users:,} users ...", flush=True)
    env = {**os.environ, **fill_sources(folder, workouts, users)}
    warehouse = embedded_postgres.create_database(server_url, "warehouse")
    migrate(make_engine(warehouse, pool_size=1), WAREHOUSE_MIGRATIONS)
    env["ETL_WAREHOUSE_URL"] = warehouse
    run_etl(env, REGISTERED)
    wall, peak_kib = run_etl(env)
    etl_seconds, written = last_run(warehouse)
    copy_seconds, copied = copy_baseline(warehouse, folder)
    run_etl(env)
    rerun_seconds, rerun_written = last_run(warehouse)
    print(f"etl      {etl_seconds:7.2f} s  (command wall {wall:.2f} s)  written {written}")
    print(f"copy     {copy_seconds:7.2f} s  ({copied:,} rows)")
    print(f"etl/copy {etl_seconds / copy_seconds:7.2f}   (target <= 2.5)")
    print(f"peak RSS {peak_kib / 1024:7.0f} MiB (target <= 1024)")
    print(f"re-run   {rerun_seconds:7.2f} s  rows written {sum(rerun_written.values())} (target 0)")


if __name__ == "__main__":
    main()
