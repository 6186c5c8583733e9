"""Idempotency-Key on the mutating routes: a retried request gets the first response again.

The first request with a key claims it in Redis (scoped to the caller), runs, and leaves
its response (2xx or 4xx) there for 24 hours; a retry with the same key and the same
request gets that response byte for byte, with ``Idempotent-Replayed: true``. The same
key with a different request is 422; while the first is still running, 409. The key
also becomes the gRPC ``request_id`` (see ``gateway.edge.dependencies.new_request_id``), so
even a retry after the gateway died mid-request creates nothing twice.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import json
import logging
import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.edge.auth import bearer_token
from gateway.edge.errors import REDIS_OUTAGES, ApiError, error_response, store_unavailable

log = logging.getLogger(__name__)
HEADER = "idempotency-key"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces
IN_FLIGHT_SECONDS = 30
KEEP_SECONDS = 24 * 3600
IDEMPOTENT_ROUTES = (
    ("POST", re.compile(r"^/users/[^/]+/goals$")),
    ("PATCH", re.compile(r"^/users/[^/]+/goals/[^/]+$")),
    ("DELETE", re.compile(r"^/users/[^/]+/goals/[^/]+$")),
    ("DELETE", re.compile(r"^/users/[^/]+$")),
    ("POST", re.compile(r"^/workouts/start$")),
    ("POST", re.compile(r"^/workouts/[^/]+/end$")),
    ("POST", re.compile(r"^/group-sessions$")),
    ("POST", re.compile(r"^/watch-logs$")),
)

# Replayed with the body: its type, and where a 202 says the outcome will be told.
KEPT_HEADERS = (b"content-type", b"location")

# Set while a request with a key runs: the caller-scoped key, hashed.
idempotency_var: contextvars.ContextVar[str] = contextvars.ContextVar("idempotency", default="")


class IdempotencyMiddleware:
    """Claims, replays and records responses of requests carrying an Idempotency-Key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Apply to the idempotent routes when the header is present."""
        key = _header(scope, HEADER) if _applies(scope) else ""
        if not key:
            await self.app(scope, receive, send)
            return
        try:
            await self._once(scope, receive, send, key)
        except ApiError as error:
            await error_response(error)(scope, receive, send)

    async def _once(self, scope: Scope, receive: Receive, send: Send, key: str) -> None:
        if not KEY_PATTERN.match(key):
            raise ApiError(400, "Idempotency-Key must be 1-255 printable ASCII characters")
        caller = _caller(scope)
        if caller is None:  # let the route answer 401 itself
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        scoped = hashlib.sha256(f"{caller}\0{key}".encode()).hexdigest()[:32]
        fingerprint = hashlib.sha256(
            f"{scope['method']} {scope['path']}\0".encode() + body
        ).hexdigest()
        redis = scope["app"].state.redis.commands
        record = f"idempotency:{scoped}"
        try:
            claimed = await redis.set(
                record, json.dumps({"fingerprint": fingerprint}), nx=True, ex=IN_FLIGHT_SECONDS
            )
            if not claimed:
                await _answer_from(await redis.get(record), fingerprint, send)
                return
        except REDIS_OUTAGES as error:
            raise store_unavailable(error) from error
        status, headers, sent = await self._run(scope, body, send, scoped)
        try:
            await _remember(redis, record, fingerprint, status, headers, sent)
        except REDIS_OUTAGES as error:
            # The answer is sent already; the claim expires and a retry then runs again.
            log.warning("idempotent answer not kept, redis down", extra={"error": repr(error)})

    async def _run(
        self, scope: Scope, body: bytes, send: Send, scoped: str
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        captured: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

        async def replay_body() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"], captured["headers"] = message["status"], message["headers"]
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        token = idempotency_var.set(scoped)
        try:
            await self.app(scope, replay_body, capture)
        finally:
            idempotency_var.reset(token)
        return captured["status"], captured["headers"], captured["body"]


def _applies(scope: Scope) -> bool:
    if scope["type"] != "http":
        return False
    return any(scope["method"] == m and p.match(scope["path"]) for m, p in IDEMPOTENT_ROUTES)


def _header(scope: Scope, name: str) -> str:
    for key, value in scope.get("headers", ()):
        if key.decode("latin-1").lower() == name:
            return str(value.decode("latin-1"))
    return ""


def _caller(scope: Scope) -> str | None:
    request = Request(scope)
    try:
        return str(scope["app"].state.verifier.user_id(bearer_token(request)))
    except ApiError:
        return None


async def _read_body(receive: Receive) -> bytes:
    body = b""
    try:
        while True:
            message = await receive()
            body += bytes(message.get("body", b""))
            if not message.get("more_body"):
                return body
    except HTTPException as too_big:  # raised by BodyLimitMiddleware's receive
        raise ApiError(too_big.status_code, str(too_big.detail)) from None


def _in_progress() -> ApiError:
    # A concurrency conflict, not a duplicate: the same request runs; retry shortly.
    return ApiError(
        409,
        "a request with this Idempotency-Key is in progress",
        status="ABORTED",
        headers={"Retry-After": "1"},
    )


async def _answer_from(stored: str | None, fingerprint: str, send: Send) -> None:
    if stored is None:  # the claim expired just now: the client may simply retry
        raise _in_progress()
    record = json.loads(stored)
    if record["fingerprint"] != fingerprint:
        raise ApiError(422, "this Idempotency-Key was used with a different request")
    if "status" not in record:
        raise _in_progress()
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in record["headers"]]
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": record["status"], "headers": headers})
    await send({"type": "http.response.body", "body": base64.b64decode(record["body"])})


async def _remember(
    redis: Any,
    record: str,
    fingerprint: str,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
) -> None:
    """Keep 2xx and 4xx answers; forget 5xx ones so a retry runs again."""
    if status >= 500:
        await redis.delete(record)
        return
    kept = [
        (k.decode("latin-1"), v.decode("latin-1")) for k, v in headers if k.lower() in KEPT_HEADERS
    ]
    value = {
        "fingerprint": fingerprint,
        "status": status,
        "headers": kept,
        "body": base64.b64encode(body).decode(),
    }
    await redis.set(record, json.dumps(value), ex=KEEP_SECONDS)
