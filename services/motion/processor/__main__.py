"""``python -m services.motion.processor``: one processor worker (MOTION_PROCESSOR_*).

The worker runs on its own thread; the main thread waits for SIGTERM or SIGINT with
sigwait (no handler that could interrupt the worker's lock), then the worker finishes
its round and releases its leases, so another worker takes the partitions at once.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid

from prometheus_client import CollectorRegistry, start_http_server

from services.common.logs import configure_logging
from services.common.redis import REDIS_FAILURES, BlockingClient, blocking_client
from services.motion.config import ProcessorSettings
from services.motion.processor.metrics import ProcessorMetrics
from services.motion.processor.redis_adapter import RedisProcessorStore
from services.motion.processor.worker import Worker, WorkerConfig
from services.motion.windows import WindowSpec

log = logging.getLogger(__name__)
SIGNALS = {signal.SIGTERM, signal.SIGINT}
CONNECT_RETRY_SECONDS = 1.0


def worker_config(settings: ProcessorSettings) -> WorkerConfig:
    """The worker's windows, partitions and pace, from the settings."""
    spec = WindowSpec(
        settings.window_ms, settings.slide_ms, settings.grace_ms, settings.idle_timeout_ms
    )
    return WorkerConfig(
        spec, settings.partitions, settings.lease_ms, settings.batch, settings.poll_idle_seconds
    )


def build(
    settings: ProcessorSettings, client: BlockingClient, registry: CollectorRegistry
) -> Worker:
    """A worker over ``client`` as the settings describe."""
    name = settings.worker_name or f"{socket.gethostname()}:{os.getpid()}"
    store = RedisProcessorStore(
        client,
        name,
        processed_max_length=settings.processed_max_length,
        retention_ms=int(settings.records_retention_hours * 3_600_000),
        continuity_ms=settings.slide_ms,
    )
    token = f"{name}:{uuid.uuid4().hex}"  # unique per process, even if a name is reused
    return Worker(store, worker_config(settings), name, token, ProcessorMetrics(registry))


def connected(settings: ProcessorSettings, stop: threading.Event) -> BlockingClient | None:
    """A client (a cluster's reads the slot map when built), retried until ``stop``."""
    while not stop.is_set():
        try:
            return blocking_client(settings.redis_url, settings.redis_timeout, 4)
        except REDIS_FAILURES as error:
            log.warning("processor cannot reach Redis yet", extra={"error": str(error)})
            stop.wait(CONNECT_RETRY_SECONDS)
    return None


def work(settings: ProcessorSettings, registry: CollectorRegistry, stop: threading.Event) -> None:
    """The worker thread's body."""
    client = connected(settings, stop)
    if client is None:
        return
    worker = build(settings, client, registry)
    log.info("processor started", extra={"worker": worker.leases.worker})
    worker.run_until(stop)
    client.close()
    log.info("processor stopped", extra={"worker": worker.leases.worker})


def main() -> None:
    """Run one worker until SIGTERM/SIGINT."""
    settings = ProcessorSettings()
    configure_logging("motion-processor", settings.log_level)
    registry = CollectorRegistry()
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.host, registry=registry)
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)  # the worker thread inherits the mask
    stop = threading.Event()
    thread = threading.Thread(target=work, args=(settings, registry, stop), name="processor")
    thread.start()
    while thread.is_alive():
        if signal.sigtimedwait(SIGNALS, 1.0) is not None:
            break
    died = not stop.is_set() and not thread.is_alive()
    stop.set()
    thread.join()
    if died:  # not asked to stop: the supervisor must see a failure and restart it
        raise SystemExit(1)


if __name__ == "__main__":
    main()
