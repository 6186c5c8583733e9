"""A pybreaker circuit breaker made safe for asyncio.

pybreaker is synchronous: ``CircuitBreaker.call`` holds a threading lock for the
whole call, so awaiting inside it would serialize every request, and
``call_async`` needs Tornado. Here admission and outcome recording are short
synchronous steps around an await that holds no lock; pybreaker keeps doing the
counting, exclusion of non-counted errors and the state transitions, while
open -> half-open is timed by an injectable clock so tests need no sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pybreaker

# Only failures that say "this instance is unreachable or stuck" trip the breaker;
# NOT_FOUND, INVALID_ARGUMENT and the like prove the instance is alive (retry.RULES).
from services.common.upstream.retry import counts_as_failure

T = TypeVar("T")
Clock = Callable[[], float]


class BreakerOpen(Exception):
    """The breaker refuses calls for now."""

    def __init__(self, name: str, retry_after: float) -> None:
        super().__init__(f"circuit breaker {name} is open")
        self.retry_after = retry_after


class _OpenedAtListener(pybreaker.CircuitBreakerListener):  # type: ignore[misc]
    def __init__(self, owner: AsyncCircuitBreaker) -> None:
        self.owner = owner

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        if new_state.name == pybreaker.STATE_OPEN:
            self.owner.opened_at = self.owner.clock()


class AsyncCircuitBreaker:
    """Guards awaitable calls to one upstream instance."""

    def __init__(
        self, name: str, fail_max: int, reset_timeout: float, clock: Clock = time.monotonic
    ) -> None:
        self.name = name
        self.clock = clock
        self.opened_at = 0.0
        self._trial_in_flight = False
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_timeout,
            exclude=[lambda error: not counts_as_failure(error)],
            listeners=[_OpenedAtListener(self)],
            name=name,
            throw_new_error_on_trip=False,
        )

    @property
    def state(self) -> str:
        """'closed', 'open' or 'half-open'."""
        return str(self._breaker.current_state)

    @property
    def fail_counter(self) -> int:
        """Consecutive counted failures so far."""
        return int(self._breaker.fail_counter)

    def retry_after(self) -> float:
        """Seconds until an open breaker lets a trial call through (0 if it would now)."""
        if self.state != pybreaker.STATE_OPEN:
            return 0.0
        return max(0.0, self.opened_at + self._breaker.reset_timeout - self.clock())

    def allows_calls(self) -> bool:
        """Whether a call made now would be attempted (no side effects)."""
        if self.state == pybreaker.STATE_HALF_OPEN:
            return not self._trial_in_flight
        return self.retry_after() == 0.0

    async def call(self, make_call: Callable[[], Awaitable[T]]) -> T:
        """Run the call if the breaker admits it, and record its outcome."""
        trial = self._admit()
        try:
            result = await make_call()
        except asyncio.CancelledError:
            self._trial_in_flight = self._trial_in_flight and not trial
            raise
        except Exception as error:
            self._record(error, trial)
            raise
        self._record(None, trial)
        return result

    def _admit(self) -> bool:
        """Let the call in, or raise BreakerOpen; True when it is the half-open trial."""
        if self.state == pybreaker.STATE_OPEN:
            if self.retry_after() > 0:
                raise BreakerOpen(self.name, self.retry_after())
            self._breaker.half_open()
        if self.state == pybreaker.STATE_HALF_OPEN:
            if self._trial_in_flight:
                raise BreakerOpen(self.name, self._breaker.reset_timeout)
            self._trial_in_flight = True
            return True
        return False

    def _record(self, error: Exception | None, trial: bool) -> None:
        if trial:
            self._trial_in_flight = False
        elif self.state != pybreaker.STATE_CLOSED:
            return  # a late result from before the trip; only the trial decides now
        with contextlib.suppress(Exception):
            self._breaker.call(_replay, error)


def _replay(error: Exception | None) -> None:
    if error is not None:
        raise error
