"""The nightly scheduler: catch up at start, then run once a day at a set UTC time."""

from __future__ import annotations

import logging
import time as clock_time
from collections.abc import Callable
from datetime import datetime, time, timedelta

from services.common.timeutil import Clock

log = logging.getLogger(__name__)
STOP_POLL_SECONDS = 0.2


class StopRequested(BaseException):  # not an error: a BaseException like SystemExit
    """Raised between batches once a stop was asked for: the run ends at its last commit."""


class StopSignal:
    """A stop asked for by a signal handler, seen by the scheduler's waits and between batches.

    A plain flag, not a threading.Event: the handler runs in the main thread, maybe while
    it is inside Event.wait, and raising (or taking a lock) there breaks the Event's lock
    ("RuntimeError: release unlocked lock"). The handler only sets the flag.
    """

    def __init__(
        self,
        sleep: Callable[[float], None] = clock_time.sleep,
        monotonic: Callable[[], float] = clock_time.monotonic,
    ) -> None:
        self.requested = False
        self._sleep = sleep
        self._monotonic = monotonic

    def request(self, _signum: int = 0, _frame: object = None) -> None:
        """The signal handler: note the stop, nothing else."""
        self.requested = True

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` in short steps; True once a stop was asked for."""
        deadline = self._monotonic() + seconds
        while not self.requested and (left := deadline - self._monotonic()) > 0:
            self._sleep(min(left, STOP_POLL_SECONDS))
        return self.requested

    def between_batches(self, _window: object = None) -> None:
        """Raise StopRequested if a stop was asked for (batches before it are committed)."""
        if self.requested:
            raise StopRequested("stopped by a signal; the next run resumes after this batch")


def next_run_at(now: datetime, at: time) -> datetime:
    """The first moment at ``at`` (UTC) strictly after ``now``."""
    today = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return today if today > now else today + timedelta(days=1)


class NightlyScheduler:
    """Calls ``run_pending`` at start and every night; a failure is retried after a pause."""

    def __init__(
        self,
        run_pending: Callable[[], None],
        at: time,
        retry: timedelta,
        clock: Clock,
        wait: Callable[[float], bool],
    ) -> None:
        self._run_pending = run_pending
        self._at = at
        self._retry = retry
        self._clock = clock
        self._wait = wait  # sleeps up to N seconds; returns True when asked to stop

    def run_forever(self) -> None:
        """Loop until ``wait`` says stop."""
        due = self._clock()
        while True:
            if self._clock() >= due:
                due = self._tick()
            if self._wait(min(60.0, max(0.0, (due - self._clock()).total_seconds()))):
                return

    def _tick(self) -> datetime:
        """Run what is pending; return when to run next."""
        try:
            self._run_pending()
        except Exception:
            log.exception("nightly ETL run failed; retrying in %s", self._retry)
            return self._clock() + self._retry
        return next_run_at(self._clock(), self._at)
