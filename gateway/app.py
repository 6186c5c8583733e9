"""Builds the FastAPI application: routers, middleware, error handlers, upstream pools."""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

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
from gateway.edge.redis import RedisClients, open_redis
from gateway.edge.text import JsonTextMiddleware
from gateway.realtime import notification_socket
from gateway.realtime import socket as live_socket
from gateway.realtime.hub import ChannelKind, Hub
from gateway.realtime.live import Live
from gateway.realtime.notification_socket import NotificationChannel
from gateway.realtime.persistence import sweep_until
from gateway.realtime.polls import close_due_polls_until
from gateway.realtime.presence import PresenceAnnouncer
from gateway.realtime.session_channel import SessionChannel
from gateway.realtime.store import LiveStore
from gateway.realtime.tasks import Background
from gateway.routes import (
    accounts,
    admin,
    changes,
    devices,
    etl_runs,
    goals,
    health_metrics,
    notifications,
    sensor_data,
    users,
    watch_logs,
    workouts,
)
from gateway.routes import group_sessions as live_routes
from gateway.routes.cached import open_cache
from gateway.web.assets import install_dashboard
from services.common.trust import ACTIVITY, HEALTH, MOTION, SAGA, USER, WATCH_LOGS
from services.common.upstream import UpstreamPool, connector
from services.common.upstream.breaker import Clock
from services.common.upstream.rpcs import (
    ACTIVITY_SERVICE,
    HEALTH_SERVICE,
    MOTION_SERVICE,
    SAGA_SERVICE,
    USER_SERVICE,
    WATCH_LOG_SERVICE,
)


def build_upstreams(settings: GatewaySettings, clock: Clock) -> Upstreams:
    """One pool per service over the configured instances (needs a running event loop)."""
    pool = settings.pool_settings()
    tls = settings.tls()
    return Upstreams(
        users=UpstreamPool(
            USER_SERVICE.full_name,
            settings.user_service_addresses,
            pool,
            clock,
            connect=connector(tls, USER),
        ),
        activity=UpstreamPool(
            ACTIVITY_SERVICE.full_name,
            settings.activity_service_addresses,
            pool,
            clock,
            connect=connector(tls, ACTIVITY),
        ),
        sagas=UpstreamPool(
            SAGA_SERVICE.full_name,
            settings.saga_coordinator_addresses,
            pool,
            clock,
            connect=connector(tls, SAGA),
        ),
        watch_logs=UpstreamPool(
            WATCH_LOG_SERVICE.full_name,
            settings.watch_log_service_addresses,
            pool,
            clock,
            connect=connector(tls, WATCH_LOGS),
        ),
        motion=UpstreamPool(
            MOTION_SERVICE.full_name,
            settings.motion_service_addresses,
            pool,
            clock,
            connect=connector(tls, MOTION),
        ),
        # A batch of 10,000 points (or a page of as many) takes longer than a profile read.
        health=UpstreamPool(
            HEALTH_SERVICE.full_name,
            settings.health_service_addresses,
            dataclasses.replace(pool, call_timeout=settings.health_call_timeout),
            clock,
            connect=connector(tls, HEALTH),
        ),
    )


def create_app(
    settings: GatewaySettings,
    clock: Clock = time.monotonic,
    health_checks: bool = True,
    wall_clock: Clock = time.time,
) -> FastAPI:
    """The gateway app; pools and Redis clients are opened when it starts, closed when it stops.

    ``clock`` times breakers and health checks; ``wall_clock`` times what gateway
    instances share in Redis (login lockouts).
    """
    metrics = GatewayMetrics()
    app = FastAPI(
        title="Fitness Goal Tracker API",
        version="1.0.0",
        description='REST API of the mobile app. Errors: {"error": {code, status, message}}.',
        lifespan=functools.partial(
            _lifespan, settings=settings, clock=clock, wall_clock=wall_clock, checks=health_checks
        ),
    )
    app.state.metrics = metrics
    app.state.settings = settings
    app.state.verifier = TokenVerifier(
        settings.jwt_public_key_file.read_bytes(), settings.jwt_issuer, settings.jwt_audience
    )
    include_routes(app)
    install_dashboard(app, settings.dashboard_live_reload)
    install_error_handlers(app)
    install_openapi(app)
    install_middleware(app, settings, metrics)
    return app


