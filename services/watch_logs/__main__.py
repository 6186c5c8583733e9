"""Composition root of the watch-log service: ``python -m services.watch_logs``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from fitness.watch_logs.v1 import watch_logs_service_pb2, watch_logs_service_pb2_grpc

from services.common.cli import serve_process
from services.common.grpc_runtime import (
    Dispatcher,
    GrpcServer,
    time_left,
    wait_for_signal,
)
from services.common.redis import blocking_client
from services.watch_logs.config import WatchLogSettings
from services.watch_logs.consumer import ReportingConsumer
from services.watch_logs.consumer_process import ConsumerProcess
from services.watch_logs.faults import FaultInjector, FaultPlan
from services.watch_logs.grpc_server import STATUSES, WatchLogServicer
from services.watch_logs.metrics import WatchLogMetrics
from services.watch_logs.redis_store import RedisWatchLogStore
from services.watch_logs.service import Limits, WatchLogDeps

log = logging.getLogger(__name__)
SERVICE_NAME = watch_logs_service_pb2.DESCRIPTOR.services_by_name["WatchLogService"].full_name


def fault_plan(settings: WatchLogSettings) -> FaultPlan:
    """The simulated faults the settings ask for (none by default)."""
    methods = frozenset(name.strip() for name in settings.fault_methods.split(",") if name.strip())
    return FaultPlan(
        SERVICE_NAME,
        error_rate=settings.fault_error_rate,
        delay_rate=settings.fault_delay_rate,
        delay_mean_seconds=settings.fault_delay_mean_ms / 1000,
        methods=methods,
    )


def limits(settings: WatchLogSettings) -> Limits:
    """The acceptance window and read bounds, from the settings."""
    return Limits(
        max_sample_age=timedelta(hours=settings.max_sample_age_hours),
        max_clock_skew=timedelta(seconds=settings.max_clock_skew_seconds),
        retention=timedelta(hours=settings.retention_hours),
        scan_budget=settings.scan_budget,
        aggregate_budget=settings.aggregate_budget,
    )


class WatchLogProcess:
    """The gRPC server and the reporting consumer, started and stopped together."""

    def __init__(self, settings: WatchLogSettings, metrics: WatchLogMetrics) -> None:
        tls = settings.tls()

        def count(outcome: str, n: int) -> None:
            metrics.consumed.labels(outcome).inc(n)

        # One connection per worker thread, the consumer's, and the metrics scrape's.
        self.redis = blocking_client(
            settings.redis_url, settings.redis_timeout, settings.worker_threads + 2
        )
        store = RedisWatchLogStore.from_settings(self.redis, settings)
        metrics.watch_streams(store.status)
        plan = fault_plan(settings)
        draws = random.Random(settings.fault_seed or None)  # a seed replays a drill exactly
        interceptors = [FaultInjector(plan, draws, metrics.fault)] if plan.active else []
        self.server = GrpcServer(
            settings.host,
            settings.port,
            [SERVICE_NAME],
            settings.max_concurrent_rpcs,
            tls=tls,
            interceptors=interceptors,
        )
        executor = ThreadPoolExecutor(settings.worker_threads, thread_name_prefix="watch-logs")
        servicer = WatchLogServicer(
            WatchLogDeps(store=store, limits=limits(settings), time_left=time_left),
            Dispatcher(executor, STATUSES),
            metrics,
        )
        watch_logs_service_pb2_grpc.add_WatchLogServiceServicer_to_server(
            servicer, self.server.server
        )
        name = f"{socket.gethostname()}:{os.getpid()}:{self.server.port}"
        self.consumer: ReportingConsumer | None = None
        self.consumer_process: ConsumerProcess | None = None
        if settings.consumer_enabled and settings.consumer_mode == "thread":
            self.consumer = ReportingConsumer.from_settings(self.redis, settings, name, count)
        elif settings.consumer_enabled:
            self.consumer_process = ConsumerProcess(settings, name, count)
        self._stopping = threading.Event()
        self._consuming: asyncio.Future[None] | None = None
        self._watching: asyncio.Task[None] | None = None

    @property
    def bound_address(self) -> str:
        """host:port the server listens on."""
        return self.server.bound_address

    async def start(self) -> None:
        """Take calls, and keep the daily summaries current in a child process (or thread)."""
        await self.server.start()
        if self.consumer is not None:
            self._consuming = asyncio.ensure_future(
                asyncio.to_thread(self.consumer.run_until, self._stopping)
            )
        if self.consumer_process is not None:
            await asyncio.to_thread(self.consumer_process.start)
            self._watching = asyncio.create_task(watch(self.consumer_process))

    async def stop(self, grace: float = 5.0) -> None:
        """Stop serving and consuming (unacked entries stay pending) and close Redis."""
        self._stopping.set()
        await self.server.stop(grace)
        if self._watching is not None:
            self._watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watching
        # stop() waits for a check() still running on its thread (the child's lock).
        if self.consumer_process is not None:
            await asyncio.to_thread(self.consumer_process.stop)
        if self._consuming is not None:
            await self._consuming
        self.redis.close()


async def watch(child: ConsumerProcess, every: float = 1.0) -> None:
    """Every second: the child's counts into the metrics; a dead child restarted."""
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(child.check)
        except Exception:  # a failed restart (no memory for a process): try again later
            log.exception("consumer check failed")


async def serve(settings: WatchLogSettings) -> None:
    """Build everything inside the event loop (grpc.aio binds to it) and serve."""
    process = WatchLogProcess(settings, WatchLogMetrics())
    await process.start()
    log.info("serving", extra={"address": process.bound_address})
    await wait_for_signal()
    await process.stop()


def main() -> None:
    """Serve with JSON logs and, if configured, a metrics port."""
    settings = WatchLogSettings()
    serve_process("watch-log-service", settings, lambda: serve(settings))


if __name__ == "__main__":
    main()
