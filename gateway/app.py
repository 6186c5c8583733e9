"""Builds the FastAPI application: routers, middleware, error handlers, upstream pools."""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fitness.activity.v1 import activity_service_pb2, activity_service_pb2_grpc
from fitness.saga.v1 import saga_service_pb2, saga_service_pb2_grpc
from fitness.user.v1 import user_service_pb2, user_service_pb2_grpc
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.breaker import Clock
from gateway.config import GatewaySettings
from gateway.edge import health
from gateway.edge.auth import TokenVerifier
from gateway.edge.creation_limit import CreationLimit
from gateway.edge.dependencies import Upstreams
from gateway.edge.errors import install_error_handlers
from gateway.edge.idempotency import IdempotencyMiddleware
from gateway.edge.login_throttle import LoginThrottle
from gateway.edge.metrics import GatewayMetrics
from gateway.edge.middleware import (
    BodyLimitMiddleware,
    MetricsMiddleware,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
)
from gateway.edge.openapi import install_openapi
from gateway.edge.text import JsonTextMiddleware
from gateway.realtime import notifications
from gateway.realtime import socket as live_socket
from gateway.realtime.hub import Hub
from gateway.realtime.machinery import Background, Live
from gateway.realtime.notifications import NotificationHub
from gateway.realtime.persistence import sweep_until
from gateway.realtime.polls import close_due_polls_until
from gateway.realtime.presence import PresenceAnnouncer
from gateway.realtime.store import LiveStore
from gateway.routes import accounts, admin, changes, goals, users, workouts
from gateway.routes import group_sessions as live_routes
from gateway.upstream import CHANNEL_OPTIONS, Connect, UpstreamPool
from services.common.tls import TlsFiles, secure_aio_channel
from services.common.trust import ACTIVITY, SAGA, USER

USER_SERVICE = user_service_pb2.DESCRIPTOR.services_by_name["UserService"].full_name
ACTIVITY_SERVICE = activity_service_pb2.DESCRIPTOR.services_by_name["ActivityService"].full_name
SAGA_SERVICE = saga_service_pb2.DESCRIPTOR.services_by_name["SagaCoordinatorService"].full_name


def connector(tls: TlsFiles, component: str) -> Connect:
    """Opens mTLS channels to instances of ``component``, as the gateway."""
    return functools.partial(secure_aio_channel, tls=tls, server=component, options=CHANNEL_OPTIONS)


def build_upstreams(settings: GatewaySettings, clock: Clock) -> Upstreams:
    """One pool per service over the configured instances (needs a running event loop)."""
    pool = settings.pool_settings()
    tls = settings.tls()
    return Upstreams(
        users=UpstreamPool(
            USER_SERVICE,
            settings.user_service_addresses,
            user_service_pb2_grpc.UserServiceStub,
            pool,
            clock,
            connect=connector(tls, USER),
        ),
        activity=UpstreamPool(
            ACTIVITY_SERVICE,
            settings.activity_service_addresses,
            activity_service_pb2_grpc.ActivityServiceStub,
            pool,
            clock,
            connect=connector(tls, ACTIVITY),
        ),
        sagas=UpstreamPool(
            SAGA_SERVICE,
            settings.saga_coordinator_addresses,
            saga_service_pb2_grpc.SagaCoordinatorServiceStub,
            pool,
            clock,
            connect=connector(tls, SAGA),
        ),
    )


def create_app(
    settings: GatewaySettings,
    clock: Clock = time.monotonic,
    health_checks: bool = True,
    wall_clock: Clock = time.time,
) -> FastAPI:
    """The gateway app; pools are created when it starts and closed when it stops.

    ``clock`` times breakers and health checks; ``wall_clock`` times what gateway
    instances share in Redis (login lockouts).
    """
    metrics = GatewayMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pools = build_upstreams(settings, clock)
        app.state.upstreams = pools
        metrics.watch_pools(pools.all())
        if health_checks:
            for pool in pools.all():
                pool.start_health_checks()
        # Waits for a free connection under bursts instead of failing (the default pool raises).
        redis_pool = BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=settings.redis_max_connections,
            timeout=5,
            decode_responses=True,
            # A pooled connection that died with a restarted Redis fails once: retry
            # that on a fresh connection, so the first request after an outage works.
            # A timeout is not retried: a Redis that hangs would only double the wait.
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
            retry_on_error=[RedisConnectionError],
            # A Redis that hangs (or a network that drops packets) must fail as an
            # outage (503, sockets closed with 1013), not hang every request using it.
            socket_timeout=settings.redis_timeout,
            socket_connect_timeout=settings.redis_timeout,
        )
        redis = Redis(connection_pool=redis_pool)
        # Subscriptions must notice a lost connection (to catch up from the log), so
        # they go through a client that never reconnects behind their back. Their reads
        # wait for messages with their own timeout and PING (see live.outage.published).
        subscriber = Redis.from_url(
            settings.redis_url,
            decode_responses=True,
            retry=Retry(NoBackoff(), 0),
            socket_timeout=settings.redis_timeout,
            socket_connect_timeout=settings.redis_timeout,
        )
        store = LiveStore(redis)
        app.state.creation_limit = CreationLimit(redis, settings.creation_settings())
        app.state.login_throttle = LoginThrottle(
            redis, settings.login_throttle_settings(), wall_clock
        )
        app.state.live = Live(
            store,
            Hub(subscriber, store.events_after, settings.redis_timeout),
            settings.live_settings(),
            PresenceAnnouncer(store),
        )
        app.state.notifications = NotificationHub(redis, subscriber, settings.redis_timeout)
        background = Background()
        live = app.state.live
        background.run(app.state.notifications.listen_until)
        background.run(live.hub.listen_until)
        background.run(functools.partial(close_due_polls_until, store=store))
        background.run(
            functools.partial(
                sweep_until,
                store=store,
                activity=pools.activity,
                empty_timeout=settings.live_empty_timeout,
            )
        )
        yield
        await background.stop()
        await live.presence.close()
        await redis.aclose()
        await subscriber.aclose()
        for pool in pools.all():
            await pool.close()

    app = FastAPI(
        title="Fitness Goal Tracker API",
        version="1.0.0",
        description='REST API of the mobile app. Errors: {"error": {code, status, message}}.',
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.settings = settings
    app.state.verifier = TokenVerifier(
        settings.jwt_public_key_file.read_bytes(), settings.jwt_issuer, settings.jwt_audience
    )
    routers = (
        users.router,
        accounts.router,
        goals.router,
        changes.router,
        workouts.router,
        notifications.router,
        live_routes.router,
        live_socket.router,
        admin.router,
        health.router,
    )
    for router in routers:
        app.include_router(router)
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(JsonTextMiddleware)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    return app
