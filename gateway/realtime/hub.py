"""One fan-out hub per gateway instance: every channel kind, every WebSocket client.

On a single Redis the hub holds one pattern subscription per channel kind (live
sessions, notifications; one connection for all); on a Redis Cluster it holds a sharded
subscription to each channel its local clients need (sharded.py). Either way it hands
each message to the local clients it is for. Each client's frames are written straight to
its socket (wire.py), within a bound on its unsent bytes; under an ASGI server without
the wire, into a bounded queue for its own writer task. Either way a client that stops
reading is disconnected (1008 "too slow"), never slowing the others, whatever the kind
of channel it listens to.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio.cluster import RedisCluster
from starlette.websockets import WebSocket

from gateway.realtime.outage import Subscription
from gateway.realtime.protocol import (
    CLOSE_NORMAL,
    CLOSE_POLICY,
    CLOSE_TRY_AGAIN,
    GOODBYE_TIMEOUT,
    UNAVAILABLE_REASON,
    unavailable_frame,
)
from gateway.realtime.settings import LiveSettings
from gateway.realtime.sharded import ShardedSubscription, cluster_subscription
from gateway.realtime.wire import text_frame, wire_of
from services.common.redis import RedisClient

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A frame ready to send: its sequence number (0: none), its JSON text encoded once.

    ``last`` marks a client's final frame (``session_ended``): its writer stops after it.
    ``frame`` is the text framed once for every socket that gets it.
    """

    seq: int
    text: str
    last: bool = False
    frame: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "frame", text_frame(self.text))

    @classmethod
    def of(cls, frame: dict[str, Any]) -> Outgoing:
        """Encode a frame built in this process."""
        return cls(frame.get("seq", 0), json.dumps(frame))


@dataclass(frozen=True, slots=True)
class Farewell:
    """How a connection ends: close code and reason, and a last frame sent just before."""

    code: int
    reason: str = ""
    frame: dict[str, Any] | None = None


TOO_SLOW = Farewell(CLOSE_POLICY, "too slow")


def unavailable() -> Farewell:
    """The end of a connection that Redis going away makes impossible to serve."""
    return Farewell(CLOSE_TRY_AGAIN, UNAVAILABLE_REASON, unavailable_frame())


