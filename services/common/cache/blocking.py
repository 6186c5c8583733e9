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

# Beyond the work's own bounds, how long a thread waits for a busy event loop.
LOOP_MARGIN = 1.0


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
    to it with the thread's context variables (request id, deadline) and the thread waits.
    """

    def __init__(
        self, cache: ReadCache, loop: asyncio.AbstractEventLoop, invalidate_timeout: float
    ) -> None:
        self.cache = cache
        self.loop = loop
        self.invalidate_timeout = invalidate_timeout

    def read(
        self, kind: Kind[T], entity: str, load: Callable[[], Awaitable[T]], budget: float
    ) -> T:
        """``cache.read`` from a thread; ``budget`` bounds the load (the cache bounds itself).

        Raises what the load raises, or TimeoutError if the loop does not answer in time.
        """
        return self._wait(lambda: self.cache.read(kind, entity, load), budget + LOOP_MARGIN)

    def invalidate(self, kind: Kind[Any], entity: str) -> None:
        """``cache.invalidate`` from a thread; a loop that does not answer is logged."""
        try:
            work = lambda: self.cache.invalidate(kind, entity)  # noqa: E731
            self._wait(work, self.invalidate_timeout + LOOP_MARGIN)
        except TimeoutError:
            log.warning("cache invalidation of %s %s timed out", kind.name, entity)

    def _wait(self, work: Callable[[], Awaitable[T]], timeout: float) -> T:
        if _running_loop() is self.loop:
            raise RuntimeError("BlockingCache would block its own event loop")
        future = asyncio.run_coroutine_threadsafe(_awaited(work), self.loop)
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
