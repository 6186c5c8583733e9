"""ASGI middleware: request ids, security headers, body size limit, and HTTP metrics."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.edge.errors import ApiError, error_response
from gateway.edge.metrics import GatewayMetrics
from services.common.logs import REQUEST_ID_HEADER, request_id_var

SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def take_request_id(scope: Scope) -> str:
    """The client's X-Request-ID when safe, else a new one; set as this request's context."""
    given = _header(scope, REQUEST_ID_HEADER)
    request_id = given if given and SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
    request_id_var.set(request_id)
    return request_id


class RequestIdMiddleware:
    """Takes a safe X-Request-ID from the client or makes one; echoes it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Set the request id context for the rest of the request."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = take_request_id(scope)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"].append((REQUEST_ID_HEADER.encode(), request_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


# Sent on every answer: browsers must not guess a content type other than the declared one.
SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"),)


class SecurityHeadersMiddleware:
    """Adds SECURITY_HEADERS to every HTTP response, error answers included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Append the headers when the response starts."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"].extend(SECURITY_HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """Answers 413 for bodies over ``max_bytes``, declared or streamed.

    ``route_limits`` gives a few routes, by exact method and path, a bound of their own
    (a batch of watch logs); every other request, whatever its path, keeps ``max_bytes``.
    A path may be a template: ``{user_id}`` stands for one segment.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        route_limits: Mapping[tuple[str, str], int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.route_limits = dict(route_limits or {})
        self.template_limits = [
            (method, _template(path), limit)
            for (method, path), limit in self.route_limits.items()
            if "{" in path
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Reject early on Content-Length, otherwise count bytes as they arrive."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["method"], scope["path"])
        declared = _header(scope, "content-length")
        if declared and (not declared.isdigit() or int(declared) > limit):
            too_large = ApiError(413, f"request body exceeds {limit} bytes")
            await error_response(too_large)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, f"request body exceeds {limit} bytes")
            return message

        await self.app(scope, counting_receive, send)

    def _limit(self, method: str, path: str) -> int:
        """The bound of a request: its route's own, else ``max_bytes``."""
        exact = self.route_limits.get((method, path))
        if exact is not None:
            return exact
        for wanted, pattern, limit in self.template_limits:
            if method == wanted and pattern.match(path):
                return limit
        return self.max_bytes


def _template(path: str) -> re.Pattern[str]:
    """A path template as a pattern: each ``{name}`` matches one segment."""
    parts = re.split(r"\{[^/{}]+\}", path)
    return re.compile("^" + "[^/]+".join(re.escape(part) for part in parts) + "$")


class MetricsMiddleware:
    """Counts requests and observes latency per route template, method and status."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request and record its final status."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - started)


def _header(scope: Scope, name: str) -> str:
    wanted = name.encode()
    for key, value in scope.get("headers", ()):
        if key.lower() == wanted:
            return str(value.decode("latin-1"))
    return ""
