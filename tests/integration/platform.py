"""An in-process platform: real gRPC services on loopback behind the real gateway app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from deploy.local import free_port
from gateway.__main__ import server_config
from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.edge.dependencies import Upstreams
from saga_coordinator.__main__ import SagaProcess
from services.activity.__main__ import ActivityProcess
from services.common.grpc_runtime import GrpcServer
from services.common.trust import GATEWAY
from services.health_metrics.__main__ import HealthProcess
from services.motion.__main__ import MotionProcess
from services.watch_logs.__main__ import WatchLogProcess
from tests.helpers import (
    FakeClock,
    KeyFiles,
    ServiceCerts,
    address,
    start_activity_server,
    start_health_server,
    start_motion_server,
    start_saga_coordinator,
    start_user_server,
    start_watch_log_server,
)


@dataclass
class Platform:
    """Handles on every part, for tests to poke."""

    client: httpx.AsyncClient
    app: FastAPI
    clock: FakeClock
    certs: ServiceCerts
    user_servers: list[GrpcServer] = field(default_factory=list)
    activity_servers: list[ActivityProcess] = field(default_factory=list)
    sagas: SagaProcess | None = None
    user_database_url: str = ""
    watch_logs: WatchLogProcess | None = None
    motion: MotionProcess | None = None
    health: HealthProcess | None = None

    @property
    def upstreams(self) -> Upstreams:
        """The gateway's pools."""
        pools: Upstreams = self.app.state.upstreams
        return pools


@asynccontextmanager
async def running_platform(
    user_db: str,
    activity_db: str,
    saga_db: str,
    keys: KeyFiles,
    redis_url: str,
    user_ports: list[int] | None = None,
    *,
    certs: ServiceCerts,
    watch_log_options: dict[str, Any] | None = None,
    motion_options: dict[str, Any] | None = None,
    health_database_url: str = "",
    **gateway_options: object,
) -> AsyncIterator[Platform]:
    """Start user and activity services and the gateway, all over mTLS; stop them afterwards.

    ``watch_log_options`` are WatchLogSettings fields (say, injected faults),
    ``motion_options`` MotionSettings fields. The health-metrics service runs on
    ``health_database_url`` (PostgreSQL) when one is given; without, its routes are 503."""
    # The user service forgets changed profiles in the gateways' cache (the same Redis).
    users = [
        await start_user_server(user_db, keys, port, certs=certs, redis_url=redis_url)
        for port in user_ports or [0]
    ]
    user_addresses = [address(s) for s in users]
    # The activity service's relay publishes goal alerts to the gateways' Redis.
    activity = await start_activity_server(
        activity_db, user_addresses, certs=certs, redis_url=redis_url
    )
    sagas = await start_saga_coordinator(saga_db, user_addresses, [address(activity)], certs=certs)
    watch_logs = await start_watch_log_server(redis_url, certs=certs, **(watch_log_options or {}))
    motion = await start_motion_server(redis_url, certs=certs, **(motion_options or {}))
    health = (
        await start_health_server(health_database_url, certs=certs) if health_database_url else None
    )
    settings = GatewaySettings(
        tls_ca_file=certs.of(GATEWAY).ca,
        tls_cert_file=certs.of(GATEWAY).cert,
        tls_key_file=certs.of(GATEWAY).key,
        user_service_addresses=user_addresses,
        activity_service_addresses=[address(activity)],
        saga_coordinator_addresses=[sagas.server.bound_address],
        watch_log_service_addresses=[watch_logs.bound_address],
        motion_service_addresses=[motion.bound_address],
        # Without a service of its own, a port where nothing listens (never a `make run`'s).
        health_service_addresses=[health.bound_address if health else f"127.0.0.1:{free_port()}"],
        jwt_public_key_file=keys.public,
        redis_url=redis_url,
        # Every test registers from the one ASGI client address into the session's Redis,
        # and the generative tests create far more per minute than a person would.
        **{  # type: ignore[arg-type]
            "register_max_attempts": 1_000_000,
            "create_max_per_window": 1_000_000,
            **gateway_options,
        },
    )
    clock = FakeClock()
    app = create_app(settings, clock=clock, health_checks=False)
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://gateway") as client,
        ):
            yield Platform(
                client,
                app,
                clock,
                certs,
                users,
                [activity],
                sagas,
                user_db,
                watch_logs,
                motion,
                health,
            )
    finally:
        if health is not None:
            await health.stop(grace=0)
        await motion.stop(grace=0)
        await watch_logs.stop(grace=0)
        await sagas.stop(grace=0)
        await activity.stop(grace=0)
        for server in users:
            await server.stop(grace=0)


def sqlite_platform(
    tmp_path: Path, keys: KeyFiles, redis_url: str, *, certs: ServiceCerts, **options: Any
) -> AbstractAsyncContextManager[Platform]:
    """``running_platform`` over fresh SQLite files in ``tmp_path`` (options pass through)."""
    return running_platform(
        f"sqlite:///{tmp_path / 'user.db'}",
        f"sqlite:///{tmp_path / 'activity.db'}",
        f"sqlite:///{tmp_path / 'saga.db'}",
        keys,
        redis_url,
        certs=certs,
        **options,
    )


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The platform's running app on a free port (its lifespan already runs: not again)."""
    settings = getattr(app.state, "settings", None) or GatewaySettings()
    on_a_free_port = settings.model_copy(update={"host": "127.0.0.1", "port": free_port()})
    async with served_as_gateway(app, on_a_free_port, lifespan=False) as url:
        yield url


@asynccontextmanager
async def served_as_gateway(
    app: FastAPI, settings: GatewaySettings, lifespan: bool = True
) -> AsyncIterator[str]:
    """``app`` served by uvicorn as ``python -m gateway`` configures it; yields its base URL."""
    config = server_config(app, settings)
    if not lifespan:
        config.lifespan = "off"  # read when the server starts
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # it could not start: say why
        await asyncio.sleep(0.01)
    try:
        yield f"http://{settings.host}:{settings.port}"
    finally:
        server.should_exit = True
        await serving
