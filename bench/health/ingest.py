"""Ingestion: the store's upsert in batches of 10,000 against a plain COPY of the same rows."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import psycopg

from bench.health.common import (
    COPY_POINTS,
    METRIC,
    batches,
    checkpoint,
    copy_in,
    copy_points,
    drop_database,
    fresh_database,
    heart_rate_day,
    points_of,
    private_server,
    table_row,
)
from services.common.db import make_engine
from services.health_metrics.domain import Point
from services.health_metrics.postgres import open_store
from services.health_metrics.postgres.schema import create_partitions

FIRST_DAY = date(2026, 11, 1)


@dataclass(frozen=True)
class Workload:
    """The same rows for both paths: per user, its points and its COPY tuples."""

    days: list[date]
    points: dict[str, list[Point]]
    tuples: dict[str, bytes]

    @property
    def rows(self) -> int:
        """How many rows either path writes."""
        return sum(len(p) for p in self.points.values())


def workload(users: int) -> Workload:
    """One day of 1 Hz heart rate for each user, on consecutive days (a partition each)."""
    days, points, tuples = [], {}, {}
    for n in range(users):
        day = FIRST_DAY + timedelta(days=n)
        micros, values = heart_rate_day(day, seed=n)
        user = f"bench-user-{n}"
        days.append(day)
        points[user] = points_of(micros, values)
        tuples[user] = copy_points(user, micros, values)
    return Workload(days, points, tuples)


def prepared(server_url: str, days: Sequence[date]) -> str:
    """A fresh database with the store's schema and the days' partitions; its URL."""
    url = fresh_database(server_url, "ingest")
    open_store(url, pool_size=1).close()
    engine = make_engine(url, pool_size=1)
    create_partitions(engine, days)
    engine.dispose()
    checkpoint(url)
    return url


def upsert_round(url: str, load: Workload) -> tuple[float, float]:
    """Seconds the store takes to write every batch, then to write them all again."""
    store = open_store(url, pool_size=1)
    try:
        seconds = []
        for _ in range(2):
            began = time.perf_counter()
            for user, points in load.points.items():
                for batch in batches(points):
                    store.write_points(user, METRIC, batch)
            seconds.append(time.perf_counter() - began)
        return seconds[0], seconds[1]
    finally:
        store.close()


def copy_round(url: str, load: Workload) -> float:
    """Seconds one COPY (one transaction) of the same rows takes."""
    with psycopg.connect(url) as conn:
        began = time.perf_counter()
        copy_in(conn, COPY_POINTS, list(load.tuples.values()))
        conn.commit()
        seconds = time.perf_counter() - began
        stored = conn.execute("SELECT count(*) FROM points").fetchone()
    if stored is None or stored[0] != load.rows:
        raise RuntimeError(f"COPY stored {stored} rows of {load.rows}")
    return seconds


def _stored(url: str) -> tuple[int, int]:
    """Rows in points and in dirty_minutes (a check that the upsert did its work)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM points), (SELECT count(*) FROM dirty_minutes)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def ingest(args: argparse.Namespace) -> None:
    """Rounds alternating the store's upsert and the COPY, each on a fresh database."""
    load = workload(args.ingest_users)
    upserts, rewrites, copies = [], [], []
    with private_server() as server:
        for _ in range(args.rounds):
            url = prepared(server, load.days)
            first, again = upsert_round(url, load)
            if _stored(url) != (load.rows, load.rows // 60):
                raise RuntimeError(f"the upsert stored {_stored(url)} (rows, dirty minutes)")
            drop_database(server, url)
            upserts.append(first)
            rewrites.append(again)
            url = prepared(server, load.days)
            copies.append(copy_round(url, load))
            drop_database(server, url)
    report(load, upserts, rewrites, copies)


def report(
    load: Workload, upserts: list[float], rewrites: list[float], copies: list[float]
) -> None:
    """The table of rows/s and the ratio."""
    upsert, rewrite, copy = (statistics.median(s) for s in (upserts, rewrites, copies))
    print(
        f"\n### Ingestion ({load.rows:,} rows: {len(load.points)} user-days of 1 Hz heart rate)\n"
    )
    print(f"| path | rows/s (median of {len(upserts)} rounds) | rounds (s) |\n|---|---|---|")
    for label, seconds, median in (
        ("store.write_points, batches of 10,000 (new rows)", upserts, upsert),
        ("plain binary COPY, one transaction", copies, copy),
        ("store.write_points again (all unchanged)", rewrites, rewrite),
    ):
        print(table_row(label, f"{load.rows / median:,.0f}", _list(seconds)))
    print(f"\nratio upsert / COPY: **{copy / upsert:.2f}x** (target >= 0.4x)")
    spread = np.array(copies) / np.array(upserts)
    print(f"per-round ratios: {', '.join(f'{r:.2f}' for r in spread)}")


def _list(seconds: list[float]) -> str:
    """Durations of the rounds, in seconds."""
    return ", ".join(f"{s:.2f}" for s in seconds)
