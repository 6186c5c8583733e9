"""argon2id hashing at OWASP strength, with bounded concurrency."""

from __future__ import annotations

import threading

import pytest

from services.user.domain import Overloaded
from services.user.passwords import Argon2idHasher


def test_hashes_are_argon2id_with_at_least_the_owasp_parameters() -> None:
    encoded = Argon2idHasher(max_concurrent=1).hash("long-password")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_verification_accepts_the_password_and_rejects_others() -> None:
    hasher = Argon2idHasher(max_concurrent=1)
    encoded = hasher.hash("long-password")
    assert hasher.verify(encoded, "long-password")
    assert not hasher.verify(encoded, "wrong-password")
    assert not hasher.verify("not a hash", "long-password")


def test_hashes_run_only_on_the_hashing_threads() -> None:
    hasher = Argon2idHasher(max_concurrent=2)
    names = {hasher._run(lambda: threading.current_thread().name) for _ in range(8)}
    assert names
    assert all(name.startswith("argon2") for name in names)


class Occupied:
    """Holds the hasher's only thread until released."""

    def __init__(self, hasher: Argon2idHasher) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=hasher._run, args=(self._hold,))
        self.thread.start()
        assert self.started.wait(5)

    def _hold(self) -> None:
        self.started.set()
        self.release.wait(5)

    def end(self) -> None:
        self.release.set()
        self.thread.join(5)


def test_a_hash_beyond_the_queue_is_refused_at_once() -> None:
    hasher = Argon2idHasher(max_concurrent=1, max_waiting=0)
    busy = Occupied(hasher)
    with pytest.raises(Overloaded):
        hasher.hash("long-password")
    busy.end()
    assert hasher.hash("long-password")


class CountingClock:
    """A monotonic clock that moves only when told to and counts its readings."""

    def __init__(self) -> None:
        self.now, self.readings = 0.0, 0

    def __call__(self) -> float:
        self.readings += 1
        return self.now


def test_a_hash_that_waited_past_the_queue_timeout_is_refused() -> None:
    clock = CountingClock()
    hasher = Argon2idHasher(max_concurrent=1, max_waiting=1, queue_timeout=1.0, clock=clock)
    busy = Occupied(hasher)
    outcome: list[object] = []
    waiting = threading.Thread(target=lambda: outcome.append(_attempt(hasher)))
    waiting.start()
    for _ in range(500):  # the queued hash has read its queueing time (3rd reading)
        if clock.readings >= 3:
            break
        threading.Event().wait(0.01)
    clock.now += 1.5
    busy.end()
    waiting.join(5)
    assert isinstance(outcome[0], Overloaded)


def _attempt(hasher: Argon2idHasher) -> object:
    try:
        return hasher.hash("long-password")
    except Overloaded as error:
        return error
