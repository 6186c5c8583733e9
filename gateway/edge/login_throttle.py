"""Login and registration throttling per account and per client address, shared in Redis.

Every login attempt counts against the submitted email and the client address *before*
the user service is asked, in one Redis script that refuses a locked key instead, so
parallel guesses cannot slip past the lock. The attempt that reaches ``max_failures`` on
a key locks it for ``base_lockout``, each further one for twice as long (capped at
``max_lockout``), as OWASP's authentication guidance and NIST SP 800-63B section 5.2.2
ask. A locked key is answered 429 with Retry-After, so the right password is refused too
and a known email is throttled exactly like an unknown one. Counts are forgotten
``window`` seconds after the last lockout ends. A successful login forgets the account's
count and takes its own attempt back from the address's count.

Registration is limited per address: at most ``register_max_attempts`` in a fixed
``register_window``, every attempt counting.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from gateway.edge.errors import ApiError

# Refuses while any key is locked (answering the milliseconds left); otherwise counts the
# attempt on each key and, at or past its threshold, pushes its lock further out.
# KEYS: counter hashes. ARGV: now, then per key max_failures; then base, cap, window.
_ATTEMPT = """
local now, base, cap, window = tonumber(ARGV[1]), tonumber(ARGV[#ARGV - 2]),
    tonumber(ARGV[#ARGV - 1]), tonumber(ARGV[#ARGV])
local remaining = 0
for _, key in ipairs(KEYS) do
  local untils = tonumber(redis.call('HGET', key, 'until') or '0')
  remaining = math.max(remaining, untils - now)
end
if remaining > 0 then
  return math.ceil(remaining * 1000)
end
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
return 0
"""

# Takes one attempt back from each key; below its threshold again, the lock goes too.
# KEYS: counter hashes. ARGV: 1 to delete the first key outright, else 0; per key max_failures.
_RELEASE = """
for i, key in ipairs(KEYS) do
  if i == 1 and ARGV[1] == '1' then
    redis.call('DEL', key)
  elseif redis.call('EXISTS', key) == 1 then
    local count = redis.call('HINCRBY', key, 'failures', -1)
    if count <= 0 then
      redis.call('DEL', key)
    elseif count < tonumber(ARGV[i + 1]) then
      redis.call('HDEL', key, 'until')
    end
  end
end
return 0
"""

# A fixed-window counter: answers the milliseconds left in the window once it is full.
# KEYS[1]: the counter. ARGV: max attempts, window in milliseconds.
COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if count > tonumber(ARGV[1]) then return math.max(1, redis.call('PTTL', KEYS[1])) end
return 0
"""


@dataclass(frozen=True)
class ThrottleSettings:
    """How many attempts lock an account or an address, and for how long."""

    account_max_failures: int = 5
    # Many users can share one address (carrier NAT), so its threshold is higher.
    address_max_failures: int = 50
    base_lockout: float = 1.0
    max_lockout: float = 900.0
    window: float = 3600.0
    register_max_attempts: int = 30
    register_window: float = 3600.0


def address_bucket(address: str) -> str:
    """The part of a client address the throttle keys on: IPv4 whole, IPv6 by its /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        # One subscriber gets a whole /64 and can rotate through it at will.
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def too_many(retry_after: float, message: str) -> ApiError:
    """The 429 answer, telling the client when to retry (whole seconds, at least one)."""
    seconds = str(max(1, math.ceil(retry_after)))
    return ApiError(429, message, headers={"Retry-After": seconds})


class LoginThrottle:
    """Refuses logins to locked accounts and from locked addresses, and registration floods."""

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
        self._attempt = redis.register_script(_ATTEMPT)
        self._release = redis.register_script(_RELEASE)
        self._count = redis.register_script(COUNT_SCRIPT)

    async def check(self, email: str, address: str) -> None:
        """Count a login attempt, or raise a 429 ApiError while the account or address is locked."""
        s = self._settings
        waiting_ms = await self._attempt(
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
        if int(waiting_ms) > 0:
            raise too_many(int(waiting_ms) / 1000, "too many failed logins, retry later")

    async def succeeded(self, email: str, address: str) -> None:
        """Forget the account's count, and take this attempt back from the address's."""
        await self._give_back(email, address, forget_account=True)

    async def not_judged(self, email: str, address: str) -> None:
        """Take back an attempt the user service never judged (down, overloaded, bad input)."""
        # No password was tried, so the attempt tells an attacker nothing.
        await self._give_back(email, address, forget_account=False)

    async def _give_back(self, email: str, address: str, *, forget_account: bool) -> None:
        s = self._settings
        await self._release(
            keys=[self._account_key(email), self._address_key(address)],
            args=[int(forget_account), s.account_max_failures, s.address_max_failures],
        )

    async def check_registration(self, address: str) -> None:
        """Count a registration attempt, or raise a 429 ApiError once the address's are used up."""
        s = self._settings
        waiting_ms = await self._count(
            keys=[f"{self._prefix}:register:{address_bucket(address)}"],
            args=[s.register_max_attempts, math.ceil(s.register_window * 1000)],
        )
        if int(waiting_ms) > 0:
            raise too_many(int(waiting_ms) / 1000, "too many registrations, retry later")

    def _account_key(self, email: str) -> str:
        # Hashed: Redis need not hold the emails people try.
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        return f"{self._prefix}:account:{digest}"

    def _address_key(self, address: str) -> str:
        return f"{self._prefix}:address:{address_bucket(address)}"
