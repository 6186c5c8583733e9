"""The ingester's rounds: the next complete simulated day of every linked user, each round."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.common.timeutil import utc_now
from services.health_metrics.domain import Metric, Point, StoreUnavailable
from services.health_metrics.ingester.metrics import IngesterMetrics
from services.health_metrics.repository import HealthStore
from services.health_metrics.simulator import SimulatedDay, midnight, simulate_day

log = logging.getLogger(__name__)
MAX_BATCH = 10_000  # points of one write_points call, the service's own limit
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Schedule:
    """From which day, how often, with which seed, in batches of how many points."""

    first_day: date
    interval: float
    seed: int = 0
    batch: int = MAX_BATCH


def day_after(store: HealthStore, user_id: str, first_day: date) -> date:
    """The next day to simulate for the user: after the last one stored, or the first."""
    done = store.ingested_through(user_id)
    return first_day if done is None else done + ONE_DAY


def complete(day: date, now: datetime) -> bool:
    """Whether ``day`` is over: a day still running would put points in the future."""
    return midnight(day + ONE_DAY) <= now


def batches(points: Sequence[Point], size: int) -> Iterator[Sequence[Point]]:
    """``points`` in slices of at most ``size``."""
    for start in range(0, len(points), size):
        yield points[start : start + size]


class Ingester:
    """Stores simulated days into one store, one day a linked user a round."""

    def __init__(
        self,
        store: HealthStore,
        schedule: Schedule,
        metrics: IngesterMetrics,
        clock: Callable[[], datetime] = utc_now,
        simulate: Callable[[str, date, int], SimulatedDay] = simulate_day,
    ) -> None:
        self.store = store
        self.schedule = schedule
        self.metrics = metrics
        self.clock = clock
        self.simulate = simulate

    def run_until(self, stop: threading.Event) -> None:
        """A round every interval (counted from a round's start) until ``stop``."""
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.run_once(stop)
            except StoreUnavailable as error:
                # The database is away: the unmarked day is done again next round.
                self.metrics.failures.inc()
                log.warning("ingest round failed: database", extra={"error": str(error)})
            elapsed = time.monotonic() - started
            self.metrics.round_seconds.observe(elapsed)
            stop.wait(max(0.0, self.schedule.interval - elapsed))

    def run_once(self, stop: threading.Event | None = None) -> list[tuple[str, date]]:
        """One round: the (user, day) pairs stored and marked in it."""
        stop = stop or threading.Event()
        users = self.store.simulated_users()
        self.metrics.users.set(len(users))
        stored, pending = list[tuple[str, date]](), list[date]()
        for user_id in users:
            if stop.is_set():
                break
            day = day_after(self.store, user_id, self.schedule.first_day)
            if complete(day, self.clock()) and self.ingest(user_id, day, stop):
                stored.append((user_id, day))
                day += ONE_DAY
            pending.append(day)
        today = self.clock().date()
        self.metrics.behind_days.set(max([(today - d).days for d in pending] + [0]))
        return stored

    def ingest(self, user_id: str, day: date, stop: threading.Event) -> bool:
        """Simulate and store the user's ``day``, then mark it; False if stopped first."""
        simulated = self.simulate(user_id, day, self.schedule.seed)
        if not self.write(simulated, stop):
            return False
        self.store.write_sleep(user_id, simulated.sleep)
        self.store.mark_ingested(user_id, day)
        self.metrics.days.inc()
        count = sum(len(points) for points in simulated.points.values())
        log.info("simulated day stored", extra={"user": user_id, "day": str(day), "points": count})
        return True

    def write(self, simulated: SimulatedDay, stop: threading.Event) -> bool:
        """Every point of the day in batches; False when ``stop`` came between two."""
        for metric, points in simulated.points.items():
            for batch in batches(points, self.schedule.batch):
                if stop.is_set():
                    return False
                self._write_batch(simulated.user_id, metric, batch)
        return True

    def _write_batch(self, user_id: str, metric: Metric, batch: Sequence[Point]) -> None:
        self.metrics.written(metric.value, self.store.write_points(user_id, metric, batch))
