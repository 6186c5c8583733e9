"""The one Redis client factory: every component that talks to Redis builds its clients here.

One URL chooses the topology. ``redis://host:port/0`` is a single node (the embedded
default of ``make run``); ``redis-cluster://host:port,host:port,...`` names a Redis
Cluster by some of its nodes (seeds; the rest are discovered), served by redis-py's
``RedisCluster``. Everything else talks to the returned client the same way: keys that a
script or MULTI touches together share a hash tag, so each is one slot.

On a cluster, pub/sub is sharded (SPUBLISH/SSUBSCRIBE, Redis >= 7): a message goes to
the one shard that owns its channel's slot instead of being broadcast to every node.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import unquote, urlsplit

import redis as sync_redis
import redis.cluster as sync_cluster
import redis.retry as sync_retry
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError

CLUSTER_SCHEME = "redis-cluster"

# What the gateway and the services hold: one node or a cluster, used alike.
RedisClient: TypeAlias = Redis | RedisCluster
# The same, blocking: for use cases that run on worker threads (grpc_runtime.Dispatcher).
BlockingClient: TypeAlias = sync_redis.Redis | sync_cluster.RedisCluster

# Everything a Redis call can fail with. RedisClusterException ("Redis Cluster cannot be
# connected", SlotNotCoveredError) is not a RedisError: catching RedisError alone lets a
# cluster whose slot map is being rebuilt escape as a 500 or end a background loop.
REDIS_FAILURES: tuple[type[Exception], ...] = (OSError, RedisError, RedisClusterException)


@dataclass(frozen=True)
class ClusterSeeds:
    """The nodes a ``redis-cluster://`` URL names, and its credentials."""

    nodes: tuple[tuple[str, int], ...]
    username: str | None = None
    password: str | None = None


@contextmanager
def outage_as(error: type[Exception], what: str) -> Iterator[None]:
    """Turn every Redis failure inside into ``error`` (a store's StoreUnavailable)."""
    try:
        yield
    except REDIS_FAILURES as failure:
        raise error(f"{what}: Redis did not answer ({failure})") from failure


def is_cluster(url: str) -> bool:
    """Whether ``url`` names a Redis Cluster (``redis-cluster://``) rather than one node."""
    return urlsplit(url).scheme == CLUSTER_SCHEME


def cluster_seeds(url: str) -> ClusterSeeds:
    """Parse ``redis-cluster://[user:password@]host:port,host:port,...``."""
    netloc = urlsplit(url).netloc
    credentials, _, hosts = netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    nodes = tuple(_host_port(part) for part in hosts.split(",") if part)
    if not nodes:
        raise ValueError("a redis-cluster:// URL needs at least one host:port")
    return ClusterSeeds(nodes, unquote(username) or None, unquote(password) or None)


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"not host:port: {text!r}")
    return host, int(port)


def command_client(url: str, timeout: float, max_connections: int = 50) -> RedisClient:
    """A client for commands: bounded pool, every connect and reply bounded by ``timeout``.

    No I/O until first used.
    """
    if is_cluster(url):
        return _cluster_client(cluster_seeds(url), timeout, max_connections)
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


class _EagerlyRoutedCluster(RedisCluster):
    """redis-py's async cluster client, which reads the slot map before routing a command.

    redis-py 8.1 routes a command before its lazy first ``initialize()``: with no slot map
    yet, concurrent first commands on a fresh client go to the wrong nodes, and the
    MOVED replies re-initialize the client, closing the connections the other commands
    are using ("Connection closed by server", 'NoneType' has no attribute 'writelines').
    20 parallel EVALSHAs on 40 fresh clients failed 44 to 68 times out of 800 here;
    initialized first, none did.
    """

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        """The command, once the slot map is known (initialize() is locked and idempotent)."""
        # _initialize is redis-py's own "slot map needed" flag, set again after a node fails.
        if self._initialize:
            await self.initialize()
        return await super().execute_command(*args, **kwargs)


