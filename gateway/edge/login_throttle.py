"""Login and registration throttling per account and per client address, shared in Redis.

Every login attempt counts against the submitted email and the client address *before*
the user service is asked, by a Redis script per key that refuses a locked key instead,
so parallel guesses cannot slip past the lock (one key per script: a Redis Cluster keeps
an account and an address in different slots). The attempt that reaches ``max_failures`` on
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

from gateway.edge.errors import ApiError
from services.common.redis import RedisClient

# One key per script (a Redis Cluster refuses a script over keys of two slots, and an
# account and an address hash apart). Refuses while the key is locked (answering the
# milliseconds left); otherwise counts the attempt and, at or past the threshold, pushes
# the lock further out. KEYS[1]: the counter hash. ARGV: now, max_failures, base, cap, window.
_ATTEMPT = """
local now, threshold = tonumber(ARGV[1]), tonumber(ARGV[2])
local base, cap, window = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local untils = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if untils > now then
  return math.ceil((untils - now) * 1000)
end
local over = redis.call('HINCRBY', KEYS[1], 'failures', 1) - threshold
local lock = 0
if over >= 0 then
  lock = math.min(cap, base * 2 ^ over)
  redis.call('HSET', KEYS[1], 'until', string.format('%.3f', now + lock))
end
redis.call('PEXPIRE', KEYS[1], math.ceil((lock + window) * 1000))
return 0
"""

# Takes one attempt back from the key (or forgets it); below its threshold again, the
# lock goes too. KEYS[1]: the counter hash. ARGV: 1 to delete it outright, else 0; max_failures.
_RELEASE = """
if ARGV[1] == '1' then
  redis.call('DEL', KEYS[1])
elseif redis.call('EXISTS', KEYS[1]) == 1 then
  local count = redis.call('HINCRBY', KEYS[1], 'failures', -1)
  if count <= 0 then
    redis.call('DEL', KEYS[1])
  elseif count < tonumber(ARGV[2]) then
    redis.call('HDEL', KEYS[1], 'until')
  end
end
return 0
"""

# A fixed-window counter: answers the milliseconds left in the window once it is full.
# KEYS[1]: the counter. ARGV: max attempts, window in milliseconds.
# ARGV[3], when given, is how many things one call counts (a batch of watch-log entries).
COUNT_SCRIPT = """
local count = redis.call('INCRBY', KEYS[1], tonumber(ARGV[3] or 1))
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
        redis: RedisClient,
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
        counted: list[tuple[str, int]] = []
        for key, threshold in self._keys(email, address):
            waiting_ms = await self._attempt(
                keys=[key],
                args=[self._clock(), threshold, s.base_lockout, s.max_lockout, s.window],
            )
            if int(waiting_ms) > 0:
                # A refused attempt counts nowhere, as when both keys were one script's.
                for done, done_threshold in counted:
                    await self._release(keys=[done], args=[0, done_threshold])
                raise too_many(int(waiting_ms) / 1000, "too many failed logins, retry later")
            counted.append((key, threshold))

    async def succeeded(self, email: str, address: str) -> None:
        """Forget the account's count, and take this attempt back from the address's."""
        await self._give_back(email, address, forget_account=True)

    async def not_judged(self, email: str, address: str) -> None:
        """Take back an attempt the user service never judged (down, overloaded, bad input)."""
        # No password was tried, so the attempt tells an attacker nothing.
        await self._give_back(email, address, forget_account=False)

    async def _give_back(self, email: str, address: str, *, forget_account: bool) -> None:
        for key, threshold in self._keys(email, address):
            forget = forget_account and key == self._account_key(email)
            await self._release(keys=[key], args=[int(forget), threshold])

    async def check_registration(self, address: str) -> None:
        """Count a registration attempt, or raise a 429 ApiError once the address's are used up."""
        s = self._settings
        waiting_ms = await self._count(
            keys=[f"{self._prefix}:register:{address_bucket(address)}"],
            args=[s.register_max_attempts, math.ceil(s.register_window * 1000)],
        )
        if int(waiting_ms) > 0:
            raise too_many(int(waiting_ms) / 1000, "too many registrations, retry later")

    def _keys(self, email: str, address: str) -> list[tuple[str, int]]:
        """The account's key, then the address's, each with its lockout threshold."""
        s = self._settings
        return [
            (self._account_key(email), s.account_max_failures),
            (self._address_key(address), s.address_max_failures),
        ]

    def _account_key(self, email: str) -> str:
        # Hashed: Redis need not hold the emails people try.
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        return f"{self._prefix}:account:{digest}"

    def _address_key(self, address: str) -> str:
        return f"{self._prefix}:address:{address_bucket(address)}"
