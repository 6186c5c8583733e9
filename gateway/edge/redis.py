"""The gateway's one owner of Redis: the command client and the subscription client."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.config import GatewaySettings


@dataclass(frozen=True)
class RedisClients:
    """What every part of the gateway that needs Redis asks for (``request.app.state.redis``).

    ``commands`` serves requests; ``subscriber`` serves pub/sub only.
    """

    commands: Redis
    subscriber: Redis

    async def close(self) -> None:
        """Close both clients."""
        await self.commands.aclose()
        await self.subscriber.aclose()


def open_redis(settings: GatewaySettings) -> RedisClients:
    """Both clients for ``settings.redis_url`` (connections open lazily)."""
    return RedisClients(_commands(settings), _subscriber(settings))


def _commands(settings: GatewaySettings) -> Redis:
    # Waits for a free connection under bursts instead of failing (the default pool raises).
    pool = BlockingConnectionPool.from_url(
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
    return Redis(connection_pool=pool)


def _subscriber(settings: GatewaySettings) -> Redis:
    # Subscriptions must notice a lost connection (to catch up from the log), so they
    # go through a client that never reconnects behind their back. Their reads wait
    # for messages with their own timeout and PING (see realtime.outage.published).
    return Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        retry=Retry(NoBackoff(), 0),
        socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
    )


def redis_of(request: Request) -> Redis:
    """The app's command client, for a route or middleware."""
    clients: RedisClients = request.app.state.redis
    return clients.commands
