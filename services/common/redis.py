"""The one Redis client factory: every component that talks to Redis builds its clients here.

One place decides pooling, timeouts and reconnects, so that a Redis Cluster (issue 12)
is one change here, not one per component.
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError


def command_client(url: str, timeout: float, max_connections: int = 50) -> Redis:
    """A client for commands: bounded pool, every connect and reply bounded by ``timeout``.

    No I/O until first used.
    """
    # Waits for a free connection under bursts instead of failing (the default pool raises).
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=5,
        decode_responses=True,
        # A pooled connection that died with a restarted Redis fails once: retry that on
        # a fresh connection, so the first command after an outage works. A timeout is
        # not retried: a Redis that hangs would only double the wait.
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        retry_on_error=[RedisConnectionError],
        # A Redis that hangs (or a network that drops packets) must fail as an outage,
        # not hang every caller.
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )
    return Redis(connection_pool=pool)


def subscription_client(url: str, timeout: float) -> Redis:
    """A client for pub/sub only, which never reconnects behind its subscriber's back.

    A subscriber must notice a lost connection (to catch up on what it missed), so this
    client does not retry; its reads wait with their own timeout and PING.
    """
    return Redis.from_url(
        url,
        decode_responses=True,
        retry=Retry(NoBackoff(), 0),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )
