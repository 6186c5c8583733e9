"""Argon2id password hashing with a cap on how many hashes run at once."""

from __future__ import annotations

import threading
from typing import Protocol

from argon2 import PasswordHasher as Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError

from services.user.domain import Overloaded

# OWASP Password Storage Cheat Sheet minimum for argon2id: m=19 MiB, t=2, p=1.
OWASP_MEMORY_KIB = 19 * 1024
OWASP_TIME_COST = 2
OWASP_PARALLELISM = 1


class PasswordHasher(Protocol):
    """Port: turns passwords into hashes and checks them."""

    def hash(self, password: str) -> str:
        """Return a self-describing hash of the password."""
        ...

    def verify(self, password_hash: str, password: str) -> bool:
        """Tell whether the password matches the hash."""
        ...


class Argon2idHasher:
    """argon2id at OWASP strength; at most ``max_concurrent`` hashes run at once.

    Each hash holds ``memory_kib`` of RAM, so the cap bounds memory under a login
    flood; callers that wait longer than ``queue_timeout`` get Overloaded.
    """

    def __init__(
        self,
        max_concurrent: int,
        queue_timeout: float = 5.0,
        memory_kib: int = OWASP_MEMORY_KIB,
        time_cost: int = OWASP_TIME_COST,
    ) -> None:
        self._argon2 = Argon2(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=OWASP_PARALLELISM,
            type=Type.ID,
        )
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._queue_timeout = queue_timeout

    def hash(self, password: str) -> str:
        """Return an argon2id hash encoding its own parameters and salt."""
        with self._slot():
            return self._argon2.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """Tell whether the password matches; a malformed hash never matches."""
        with self._slot():
            try:
                return self._argon2.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

    def _slot(self) -> _Slot:
        return _Slot(self._slots, self._queue_timeout)


class _Slot:
    def __init__(self, semaphore: threading.BoundedSemaphore, timeout: float) -> None:
        self._semaphore = semaphore
        self._timeout = timeout

    def __enter__(self) -> None:
        if not self._semaphore.acquire(timeout=self._timeout):
            raise Overloaded("too many logins in progress, retry shortly")

    def __exit__(self, *_exc: object) -> None:
        self._semaphore.release()
