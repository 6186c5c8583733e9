"""Argon2id password hashing on a bounded set of threads with a bounded queue."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from argon2 import PasswordHasher as Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError

from services.user.domain import Overloaded

# OWASP Password Storage Cheat Sheet minimum for argon2id: m=19 MiB, t=2, p=1.
OWASP_MEMORY_KIB = 19 * 1024
OWASP_TIME_COST = 2
OWASP_PARALLELISM = 1

T = TypeVar("T")


class PasswordHasher(Protocol):
    """Port: turns passwords into hashes and checks them."""

    def hash(self, password: str) -> str:
        """Return a self-describing hash of the password."""
        ...

    def verify(self, password_hash: str, password: str) -> bool:
        """Tell whether the password matches the hash."""
        ...


class Argon2idHasher:
    """argon2id at OWASP strength, run only on ``max_concurrent`` dedicated threads.

    Each hash holds ``memory_kib`` of RAM, and glibc keeps a freed buffer in the arena
    of the thread that used it, so hashing on a fixed set of threads (not on whichever
    RPC worker asked) bounds memory to ``max_concurrent`` buffers. At most
    ``max_waiting`` more hashes queue for a thread; beyond that, or after waiting
    ``queue_timeout`` seconds, the caller gets Overloaded at once rather than running
    into his own deadline.
    """

    def __init__(
        self,
        max_concurrent: int,
        max_waiting: int | None = None,
        queue_timeout: float = 1.0,
        memory_kib: int = OWASP_MEMORY_KIB,
        time_cost: int = OWASP_TIME_COST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._argon2 = Argon2(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=OWASP_PARALLELISM,
            type=Type.ID,
        )
        waiting = 4 * max_concurrent if max_waiting is None else max_waiting
        self._admitted = threading.BoundedSemaphore(max_concurrent + waiting)
        self._threads = ThreadPoolExecutor(max_concurrent, thread_name_prefix="argon2")
        self._queue_timeout = queue_timeout
        self._clock = clock

    def hash(self, password: str) -> str:
        """Return an argon2id hash encoding its own parameters and salt."""
        return self._run(self._argon2.hash, password)

    def verify(self, password_hash: str, password: str) -> bool:
        """Tell whether the password matches; a malformed hash never matches."""
        return self._run(self._verify, password_hash, password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _run(self, work: Callable[..., T], *args: Any) -> T:
        """Run work on a hashing thread and wait for it, or refuse at once when full."""
        if not self._admitted.acquire(blocking=False):
            raise Overloaded("too many logins in progress, retry shortly")
        try:
            queued_at = self._clock()
            return self._threads.submit(self._unless_stale, queued_at, work, *args).result()
        finally:
            self._admitted.release()

    def _unless_stale(self, queued_at: float, work: Callable[..., T], *args: Any) -> T:
        if self._clock() - queued_at > self._queue_timeout:
            raise Overloaded("too many logins in progress, retry shortly")
        return work(*args)
