"""The nightly scheduler: catch up at start, then run once a day at a set UTC time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta

from services.common.timeutil import Clock

log = logging.getLogger(__name__)


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
