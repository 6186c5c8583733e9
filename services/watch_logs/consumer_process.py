"""The reporting consumer in a child process of its own, so its work never holds the GIL
the RPCs need (in a thread beside them, it doubled a batch's latency: docs/benchmarks.md).

The child counts its outcomes into shared memory; the parent adds them to its own
Prometheus counter (``sync_counts``) and restarts a child that died, backing off when
children die young (a Redis that does not answer).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from services.common.logs import configure_logging
from services.common.redis import REDIS_FAILURES, BlockingClient, blocking_client
from services.watch_logs.config import WatchLogSettings
from services.watch_logs.consumer import ReportingConsumer

log = logging.getLogger(__name__)
OUTCOMES = ("processed", "duplicates", "dead_lettered")
# A fork would copy gRPC's threads and locks mid-flight: the child starts afresh.
CONTEXT = multiprocessing.get_context("spawn")
POLL = 1.0  # seconds between the child's looks at its signals, parent and worker
MAX_BACKOFF = 30.0


def consume(settings: WatchLogSettings, name: str, counts: list[Synchronized[int]]) -> None:
    """The child's body: consume in a worker thread until SIGTERM, or until the parent dies.

    SIGTERM is taken with sigtimedwait on this thread, never by a handler: a handler that
    set the Event while this thread held its lock would deadlock. Ctrl-C reaches the
    whole process group; the parent decides.
    """
    configure_logging("watch-log-consumer", settings.log_level)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # the worker inherits it
    parent, stop = os.getppid(), threading.Event()
    worker = threading.Thread(target=_work, args=(settings, name, counts, stop), daemon=True)
    worker.start()
    while worker.is_alive() and os.getppid() == parent:
        if signal.sigtimedwait({signal.SIGTERM}, POLL) is not None:
            break
    stop.set()
    worker.join(settings.redis_timeout * 3)


def _work(
    settings: WatchLogSettings, name: str, counts: list[Synchronized[int]], stop: threading.Event
) -> None:
    client = _connected(settings, stop)
    if client is None:
        return

    def count(outcome: str, n: int) -> None:
        counts[OUTCOMES.index(outcome)].value += n  # the one writer: no lock to die holding

    ReportingConsumer.from_settings(client, settings, name, count).run_until(stop)
    client.close()


def _connected(settings: WatchLogSettings, stop: threading.Event) -> BlockingClient | None:
    """A client (a cluster's reads the slot map when built): retried until ``stop``."""
    while not stop.is_set():
        try:
            return blocking_client(settings.redis_url, settings.redis_timeout, 2)
        except REDIS_FAILURES as error:
            log.warning("consumer cannot reach Redis yet", extra={"error": str(error)})
            stop.wait(POLL)
    return None


class ConsumerProcess:
    """Starts, watches and stops the child; hands its counts to ``outcomes``."""

    def __init__(
        self,
        settings: WatchLogSettings,
        name: str,
        outcomes: Callable[[str, int], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.name = name
        self.outcomes = outcomes
        self.clock = clock
        # No locks: a child SIGKILLed while holding one would hang the parent's reads.
        self.counts = [CONTEXT.Value("q", 0, lock=False) for _ in OUTCOMES]
        self.reported = [0] * len(OUTCOMES)
        self.stopping = False
        self.child: Any = None
        self.started_at = 0.0
        self.backoff = 0.0
        self.lock = threading.Lock()  # check() runs on a worker thread, stop() on another

    def start(self) -> None:
        """Start the child."""
        with self.lock:
            self._start()

    def _start(self) -> None:
        args = (self.settings, self.name, self.counts)
        child = CONTEXT.Process(target=consume, args=args, name="watch-log-consumer", daemon=True)
        child.start()
        self.child, self.started_at = child, self.clock()
        log.info("consumer started", extra={"pid": child.pid})

    def check(self) -> None:
        """Report new counts; restart a child that died (backing off if it died young)."""
        with self.lock:
            self.sync_counts()
            child = self.child
            if self.stopping or child is None or child.is_alive():
                return
            if self.clock() < self.started_at + self.backoff:
                return
            lived = self.clock() - self.started_at
            self.backoff = 0.0 if lived > MAX_BACKOFF else min(MAX_BACKOFF, 2 * self.backoff or 1)
            log.error("consumer died, restarting", extra={"exitcode": child.exitcode})
            self._start()

    def sync_counts(self) -> None:
        """Add what the children counted since the last call to ``outcomes``."""
        for index, outcome in enumerate(OUTCOMES):
            value = self.counts[index].value
            if value > self.reported[index]:
                self.outcomes(outcome, value - self.reported[index])
                self.reported[index] = value

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the child, wait for it (SIGKILL past ``timeout``), report its counts."""
        with self.lock:
            self.stopping = True
            child = self.child
            if child is not None:
                child.terminate()
                child.join(timeout)
                if child.is_alive():
                    child.kill()
                    child.join()
            self.sync_counts()
