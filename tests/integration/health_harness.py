"""The health store's integration harness: a model of the raw points, a full recompute
of every rollup from raw (in SQL, straight from the points, not through the minutes),
and the random writes the equality tests apply."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from services.health_metrics.domain import Metric, Point
from services.health_metrics.postgres import PostgresHealthStore

DAY0 = datetime(2024, 3, 9, tzinfo=UTC)
# A rollup row: ((user, metric, bucket), (low, high, total, count)).
Rows = dict[tuple[str, str, datetime], tuple[float, float, float, int]]

FULL_RECOMPUTE = """SELECT user_id, metric, date_trunc(%(unit)s, time, 'UTC'),
    min(value), max(value), sum(value), count(*)
FROM points GROUP BY 1, 2, 3"""


def rollup_rows(engine: Engine, table: str) -> Rows:
    """Every row of one rollup table."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT user_id, metric, bucket, low, high, total, count FROM {table}"
        )
        return {(u, m, b.astimezone(UTC)): (lo, hi, t, int(c)) for u, m, b, lo, hi, t, c in rows}


def recomputed_rows(engine: Engine, unit: str) -> Rows:
    """What the rollup of ``unit`` (minute/hour/day) holds, aggregated from raw afresh."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(FULL_RECOMPUTE, {"unit": unit})
        return {(u, m, b.astimezone(UTC)): (lo, hi, t, int(c)) for u, m, b, lo, hi, t, c in rows}


def mismatches(engine: Engine) -> list[str]:
    """How the three rollup tables differ from a full recompute (empty when equal)."""
    found = []
    for table, unit in (("rollup_1m", "minute"), ("rollup_1h", "hour"), ("rollup_1d", "day")):
        stored, expected = rollup_rows(engine, table), recomputed_rows(engine, unit)
        for key in sorted(stored.keys() | expected.keys()):
            if not _same(stored.get(key), expected.get(key)):
                found.append(f"{table} {key}: stored {stored.get(key)}, raw {expected.get(key)}")
    return found


def _same(
    a: tuple[float, float, float, int] | None, b: tuple[float, float, float, int] | None
) -> bool:
    """Equal rollups: low, high and count exactly, totals to a relative 1e-9."""
    if a is None or b is None:
        return a is b
    return a[0] == b[0] and a[1] == b[1] and a[3] == b[3] and math.isclose(a[2], b[2], rel_tol=1e-9)


def refresh_all(store: PostgresHealthStore, batch: int = 5000) -> int:
    """Refresh until no minute is dirty; how many refreshes it took."""
    rounds = 1
    while store.refresh(batch).remaining:
        rounds += 1
    return rounds


def stored_points(engine: Engine) -> dict[tuple[str, str, datetime], float]:
    """Every raw point."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT user_id, metric, time, value FROM points")
        return {(u, m, t.astimezone(UTC)): v for u, m, t, v in rows}


@dataclass
class Model:
    """What the raw points must be after a sequence of writes and deletes."""

    points: dict[tuple[str, str, datetime], float] = field(default_factory=dict)

    def write(self, user: str, metric: Metric, batch: list[Point]) -> int:
        """Apply a batch; how many points it must report changed."""
        changed = 0
        for point in batch:
            key = (user, metric.value, point.time)
            changed += self.points.get(key) != point.value
            self.points[key] = point.value
        return changed

    def delete(self, user: str, metric: Metric, start: datetime, end: datetime) -> int:
        """Apply a delete; how many points it must report deleted."""
        gone = [k for k in self.points if k[:2] == (user, metric.value) and start <= k[2] < end]
        for key in gone:
            del self.points[key]
        return len(gone)


@dataclass
class Writer:
    """Random batches, corrections, deletes and late data for some users, checked as it goes."""

    store: PostgresHealthStore
    users: list[str]
    rng: random.Random
    model: Model = field(default_factory=Model)
    days: int = 3

    def step(self) -> None:
        """One random write or delete, its count checked against the model."""
        user = self.rng.choice(self.users)
        metric = self.rng.choice([Metric.HEART_RATE, Metric.STEPS])
        kind = self.rng.random()
        if kind < 0.15:
            start = self._stored_instant(user, metric) - timedelta(seconds=self.rng.randint(0, 90))
            end = start + timedelta(seconds=self.rng.randint(1, 600))
            deleted = self.store.delete_points(user, metric, start, end)
            assert deleted == self.model.delete(user, metric, start, end)
            return
        batch = self._corrections(user, metric) if kind < 0.45 else self._batch()
        written = self.store.write_points(user, metric, batch)
        expected = self.model.write(user, metric, batch)
        assert (written.changed, written.unchanged) == (expected, len(batch) - expected)

    def _instant(self) -> datetime:
        """A random second of the days (late data: any of them, at any step)."""
        return DAY0 + timedelta(seconds=self.rng.randrange(self.days * 86400))

    def _stored_instant(self, user: str, metric: Metric) -> datetime:
        """The time of a stored point of the user and metric (a random second if none)."""
        stored = [k[2] for k in self.model.points if k[:2] == (user, metric.value)]
        return self.rng.choice(stored) if stored else self._instant()

    def _batch(self) -> list[Point]:
        """A run of new (or partly stored) points at 1 Hz from a random second on."""
        start = self._instant()
        count = self.rng.randint(1, 400)
        return [Point(start + timedelta(seconds=i), self._value()) for i in range(count)]

    def _corrections(self, user: str, metric: Metric) -> list[Point]:
        """Stored points of one user and metric sent again, some with a new value."""
        stored = [k[2] for k in self.model.points if k[:2] == (user, metric.value)]
        chosen = self.rng.sample(stored, min(len(stored), self.rng.randint(1, 50)))
        same = self.rng.random() < 0.3
        return [
            Point(t, self.model.points[(user, metric.value, t)] if same else self._value())
            for t in chosen
        ] or self._batch()

    def _value(self) -> float:
        """A value with a fractional part, so that sums depend on their order."""
        return round(self.rng.uniform(40, 200), self.rng.choice([0, 3, 12]))
