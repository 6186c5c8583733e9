"""Bearer-token authentication and the rule that users touch only their own data."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Annotated

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.edge.errors import ApiError
from services.user.domain import ANALYST_ROLE

# Pinned: tokens are only ever accepted signed with Ed25519, never "none" or HMAC.
ALGORITHMS = ["EdDSA"]
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
ADMIN_ROLE = "admin"
# Declares the scheme in OpenAPI (the Authorize button of /docs) for every route that
# depends on it; the token itself is read by bearer_token, which keeps our 401 shape.
BEARER = HTTPBearer(
    auto_error=False, scheme_name="bearerAuth", description="A token from /users/login"
)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]


class TokenVerifier:
    """Verifies access tokens with the user service's public key."""

    _verified: Callable[[str], tuple[str, float, frozenset[str]]]

    def __init__(
        self,
        public_key_pem: bytes,
        issuer: str,
        audience: str,
        leeway: float = 30,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        key = load_pem_public_key(public_key_pem)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the token verification key must be an Ed25519 public key")
        self._key = key
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self._clock = clock
        # A client sends the same token with every request; checking its signature
        # costs more than the rest of a request. Only tokens that verified are
        # cached, keyed by the whole token (signature included), and expiry is
        # checked again on every use.
        self._verified = functools.lru_cache(maxsize=cache_size)(self._verify)

    def user_id(self, token: str) -> str:
        """Return the subject of a valid token, or raise a 401 ApiError."""
        return self.principal(token)[0]

    def principal(self, token: str) -> tuple[str, frozenset[str]]:
        """Return the subject and roles of a valid token, or raise a 401 ApiError."""
        subject, expires_at, roles = self._verified(token)
        if expires_at + self._leeway < self._clock():
            raise _unauthenticated("invalid token: Signature has expired")
        return subject, roles

    def _verify(self, token: str) -> tuple[str, float, frozenset[str]]:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=ALGORITHMS,
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.InvalidTokenError as error:
            raise _unauthenticated(f"invalid token: {error}") from error
        roles = claims.get("roles", [])
        if not isinstance(roles, list):
            raise _unauthenticated("invalid token: roles must be a list")
        return str(claims["sub"]), float(claims["exp"]), frozenset(map(str, roles))


def _unauthenticated(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": 'Bearer realm="fitness"'})


def bearer_token(request: Request) -> str:
    """The token from 'Authorization: Bearer <token>', or a 401 ApiError."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("missing bearer token")
    return token.strip()


async def current_user(request: Request, _scheme: Bearer) -> str:
    """FastAPI dependency: the id of the authenticated user.

    Async on purpose: FastAPI runs sync dependencies on a thread pool, and an
    Ed25519 check (tens of microseconds) is far cheaper than that hop.
    """
    verifier: TokenVerifier = request.app.state.verifier
    return verifier.user_id(bearer_token(request))


async def current_admin(request: Request, _scheme: Bearer) -> str:
    """FastAPI dependency: the id of the authenticated user, who must hold the admin role."""
    verifier: TokenVerifier = request.app.state.verifier
    subject, roles = verifier.principal(bearer_token(request))
    if ADMIN_ROLE not in roles:
        raise ApiError(403, "this route needs the admin role")
    return subject


# Reporting over every user's watch logs (gateway/routes/watch_logs): analysts and admins.
REPORTING_ROLES = frozenset({ANALYST_ROLE, ADMIN_ROLE})


async def current_analyst(request: Request, _scheme: Bearer) -> str:
    """FastAPI dependency: the authenticated user, who must hold the analyst or admin role."""
    verifier: TokenVerifier = request.app.state.verifier
    subject, roles = verifier.principal(bearer_token(request))
    if not roles & REPORTING_ROLES:
        raise ApiError(403, "this route needs the analyst or admin role")
    return subject


async def current_principal(request: Request, _scheme: Bearer) -> tuple[str, frozenset[str]]:
    """FastAPI dependency: the authenticated user's id and roles."""
    verifier: TokenVerifier = request.app.state.verifier
    return verifier.principal(bearer_token(request))


def require_self_or_admin(user_id: str, principal: tuple[str, frozenset[str]]) -> None:
    """Refuse with 403 unless the caller is this user or holds the admin role."""
    subject, roles = principal
    if user_id != subject and ADMIN_ROLE not in roles:
        raise ApiError(403, "only the user himself or an admin may do this")


def require_self(user_id: str, caller: str) -> None:
    """Refuse access to another user's resources with 403."""
    if user_id != caller:
        raise ApiError(403, "you may only access your own resources")