def _cluster_client(seeds: ClusterSeeds, timeout: float, max_connections: int) -> RedisCluster:
    return _EagerlyRoutedCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in seeds.nodes],
        username=seeds.username,
        password=seeds.password,
        decode_responses=True,
        max_connections=max_connections,  # per node
        # redis-py's default retries with exponential backoff up to 10 s, which can hold
        # one call for seconds while a master is failing over. Two quick retries, each
        # after re-reading the slot map, bound a call to ~3 timeouts; the caller's own
        # deadline (and a 503) covers the rest of the failover window.
        retry=Retry(NoBackoff(), 2),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        # With CLIENT SETINFO sent on connect (the default), concurrent first commands on
        # new connections fail now and then with AttributeError ('NoneType' object has no
        # attribute 'writelines') in redis-py 8.1's async cluster: 55 of 600 INCRs, 20 at
        # a time on fresh clients, failed here; without it, none did.
        driver_info=None,
    )


def blocking_client(url: str, timeout: float, max_connections: int = 50) -> BlockingClient:
    """The blocking twin of ``command_client``: same URLs, timeouts and retries.

    One node: no I/O until first used. A cluster: redis-py's blocking ``RedisCluster``
    reads the slot map when built, so this raises one of REDIS_FAILURES if no seed answers.
    """
    if is_cluster(url):
        seeds = cluster_seeds(url)
        nodes = [
            sync_cluster.ClusterNode(host, port)  # type: ignore[no-untyped-call]
            for host, port in seeds.nodes
        ]
        return sync_cluster.RedisCluster(
            startup_nodes=nodes,
            username=seeds.username,
            password=seeds.password,
            decode_responses=True,
            max_connections=max_connections,  # per node
            retry=sync_retry.Retry(NoBackoff(), 2),  # as _cluster_client: bounded failover wait
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            driver_info=None,  # as _cluster_client: no extra round trips on connect
        )
    pool = sync_redis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout,  # a wait for a free connection is bounded like any call
        decode_responses=True,
        retry=sync_retry.Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        retry_on_error=[RedisConnectionError],
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )
    return sync_redis.Redis(connection_pool=pool)


def node_url(host: str, port: int, seeds: ClusterSeeds) -> str:
    """A ``redis://`` URL for one node of a cluster, with the cluster's credentials."""
    credentials = ""
    if seeds.password is not None:
        credentials = f"{seeds.username or ''}:{seeds.password}@"
    return f"redis://{credentials}{host}:{port}/0"


def subscription_client(url: str, timeout: float) -> RedisClient:
    """A client for pub/sub only, which never reconnects behind its subscriber's back.

    A subscriber must notice a lost connection (to catch up on what it missed), so this
    client does not retry; its reads wait with their own timeout and PING. For a cluster
    it is a ``RedisCluster`` used only to find which node owns a channel
    (gateway/realtime/sharded.py opens one plain connection per node).
    """
    if is_cluster(url):
        return _cluster_client(cluster_seeds(url), timeout, max_connections=4)
    return Redis.from_url(
        url,
        decode_responses=True,
        retry=Retry(NoBackoff(), 0),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )


async def publish(redis: RedisClient, channel: str, message: str) -> None:
    """PUBLISH on one node, SPUBLISH on a cluster (to the shard that owns the channel)."""
    if isinstance(redis, RedisCluster):
        await redis.spublish(channel, message)
    else:
        await redis.publish(channel, message)


def publish_command(redis: RedisClient) -> str:
    """The publish command a Lua script on ``redis`` uses: SPUBLISH on a cluster."""
    return "SPUBLISH" if isinstance(redis, RedisCluster) else "PUBLISH"


def publish_blocking(redis: BlockingClient, channel: str, message: str) -> None:
    """The blocking twin of ``publish``: PUBLISH on one node, SPUBLISH on a cluster."""
    if isinstance(redis, sync_cluster.RedisCluster):
        redis.spublish(channel, message)
    else:
        redis.publish(channel, message)
