"""The ingester's rounds on the in-memory store: the next complete day of each linked
user, in batches of at most 10,000, marked only once all of it is stored; a stop or an
outage mid-day leaves it to be done again, changing nothing twice."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry

from services.health_metrics.domain import Metric, Point, StoreUnavailable
from services.health_metrics.ingester.metrics import IngesterMetrics
from services.health_metrics.ingester.worker import Ingester, Schedule
from services.health_metrics.repository import Written
from tests.unit.health_metrics.fake_store import FakeHealthStore
from tests.unit.health_metrics_ingest.days import DAYS, FIRST, day_of

AFTER = datetime(2024, 6, 1, tzinfo=UTC)  # long after the days the tests simulate
DAY = timedelta(days=1)


@dataclass
class CountingStore(FakeHealthStore):
    """The fake store, noting each batch's size and setting ``stop`` after ``stop_after``."""

    sizes: list[int] = field(default_factory=list)
    stop: threading.Event | None = None
    stop_after: int = 0

    def write_points(self, user_id: str, metric: Metric, points: Sequence[Point]) -> Written:
        """Upsert, then count (and maybe stop)."""
        written = super().write_points(user_id, metric, points)
        self.sizes.append(len(points))
        if self.stop is not None and len(self.sizes) == self.stop_after:
            self.stop.set()
        return written


def ingester(store: FakeHealthStore, now: datetime = AFTER) -> tuple[Ingester, CollectorRegistry]:
    """An ingester from FIRST at ``now`` with its own metrics registry (and the cached
    simulator: the same days, simulated once per session)."""
    registry = CollectorRegistry()
    metrics = IngesterMetrics(registry)
    worker = Ingester(store, Schedule(FIRST, 0.01), metrics, lambda: now, day_of)
    return worker, registry


def linked(*users: str) -> CountingStore:
    """A store with simulated devices linked for ``users``."""
    store = CountingStore()
    for user in users:
        store.link_simulator(user)
    return store


def stored_points(store: FakeHealthStore, user: str) -> dict[Metric, tuple[Point, ...]]:
    """Every stored point of the user per metric, in time order."""
    return {
        metric: tuple(Point(t, v) for t, v in sorted(store.points.get((user, metric), {}).items()))
        for metric in Metric
    }


def test_a_round_stores_the_first_day_of_each_linked_user_whole_and_marks_it() -> None:
    store = linked("alice", "bob")
    worker, registry = ingester(store)
    assert worker.run_once() == [("alice", FIRST), ("bob", FIRST)]
    for user in ("alice", "bob"):
        assert stored_points(store, user) == day_of(user).points
        assert tuple(store.sessions[user].values()) == day_of(user).sleep
        assert store.ingested_through(user) == FIRST
    assert registry.get_sample_value("health_ingester_days_total") == 2
    assert registry.get_sample_value("health_ingester_users") == 2


def test_the_next_round_resumes_after_the_last_day_the_store_records() -> None:
    store = linked("alice")
    store.mark_ingested("alice", DAYS[1] - DAY)
    worker, _ = ingester(store)
    assert worker.run_once() == [("alice", DAYS[1])]
    assert worker.run_once() == [("alice", DAYS[2])]
    assert store.ingested_through("alice") == DAYS[2]
    first_stored = min(store.points[("alice", Metric.HEART_RATE)])
    assert first_stored.date() == DAYS[1]


def test_a_day_that_is_not_over_is_not_simulated_until_its_midnight() -> None:
    store = linked("alice")
    late = datetime.combine(FIRST, datetime.max.time(), UTC)
    assert ingester(store, late)[0].run_once() == []
    assert store.points == {}
    assert store.ingested_through("alice") is None
    midnight = datetime.combine(FIRST + DAY, datetime.min.time(), UTC)
    assert ingester(store, midnight)[0].run_once() == [("alice", FIRST)]


def test_every_batch_holds_at_most_10000_points_and_a_day_of_heart_rate_takes_nine() -> None:
    store = linked("carol")
    ingester(store)[0].run_once()
    assert max(store.sizes) == 10_000
    heart_rate = len(day_of("carol").points[Metric.HEART_RATE])
    assert sum(store.sizes) == sum(len(p) for p in day_of("carol").points.values())
    assert -(-heart_rate // 10_000) == 9


def test_a_stop_between_batches_leaves_the_day_unmarked_and_the_next_run_completes_it() -> None:
    stop = threading.Event()
    store = linked("alice")
    store.stop, store.stop_after = stop, 3
    worker, _ = ingester(store)
    assert worker.run_once(stop) == []
    assert store.sizes == [10_000] * 3
    assert store.ingested_through("alice") is None
    again, registry = ingester(store)
    assert again.run_once() == [("alice", FIRST)]
    assert stored_points(store, "alice") == day_of("alice").points
    unchanged = registry.get_sample_value(
        "health_ingester_points_total", {"metric": "heart_rate", "outcome": "unchanged"}
    )
    assert unchanged == 30_000


def test_behind_days_counts_the_complete_days_left_for_the_furthest_behind_user() -> None:
    store = linked("alice", "bob")
    store.mark_ingested("alice", DAYS[1])
    store.mark_ingested("bob", DAYS[0])
    now = datetime.combine(FIRST + 10 * DAY, datetime.min.time(), UTC) + timedelta(hours=1)
    worker, registry = ingester(store, now)
    assert worker.run_once() == [("alice", DAYS[2]), ("bob", DAYS[1])]
    # bob's days from FIRST + 2 to FIRST + 9 are complete and not stored.
    assert registry.get_sample_value("health_ingester_behind_days") == 8


@dataclass
class FailingStore(CountingStore):
    """A store that answers ``simulated_users`` with an outage once, and stops the loop."""

    calls: int = 0

    def simulated_users(self) -> list[str]:
        """Fail the first call; on the second, stop the loop and answer."""
        self.calls += 1
        if self.calls == 1:
            raise StoreUnavailable("down")
        assert self.stop is not None
        self.stop.set()
        return super().simulated_users()


def test_an_outage_cuts_a_round_short_and_the_loop_goes_on_with_the_next() -> None:
    stop = threading.Event()
    store = FailingStore(stop=stop)
    store.link_simulator("alice")
    worker, registry = ingester(store)
    worker.run_until(stop)
    assert store.calls == 2
    assert registry.get_sample_value("health_ingester_failures_total") == 1
    assert store.ingested_through("alice") is None  # stopped before its day