class Client:
    """One WebSocket client: what it has been sent, and a bound on what it will be.

    ``kind`` names the channel kind it listens to, ``audience`` the channel of that kind
    (a session id, a user id). Served by ``wire.FramesProtocol``, frames are written to
    its socket at once, within a bound on unsent bytes; under another ASGI server they
    wait in a bounded queue for the client's own writer task.
    """

    def __init__(
        self, websocket: WebSocket, kind: str, audience: str, user_id: str, settings: LiveSettings
    ) -> None:
        self.websocket = websocket
        self.kind, self.audience, self.user_id = kind, audience, user_id
        self.send_timeout = settings.send_timeout
        self.wire = wire_of(websocket.scope)
        if self.wire is not None:
            self.wire.bound(settings.send_buffer_bytes, settings.send_timeout, self._too_slow)
        # Only without a wire: a queue holds three deques (~2 KiB) per idle connection.
        self.queue: asyncio.Queue[Outgoing] | None = None
        if self.wire is None:
            self.queue = asyncio.Queue(settings.queue_size)
        self.last_seq = 0
        # A future, not an Event: the serving task waits on it with no task of its own.
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.farewell: Farewell | None = None

    def end(self, farewell: Farewell) -> None:
        """Close the connection (its serving task notices) with this code, reason and frame."""
        if not self.closed.done():
            self.farewell = farewell
            self.closed.set_result(None)

    def offer(self, item: Outgoing) -> None:
        """Queue a message of the client's channel."""
        self._enqueue(item)

    def send_now(self, frame: dict[str, Any]) -> None:
        """Queue a frame for this client only (no sequence number)."""
        self._enqueue(Outgoing.of(frame))

    def _enqueue(self, item: Outgoing) -> None:
        if self.closed.done():
            return
        if item.seq and item.seq <= self.last_seq:
            return  # already delivered (replay and live delivery overlap)
        if item.seq:
            self.last_seq = item.seq
        if self.queue is None:
            self._write(item)
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self._too_slow()

    def _write(self, item: Outgoing) -> None:
        assert self.wire is not None
        if not self.wire.write(item.frame):
            self._too_slow()
        elif item.last:
            self.end(Farewell(CLOSE_NORMAL))

    def _too_slow(self) -> None:
        log.warning(
            "slow client disconnected",
            extra={"channel": self.kind, "audience": self.audience, "user": self.user_id},
        )
        self.end(TOO_SLOW)

    async def write_until_closed(self) -> None:
        """Send queued frames; a send that stalls past the timeout disconnects the client."""
        queue = self.queue
        if queue is None:
            return  # served through a wire: frames are written as they come
        while True:
            item = await queue.get()
            if self.closed.done():
                return
            try:
                async with asyncio.timeout(self.send_timeout):
                    await self.websocket.send_text(item.text)
            except (TimeoutError, RuntimeError, OSError):
                self.end(TOO_SLOW)
                return
            if item.last:
                return

    async def serve(self, reader: Coroutine[Any, Any, None]) -> None:
        """Run the writer and ``reader`` until one ends or the client is closed (by the hub)."""
        tasks = {asyncio.create_task(reader)}
        if self.queue is not None:
            tasks.add(asyncio.create_task(self.write_until_closed()))
        try:
            await asyncio.wait({*tasks, self.closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def say_goodbye(self) -> None:
        """Send the farewell frame, if any, and close with its code (1000 if none was set)."""
        farewell = self.farewell or Farewell(CLOSE_NORMAL)
        if farewell is TOO_SLOW and self.wire is not None:
            # Its unsent bytes would hold the connection open for good (a transport closes
            # only once flushed), and a close frame would wait behind them.
            self.wire.abort()
            return
        with contextlib.suppress(Exception):  # the client may be gone already
            async with asyncio.timeout(GOODBYE_TIMEOUT):
                if farewell.frame is not None:
                    await self.websocket.send_text(json.dumps(farewell.frame))
                await self.websocket.close(farewell.code, reason=farewell.reason)


class ChannelKind(Protocol):
    """A kind of Redis channel the hub relays to local clients."""

    @property
    def name(self) -> str:
        """What clients of this kind carry as their ``kind``."""
        ...

    @property
    def pattern(self) -> str:
        """The Redis pattern matching every channel of this kind."""
        ...

    def channel(self, audience: str) -> str:
        """The channel carrying one audience's messages (a session's, a user's)."""
        ...

    def audience(self, channel: str) -> str:
        """Whose clients a channel's messages are for (a session id, a user id)."""
        ...

    def item(self, data: str) -> Outgoing:
        """A published message, ready to send."""
        ...

    async def catch_up(self, local: Mapping[str, set[Client]]) -> None:
        """After a lost subscription, give local clients what was published meanwhile."""
        ...


class Hub:
    """This instance's registry of local clients, fed by one Redis subscription."""

    def __init__(
        self,
        subscriber: RedisClient,
        kinds: Sequence[ChannelKind],
        timeout: float = 1.0,
        url: str = "",
    ) -> None:
        self.kinds = {kind.pattern: kind for kind in kinds}
        self.by_name = {kind.name: kind for kind in kinds}
        self.local: dict[str, dict[str, set[Client]]] = {k.name: defaultdict(set) for k in kinds}
        # timeout: the silence after which Redis is asked, then taken for gone.
        self.subscription: Subscription | ShardedSubscription
        if isinstance(subscriber, RedisCluster):
            self.subscription = cluster_subscription(subscriber, url, timeout, "hub subscription")
        else:
            self.subscription = Subscription(subscriber, list(self.kinds), timeout, "hub")

    def add(self, client: Client) -> None:
        """Start delivering the messages of the client's channel to it."""
        audiences = self.local[client.kind]
        if client.audience not in audiences:  # a sharded subscription holds its channel
            kind = self.by_name[client.kind]
            self.subscription.want(kind.channel(client.audience), kind.pattern)
        audiences[client.audience].add(client)

    def remove(self, client: Client) -> None:
        """Stop delivering to the client."""
        clients = self.local[client.kind]
        local = clients.get(client.audience)
        if local is not None:
            local.discard(client)
            if not local:
                del clients[client.audience]
                self.subscription.release(self.by_name[client.kind].channel(client.audience))

    def holds(self, client: Client) -> bool:
        """Whether the client is registered (e.g. has joined its session)."""
        return client in self.local[client.kind].get(client.audience, ())

    def deliver(self, kind: str, audience: str, item: Outgoing) -> None:
        """Offer a message to every local client of that channel."""
        for client in list(self.local[kind].get(audience, ())):
            client.offer(item)

    def drop_all(self, farewell: Farewell) -> None:
        """End every local client (when Redis is gone and nothing can be served)."""
        for clients in self.local.values():
            for local in list(clients.values()):
                for client in list(local):
                    client.end(farewell)

    @property
    def subscribed(self) -> bool:
        """Whether messages published by other instances reach this one now."""
        return self.subscription.up

    async def listen_until(self, stopping: asyncio.Event) -> None:
        """Relay Redis messages to local clients, resubscribing after failures.

        A lost subscription alone (Redis still answers) is caught up per channel kind and
        clients notice nothing; when resubscribing fails too, Redis is down, and every
        local client is told so and closed with 1013 rather than left waiting.
        """
        await self.subscription.relay_until(stopping, self)

    async def relay(self, pattern: str, channel: str, data: str) -> None:
        """A published message: deliver it to its channel's local clients."""
        kind = self.kinds[pattern]
        self.deliver(kind.name, kind.audience(channel), kind.item(data))

    async def resumed(self) -> None:
        """Subscribed again: catch every local client up on what it missed."""
        for kind in self.kinds.values():
            await kind.catch_up(self.local[kind.name])

    async def added(self, channels: Mapping[str, str]) -> None:
        """Sharded subscriptions confirmed: catch those channels' clients up."""
        for channel, pattern in channels.items():
            kind = self.kinds[pattern]
            audience = kind.audience(channel)
            clients = self.local[kind.name].get(audience)
            if clients:
                await kind.catch_up({audience: clients})

    async def down(self) -> None:
        """Redis is down: tell every local client and close it with 1013."""
        self.drop_all(unavailable())
