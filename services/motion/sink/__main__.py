"""``python -m services.motion.sink``: a warehouse sink worker (settings MOTION_SINK_*).

The sinks run on a worker thread; this thread waits for SIGTERM or Ctrl-C with
sigtimedwait (no handler that could deadlock on the stop Event), then lets the round in
flight commit and ack before exiting.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading

from prometheus_client import start_http_server

from services.common.logs import configure_logging
from services.common.redis import REDIS_FAILURES, BlockingClient, blocking_client
from services.motion.config import SinkSettings
from services.motion.sink.metrics import SinkMetrics
from services.motion.sink.rows import Kind, kinds_of
from services.motion.sink.worker import Sink, SinkConfig
from services.motion.warehouse import MotionWarehouse

log = logging.getLogger("services.motion.sink")
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
POLL = 1.0  # seconds between looks at the signals and the worker


def main() -> int:
    """Run the sinks until SIGTERM/SIGINT; 2 for bad settings, 1 if the worker died."""
    settings = SinkSettings()
    configure_logging("motion-sink", settings.log_level)
    try:
        kinds = kinds_of(settings.streams)
    except ValueError as error:
        log.error("bad MOTION_SINK_STREAMS", extra={"error": str(error)})
        return 2
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # the worker inherits the mask
    stop, failures = threading.Event(), list[BaseException]()
    worker = threading.Thread(target=work, args=(settings, kinds, stop, failures), name="sink")
    worker.start()
    while worker.is_alive():
        if signal.sigtimedwait(STOP_SIGNALS, POLL) is not None:
            log.info("stopping: the batch in flight is written and acked first")
            break
    stop.set()
    worker.join()
    return 1 if failures else 0


def work(
    settings: SinkSettings,
    kinds: tuple[Kind, ...],
    stop: threading.Event,
    failures: list[BaseException],
) -> None:
    """The worker thread: connect, serve metrics, run the sinks until ``stop``."""
    try:
        run(settings, kinds, stop)
    except Exception as error:
        log.exception("sink worker died")
        failures.append(error)


def run(settings: SinkSettings, kinds: tuple[Kind, ...], stop: threading.Event) -> None:
    """Connect, serve metrics, run the sinks until ``stop``."""
    client = connected(settings, stop)
    if client is None:
        return
    name = settings.worker_name or f"{socket.gethostname()}:{os.getpid()}"
    metrics = SinkMetrics()
    warehouse = MotionWarehouse(settings.warehouse_url)
    sink = Sink(client, warehouse, kinds, name, config_of(settings), metrics)
    metrics.watch_groups(sink.status)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.host)
    log.info("sink started", extra={"consumer": name, "sinks": [k.name for k in kinds]})
    try:
        sink.run_until(stop)
    finally:
        warehouse.close()
        client.close()


def config_of(settings: SinkSettings) -> SinkConfig:
    """The worker's figures from its settings."""
    return SinkConfig(
        partitions=settings.partitions,
        batch=settings.batch,
        claim_idle_seconds=settings.claim_idle_seconds,
        max_deliveries=settings.max_deliveries,
        poll_idle_seconds=settings.poll_idle_seconds,
    )


def connected(settings: SinkSettings, stop: threading.Event) -> BlockingClient | None:
    """A Redis client (a cluster's reads the slot map when built): retried until ``stop``."""
    while not stop.is_set():
        try:
            return blocking_client(settings.redis_url, settings.redis_timeout, 4)
        except REDIS_FAILURES as error:
            log.warning("sink cannot reach Redis yet", extra={"error": str(error)})
            stop.wait(POLL)
    return None


if __name__ == "__main__":
    sys.exit(main())
