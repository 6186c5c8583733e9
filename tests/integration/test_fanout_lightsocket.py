"""The fan-out benchmark's WebSocket client against a real websockets server, on uvloop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from http import HTTPStatus

import pytest
import uvloop
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from bench.fanout.lightsocket import LightSocket, ProtocolError, open_socket

TOKEN = "Bearer bench-token"
Handler = Callable[[ServerConnection], Awaitable[None]]


def refuse_without_token(connection: ServerConnection, request: Request) -> Response | None:
    """Upgrade only requests carrying the test's Authorization header."""
    if request.headers.get("Authorization") != TOKEN:
        return connection.respond(HTTPStatus.FORBIDDEN, "no token\n")
    return None


def on_uvloop(test: Callable[[str], Awaitable[None]], handler: Handler) -> None:
    """Run ``test(url)`` on uvloop against a websockets server running ``handler``."""

    async def main() -> None:
        async with serve(
            handler, "127.0.0.1", 0, process_request=refuse_without_token, compression=None
        ) as server:
            port = server.sockets[0].getsockname()[1]
            await asyncio.wait_for(test(f"ws://127.0.0.1:{port}/ws?x=1"), 10)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())


async def echo(connection: ServerConnection) -> None:
    """Send back every message, prefixed with the request's path."""
    assert connection.request is not None
    async for message in connection:
        text = message if isinstance(message, str) else message.decode()
        await connection.send(f"{connection.request.path} {text}")


def test_text_sent_is_echoed_back_through_the_upgrade_with_its_headers() -> None:
    async def test(url: str) -> None:
        ws = await open_socket(url, {"Authorization": TOKEN})
        ws.send("héllo")
        assert (await ws.recv()).decode() == "/ws?x=1 héllo"
        await ws.close()
        assert ws.closed.done()

    on_uvloop(test, echo)


def test_a_refused_upgrade_raises_with_the_status() -> None:
    async def test(url: str) -> None:
        with pytest.raises(ProtocolError, match="403"):
            await open_socket(url)

    on_uvloop(test, echo)


def test_pings_are_answered_and_fragments_arrive_as_one_message_to_the_listener() -> None:
    async def chatty(connection: ServerConnection) -> None:
        await connection.send("before listening")
        await asyncio.wait_for(await connection.ping(), 5)  # waits for our pong
        await connection.send(["fan", "-", "out"])
        await connection.wait_closed()

    async def test(url: str) -> None:
        ws = await open_socket(url, {"Authorization": TOKEN})
        heard: list[bytes] = []
        both = asyncio.Event()

        def on_text(_ws: LightSocket, payload: bytes) -> None:
            heard.append(payload)
            if len(heard) == 2:
                both.set()

        await asyncio.sleep(0.2)  # the first frame waits in recv()'s queue
        ws.listen(on_text)
        await asyncio.wait_for(both.wait(), 5)
        assert heard == [b"before listening", b"fan-out"]
        await ws.close()

    on_uvloop(test, chatty)


def test_a_close_from_the_server_ends_the_socket_and_recv_raises() -> None:
    async def closer(connection: ServerConnection) -> None:
        await connection.close(1001, "going away")

    async def test(url: str) -> None:
        ws = await open_socket(url, {"Authorization": TOKEN})
        await asyncio.wait_for(asyncio.shield(ws.closed), 5)
        with pytest.raises(ConnectionError):
            await ws.recv()
        with pytest.raises(ConnectionError):
            ws.send("too late")

    on_uvloop(test, closer)
