"""Composition root of the activity service: ``python -m services.activity [serve|migrate]``."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from fitness.activity.v1 import activity_service_pb2, activity_service_pb2_grpc

from services.activity.config import ActivitySettings
from services.activity.grpc_server import STATUSES, ActivityServicer
from services.activity.mongo_repository import MongoWorkoutRepository, connect
from services.activity.outbox_mongo import MongoProgressOutbox
from services.activity.outbox_sql import SqlProgressOutbox
from services.activity.relay import ProgressRelay, RelayPolicy
from services.activity.relay_adapters import GrpcProgressSink, RedisAlertPublisher
from services.activity.repository import ProgressOutbox, WorkoutRepository
from services.activity.service import ActivityDeps
from services.activity.sql_repository import SqlWorkoutRepository
from services.activity.users import GrpcUserDirectory
from services.common.cache import (
    BlockingCache,
    CacheAside,
    Invalidator,
    NoInvalidation,
    on_redis,
)
from services.common.cli import run_service
from services.common.db import make_engine, migrate, reads_in_process
from services.common.grpc_runtime import Dispatcher, GrpcServer, wait_for_signal
from services.common.redis import command_client

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
SERVICE_NAME = activity_service_pb2.DESCRIPTOR.services_by_name["ActivityService"].full_name


def build_stores(settings: ActivitySettings) -> tuple[WorkoutRepository, ProgressOutbox]:
    """The configured store, SQL (embedded default) or MongoDB, and its progress outbox."""
    if settings.store == "mongo":
        db = connect(settings.mongo_url, settings.mongo_database)
        repo = MongoWorkoutRepository(db)
        repo.ensure_indexes()
        return repo, MongoProgressOutbox(db)
    # One connection more than the worker threads: the relay's.
    engine = make_engine(settings.database_url, pool_size=settings.worker_threads + 1)
    if settings.migrate_on_start:
        migrate(engine, MIGRATIONS)
    return SqlWorkoutRepository(engine), SqlProgressOutbox(engine)


def relay_policy(settings: ActivitySettings) -> RelayPolicy:
    """The relay's pacing, from the settings."""
    return RelayPolicy(
        lease=timedelta(seconds=settings.relay_lease_seconds),
        poll_interval=settings.relay_poll_interval,
        max_backoff=settings.relay_max_backoff,
        initial_backoff=min(0.5, settings.relay_max_backoff),
        retention=timedelta(seconds=settings.outbox_retention),
        # Outer guards only: the pool's and Redis' own deadlines are meant to fire first.
        call_timeout=max(settings.user_service_timeout, settings.redis_timeout) + 1.0,
    )


def invalidator(cache: CacheAside | None) -> Invalidator:
    """The use cases' handle to forget cached statistics (needs the running loop)."""
    if cache is None:
        return NoInvalidation()
    loop = asyncio.get_running_loop()
    return BlockingCache(cache, loop, cache.policy.invalidate_timeout)


class ActivityProcess:
    """The activity service's gRPC server and progress relay, started and stopped together."""

    def __init__(self, settings: ActivitySettings) -> None:
        tls = settings.tls()
        repo, outbox = build_stores(settings)
        # The relay's connections and the cache's, one per worker thread at most.
        connections = settings.worker_threads + 4
        self.redis = (
            command_client(settings.redis_url, settings.redis_timeout, connections)
            if settings.redis_url
            else None
        )
        cache = on_redis(self.redis, settings.cache_timeout) if self.redis else None
        self.users = GrpcUserDirectory(
            settings.user_service_addresses, settings.user_service_timeout, tls, cache
        )
        self.relay = ProgressRelay(
            outbox,
            GrpcProgressSink(self.users.pool),  # the same client and breakers as GetUser
            RedisAlertPublisher(self.redis, settings.redis_timeout) if self.redis else None,
            owner=f"{socket.gethostname()}:{os.getpid()}:{settings.port}",
            policy=relay_policy(settings),
        )
        executor = ThreadPoolExecutor(settings.worker_threads, thread_name_prefix="activity")
        self.server = GrpcServer(
            settings.host, settings.port, [SERVICE_NAME], settings.max_concurrent_rpcs, tls=tls
        )
        inline_reads = settings.store == "sql" and reads_in_process(settings.database_url)
        servicer = ActivityServicer(
            ActivityDeps(repo=repo, users=self.users, cache=invalidator(cache)),
            Dispatcher(executor, STATUSES, inline_reads),
            progress_queued=self.relay.wake,
        )
        activity_service_pb2_grpc.add_ActivityServiceServicer_to_server(
            servicer, self.server.server
        )
        self._stopping = asyncio.Event()
        self._relaying: asyncio.Task[None] | None = None

    @property
    def bound_address(self) -> str:
        """host:port the server listens on."""
        return self.server.bound_address

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self.server.port

    async def start(self) -> None:
        """Take calls, and deliver the outbox in the background."""
        await self.server.start()
        self._relaying = asyncio.create_task(self.relay.run_until(self._stopping))

    async def stop(self, grace: float = 5.0) -> None:
        """Stop serving and relaying (pending events stay in the outbox) and close clients."""
        self._stopping.set()
        await self.server.stop(grace)
        if self._relaying:
            await self._relaying
        await self.users.close()
        if self.redis:
            await self.redis.aclose()


async def serve(settings: ActivitySettings) -> None:
    """Build everything inside the event loop (grpc.aio binds to it) and serve."""
    process = ActivityProcess(settings)
    await process.start()
    log.info("serving", extra={"address": process.bound_address})
    await wait_for_signal()
    await process.stop()


def main() -> None:
    """Run ``serve`` (the default) or ``migrate``."""
    settings = ActivitySettings()
    run_service("activity-service", settings, MIGRATIONS, lambda: serve(settings))


if __name__ == "__main__":
    main()
