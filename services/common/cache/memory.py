"""An in-memory ``CacheStore`` on an injectable clock: the fake for tests, same semantics."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class MemoryStore:
    """Keys with expiry in a dict; ``down`` makes every call fail as an outage would."""

    clock: Callable[[], float] = time.monotonic
    down: bool = False
    entries: dict[str, tuple[str, float]] = field(default_factory=dict)
    calls: int = 0

    async def get(self, key: str) -> str | None:
        """The live value of ``key``."""
        self._touch()
        entry = self.entries.get(key)
        if entry is None or entry[1] <= self.clock():
            self.entries.pop(key, None)
            return None
        return entry[0]

    async def set(self, key: str, value: str, ttl: float, only_if_absent: bool = False) -> bool:
        """Store ``value`` until ``ttl`` from now; NX semantics with ``only_if_absent``."""
        if only_if_absent and await self.get(key) is not None:
            return False
        self._touch()
        self.entries[key] = (value, self.clock() + ttl)
        return True

    async def delete(self, key: str) -> None:
        """Remove ``key``."""
        self._touch()
        self.entries.pop(key, None)

    def ttl(self, key: str) -> float | None:
        """Seconds ``key`` has left, or None if absent."""
        entry = self.entries.get(key)
        return None if entry is None else entry[1] - self.clock()

    def _touch(self) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionRefusedError("memory store is down")
