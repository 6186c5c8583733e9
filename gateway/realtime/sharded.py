"""Sharded pub/sub on a Redis Cluster: SSUBSCRIBE to the channels of local audiences.

A classic PUBLISH on a cluster is broadcast to every node; SPUBLISH goes only to the
shard that owns the channel's slot, so fan-out cost stays with one shard as the
cluster grows. Sharded channels cannot be matched by pattern, so the hub tells this
subscription which channels its local clients need (``want``/``release``), and it holds
them: one plain connection per master that owns one of them.

Recovery is ours, not redis-py's ``ClusterPubSub``: a subscriber on a client used only
for pub/sub never notices that its node died (its slot map is never refreshed). Any
failure here (a lost or silent connection, a slot that moved away, a reader that
ended) tears down every connection, re-reads the slot map from the cluster and
subscribes again on the current owners. Every channel whose subscription Redis
confirms is caught up from its log (``Listener.added``), so a client loses nothing
that was logged while its channel was unsubscribed. When subscribing fails twice in a
row, Redis is down for this instance and ``Listener.down`` tells the local sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from gateway.realtime.outage import Backoff, Listener, OutageLog, published, relay_safely
from services.common.redis import REDIS_FAILURES, cluster_seeds, node_url, subscription_client

log = logging.getLogger(__name__)

# Messages read but not yet relayed. A reader waits when it is full, so a slow pump
# leaves the backlog in Redis, whose pub/sub output limit then cuts the connection:
# memory stays bounded and the rebuild catches clients up from the log.
QUEUE_SIZE = 1000


@dataclass(frozen=True)
class Message:
    """A message published on a held channel."""

    channel: str
    data: str


@dataclass(frozen=True)
class Added:
    """Redis confirmed a channel's subscription."""

    channel: str


@dataclass(frozen=True)
class Failed:
    """A shard's connection failed, went silent, lost a slot or its reader ended."""

    error: Exception


@dataclass(frozen=True)
class Changed:
    """The wanted channels changed."""


@dataclass(frozen=True)
class Stopped:
    """The subscription is asked to stop."""


Item = Message | Added | Failed | Changed | Stopped


@dataclass(frozen=True)
class Node:
    """Where a channel's slot lives now."""

    host: str
    port: int

    @property
    def name(self) -> str:
        """host:port."""
        return f"{self.host}:{self.port}"


class Topology:
    """The cluster's slot map, read through a ``RedisCluster`` client."""

    def __init__(self, cluster: RedisCluster, url: str, silence: float) -> None:
        self.cluster, self.url, self.silence = cluster, url, silence

    async def refresh(self) -> None:
        """Re-read the slot map (bounded: a cluster that does not answer is an outage)."""
        async with asyncio.timeout(3 * self.silence):
            await self.cluster.nodes_manager.initialize()

    def owner(self, channel: str) -> Node | None:
        """The master serving ``channel``'s slot, by the last slot map read."""
        node = self.cluster.get_node_from_key(channel)
        return None if node is None else Node(node.host, int(node.port))

    def pubsub(self, node: Node) -> tuple[Any, Any]:
        """A client of that one node, and a pub/sub object on it (no I/O yet)."""
        url = node_url(node.host, node.port, cluster_seeds(self.url))
        client = subscription_client(url, self.silence)
        return client, client.pubsub()


