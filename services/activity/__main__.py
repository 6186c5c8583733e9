"""Composition root of the activity service: ``python -m services.activity [serve|migrate]``."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fitness.activity.v1 import activity_service_pb2, activity_service_pb2_grpc

from services.activity.config import ActivitySettings
from services.activity.grpc_server import STATUSES, ActivityServicer
from services.activity.mongo_repository import MongoWorkoutRepository, connect
from services.activity.repository import WorkoutRepository
from services.activity.service import ActivityDeps
from services.activity.sql_repository import SqlWorkoutRepository
from services.activity.users import GrpcUserDirectory
from services.common.cli import run_service
from services.common.db import make_engine, migrate, reads_in_process
from services.common.grpc_runtime import Dispatcher, GrpcServer

MIGRATIONS = Path(__file__).parent / "migrations"
SERVICE_NAME = activity_service_pb2.DESCRIPTOR.services_by_name["ActivityService"].full_name


def build_repository(settings: ActivitySettings) -> WorkoutRepository:
    """The configured store: SQL (embedded default) or MongoDB (production)."""
    if settings.store == "mongo":
        repo = MongoWorkoutRepository(connect(settings.mongo_url, settings.mongo_database))
        repo.ensure_indexes()
        return repo
    engine = make_engine(settings.database_url, pool_size=settings.worker_threads)
    if settings.migrate_on_start:
        migrate(engine, MIGRATIONS)
    return SqlWorkoutRepository(engine)


def build_server(settings: ActivitySettings) -> GrpcServer:
    """Wire the store, the user-service client and the servicer into a gRPC server."""
    users = GrpcUserDirectory(
        settings.user_service_addresses, settings.user_service_timeout, settings.tls()
    )
    deps = ActivityDeps(repo=build_repository(settings), users=users)
    executor = ThreadPoolExecutor(settings.worker_threads, thread_name_prefix="activity")
    server = GrpcServer(
        settings.host,
        settings.port,
        [SERVICE_NAME],
        settings.max_concurrent_rpcs,
        tls=settings.tls(),
    )
    inline_reads = settings.store == "sql" and reads_in_process(settings.database_url)
    servicer = ActivityServicer(deps, Dispatcher(executor, STATUSES, inline_reads))
    activity_service_pb2_grpc.add_ActivityServiceServicer_to_server(servicer, server.server)
    return server


async def serve(settings: ActivitySettings) -> None:
    """Build everything inside the event loop (grpc.aio binds to it) and serve."""
    await build_server(settings).serve_until_signalled()


def main() -> None:
    """Run ``serve`` (the default) or ``migrate``."""
    settings = ActivitySettings()
    run_service("activity-service", settings, MIGRATIONS, lambda: serve(settings))


if __name__ == "__main__":
    main()
