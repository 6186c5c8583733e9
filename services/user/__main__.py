"""Composition root of the user service: ``python -m services.user [serve|migrate|roles]``."""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fitness.user.v1 import user_service_pb2, user_service_pb2_grpc

from services.common.cache import BlockingCache, Invalidator, NoInvalidation, on_redis
from services.common.cli import run_service
from services.common.db import make_engine, migrate, reads_in_process
from services.common.grpc_runtime import Dispatcher, GrpcServer
from services.common.redis import command_client
from services.user import roles_cli
from services.user.auth_store import SqlAuthStore
from services.user.config import UserSettings
from services.user.grpc_server import STATUSES, UserServicer
from services.user.passwords import Argon2idHasher
from services.user.service import UserDeps
from services.user.sql_repository import SqlUserRepository
from services.user.tokens import TokenIssuer

MIGRATIONS = Path(__file__).parent / "migrations"
SERVICE_NAME = user_service_pb2.DESCRIPTOR.services_by_name["UserService"].full_name


def build_deps(settings: UserSettings) -> UserDeps:
    """Wire the repository, hasher and token issuer from settings."""
    engine = make_engine(settings.database_url, pool_size=settings.worker_threads)
    if settings.migrate_on_start:
        migrate(engine, MIGRATIONS)
    hasher = Argon2idHasher(
        max_concurrent=settings.hash_concurrency,
        max_waiting=settings.hash_queue_size,
        queue_timeout=settings.hash_queue_timeout,
    )
    tokens = TokenIssuer(
        settings.jwt_private_key_file.read_bytes(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.token_ttl_seconds,
    )
    decoy = hasher.hash("decoy password that no account has")
    return UserDeps(
        repo=SqlUserRepository(engine),
        hasher=hasher,
        tokens=tokens,
        auth=SqlAuthStore(engine),
        decoy_hash=decoy,
        refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
        cache=profile_invalidator(settings),
    )


def profile_invalidator(settings: UserSettings) -> Invalidator:
    """Forgets cached profiles in the shared cache, if one is configured (needs the loop)."""
    if not settings.redis_url:
        return NoInvalidation()
    client = command_client(settings.redis_url, settings.cache_timeout, settings.worker_threads)
    cache = on_redis(client, settings.cache_timeout)
    return BlockingCache(cache, asyncio.get_running_loop(), cache.policy.invalidate_timeout)


def build_server(settings: UserSettings, deps: UserDeps) -> GrpcServer:
    """Create the gRPC server with the user servicer registered."""
    executor = ThreadPoolExecutor(settings.worker_threads, thread_name_prefix="user")
    server = GrpcServer(
        settings.host,
        settings.port,
        [SERVICE_NAME],
        settings.max_concurrent_rpcs,
        tls=settings.tls(),
    )
    dispatcher = Dispatcher(
        executor, STATUSES, inline_reads=reads_in_process(settings.database_url)
    )
    servicer = UserServicer(deps, dispatcher)
    user_service_pb2_grpc.add_UserServiceServicer_to_server(servicer, server.server)
    return server


def main() -> None:
    """Run ``serve`` (the default), ``migrate`` or ``roles ...``."""
    settings = UserSettings()
    roles = functools.partial(roles_cli.run, settings, MIGRATIONS)
    run_service(
        "user-service", settings, MIGRATIONS, lambda: serve(settings), commands={"roles": roles}
    )


async def serve(settings: UserSettings) -> None:
    """Build everything inside the event loop (grpc.aio binds to it) and serve."""
    await build_server(settings, build_deps(settings)).serve_until_signalled()


if __name__ == "__main__":
    main()
