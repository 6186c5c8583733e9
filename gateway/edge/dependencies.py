"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from gateway.edge.auth import current_admin, current_analyst, current_principal, current_user
from gateway.edge.creation_limit import CreationLimit
from gateway.edge.idempotency import idempotency_var
from gateway.edge.login_throttle import LoginThrottle
from gateway.routes.schemas import ErrorBody
from services.common.upstream import UpstreamPool


@dataclass(frozen=True)
class Upstreams:
    """The service pools the routes call."""

    users: UpstreamPool
    activity: UpstreamPool
    sagas: UpstreamPool
    watch_logs: UpstreamPool
    motion: UpstreamPool
    health: UpstreamPool

    def all(self) -> list[UpstreamPool]:
        """Every pool."""
        return [self.users, self.activity, self.sagas, self.watch_logs, self.motion, self.health]


async def upstreams(request: Request) -> Upstreams:
    """The app's pools."""
    pools: Upstreams = request.app.state.upstreams
    return pools


async def creating_user(request: Request, caller: Annotated[str, Depends(current_user)]) -> str:
    """The caller of a route that creates something, counted against his creation limit."""
    limit: CreationLimit = request.app.state.creation_limit
    await limit.check(caller)
    return caller


async def login_throttle(request: Request) -> LoginThrottle:
    """The app's failed-login throttle."""
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


def new_request_id() -> str:
    """The request_id of a mutating call: derived from the client's Idempotency-Key when it
    sent one (so its retries are deduplicated by the services), else fresh; the gateway's
    own failover retries reuse it either way."""
    scoped = idempotency_var.get()
    return f"idem-{scoped}" if scoped else uuid.uuid4().hex


Caller = Annotated[str, Depends(current_user)]
Admin = Annotated[str, Depends(current_admin)]
Analyst = Annotated[str, Depends(current_analyst)]
Principal = Annotated[tuple[str, frozenset[str]], Depends(current_principal)]
Pools = Annotated[Upstreams, Depends(upstreams)]
Creator = Annotated[str, Depends(creating_user)]
Throttle = Annotated[LoginThrottle, Depends(login_throttle)]


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error responses a route can give."""
    return {status: {"model": ErrorBody} for status in statuses}


# What any authenticated route over a user's resources can answer besides success.
AUTH_STATUSES = (401, 403, 404, 422, 503)
AUTH_ERRORS = errors(*AUTH_STATUSES)
