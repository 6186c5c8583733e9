"""``python -m services.health_metrics.ingester``: the simulated-device ingester
(settings HEALTH_INGESTER_*).

Rounds run on a worker thread; this thread waits for SIGTERM or Ctrl-C with sigtimedwait
(no handler that could deadlock on the stop Event), then lets the batch in flight commit.
The day it belonged to is not marked, so the next start does it again, changing nothing
already stored.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import UTC, date, datetime, timedelta

from prometheus_client import start_http_server

from services.common.dependency import DependencyUnavailable
from services.common.logs import configure_logging
from services.health_metrics.__main__ import RECONNECT_SECONDS, ensure_database
from services.health_metrics.config import IngesterSettings
from services.health_metrics.ingester.metrics import IngesterMetrics
from services.health_metrics.ingester.worker import Ingester, Schedule
from services.health_metrics.postgres import PostgresHealthStore, open_store

log = logging.getLogger("services.health_metrics.ingester")
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
POLL = 1.0  # seconds between looks at the signals and the worker


def main() -> int:
    """Ingest until SIGTERM/SIGINT; 2 for bad settings, 1 if the worker died."""
    settings = IngesterSettings()
    configure_logging("health-ingester", settings.log_level)
    try:
        schedule = Schedule(first_day(settings), settings.interval_seconds, seed=settings.seed)
    except ValueError as error:
        log.error("bad HEALTH_INGESTER_FIRST_DAY", extra={"error": str(error)})
        return 2
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # the worker inherits the mask
    stop, failures = threading.Event(), list[BaseException]()
    args = (settings, schedule, stop, failures)
    worker = threading.Thread(target=work, args=args, name="ingester")
    worker.start()
    while worker.is_alive():
        if signal.sigtimedwait(STOP_SIGNALS, POLL) is not None:
            log.info("stopping: the batch in flight is committed first")
            break
    stop.set()
    worker.join()
    return 1 if failures else 0


def work(
    settings: IngesterSettings,
    schedule: Schedule,
    stop: threading.Event,
    failures: list[BaseException],
) -> None:
    """The worker thread: connect, serve metrics, run rounds until ``stop``."""
    try:
        run(settings, schedule, stop)
    except Exception as error:
        log.exception("ingester died")
        failures.append(error)


def first_day(settings: IngesterSettings) -> date:
    """The configured first day, or a week before today: the demo shows recent days soon."""
    if settings.first_day:
        return date.fromisoformat(settings.first_day)
    return datetime.now(UTC).date() - timedelta(days=7)


def run(settings: IngesterSettings, schedule: Schedule, stop: threading.Event) -> None:
    """Connect, serve metrics, run rounds until ``stop``."""
    store = connected(settings.database_url, stop)
    if store is None:
        return
    metrics = IngesterMetrics()
    if settings.metrics_port:
        start_http_server(settings.metrics_port, settings.host)
    log.info("ingester started", extra={"first_day": str(schedule.first_day)})
    try:
        Ingester(store, schedule, metrics).run_until(stop)
    finally:
        store.close()


def connected(url: str, stop: threading.Event) -> PostgresHealthStore | None:
    """The store, its database and schema created if missing: retried until ``stop``."""
    while not stop.is_set():
        try:
            ensure_database(url)
            return open_store(url, pool_size=2)
        except DependencyUnavailable as error:
            log.warning("database not reachable yet", extra={"error": str(error)})
            stop.wait(RECONNECT_SECONDS)
    return None


if __name__ == "__main__":
    sys.exit(main())
