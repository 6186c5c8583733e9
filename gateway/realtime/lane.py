"""WebSocket handshakes go straight to their endpoint, past the HTTP layers they would cross.

An ASGI app's call for a WebSocket lasts as long as the connection, so every layer the
call passes through stays in memory with it: FastAPI's routing and dependency exit
stacks, Starlette's exception wrappers, each middleware's frame. Measured with
tracemalloc over 1,000 idle participants, those layers held 14 of 43 KiB per connection,
and none of them does anything for a WebSocket (our HTTP middleware passes them through).

``WebSocketLane`` sits in front of the app: a WebSocket handshake whose path matches one
of the app's WebSocket routes is answered by that route's endpoint, called with the
socket and its path parameters; everything else (HTTP, lifespan, unknown WebSocket
paths) goes to the app as before. The routes stay declared on the app, so its route
list (and the tests built on it) remain the truth. Endpoints served this way take no
dependencies; the lane refuses, at startup, a route that declares any.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, cast

from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from starlette.routing import compile_path
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from gateway.edge.middleware import take_request_id

Endpoint = Callable[..., Awaitable[None]]


class SocketRoute:
    """One WebSocket route of the app: its path pattern and its endpoint."""

    def __init__(self, path: str, endpoint: Endpoint) -> None:
        self.path, self.endpoint = path, endpoint
        self.regex, _, self.convertors = compile_path(path)

    def parameters(self, path: str) -> dict[str, Any] | None:
        """The path parameters when ``path`` is this route's, else None."""
        match = self.regex.match(path)
        if match is None:
            return None
        return {
            name: self.convertors[name].convert(value) for name, value in match.groupdict().items()
        }


def socket_routes(app: FastAPI) -> list[SocketRoute]:
    """The app's WebSocket routes, each checked to need nothing but the socket and its path."""
    routes = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIWebSocketRoute):
            route = SocketRoute(str(context.path), cast(Endpoint, context.endpoint))
            _refuse_dependencies(route, context.dependencies)
            routes.append(route)
    return routes


def _refuse_dependencies(route: SocketRoute, dependencies: list[Any]) -> None:
    expected = {"websocket", *route.convertors}
    taken = set(inspect.signature(route.endpoint).parameters)
    if dependencies or taken != expected:
        raise TypeError(
            f"WebSocket route {route.path} must take only {sorted(expected)} and no "
            f"dependencies to be served by the lane; it takes {sorted(taken)}"
        )


class WebSocketLane:
    """ASGI app: the app's WebSocket routes served directly, all else passed to the app."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.routes = socket_routes(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a matching WebSocket handshake; hand anything else to the app."""
        if scope["type"] == "websocket":
            for route in self.routes:
                parameters = route.parameters(scope["path"])
                if parameters is not None:
                    await self._serve(route, parameters, scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _serve(
        self,
        route: SocketRoute,
        parameters: dict[str, Any],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        take_request_id(scope)  # what RequestIdMiddleware does for a WebSocket
        scope["app"] = self.app  # what Starlette sets: endpoints reach app.state through it
        scope["path_params"] = parameters
        await route.endpoint(WebSocket(scope, receive, send), **parameters)
