"""The gateway's one owner of Redis: the command client and the subscription client."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from gateway.config import GatewaySettings
from services.common.redis import RedisClient, command_client, subscription_client


@dataclass(frozen=True)
class RedisClients:
    """What every part of the gateway that needs Redis asks for (``request.app.state.redis``).

    ``commands`` serves requests; ``subscriber`` serves pub/sub only.
    """

    commands: RedisClient
    subscriber: RedisClient

    async def close(self) -> None:
        """Close both clients."""
        await self.commands.aclose()
        await self.subscriber.aclose()


def open_redis(settings: GatewaySettings) -> RedisClients:
    """Both clients for ``settings.redis_url`` (connections open lazily)."""
    timeout = settings.redis_timeout
    return RedisClients(
        command_client(settings.redis_url, timeout, settings.redis_max_connections),
        # Its reads wait for messages with their own timeout and PING (realtime.outage).
        subscription_client(settings.redis_url, timeout),
    )


def redis_of(request: Request) -> RedisClient:
    """The app's command client, for a route or middleware."""
    clients: RedisClients = request.app.state.redis
    return clients.commands
