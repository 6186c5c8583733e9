"""The refresh loop: batches back to back while a backlog remains, a pause when none does,
and an outage or a bug that neither ends the thread nor goes unseen in the metrics."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from prometheus_client import CollectorRegistry

from services.health_metrics import service
from services.health_metrics.domain import Metric, PointRejection, WriteResult
from services.health_metrics.metrics import HealthMetrics
from services.health_metrics.refresher import RefreshLoop
from services.health_metrics.repository import RefreshReport
from tests.unit.health_metrics.fake_store import FakeHealthStore
from tests.unit.health_metrics.support import NOW, USER, at, deps, points


@dataclass
class Observed:
    """The loop's metrics, read back from their own registry."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.metrics = HealthMetrics(self.registry)

    def value(self, name: str, **labels: str) -> float:
        """A sample's value (0 when it was never set)."""
        return self.registry.get_sample_value(name, labels) or 0.0


def backlog(store: FakeHealthStore, minutes: int) -> None:
    """Heart rate in ``minutes`` distinct minutes, each now dirty."""
    pairs = [(at(minutes=m), 60.0 + m) for m in range(minutes)]
    result = service.write_points(deps(store), USER, "heart_rate", points(*pairs))
    assert result.accepted == minutes


def loop(store: FakeHealthStore, observed: Observed, interval: float = 60.0) -> RefreshLoop:
    """A loop over ``store`` recomputing two minutes a refresh."""
    return RefreshLoop(deps(store), observed.metrics, interval, batch_minutes=2)


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 5.0) -> None:
    """Poll until ``condition`` holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def test_a_refresh_that_leaves_dirty_minutes_asks_for_the_next_at_once() -> None:
    store, observed = FakeHealthStore(clock=lambda: NOW), Observed()
    backlog(store, 3)

    first, second = loop(store, observed).refresh_once(), loop(store, observed).refresh_once()

    assert (first, second) == (True, False)
    assert observed.value("health_refreshed_buckets_total", resolution="1m") == 3
    assert observed.value("health_refresh_seconds_count") == 2
    assert observed.value("health_dirty_minutes") == 0


def test_the_lag_gauge_is_how_long_the_oldest_dirty_minute_has_waited() -> None:
    now = [NOW]
    store, observed = FakeHealthStore(clock=lambda: now[0]), Observed()
    backlog(store, 3)
    now[0] = NOW.replace(second=42)

    loop(store, observed).refresh_once()

    assert observed.value("health_refresh_lag_seconds") == 42
    assert observed.value("health_dirty_minutes") == 1


def test_the_loop_works_off_a_backlog_without_pausing_between_batches() -> None:
    store, observed = FakeHealthStore(clock=lambda: NOW), Observed()
    backlog(store, 9)
    running = loop(store, observed, interval=60.0)

    running.start()
    try:
        # Five batches of two: a pause of the 60 s interval between any two would time out.
        wait_for(lambda: observed.value("health_refresh_seconds_count") >= 5, "five refreshes")
        assert store.dirty == {}
    finally:
        running.stop(timeout=5)
    assert not running.thread.is_alive()


def test_an_idle_loop_pauses_and_refreshes_a_later_write_after_the_interval() -> None:
    store, observed = FakeHealthStore(clock=lambda: NOW), Observed()
    running = loop(store, observed, interval=0.05)

    running.start()
    try:
        wait_for(lambda: observed.value("health_refresh_seconds_count") >= 1, "an idle refresh")
        backlog(store, 1)
        wait_for(lambda: store.dirty == {}, "the later write refreshed")
        assert observed.value("health_refreshed_buckets_total", resolution="1d") == 1
    finally:
        running.stop(timeout=5)


def test_an_outage_is_counted_and_the_loop_refreshes_once_the_store_is_back() -> None:
    store, observed = FakeHealthStore(clock=lambda: NOW), Observed()
    backlog(store, 1)
    store.unavailable = True
    running = loop(store, observed, interval=0.02)

    running.start()
    try:
        wait_for(lambda: observed.value("health_refresh_failures_total") >= 2, "two failures")
        store.unavailable = False
        wait_for(lambda: store.dirty == {}, "the refresh after the outage")
    finally:
        running.stop(timeout=5)


@dataclass
class BrokenOnce:
    """A store whose first refresh raises a bug; the rest are the fake's."""

    store: FakeHealthStore
    calls: int = 0

    def refresh(self, max_minutes: int) -> RefreshReport:
        """Fail the first call with a programming error."""
        self.calls += 1
        if self.calls == 1:
            raise ZeroDivisionError("a bug")
        return self.store.refresh(max_minutes)

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


def test_a_bug_in_one_refresh_does_not_end_the_thread() -> None:
    store, observed = FakeHealthStore(clock=lambda: NOW), Observed()
    backlog(store, 1)
    broken = BrokenOnce(store)
    running = RefreshLoop(deps(broken), observed.metrics, 0.02, batch_minutes=2)  # type: ignore[arg-type]

    running.start()
    try:
        wait_for(lambda: store.dirty == {}, "the refresh after the bug")
        assert observed.value("health_refresh_failures_total") == 1
        assert running.thread.is_alive()
    finally:
        running.stop(timeout=5)


def test_stop_waits_for_the_refresh_in_flight_and_ends_the_thread() -> None:
    store, observed = FakeHealthStore(clock=lambda: NOW), Observed()
    inside, release = threading.Event(), threading.Event()
    real = store.refresh

    def slow(max_minutes: int) -> RefreshReport:
        inside.set()
        release.wait(5)
        return real(max_minutes)

    store.refresh = slow  # type: ignore[method-assign]
    running = loop(store, observed)
    running.start()
    inside.wait(5)
    stopper = threading.Thread(target=running.stop, args=(5,))
    stopper.start()
    time.sleep(0.05)
    assert running.thread.is_alive()  # the refresh in flight is not cut off

    release.set()
    stopper.join(5)
    assert not running.thread.is_alive()
    assert observed.value("health_refresh_seconds_count") == 1


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (WriteResult(3, 2, ()), {"changed": 3, "unchanged": 2, "rejected": 0}),
        (WriteResult(0, 0, (PointRejection(0, "x"),)), {"rejected": 1}),
    ],
)
def test_written_points_are_counted_by_metric_and_outcome(
    result: WriteResult, expected: dict[str, float]
) -> None:
    observed = Observed()

    observed.metrics.written(Metric.STEPS.value, result)

    counted = {
        outcome: observed.value("health_points_total", metric="steps", outcome=outcome)
        for outcome in ("changed", "unchanged", "rejected")
    }
    assert counted == {"changed": 0, "unchanged": 0, "rejected": 0, **expected}
