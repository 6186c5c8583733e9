"""Backoff with full jitter, the Retry-After header, and a token bucket for the send rate."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# A server asking for more than this is treated as asking for this: a CLI run should not
# sit silent for an hour because one header said so.
MAX_RETRY_AFTER = 60.0


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: attempt n waits U(0, min(cap, base * 2**n))."""

    base: float = 0.2
    cap: float = 10.0
    attempts: int = 6

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (0-based); never below Retry-After."""
        jittered = rng.uniform(0, min(self.cap, self.base * 2**attempt))
        if retry_after is None:
            return jittered
        return max(jittered, min(retry_after, MAX_RETRY_AFTER))


def parse_retry_after(value: str | None, now: Callable[[], datetime] | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    current = now() if now else datetime.now(UTC)
    return max(0.0, (moment - current).total_seconds())


@dataclass
class TokenBucket:
    """``rate`` tokens a second, up to ``capacity``; taking more than there are is a wait.

    The bucket goes into debt rather than refusing, so a batch larger than the capacity
    still goes, only later: the long-run rate stays ``rate``.
    """

    rate: float
    capacity: float
    clock: Callable[[], float]
    tokens: float = field(init=False)
    stamp: float = field(init=False)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.tokens = self.capacity
        self.stamp = self.clock()

    def take(self, amount: float) -> float:
        """Take ``amount`` tokens; the seconds to wait before using them (0: now)."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= amount
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate
