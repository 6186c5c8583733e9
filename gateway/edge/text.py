"""What every request passes before any route sees it: a JSON body that is Unicode text.

FastAPI reads JSON bodies with ``json.loads``, which decodes a non-UTF-8 body as UTF-16
or fails with a 400 of its own, turns ``"\\ud800"`` into half a UTF-16 pair that
protobuf cannot encode (a 500 far downstream), and gives up with a RecursionError on
deep nesting. This middleware answers all three with 422 in the one error shape, for
every route, including routes added later, and for bodies sent without a Content-Type
too, which FastAPI reads as JSON unless the route is strict about it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.edge.errors import ApiError, error_response

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def body_problem(body: bytes) -> str:
    """Why a JSON body is not acceptable text, or '' (a malformed document is left to FastAPI).

    Bodies are at most GATEWAY_MAX_BODY_BYTES (a watch-log batch GATEWAY_WATCH_LOGS_MAX_BYTES),
    so parsing each one twice costs little.
    """
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"request body is not UTF-8 (byte {error.start})"
    try:
        document = json.loads(body)
    except RecursionError:
        return "request body is nested too deeply"
    except ValueError:
        return ""
    # UTF-8 cannot carry a surrogate, so in a UTF-8 body one can only come from a
    # \uD800-\uDFFF escape: without one (nearly every body) there are no strings to walk.
    # json.loads also reads UTF-16 and UTF-32, where the escape's bytes differ: walk those.
    unescaped = json.detect_encoding(body) == "utf-8" and not _SURROGATE_ESCAPE.search(body)
    if not unescaped and any(_LONE_SURROGATE.search(text) for text in _strings(document)):
        return (
            "request body is not valid Unicode: it holds a lone surrogate escape (\\uD800-\\uDFFF)"
        )
    return ""


def _strings(document: Any) -> Iterable[str]:
    """Every string in a decoded JSON document, keys included (no recursion)."""
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def _is_json(scope: Scope) -> bool:
    # A body without a Content-Type (or with an empty one) is checked too: FastAPI reads it
    # as JSON on any route with strict_content_type=False, and refuses it (422) elsewhere.
    for key, value in scope.get("headers", ()):
        if key.lower() == b"content-type":
            kind = bytes(value).split(b";")[0].strip().lower()
            return not kind or kind == b"application/json" or kind.endswith(b"+json")
    return True


class JsonTextMiddleware:
    """Answers 422 for JSON bodies that are not UTF-8, hold lone surrogates or nest too deep."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body (the size limit applies before), check it, and hand it on."""
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        try:
            body = await _read(receive)
        except HTTPException as error:  # raised by BodyLimitMiddleware's receive
            too_large = ApiError(error.status_code, str(error.detail), "PAYLOAD_TOO_LARGE")
            await _send_error(scope, receive, send, too_large)
            return
        problem = body_problem(body)
        if problem:
            await _send_error(scope, receive, send, ApiError(422, problem))
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:  # after the body, only the client's disconnect is left to hear
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _read(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(bytes(message.get("body", b"")))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _send_error(scope: Scope, receive: Receive, send: Send, error: ApiError) -> None:
    await error_response(error)(scope, receive, send)
