"""Signed access tokens: EdDSA JWTs the gateway verifies with the public key alone."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common.timeutil import Clock, utc_now

ALGORITHM = "EdDSA"


@dataclass(frozen=True)
class IssuedToken:
    """A compact JWT and its lifetime in seconds."""

    token: str
    expires_in: int


class TokenIssuer:
    """Signs short-lived access tokens for users who logged in."""

    def __init__(
        self,
        private_key_pem: bytes,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        clock: Clock = utc_now,
    ) -> None:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the token signing key must be an Ed25519 private key")
        self._key = key
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds
        self._clock = clock

    def issue(self, user_id: str, roles: Sequence[str] = ()) -> IssuedToken:
        """Return a token naming the user as subject (and his roles), valid for the TTL."""
        now = int(self._clock().timestamp())
        claims = {
            "sub": user_id,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "nbf": now,
            "exp": now + self._ttl,
            "jti": uuid.uuid4().hex,
            "roles": list(roles),
        }
        return IssuedToken(jwt.encode(claims, self._key, algorithm=ALGORITHM), self._ttl)


def generate_keypair() -> tuple[bytes, bytes]:
    """Create a new Ed25519 key pair as (private PEM, public PEM)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public
