"""The gateway over HTTP: timeouts, its one error shape, and a user's tokens kept fresh."""

from __future__ import annotations

import asyncio
import getpass
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from services.common.client.retry import parse_retry_after

DEFAULT_GATEWAY = "http://127.0.0.1:8000"
# Refresh this long before the access token's end, so no request carries a dying token.
REFRESH_MARGIN = 30.0


class GatewayError(Exception):
    """The gateway answered with an error (or could not be reached)."""

    def __init__(
        self, status: int, code: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}" if status else message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


def password_of(email: str, given: str | None = None) -> str:
    """The account's password: ``given``, else FITNESS_PASSWORD, else asked on the terminal."""
    if given or os.environ.get("FITNESS_PASSWORD"):
        return given or os.environ["FITNESS_PASSWORD"]
    try:
        return getpass.getpass(f"password of {email}: ")
    except EOFError:  # no terminal to ask on
        raise ValueError("no password: set FITNESS_PASSWORD") from None


def timeouts(seconds: float) -> httpx.Timeout:
    """Every phase of every call bounded; connecting and waiting for the pool more tightly."""
    return httpx.Timeout(seconds, connect=min(5.0, seconds), pool=min(5.0, seconds))


def make_client(gateway: str, seconds: float, **options: Any) -> httpx.AsyncClient:
    """A client of the gateway at ``gateway`` whose every call has a deadline."""
    return httpx.AsyncClient(base_url=gateway, timeout=timeouts(seconds), **options)


def error_of(response: httpx.Response) -> GatewayError:
    """The GatewayError a non-2xx answer describes (the error shape, or the raw text)."""
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    try:
        error = response.json()["error"]
        return GatewayError(
            int(error["code"]), str(error["status"]), str(error["message"]), retry_after
        )
    except (ValueError, KeyError, TypeError):
        text = response.text.strip()[:200] or response.reason_phrase
        return GatewayError(response.status_code, "HTTP_ERROR", text, retry_after)


def unreachable(gateway: str, error: httpx.HTTPError) -> GatewayError:
    """A GatewayError for a call that got no answer."""
    return GatewayError(0, "UNREACHABLE", f"no answer from {gateway}: {error!r}")


def checked(response: httpx.Response) -> Any:
    """The JSON body of a 2xx answer; GatewayError otherwise."""
    if response.is_success:
        return response.json()
    raise error_of(response)


@dataclass
class Credentials:
    """An account the CLI logs in with."""

    email: str
    password: str
    user_id: str = ""
    username: str = ""


class Session:
    """One user's access and refresh tokens, renewed before they run out."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        credentials: Credentials,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.credentials = credentials
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token = ""
        self._refresh_token = ""
        self._expires_at = 0.0

    @property
    def user_id(self) -> str:
        """The account's id (known after the first login)."""
        return self.credentials.user_id

    async def login(self) -> None:
        """Log in with the e-mail and password."""
        body = {"email": self.credentials.email, "password": self.credentials.password}
        self._keep(checked(await self._client.post("/users/login", json=body)))

    async def headers(self) -> dict[str, str]:
        """The Authorization header, refreshing the token first when it is about to end."""
        async with self._lock:
            if not self._token:
                await self.login()
            elif self._clock() >= self._expires_at - REFRESH_MARGIN:
                await self._renew()
        return {"Authorization": f"Bearer {self._token}"}

    async def rejected(self, token_header: dict[str, str]) -> None:
        """A call with ``token_header`` got 401: renew, unless another call already did."""
        async with self._lock:
            if token_header.get("Authorization") == f"Bearer {self._token}":
                await self._renew()

    async def _renew(self) -> None:
        # Each refresh token works once; a refused one (say, a gateway restart with new
        # keys) falls back to the password.
        if self._refresh_token:
            response = await self._client.post(
                "/users/token/refresh", json={"refresh_token": self._refresh_token}
            )
            if response.status_code != 401:
                self._keep(checked(response))
                return
        await self.login()

    def _keep(self, body: dict[str, Any]) -> None:
        self._token = str(body["token"])
        self._refresh_token = str(body["refresh_token"])
        self._expires_at = self._clock() + float(body["expires_in"])
        self.credentials.user_id = str(body["user_id"])
