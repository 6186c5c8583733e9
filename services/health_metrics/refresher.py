"""The refresh loop: a daemon thread that keeps the rollups fresh.

It refreshes again at once while dirty minutes remain after a refresh (a backlog is
worked off batch by batch), and pauses ``interval`` seconds once none does. Every
instance runs one; the store's lock makes their refreshes take turns, so a second
instance is a standby, not a conflict.
"""

from __future__ import annotations

import logging
import threading
import time

from services.health_metrics import service
from services.health_metrics.domain import StoreUnavailable
from services.health_metrics.metrics import HealthMetrics
from services.health_metrics.service import HealthDeps

log = logging.getLogger(__name__)


class RefreshLoop:
    """Calls ``service.refresh_rollups`` on its own thread until stopped."""

    def __init__(
        self, deps: HealthDeps, metrics: HealthMetrics, interval: float, batch_minutes: int
    ) -> None:
        self.deps = deps
        self.metrics = metrics
        self.interval = interval
        self.batch_minutes = batch_minutes
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="health-refresh", daemon=True)

    def start(self) -> None:
        """Start refreshing."""
        self.thread.start()

    def stop(self, timeout: float) -> None:
        """Let the refresh in flight commit, then end the thread (waiting ``timeout`` at most)."""
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout)

    def run(self) -> None:
        """Refresh while work remains, pause when none does, until stopped."""
        while not self.stopping.is_set():
            if not self.refresh_once():
                self.stopping.wait(self.interval)

    def refresh_once(self) -> bool:
        """One refresh; whether dirty minutes remain for an immediate next one."""
        started = time.perf_counter()
        try:
            report = service.refresh_rollups(self.deps, self.batch_minutes)
            self.metrics.refreshed_once(report, time.perf_counter() - started)
            self.metrics.refresh_lag.set(self.deps.store.oldest_dirty_seconds())
        except StoreUnavailable as error:
            # The database is away: try again after the pause, as it may take a while.
            self.metrics.refresh_failures.inc()
            log.warning("rollup refresh failed", extra={"error": str(error)})
            return False
        except Exception:
            # A bug must not end the thread: rollups would silently stop being refreshed.
            self.metrics.refresh_failures.inc()
            log.exception("rollup refresh failed")
            return False
        return report.remaining > 0
