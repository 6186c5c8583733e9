"""The realtime room's endless background loops, started and stopped together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


class Background:
    """Loops that run until the app stops.

    Each loop checks ``stopping`` as well as being cancelled: redis-py can turn a
    cancellation inside its connection pool into a connection error, which a loop that
    retries on connection errors would otherwise take for a hiccup and carry on.
    """

    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def run(self, loop: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
        """Start a loop that takes the stop flag."""
        self.tasks.append(asyncio.create_task(loop(self.stopping)))

    async def stop(self, grace: float = 5.0) -> None:
        """Ask every loop to stop, cancel them, and wait for them (at most ``grace`` seconds)."""
        self.stopping.set()
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=grace)
