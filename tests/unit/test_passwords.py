"""argon2id hashing at OWASP strength, with bounded concurrency."""

from __future__ import annotations

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


def test_a_caller_that_cannot_get_a_slot_is_told_to_come_back() -> None:
    hasher = Argon2idHasher(max_concurrent=1, queue_timeout=0.01)
    with hasher._slot(), pytest.raises(Overloaded):
        hasher.hash("long-password")
    assert hasher.hash("long-password")
