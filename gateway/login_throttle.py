"""Failed-login throttling per account and per client address, shared by every gateway in Redis.

After ``max_failures`` failed logins on one key (the submitted email, or the client
address), each further failure locks the key for an exponentially growing time
(``base_lockout`` doubled per failure, capped at ``max_lockout``), as OWASP's
authentication guidance and NIST SP 800-63B section 5.2.2 ask. A locked key is answered
429 with Retry-After before the user service is asked, so the right password is refused
too and a known email is throttled exactly like an unknown one. Failures are forgotten
``window`` seconds after the last lockout ends; a successful login forgets the
account's (not the address's) failures.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from gateway.errors import ApiError

# Counts a failure on each key and, past the threshold, pushes its lock further out.
# KEYS: counter hashes. ARGV: now, then per key max_failures; then base, cap, window.
_RECORD_FAILURE = """
local now, base, cap, window = tonumber(ARGV[1]), tonumber(ARGV[#ARGV - 2]),
    tonumber(ARGV[#ARGV - 1]), tonumber(ARGV[#ARGV])
for i, key in ipairs(KEYS) do
  local count = redis.call('HINCRBY', key, 'failures', 1)
  local over = count - tonumber(ARGV[i + 1])
  local lock = 0
  if over >= 0 then
    lock = math.min(cap, base * 2 ^ over)
    redis.call('HSET', key, 'until', string.format('%.3f', now + lock))
  end
  redis.call('PEXPIRE', key, math.ceil((lock + window) * 1000))
end
return 1
"""


@dataclass(frozen=True)
class ThrottleSettings:
    """How many failures lock an account or an address, and for how long."""

    account_max_failures: int = 5
    # Many users can share one address (carrier NAT), so its threshold is higher.
    address_max_failures: int = 50
    base_lockout: float = 1.0
    max_lockout: float = 900.0
    window: float = 3600.0


class LoginThrottle:
    """Refuses logins to locked accounts and from locked addresses; records the outcome."""

    def __init__(
        self,
        redis: Redis,
        settings: ThrottleSettings,
        clock: Callable[[], float] = time.time,
        prefix: str = "login-throttle",
    ) -> None:
        self._redis = redis
        self._settings = settings
        # Wall-clock time: every gateway instance compares against the same lock times.
        self._clock = clock
        self._prefix = prefix
        self._record = redis.register_script(_RECORD_FAILURE)

    async def check(self, email: str, address: str) -> None:
        """Raise a 429 ApiError with Retry-After while the account or the address is locked."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(self._account_key(email), "until")
            pipe.hget(self._address_key(address), "until")
            locks = await pipe.execute()
        now = self._clock()
        remaining = max((float(until) - now for until in locks if until), default=0.0)
        if remaining > 0:
            raise ApiError(
                429,
                "too many failed logins, retry later",
                headers={"Retry-After": str(max(1, math.ceil(remaining)))},
            )

    async def failed(self, email: str, address: str) -> None:
        """Count a failed login against the account and the address."""
        s = self._settings
        await self._record(
            keys=[self._account_key(email), self._address_key(address)],
            args=[
                self._clock(),
                s.account_max_failures,
                s.address_max_failures,
                s.base_lockout,
                s.max_lockout,
                s.window,
            ],
        )

    async def succeeded(self, email: str) -> None:
        """Forget the account's failures (the address keeps its count)."""
        await self._redis.delete(self._account_key(email))

    def _account_key(self, email: str) -> str:
        # Hashed: Redis need not hold the emails people try.
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        return f"{self._prefix}:account:{digest}"

    def _address_key(self, address: str) -> str:
        return f"{self._prefix}:address:{address}"
