"""The reporting consumer in a child process of its own, so its work never holds the GIL
the RPCs need (in a thread beside them, it doubled a batch's latency: docs/benchmarks.md).

The child counts its outcomes into shared memory; the parent adds them to its own
Prometheus counter (``sync_counts``) and restarts a child that died.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from services.common.logs import configure_logging
from services.common.redis import blocking_client
from services.watch_logs.config import WatchLogSettings
from services.watch_logs.consumer import ReportingConsumer

log = logging.getLogger(__name__)
OUTCOMES = ("processed", "duplicates", "dead_lettered")
# A fork would copy gRPC's threads and locks mid-flight: the child starts afresh.
CONTEXT = multiprocessing.get_context("spawn")


def consume(settings: WatchLogSettings, name: str, counts: list[Synchronized[int]]) -> None:
    """The child's body: run the consumer until the parent's SIGTERM."""
    configure_logging("watch-log-consumer", settings.log_level)
    # A signal, not a multiprocessing.Event: an Event whose waiter was SIGKILLed hangs the
    # next set() for good. Ctrl-C reaches the whole process group: the parent decides.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    client = blocking_client(settings.redis_url, settings.redis_timeout, 2)

    def count(outcome: str, n: int) -> None:
        shared = counts[OUTCOMES.index(outcome)]
        with shared.get_lock():
            shared.value += n

    ReportingConsumer.from_settings(client, settings, name, count).run_until(stop)
    client.close()


class ConsumerProcess:
    """Starts, watches and stops the child; hands its counts to ``outcomes``."""

    def __init__(
        self, settings: WatchLogSettings, name: str, outcomes: Callable[[str, int], None]
    ) -> None:
        self.settings = settings
        self.name = name
        self.outcomes = outcomes
        self.counts = [CONTEXT.Value("q", 0) for _ in OUTCOMES]
        self.reported = [0] * len(OUTCOMES)
        self.stopping = False
        self.child: Any = None

    def start(self) -> None:
        """Start the child (again, if it died)."""
        args = (self.settings, self.name, self.counts)
        self.child = CONTEXT.Process(target=consume, args=args, name="watch-log-consumer")
        self.child.start()
        log.info("consumer started", extra={"pid": self.child.pid})

    def check(self) -> None:
        """Report new counts; restart a child that died (logged) unless stopping."""
        self.sync_counts()
        if self.child is not None and not self.child.is_alive() and not self.stopping:
            log.error("consumer died, restarting", extra={"exitcode": self.child.exitcode})
            self.start()

    def sync_counts(self) -> None:
        """Add what the child counted since the last call to ``outcomes``."""
        for index, outcome in enumerate(OUTCOMES):
            value = self.counts[index].value
            if value > self.reported[index]:
                self.outcomes(outcome, value - self.reported[index])
                self.reported[index] = value

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the child, wait for it (SIGKILL past ``timeout``), report its counts."""
        self.stopping = True
        if self.child is not None:
            self.child.terminate()
            self.child.join(timeout)
            if self.child.is_alive():
                self.child.kill()
                self.child.join()
        self.sync_counts()
