"""Riding out a Redis outage: reconnect delays, one log line per outage, a subscription kept up.

Every background loop of the gateway (the hub, the session sweep, the poll deadline
sweep) keeps running while Redis is down and picks up again by itself once it answers;
sockets are told and closed with 1013 (try again later, see protocol.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.common.redis import REDIS_FAILURES


class Backoff:
    """Delays between reconnect attempts: ``first`` seconds, doubling up to ``cap``."""

    def __init__(self, first: float = 0.1, cap: float = 1.0) -> None:
        self.first, self.cap = first, cap
        self.delay = first

    def next(self) -> float:
        """The delay before the next attempt (and double it for the one after)."""
        delay = self.delay
        self.delay = min(self.cap, self.delay * 2)
        return delay

    def reset(self) -> None:
        """Connected again: the next failure starts from ``first`` again."""
        self.delay = self.first


class OutageLog:
    """One warning when a loop starts failing, one line when it works again, not one a tick."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self.log, self.what = log, what
        self.since: float | None = None

    def failed(self, error: BaseException) -> None:
        """Record a failed attempt; only the first of an outage is a warning."""
        if self.since is None:
            self.since = time.monotonic()
            self.log.warning("%s failing, will retry", self.what, extra={"error": repr(error)})
        else:
            self.log.debug("%s still failing", self.what, extra={"error": repr(error)})

    def recovered(self) -> None:
        """Record a working attempt; logs how long the outage lasted, if there was one."""
        if self.since is not None:
            seconds = round(time.monotonic() - self.since, 1)
            self.log.warning("%s recovered", self.what, extra={"outage_seconds": seconds})
            self.since = None


async def subscribe(pubsub: PubSub, patterns: list[str], silence: float) -> None:
    """Subscribe to ``patterns``; wait (at most ``silence`` seconds each) for Redis to confirm."""
    await pubsub.psubscribe(*patterns)
    # psubscribe only sends: a Redis that hangs would otherwise look subscribed.
    for _ in patterns:
        if await pubsub.get_message(timeout=silence) is None:
            raise RedisTimeoutError(f"no subscription confirmation within {silence} s")


async def published(
    pubsub: PubSub, silence: float, kinds: frozenset[str] = frozenset({"pmessage"})
) -> AsyncIterator[dict[str, Any]]:
    """The subscription's messages of ``kinds``; raises TimeoutError once Redis stops answering.

    A blocking listen() waits forever on a Redis that hangs (or a network that drops
    packets without resetting): after ``silence`` seconds without a message this sends
    a PING, and a second silence means nothing is answering. redis-py's health_check_interval is no
    substitute: it sends its PING but never notices a missing PONG.
    """
    pinged = False
    while True:
        message = await pubsub.get_message(timeout=silence)
        if message is None:
            if pinged:
                raise RedisTimeoutError(f"no answer from Redis within {silence} s")
            await pubsub.ping()  # answered with a "pong" message
            pinged = True
            continue
        pinged = False
        if message["type"] in kinds:
            yield message


class Listener(Protocol):
    """Who a subscription hands messages and events to (the hub)."""

    async def relay(self, pattern: str, channel: str, data: str) -> None:
        """A message published on ``channel`` (``pattern``: its channel kind's pattern)."""
        ...

    async def resumed(self) -> None:
        """Subscribed again after a failure: catch every local client up."""
        ...

    async def added(self, channels: Mapping[str, str]) -> None:
        """Redis confirmed these channels' subscriptions: catch their clients up."""
        ...

    async def down(self) -> None:
        """Subscribing failed as well: Redis is down for this instance."""
        ...


async def relay_safely(listener: Listener, pattern: str, channel: str, data: str) -> None:
    """Hand one message over; a bad one (or a bug in a channel kind) is logged and skipped.

    Only a Redis failure ends the subscription (to be rebuilt): anything else would end
    the hub's task and leave its sockets waiting for nothing.
    """
    try:
        await listener.relay(pattern, channel, data)
    except REDIS_FAILURES:
        raise
    except Exception:
        log = logging.getLogger(__name__)
        log.exception("relaying a message failed", extra={"channel": channel})


class Subscription:
    """Pattern subscriptions (one connection) kept up across Redis outages; ``up`` while they hold.

    Each message goes to ``listener.relay``. After a failure, a new subscription first
    calls ``listener.resumed`` (to catch up on what was missed); when subscribing fails
    too, Redis is down and ``listener.down`` tells the local sockets.
    """

    def __init__(self, redis: Redis, patterns: list[str], silence: float, what: str) -> None:
        self.redis: Any = redis  # redis-py's stubs type pubsub() loosely
        self.patterns, self.silence, self.what = patterns, silence, what
        self.up: bool = False

    def want(self, channel: str, pattern: str) -> None:
        """Nothing to do: the patterns already match every channel."""

    def release(self, channel: str) -> None:
        """Nothing to do: the patterns already match every channel."""

    async def relay_until(self, stopping: asyncio.Event, listener: Listener) -> None:
        """Relay until ``stopping`` is set, resubscribing with backoff after failures."""
        backoff, outage = Backoff(), OutageLog(logging.getLogger(__name__), self.what)
        failed = False
        while not stopping.is_set():
            try:
                async with self.redis.pubsub() as pubsub:
                    await subscribe(pubsub, self.patterns, self.silence)
                    if failed:
                        await listener.resumed()
                    self.up, failed = True, False
                    backoff.reset()
                    outage.recovered()
                    async for message in published(pubsub, self.silence):
                        pattern, channel = message["pattern"], message["channel"]
                        await relay_safely(listener, pattern, channel, message["data"])
            except REDIS_FAILURES as error:
                outage.failed(error)
                if not self.up:
                    await listener.down()
                self.up, failed = False, True
                await asyncio.sleep(backoff.next())
