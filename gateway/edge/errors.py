"""One JSON error shape for every failure, and the one gRPC-to-HTTP status table."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any, Protocol

import grpc
import redis.exceptions
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from services.common.upstream import NoInstanceAvailable, RpcFailed
from services.common.upstream.retry import rule_for

log = logging.getLogger(__name__)

GRPC_TO_HTTP: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    # 409, not 400: the request is well-formed but conflicts with the resource's current
    # state (a session already ended, a goal already achieved); the client re-reads the
    # resource instead of fixing the request.
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
# Anything else from upstream is the upstream's fault, not the client's.
UPSTREAM_FAILURE = 502

# Redis failures that mean "not now" rather than "never": refused, reset or timed-out
# connections, a server still loading its append-only file (BusyLoadingError is a
# ConnectionError), a replica not yet promoted. A retry shortly after succeeds.
REDIS_OUTAGES: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.TryAgainError,
    redis.exceptions.ClusterDownError,
    # Raised after too many MOVED/ASK/TRYAGAIN redirections ("TTL exhausted", resharding).
    redis.exceptions.ClusterError,
    # A cluster's slot map being re-read during a failover (not a RedisError).
    redis.exceptions.RedisClusterException,
)
# A restarted Redis answers within a second or two (see docs/operations.md).
REDIS_RETRY_AFTER = "2"

# The status a code gets when the raiser names none. 409 has three causes (ALREADY_EXISTS,
# FAILED_PRECONDITION, ABORTED), so a 409 always names its own.
HTTP_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UPSTREAM_ERROR",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class ApiError(Exception):
    """An error the gateway reports to the client as-is."""

    def __init__(
        self,
        http_status: int,
        message: str,
        status: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        if http_status == 409 and not status:
            raise ValueError(
                "a 409 must name its status: ALREADY_EXISTS, FAILED_PRECONDITION or ABORTED"
            )
        self.http_status = http_status
        self.status = status or HTTP_STATUS_NAMES.get(http_status, "ERROR")
        self.message = message
        self.headers = headers or {}


def error_body(http_status: int, status: str, message: str, **extra: Any) -> dict[str, Any]:
    """The error shape: {"error": {"code": 404, "status": "NOT_FOUND", "message": "..."}}."""
    return {"error": {"code": http_status, "status": status, "message": message, **extra}}


def error_response(error: ApiError, **extra: Any) -> JSONResponse:
    """Render an ApiError."""
    body = error_body(error.http_status, error.status, error.message, **extra)
    return JSONResponse(body, status_code=error.http_status, headers=error.headers)


class Rejection(Protocol):
    """One refused item of a batch, by its position (a reading, a log entry, a point)."""

    index: int
    reason: str

    def model_dump(self) -> dict[str, Any]: ...


def nothing_stored(kind: str, field: str, rejected: Sequence[Rejection]) -> JSONResponse:
    """The 422 of a batch of which nothing was stored, led by its first rejection."""
    first = rejected[0] if rejected else None
    account = f"{field}[{first.index}]: {first.reason}" if first else f"no {field}"
    more = f" (and {len(rejected) - 1} more)" if len(rejected) > 1 else ""
    refused = ApiError(422, f"no {kind} was stored: {account}{more}")
    return error_response(refused, rejected=[r.model_dump() for r in rejected])


def from_rpc_error(error: RpcFailed) -> ApiError:
    """Translate a failed upstream call (the client's error, never gRPC's) through the table."""
    return from_status(error.code, error.message)


def from_status(code: grpc.StatusCode, details: str) -> ApiError:
    """Translate an upstream status (of a call, or of the step that undid a saga)."""
    http_status = GRPC_TO_HTTP.get(code, UPSTREAM_FAILURE)
    message = details or code.name.lower()
    if http_status == UPSTREAM_FAILURE:
        log.error("upstream failure", extra={"code": code.name, "details": details})
        message = "an upstream service failed"
    # ABORTED (a concurrency conflict) and RESOURCE_EXHAUSTED (load shedding) are brief:
    # the client's failure table (services.common.upstream.retry) says how brief.
    retry_after = rule_for(code).retry_after
    headers = {"Retry-After": str(math.ceil(retry_after))} if retry_after else {}
    return ApiError(http_status, message, status=code.name, headers=headers)


def unavailable(error: NoInstanceAvailable) -> ApiError:
    """503 with Retry-After in whole seconds."""
    retry_after = str(max(1, math.ceil(error.retry_after)))
    return ApiError(
        503,
        f"{error.service} is unavailable, retry later",
        "UNAVAILABLE",
        {"Retry-After": retry_after},
    )


def store_unavailable(error: Exception) -> ApiError:
    """503 with Retry-After for a Redis outage: the one mapping every route and socket uses."""
    log.warning("redis unavailable", extra={"error": repr(error)})
    return ApiError(
        503,
        "the gateway's shared store is unavailable, retry later",
        "UNAVAILABLE",
        {"Retry-After": REDIS_RETRY_AFTER},
    )


def _describe(errors: list[Any]) -> str:
    parts = []
    for entry in errors:
        if entry.get("type") == "json_invalid":
            return "request body is not valid JSON"
        where = ".".join(str(part) for part in entry.get("loc", ()) if part != "body")
        message = str(entry.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where or 'body'}: {message}")
    return "; ".join(parts)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the path answers; Starlette's 405 names only one route's."""
    methods: set[str] = set()
    probe = {**request.scope, "method": ""}
    for route in iter_route_contexts(request.app.routes):
        if route.matches(probe)[0] is not Match.NONE:
            methods.update(route.methods or ())
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception the app can raise to the one error shape."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(ApiError(422, _describe(list(error.errors()))))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        headers = dict(error.headers) if error.headers else None
        if error.status_code == 405:
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
        return error_response(ApiError(error.status_code, str(error.detail), headers=headers))

    @app.exception_handler(RpcFailed)
    async def rpc_error(_request: Request, error: RpcFailed) -> JSONResponse:
        return error_response(from_rpc_error(error))

    @app.exception_handler(NoInstanceAvailable)
    async def no_instance(_request: Request, error: NoInstanceAvailable) -> JSONResponse:
        return error_response(unavailable(error))

    async def redis_outage(_request: Request, error: Exception) -> JSONResponse:
        return error_response(store_unavailable(error))

    for outage in REDIS_OUTAGES:
        app.add_exception_handler(outage, redis_outage)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(ApiError(500, "internal error"))
