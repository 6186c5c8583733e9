"""Composition root of the health-metrics service: ``python -m services.health_metrics``.

One process serves the gRPC API and runs the rollup refresh loop on a daemon thread.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from fitness.health.v1 import health_metrics_service_pb2, health_metrics_service_pb2_grpc
from sqlalchemy import Connection, make_url, text
from sqlalchemy.exc import DBAPIError

from services.common.cli import serve_process
from services.common.db import make_engine
from services.common.dependency import DependencyUnavailable
from services.common.grpc_runtime import Dispatcher, GrpcServer, wait_for_signal
from services.common.timeutil import utc_now
from services.health_metrics.config import HealthSettings
from services.health_metrics.grpc_server import STATUSES, HealthMetricsServicer
from services.health_metrics.metrics import HealthMetrics
from services.health_metrics.postgres import open_store
from services.health_metrics.refresher import RefreshLoop
from services.health_metrics.service import HealthDeps, Limits

log = logging.getLogger(__name__)
SERVICE_NAME = health_metrics_service_pb2.DESCRIPTOR.services_by_name[
    "HealthMetricsService"
].full_name
# Seconds between attempts to reach a database that is not up yet (make run starts its
# PostgreSQL alongside this service).
RECONNECT_SECONDS = 1.0
# The database every PostgreSQL server has, from which a missing one is created.
MAINTENANCE_DATABASE = "postgres"


def limits(settings: HealthSettings) -> Limits:
    """What the service accepts, from the settings."""
    return Limits(
        max_points=settings.max_points,
        max_clock_skew=timedelta(seconds=settings.max_clock_skew_seconds),
    )


class HealthProcess:
    """The gRPC server and the refresh loop over one store, started and stopped together."""

    def __init__(self, settings: HealthSettings, metrics: HealthMetrics) -> None:
        # One connection per worker thread, and one for the refresh loop.
        self.store = open_store(settings.database_url, settings.worker_threads + 1)
        deps = HealthDeps(store=self.store, limits=limits(settings), clock=utc_now)
        try:
            self.server = GrpcServer(
                settings.host,
                settings.port,
                [SERVICE_NAME],
                settings.max_concurrent_rpcs,
                tls=settings.tls(),
            )
        except BaseException:
            self.store.close()
            raise
        executor = ThreadPoolExecutor(settings.worker_threads, thread_name_prefix="health")
        servicer = HealthMetricsServicer(deps, Dispatcher(executor, STATUSES), metrics)
        health_metrics_service_pb2_grpc.add_HealthMetricsServiceServicer_to_server(  # type: ignore[no-untyped-call]
            servicer, self.server.server
        )
        self.refresher = RefreshLoop(
            deps, metrics, settings.refresh_interval_seconds, settings.refresh_batch_minutes
        )

    @property
    def bound_address(self) -> str:
        """host:port the server listens on."""
        return self.server.bound_address

    async def start(self) -> None:
        """Take calls and start refreshing."""
        await self.server.start()
        self.refresher.start()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop serving (NOT_SERVING first), let a refresh in flight commit, close the store."""
        await self.server.stop(grace)
        await asyncio.to_thread(self.refresher.stop, grace + 10.0)
        self.store.close()


def ensure_database(url: str) -> None:
    """Create the database of ``url`` unless it exists (make run's PostgreSQL starts with
    none but its own); DatabaseUnavailable while the server cannot be reached."""
    if _connects(url):
        return
    target = make_url(url)
    maintenance = target.set(database=MAINTENANCE_DATABASE).render_as_string(hide_password=False)
    engine = make_engine(maintenance, pool_size=1, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            if not _exists(connection, str(target.database)):
                _create(connection, str(target.database))
    finally:
        engine.dispose()


def _exists(connection: Connection, name: str) -> bool:
    found = "SELECT 1 FROM pg_database WHERE datname = :name"
    return connection.scalar(text(found), {"name": name}) is not None


def _create(connection: Connection, name: str) -> None:
    quoted = connection.dialect.identifier_preparer.quote(name)
    try:
        connection.execute(text(f"CREATE DATABASE {quoted}"))
    except DBAPIError:
        # Another process starting at the same moment created it first: PostgreSQL says
        # so as 42P04 or as a unique violation on pg_database, depending on the timing.
        if not _exists(connection, name):
            raise
        return
    log.info("database created", extra={"database": name})


def _connects(url: str) -> bool:
    engine = make_engine(url, pool_size=1)
    try:
        engine.connect().close()
        return True
    except Exception:  # any refusal: the maintenance database tells more
        return False
    finally:
        engine.dispose()


async def started(settings: HealthSettings, metrics: HealthMetrics) -> HealthProcess:
    """A started process, once its database answers (retried until then)."""
    while True:
        try:
            ensure_database(settings.database_url)
            process = HealthProcess(settings, metrics)
            break
        except DependencyUnavailable as error:
            log.warning("database not reachable yet", extra={"error": str(error)})
            await asyncio.sleep(RECONNECT_SECONDS)
    await process.start()
    return process


async def serve(settings: HealthSettings) -> None:
    """Build everything inside the event loop (grpc.aio binds to it) and serve."""
    process = await started(settings, HealthMetrics())
    log.info("serving", extra={"address": process.bound_address})
    await wait_for_signal()
    await process.stop()


def main() -> None:
    """Serve with JSON logs and, if configured, a metrics port."""
    settings = HealthSettings()
    serve_process("health-metrics-service", settings, lambda: serve(settings))


if __name__ == "__main__":
    main()
