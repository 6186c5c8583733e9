"""Cache-aside reads over a shared store, with invalidation on write and a dead-cache bypass.

The source of truth is always the service's own store: the cache only ever saves a call.

- **Read**: ``get``; on a hit decode and return; on a miss (or a tombstone) load from the
  source, then fill with ``SET NX`` and a jittered TTL, so expiries of many keys spread out.
- **Invalidate** (a writer, after its commit): ``SET`` a short-lived *tombstone* instead of
  ``DEL``. A reader that loaded the old value before the commit and fills after it would
  otherwise put the stale value back for a whole TTL; its ``SET NX`` now fails while the
  tombstone lives, and a reader whose load took longer than the tombstone lives does not
  fill at all (``max_fill_age``), so no interleaving leaves a stale value behind.
- **Stampedes**: concurrent misses of one key in one process share one load (single
  flight, also while the cache is down); across processes at most one load per process
  runs, and TTL jitter keeps keys from expiring together. A cross-process lock would add
  a round trip to every miss to save at most (processes - 1) loads, so there is none.
  A read that finds a tombstone joins only a load begun after it was issued: a load
  begun earlier may have read the source before the write (whose invalidation another
  process cannot cancel). An invalidation in this process forgets the running load, and
  no read joins a load older than ``max_fill_age``.
- **Outage**: every store call is bounded by ``timeout``; a failure (refused, timed out,
  any Redis error) answers from the source and skips the cache for ``backoff`` seconds,
  so a dead cache costs one bounded wait per back-off, not one per call. Invalidations are
  still attempted during a back-off (a lost one leaves a value at most one TTL old), but
  a writer's thread does not wait for them then (``BlockingCache``). A read that bypasses
  the cache may still join a load begun before another process's write: it has no
  tombstone to tell it, so it can be as old as one load (the loaders' 3 s deadline).
- Errors of the loader propagate and are never cached; nor is anything that is not a value.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from services.common.cache.metrics import CacheMetrics

log = logging.getLogger(__name__)
T = TypeVar("T")

# Not JSON, so never mistaken for a value.
TOMBSTONE = "!invalidated"


class CacheStore(Protocol):
    """Port: a shared key-value store with expiry (Redis, or the in-memory fake)."""

    async def get(self, key: str) -> str | None:
        """The value stored under ``key``, or None."""
        ...

    async def set(self, key: str, value: str, ttl: float, only_if_absent: bool = False) -> bool:
        """Store ``value`` for ``ttl`` seconds; with ``only_if_absent`` only if ``key`` is free.

        Returns whether it was stored.
        """
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        ...


@dataclass(frozen=True)
class Kind(Generic[T]):
    """One kind of cached value: its key shape, schema version, TTL and JSON codec.

    Bump ``version`` whenever the encoded shape changes: the key changes with it, so a new
    reader never decodes an old shape (the old keys expire on their own).
    """

    name: str
    version: int
    ttl: float
    encode: Callable[[T], Any]
    decode: Callable[[Any], T]

    def key(self, entity: str) -> str:
        """The key of ``entity``'s value, e.g. ``cache:v1:{user:42}:profile``.

        The entity is the hash tag, so every key of one entity lives in one cluster slot.
        """
        return f"cache:v{self.version}:{{{entity}}}:{self.name}"


@dataclass(frozen=True)
class CachePolicy:
    """Timings of one cache client (seconds)."""

    timeout: float = 0.25  # one store call on the read path
    invalidate_timeout: float = 1.0  # one invalidation: worth waiting longer for
    backoff: float = 1.0  # after a store failure, how long reads skip the cache
    jitter: float = 0.1  # TTLs vary by up to this fraction either way
    tombstone_ttl: float = 5.0  # how long an invalidation refuses fills
    # A load that took longer than this does not fill: a write may have come and gone
    # (its tombstone expired) while it ran. Longer than the loaders' call deadlines (3 s).
    max_fill_age: float = 4.0

    def __post_init__(self) -> None:
        if not 0 < self.max_fill_age < self.tombstone_ttl:
            raise ValueError("max_fill_age must be positive and shorter than tombstone_ttl")


class ReadCache(Protocol):
    """What a reader and a writer ask of a cache (``CacheAside``, or ``NoCache``)."""

    async def read(self, kind: Kind[T], entity: str, load: Callable[[], Awaitable[T]]) -> T:
        """``entity``'s value of ``kind``: cached, or loaded (and cached)."""
        ...

    async def invalidate(self, kind: Kind[Any], entity: str) -> None:
        """Forget ``entity``'s value of ``kind`` after its source changed."""
        ...

    def backing_off(self) -> bool:
        """Whether the cache is skipped now, after a failure (callable from any thread)."""
        ...


class NoCache:
    """The cache switched off: every read loads, invalidation does nothing."""

    async def read(self, kind: Kind[T], entity: str, load: Callable[[], Awaitable[T]]) -> T:
        """Load."""
        return await load()

    async def invalidate(self, kind: Kind[Any], entity: str) -> None:
        """Nothing to forget."""

    def backing_off(self) -> bool:
        """Never: there is nothing to skip."""
        return False


class _StoreFailed(Exception):
    """A store call failed or timed out (already logged and counted)."""


@dataclass(frozen=True)
class _Flight:
    """One running load of a key: its future, when it began (ticket and clock)."""

    future: asyncio.Future[Any]
    ticket: int
    started: float


