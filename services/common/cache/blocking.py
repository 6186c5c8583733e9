"""The cache for blocking code: use cases on a service's worker threads."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from services.common.cache.core import Kind, ReadCache

log = logging.getLogger(__name__)
T = TypeVar("T")

# Beyond the work's own bounds, how long a reading thread waits for a busy event loop.
LOOP_MARGIN = 1.0
# How long a writer's thread waits, after its commit, for the invalidation to land. Redis
# answers in a millisecond, so a read after the write sees the tombstone; a slow or dead
# Redis must not push the write past its caller's deadline (3 s) and turn an acknowledged
# commit into an indeterminate one. An invalidation not awaited goes on, bounded by the cache.
INVALIDATE_WAIT = 0.25


class Invalidator(Protocol):
    """Port of a use case that writes: forget what the cache holds of an entity."""

    def invalidate(self, kind: Kind[Any], entity: str) -> None:
        """Forget ``entity``'s ``kind`` after the source committed; never raises."""
        ...


class NoInvalidation:
    """No cache configured: nothing to forget."""

    def invalidate(self, kind: Kind[Any], entity: str) -> None:
        """Nothing."""


class BlockingCache:
    """Runs a ``ReadCache``'s calls on the event loop that owns its client, for a thread.

    The Redis client and the single-flight table belong to one loop; the work is handed
    to it with the thread's context variables (request id, deadline) and the thread waits
    (for an invalidation, ``INVALIDATE_WAIT`` at most, and not at all in a back-off).
    """

    def __init__(
        self, cache: ReadCache, loop: asyncio.AbstractEventLoop, invalidate_timeout: float
    ) -> None:
        self.cache = cache
        self.loop = loop
        self.invalidate_wait = min(invalidate_timeout, INVALIDATE_WAIT)

    def read(
        self, kind: Kind[T], entity: str, load: Callable[[], Awaitable[T]], budget: float
    ) -> T:
        """``cache.read`` from a thread; ``budget`` bounds the load (the cache bounds itself).

        Raises what the load raises, or TimeoutError if the loop does not answer in time.
        """
        return self._wait(lambda: self.cache.read(kind, entity, load), budget + LOOP_MARGIN)

    def invalidate(self, kind: Kind[Any], entity: str) -> None:
        """``cache.invalidate`` from a thread, awaited briefly; it goes on if not awaited.

        In a back-off (the store just failed) the thread does not wait: the attempt would
        most likely fail too, and every write would pay for it.
        """
        future = self._submit(lambda: self.cache.invalidate(kind, entity))
        if self.cache.backing_off():
            return
        try:
            future.result(self.invalidate_wait)
        except concurrent.futures.TimeoutError:
            log.warning("cache invalidation of %s %s still running", kind.name, entity)

    def _submit(self, work: Callable[[], Awaitable[T]]) -> concurrent.futures.Future[T]:
        if _running_loop() is self.loop:
            raise RuntimeError("BlockingCache would block its own event loop")
        return asyncio.run_coroutine_threadsafe(_awaited(work), self.loop)

    def _wait(self, work: Callable[[], Awaitable[T]], timeout: float) -> T:
        future = self._submit(work)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            if future.done():
                raise  # the work's own timeout, not the loop's
            future.cancel()
            raise TimeoutError("the cache's event loop did not answer in time") from None


async def _awaited(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
