"""The WebSocket lane: handshakes straight to their endpoint, everything else to the app."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from gateway.app import include_routes
from gateway.realtime.lane import WebSocketLane, socket_routes
from services.common.logs import request_id_var

Call = tuple[str, WebSocket, dict[str, Any]]


def app_with_sockets(calls: list[Call]) -> FastAPI:
    """An app with a WebSocket route taking a path parameter, one taking none, and HTTP."""
    app = FastAPI()
    router = APIRouter(prefix="/ws")

    @router.websocket("/rooms/{room_id}/seats/{seat:int}")
    async def room(websocket: WebSocket, room_id: str, seat: int) -> None:
        calls.append(("room", websocket, {"room_id": room_id, "seat": seat}))

    @router.websocket("/lobby")
    async def lobby(websocket: WebSocket) -> None:
        calls.append(("lobby", websocket, {"request_id": request_id_var.get()}))

    app.include_router(router)

    async def seen_by_app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append(("app", WebSocket(scope, receive, send), {"type": scope["type"]}))

    app.router.mount("/other", seen_by_app)
    return app


async def nothing() -> Message:
    return {"type": "websocket.disconnect"}


async def dropped(message: Message) -> None:
    pass


def handshake(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> Scope:
    return {"type": "websocket", "path": path, "headers": headers or [], "root_path": ""}


async def test_a_handshake_reaches_its_endpoint_with_path_parameters_converted() -> None:
    calls: list[Call] = []
    app = app_with_sockets(calls)
    await WebSocketLane(app)(handshake("/ws/rooms/r1/seats/7"), nothing, dropped)
    [(name, websocket, parameters)] = calls
    assert (name, parameters) == ("room", {"room_id": "r1", "seat": 7})
    assert websocket.path_params == {"room_id": "r1", "seat": 7}
    assert websocket.app is app  # endpoints reach app.state as they would through FastAPI


async def test_a_handshake_gets_the_clients_safe_request_id_or_a_new_one() -> None:
    calls: list[Call] = []
    lane = WebSocketLane(app_with_sockets(calls))
    await lane(handshake("/ws/lobby", [(b"x-request-id", b"trace-1")]), nothing, dropped)
    await lane(handshake("/ws/lobby", [(b"x-request-id", b"bad id\n")]), nothing, dropped)
    given, replaced = (call[2]["request_id"] for call in calls)
    assert given == "trace-1"
    assert len(replaced) == 32  # a new uuid4 hex, the unsafe one dropped
    assert replaced.isalnum()


async def test_other_paths_and_http_requests_go_to_the_app() -> None:
    calls: list[Call] = []
    lane = WebSocketLane(app_with_sockets(calls))
    await lane(handshake("/other/socket"), nothing, dropped)
    await lane(handshake("/ws/rooms/r1/seats/not-a-number"), nothing, dropped)
    assert [(name, parameters["type"]) for name, _, parameters in calls] == [("app", "websocket")]
    assert len(calls) == 1  # the unmatched room path was the app's to refuse, not an endpoint's


def test_the_lane_refuses_a_websocket_route_that_needs_dependencies() -> None:
    app = FastAPI()

    async def user() -> str:
        return "ann"

    @app.websocket("/ws/needs-user")
    async def needs_user(websocket: WebSocket, name: str = Depends(user)) -> None:
        pass

    with pytest.raises(TypeError, match="/ws/needs-user"):
        WebSocketLane(app)


def test_the_gateways_own_websocket_routes_are_all_served_by_the_lane() -> None:
    app = FastAPI()
    include_routes(app)  # every router of the gateway: none may need what the lane skips
    assert sorted(route.path for route in socket_routes(app)) == [
        "/ws/notifications",
        "/ws/sessions/{session_id}",
    ]
