"""Frames through the wire and through ASGI reach a real client in the order they were sent."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, WebSocket
from websockets.asyncio.client import connect

from gateway.realtime.wire import text_frame, wire_of
from tests.integration.platform import served


def wire_then_asgi_app() -> FastAPI:
    """One WebSocket route: a frame on the wire, then one and the close through ASGI."""
    app = FastAPI()

    @app.websocket("/ws")
    async def wire_then_asgi(websocket: WebSocket) -> None:
        await websocket.accept()
        wire = wire_of(websocket.scope)
        assert wire is not None
        wire.bound(1 << 20, 5.0, lambda: None)
        assert wire.write(text_frame("first, through the wire"))
        await websocket.send_text("second, through ASGI")
        await websocket.close(1000)

    return app


async def test_a_frame_waiting_on_the_wire_goes_out_before_a_later_asgi_send_and_the_close() -> (
    None
):
    async with (
        served(wire_then_asgi_app()) as url,
        connect(url.replace("http", "ws") + "/ws", open_timeout=5) as ws,
    ):
        received = [await asyncio.wait_for(ws.recv(), 5) for _ in range(2)]
        await asyncio.wait_for(ws.wait_closed(), 5)
    assert received == ["first, through the wire", "second, through ASGI"]
    assert ws.close_code == 1000
