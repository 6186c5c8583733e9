"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from gateway.auth import current_user
from gateway.schemas import ErrorBody
from gateway.upstream import UpstreamPool


@dataclass(frozen=True)
class Upstreams:
    """The service pools the routes call."""

    users: UpstreamPool
    activity: UpstreamPool

    def all(self) -> list[UpstreamPool]:
        """Every pool."""
        return [self.users, self.activity]


async def upstreams(request: Request) -> Upstreams:
    """The app's pools."""
    pools: Upstreams = request.app.state.upstreams
    return pools


def new_request_id() -> str:
    """Idempotency key for one mutating call; the gateway's failover retries reuse it."""
    return uuid.uuid4().hex


Caller = Annotated[str, Depends(current_user)]
Pools = Annotated[Upstreams, Depends(upstreams)]


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error responses a route can give."""
    return {status: {"model": ErrorBody} for status in statuses}


# What any authenticated route over a user's resources can answer besides success.
AUTH_STATUSES = (401, 403, 404, 422, 503)
AUTH_ERRORS = errors(*AUTH_STATUSES)