ROUTERS = (
    users.router,
    accounts.router,
    goals.router,
    changes.router,
    workouts.router,
    notifications.router,
    notification_socket.router,
    live_routes.router,
    live_socket.router,
    admin.router,
    etl_runs.router,
    watch_logs.router,
    sensor_data.router,
    devices.router,
    health_metrics.router,
    health.router,
)


def include_routes(app: FastAPI) -> None:
    """Every REST route and WebSocket of the gateway."""
    for router in ROUTERS:
        app.include_router(router)


def install_middleware(app: FastAPI, settings: GatewaySettings, metrics: GatewayMetrics) -> None:
    """The edge every request passes, outermost last."""
    app.add_middleware(JsonTextMiddleware)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        route_limits=settings.body_limits(),
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)


@asynccontextmanager
async def _lifespan(
    app: FastAPI, settings: GatewaySettings, clock: Clock, wall_clock: Clock, checks: bool
) -> AsyncIterator[None]:
    pools = open_upstreams(app, settings, clock, checks)
    redis = app.state.redis = open_redis(settings)
    app.state.cache = open_cache(settings, redis.commands, app.state.metrics.registry)
    install_limits(app, settings, redis, wall_clock)
    background = start_realtime(app, settings, redis, pools)
    yield
    await background.stop()
    await app.state.live.presence.close()
    await redis.close()
    for pool in pools.all():
        await pool.close()


def open_upstreams(
    app: FastAPI, settings: GatewaySettings, clock: Clock, checks: bool
) -> Upstreams:
    """The service pools, watched by the metrics and, unless ``checks`` is off, health-checked."""
    pools = app.state.upstreams = build_upstreams(settings, clock)
    app.state.metrics.watch_pools(pools.all())
    if checks:
        for pool in pools.all():
            pool.start_health_checks()
    return pools


def install_limits(
    app: FastAPI, settings: GatewaySettings, redis: RedisClients, wall_clock: Clock
) -> None:
    """The limits shared by gateway instances through Redis: creations, watch-log entries
    and failed logins."""
    app.state.creation_limit = CreationLimit(redis.commands, settings.creation_settings())
    # Stored watch logs stay for the retention window: one account must not fill Redis.
    app.state.watch_log_quota = CreationLimit(
        redis.commands,
        settings.watch_log_quota(),
        prefix="watch-log-entries",
        refusal="too many watch-log entries this hour, retry later",
    )
    # Raw readings stay for the raw retention: one account must not fill the streams either.
    app.state.motion_quota = CreationLimit(
        redis.commands,
        settings.motion_quota(),
        prefix="motion-readings",
        refusal="too many sensor readings this hour, retry later",
    )
    # Points of any age are upserted by time: one account must not fill the database.
    app.state.health_quota = CreationLimit(
        redis.commands,
        settings.health_quota(),
        prefix="health-points",
        refusal="too many health-metric points this hour, retry later",
    )
    app.state.login_throttle = LoginThrottle(
        redis.commands, settings.login_throttle_settings(), wall_clock
    )


def start_realtime(
    app: FastAPI, settings: GatewaySettings, redis: RedisClients, pools: Upstreams
) -> Background:
    """The one hub (live sessions, notifications), and the loops that keep sessions tidy."""
    store = LiveStore(redis.commands)
    kinds: list[ChannelKind] = [SessionChannel(store.events_after), NotificationChannel()]
    hub = Hub(redis.subscriber, kinds, settings.redis_timeout, settings.redis_url)
    app.state.live = Live(store, hub, settings.live_settings(), PresenceAnnouncer(store))
    background = Background()
    background.run(hub.listen_until)
    background.run(functools.partial(close_due_polls_until, store=store))
    background.run(
        functools.partial(
            sweep_until,
            store=store,
            activity=pools.activity,
            empty_timeout=settings.live_empty_timeout,
        )
    )
    return background