@dataclass
class CacheAside:
    """Cache-aside over a ``CacheStore`` on one event loop (see the module docstring)."""

    store: CacheStore
    metrics: CacheMetrics
    policy: CachePolicy = field(default_factory=CachePolicy)
    clock: Callable[[], float] = time.monotonic
    random: Callable[[], float] = random.random
    _down_until: float = field(default=float("-inf"), init=False)
    _loading: dict[str, _Flight] = field(default_factory=dict, init=False)
    # Orders reads and loads in this process: a clock may not move between them.
    _tickets: Iterator[int] = field(default_factory=itertools.count, init=False)

    async def read(self, kind: Kind[T], entity: str, load: Callable[[], Awaitable[T]]) -> T:
        """``entity``'s value of ``kind``: from the cache, else loaded and filled."""
        key = kind.key(entity)
        issued = next(self._tickets)
        # Loads share one flight even while the cache is down: the source is spared then too.
        if self.backing_off():
            self.metrics.read(kind.name, "bypass")
            return await self._single_flight(kind, key, load)
        try:
            raw = await self._call(self.store.get(key), self.policy.timeout)
            found = await self._decoded(kind, key, raw)
        except _StoreFailed:
            self.metrics.read(kind.name, "error")
            return await self._single_flight(kind, key, load)
        if found is not None:
            self.metrics.read(kind.name, "hit")
            return found[0]
        self.metrics.read(kind.name, "miss")
        # A tombstone: a write committed, perhaps after a running load read the source.
        newer_than = issued if raw == TOMBSTONE else None
        return await self._single_flight(kind, key, load, newer_than)

    def backing_off(self) -> bool:
        """Whether reads skip the cache now, after a store failure (safe from any thread)."""
        return self.clock() < self._down_until

    async def invalidate(self, kind: Kind[Any], entity: str) -> None:
        """After the source committed a change: refuse fills of this key for a while.

        Never raises: a failure is logged and counted, and the value's TTL bounds how long
        a stale copy can outlive it.
        """
        key = kind.key(entity)
        # A load running now may have read the source before the commit: no read joins it.
        self._loading.pop(key, None)
        try:
            await self._call(
                self.store.set(key, TOMBSTONE, self.policy.tombstone_ttl),
                self.policy.invalidate_timeout,
            )
        except _StoreFailed:
            self.metrics.invalidation(kind.name, "error")
            return
        self.metrics.invalidation(kind.name, "ok")

    async def _decoded(self, kind: Kind[T], key: str, raw: str | None) -> tuple[T] | None:
        if raw is None or raw == TOMBSTONE:
            return None
        try:
            return (kind.decode(json.loads(raw)),)
        except (ValueError, TypeError, KeyError) as error:
            # A corrupt entry: drop it so the next fill can replace it.
            log.warning("undecodable cache entry %s dropped: %r", key, error)
            await self._call(self.store.delete(key), self.policy.timeout)
            return None

    async def _single_flight(
        self,
        kind: Kind[T],
        key: str,
        load: Callable[[], Awaitable[T]],
        newer_than: int | None = None,
    ) -> T:
        """Join the key's running load, or start one; with ``newer_than``, only a later one."""
        flight = self._loading.get(key)
        if flight is None or not self._joinable(flight, newer_than):
            future = asyncio.ensure_future(self._load_and_fill(kind, key, load))
            flight = _Flight(future, next(self._tickets), self.clock())
            self._loading[key] = flight  # an older flight still answers its own waiters
            future.add_done_callback(functools.partial(self._landed, key, flight))
        # Shielded: one waiter cancelled (its client left) does not cancel the others' load.
        value: T = await asyncio.shield(flight.future)
        return value

    def _joinable(self, flight: _Flight, newer_than: int | None) -> bool:
        if newer_than is not None and flight.ticket < newer_than:
            return False
        # Its value would not fill, and a write may have come and gone while it ran.
        return self.clock() - flight.started < self.policy.max_fill_age

    def _landed(self, key: str, flight: _Flight, future: asyncio.Future[Any]) -> None:
        if self._loading.get(key) is flight:
            del self._loading[key]
        if not future.cancelled():
            future.exception()  # retrieved here too, in case every waiter went away

    async def _load_and_fill(self, kind: Kind[T], key: str, load: Callable[[], Awaitable[T]]) -> T:
        started = self.clock()
        value = await load()  # an error propagates to every waiter and caches nothing
        if self.clock() - started < self.policy.max_fill_age and not self.backing_off():
            try:
                encoded = json.dumps(kind.encode(value), separators=(",", ":"))
                await self._call(
                    self.store.set(key, encoded, self._ttl(kind), only_if_absent=True),
                    self.policy.timeout,
                )
            except _StoreFailed:
                pass  # counted; the caller has its value
        return value

    def _ttl(self, kind: Kind[Any]) -> float:
        spread = self.policy.jitter * (2 * self.random() - 1)
        return kind.ttl * (1 + spread)

    async def _call(self, call: Awaitable[T], bound: float) -> T:
        try:
            async with asyncio.timeout(bound):
                return await call
        except Exception as error:  # any store failure is an outage: the source answers
            self._down_until = self.clock() + self.policy.backoff
            self.metrics.store_error(type(error).__name__)
            log.warning("cache unavailable, answering from the source: %r", error)
            raise _StoreFailed from error
