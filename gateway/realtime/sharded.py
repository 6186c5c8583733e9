"""Sharded pub/sub on a Redis Cluster: SSUBSCRIBE to the channels of local audiences.

A classic PUBLISH on a cluster is broadcast to every node; SPUBLISH goes only to the
shard that owns the channel's slot, so fan-out cost stays with one shard as the
cluster grows. Sharded channels cannot be matched by pattern, so the hub tells this
subscription which channels its local clients need (``want``), and it holds them: one
plain connection per master that owns one of them.

Recovery is ours, not redis-py's ``ClusterPubSub``: a subscriber on a client used only
for pub/sub never notices that its node died (its slot map is never refreshed). Any
failure here tears down every connection, re-reads the slot map from the cluster and
subscribes again on the current owners. Every channel whose subscription Redis
confirms is caught up from its log (``Listener.added``), so a client loses nothing
that was logged while its channel was unsubscribed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from gateway.realtime.outage import Backoff, Listener, OutageLog, published
from services.common.redis import REDIS_FAILURES, cluster_seeds, node_url, subscription_client

log = logging.getLogger(__name__)

# The queue's items: ("message", channel, data), ("added", channel, ""), ("failed", error).
_Item = tuple[str, Any, str]
_CHANGED: _Item = ("changed", None, "")


@dataclass
class _Shard:
    """One master's connection, its reader (once subscribed) and its channels."""

    client: Any
    pubsub: Any
    reader: asyncio.Task[None] | None = None
    channels: set[str] = field(default_factory=set)


class ShardedSubscription:
    """The channels the hub wants, held on their shards, kept up across failovers."""

    def __init__(self, cluster: RedisCluster, url: str, silence: float, what: str) -> None:
        self.cluster, self.url = cluster, url
        self.silence, self.what = silence, what
        self.up = False
        self.wanted: dict[str, str] = {}  # channel -> the pattern of its kind
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
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
        # One pending "changed" is enough: the pump diffs everything wanted at once.
        if not self._change_pending:
            self._change_pending = True
            self._queue.put_nowait(_CHANGED)

    async def relay_until(self, stopping: asyncio.Event, listener: Listener) -> None:
        """Relay until ``stopping`` is set, rebuilding every subscription after a failure."""
        backoff, outage = Backoff(), OutageLog(log, self.what)
        while not stopping.is_set():
            # A fresh queue per attempt: what the old attempt's readers left is dropped.
            self._queue, self._change_pending = asyncio.Queue(), False
            shards = _Shards(self, self._queue)
            try:
                await self._refresh_slots()
                self.up = True
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

    async def _refresh_slots(self) -> None:
        # Bounded: a cluster that does not answer is an outage, not a hang.
        async with asyncio.timeout(3 * self.silence):
            await self.cluster.nodes_manager.initialize()

    async def _pump(self, shards: _Shards, listener: Listener, stopping: asyncio.Event) -> None:
        await shards.hold(self.wanted)
        while not stopping.is_set():
            kind, subject, data = await self._next(stopping)
            if kind == "message" and subject in self.wanted:
                await listener.relay(self.wanted[subject], subject, data)
            elif kind == "added" and subject in self.wanted:
                await listener.added({subject: self.wanted[subject]})
            elif kind == "changed":
                self._change_pending = False
                await shards.hold(self.wanted)
            elif kind == "failed":
                raise subject

    async def _next(self, stopping: asyncio.Event) -> _Item:
        # Wake at least every second to notice ``stopping``.
        while not stopping.is_set():
            try:
                return await asyncio.wait_for(self._queue.get(), timeout=1.0)
            except TimeoutError:
                continue
        return ("stopped", None, "")


class _Shards:
    """The connections of one subscription attempt, by node name."""

    def __init__(self, owner: ShardedSubscription, queue: asyncio.Queue[_Item]) -> None:
        self.owner, self.queue = owner, queue
        self.by_node: dict[str, _Shard] = {}

    async def hold(self, wanted: Mapping[str, str]) -> None:
        """SSUBSCRIBE to wanted channels not yet held, SUNSUBSCRIBE from the others."""
        held = {channel for shard in self.by_node.values() for channel in shard.channels}
        for channel in held - wanted.keys():
            await self._drop(channel)
        for channel in wanted.keys() - held:
            await self._add(channel)

    async def _add(self, channel: str) -> None:
        node = self.owner.cluster.get_node_from_key(channel)
        if node is None:
            raise RedisError(f"no node owns the slot of {channel!r}")
        shard = self.by_node.get(node.name)
        if shard is None:
            url = node_url(node.host, int(node.port), cluster_seeds(self.owner.url))
            client = subscription_client(url, self.owner.silence)
            shard = self.by_node[node.name] = _Shard(client, client.pubsub())
        async with asyncio.timeout(self.owner.silence):
            await shard.pubsub.ssubscribe(channel)
        shard.channels.add(channel)
        if shard.reader is None:  # its connection exists from the first SSUBSCRIBE on
            shard.reader = asyncio.create_task(self._read(shard.pubsub), name=node.name)

    async def _read(self, pubsub: Any) -> None:
        queue = self.queue
        try:
            kinds = frozenset({"smessage", "ssubscribe"})
            async for message in published(pubsub, self.owner.silence, kinds):
                kind = "message" if message["type"] == "smessage" else "added"
                data = message["data"] if kind == "message" else ""
                queue.put_nowait((kind, message["channel"], data))
        except REDIS_FAILURES as error:  # TimeoutError is an OSError
            queue.put_nowait(("failed", error, ""))

    async def _drop(self, channel: str) -> None:
        for name, shard in list(self.by_node.items()):
            if channel not in shard.channels:
                continue
            shard.channels.discard(channel)
            if shard.channels:
                async with asyncio.timeout(self.owner.silence):
                    await shard.pubsub.sunsubscribe(channel)
            else:  # nothing left on that node: close its connection
                del self.by_node[name]
                await _close(shard)

    async def close(self) -> None:
        """Close every connection of this attempt."""
        for shard in self.by_node.values():
            await _close(shard)
        self.by_node.clear()


async def _close(shard: _Shard) -> None:
    if shard.reader is not None:
        shard.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, *REDIS_FAILURES):
            await shard.reader
    try:
        await shard.pubsub.aclose()
        await shard.client.aclose()
    except REDIS_FAILURES:
        log.debug("closing a shard subscription failed", exc_info=True)