class ShardedSubscription:
    """The channels the hub wants, held on their shards, kept up across failovers."""

    def __init__(self, topology: Topology, silence: float, what: str) -> None:
        self.topology, self.silence, self.what = topology, silence, what
        self.up = False
        self.wanted: dict[str, str] = {}  # channel -> the pattern of its kind
        self._queue: asyncio.Queue[Item] = asyncio.Queue(QUEUE_SIZE)
        self._change_pending = False

    def want(self, channel: str, pattern: str) -> None:
        """Hold ``channel`` too (its kind's ``pattern``): an audience got its first client."""
        self.wanted[channel] = pattern
        self._changed()

    def release(self, channel: str) -> None:
        """Stop holding ``channel``: its audience's last client left."""
        self.wanted.pop(channel, None)
        self._changed()

    def _changed(self) -> None:
        # One pending change is enough: the pump diffs everything wanted at once. A full
        # queue holds messages the pump will get to; the change is picked up after them.
        if not self._change_pending:
            self._change_pending = True
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(Changed())

    async def relay_until(self, stopping: asyncio.Event, listener: Listener) -> None:
        """Relay until ``stopping`` is set, rebuilding every subscription after a failure."""
        backoff, outage = Backoff(), OutageLog(log, self.what)
        while not stopping.is_set():
            # A fresh queue per attempt: what the old attempt's readers left is dropped.
            self._queue, self._change_pending = asyncio.Queue(QUEUE_SIZE), False
            shards = _Shards(self.topology, self._queue, self.silence)
            try:
                await self.topology.refresh()
                await shards.hold(self.wanted)
                self.up = True  # every wanted channel's SSUBSCRIBE reached its owner
                backoff.reset()
                outage.recovered()
                await self._pump(shards, listener, stopping)
            except REDIS_FAILURES as error:  # TimeoutError is an OSError
                outage.failed(error)
                if not self.up:
                    await listener.down()
                self.up = False
                await asyncio.sleep(backoff.next())
            finally:
                await shards.close()
        self.up = False

    async def _pump(self, shards: _Shards, listener: Listener, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            item = await self._next(stopping)
            if isinstance(item, Failed):
                raise item.error
            if isinstance(item, Changed):
                self._change_pending = False
                await shards.hold(self.wanted)
            elif isinstance(item, Message | Added) and item.channel in self.wanted:
                await _hand_over(listener, item, self.wanted[item.channel])

    async def _next(self, stopping: asyncio.Event) -> Item:
        # Wake at least every second to notice ``stopping``.
        while not stopping.is_set():
            try:
                return await asyncio.wait_for(self._queue.get(), timeout=1.0)
            except TimeoutError:
                continue
        return Stopped()


async def _hand_over(listener: Listener, item: Message | Added, pattern: str) -> None:
    if isinstance(item, Message):
        await relay_safely(listener, pattern, item.channel, item.data)
    else:
        await listener.added({item.channel: pattern})


@dataclass
class _Shard:
    """One master's connection, its reader (once subscribed) and its channels."""

    client: Any
    pubsub: Any
    reader: asyncio.Task[None] | None = None
    channels: set[str] = field(default_factory=set)


class _Shards:
    """The connections of one subscription attempt, by node name."""

    def __init__(self, topology: Topology, queue: asyncio.Queue[Item], silence: float) -> None:
        self.topology, self.queue, self.silence = topology, queue, silence
        self.by_node: dict[str, _Shard] = {}

    async def hold(self, wanted: dict[str, str]) -> None:
        """SSUBSCRIBE to wanted channels not yet held, SUNSUBSCRIBE from the others."""
        held = {channel for shard in self.by_node.values() for channel in shard.channels}
        for channel in held - wanted.keys():
            await self._drop(channel)
        for channel in wanted.keys() - held:
            await self._add(channel)

    async def _add(self, channel: str) -> None:
        node = self.topology.owner(channel)
        if node is None:
            raise RedisError(f"no node owns the slot of {channel!r}")
        shard = self.by_node.get(node.name)
        if shard is None:
            shard = self.by_node[node.name] = _Shard(*self.topology.pubsub(node))
        async with asyncio.timeout(self.silence):
            await shard.pubsub.ssubscribe(channel)
        shard.channels.add(channel)
        if shard.reader is None:  # its connection exists from the first SSUBSCRIBE on
            shard.reader = asyncio.create_task(self._read(shard), name=node.name)

    async def _read(self, shard: _Shard) -> None:
        failure: Exception = RedisError("a shard's reader ended")
        try:
            kinds = frozenset({"smessage", "ssubscribe", "sunsubscribe"})
            async for message in published(shard.pubsub, self.silence, kinds):
                item = _item_of(message, shard.channels)
                if item is not None:
                    await self.queue.put(item)
        except asyncio.CancelledError:
            raise
        except REDIS_FAILURES as error:
            failure = error
        except Exception as error:  # whatever else ends a reader fails the attempt too
            failure = RedisError(f"a shard's reader failed: {error!r}")
        await self.queue.put(Failed(failure))

    async def _drop(self, channel: str) -> None:
        for name, shard in list(self.by_node.items()):
            if channel not in shard.channels:
                continue
            shard.channels.discard(channel)
            if shard.channels:
                async with asyncio.timeout(self.silence):
                    await shard.pubsub.sunsubscribe(channel)
            else:  # nothing left on that node: close its connection
                del self.by_node[name]
                await _close(shard)

    async def close(self) -> None:
        """Close every connection of this attempt."""
        for shard in self.by_node.values():
            await _close(shard)
        self.by_node.clear()


def _item_of(message: dict[str, Any], held: set[str]) -> Item | None:
    """What a shard's message means; None for confirmations of our own SUNSUBSCRIBE."""
    kind, channel = message["type"], message["channel"]
    if kind == "smessage":
        return Message(channel, message["data"])
    if kind == "ssubscribe":
        return Added(channel)
    if channel in held:  # Redis unsubscribed us: the slot moved to another node
        return Failed(RedisError(f"the slot of {channel!r} moved"))
    return None


async def _close(shard: _Shard) -> None:
    if shard.reader is not None:
        shard.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await shard.reader
    for closing in (shard.pubsub.aclose, shard.client.aclose):
        try:
            await closing()
        except Exception:
            log.debug("closing a shard subscription failed", exc_info=True)


def cluster_subscription(
    cluster: RedisCluster, url: str, silence: float, what: str
) -> ShardedSubscription:
    """The sharded subscription for a cluster client and its seed URL."""
    return ShardedSubscription(Topology(cluster, url, silence), silence, what)
