"""Responses of the gateway's uvicorn, head and body in one write, as a raw client sees them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from deploy.local import free_port
from gateway.config import GatewaySettings
from gateway.edge.http_protocol import HeldHead
from gateway.realtime.wire import Scheduler
from tests.integration.platform import served_as_gateway

ANSWER = b'{"answer":"one write"}'


def raw_app(second_chunk: asyncio.Event) -> FastAPI:
    """A JSON answer, a streamed one whose second chunk waits for the event, an upload."""
    app = FastAPI()

    @app.api_route("/json", methods=["GET", "HEAD"])
    async def json_answer() -> dict[str, str]:
        return {"answer": "one write"}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"first"
            await second_chunk.wait()
            yield b"second"

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.get("/late-stream")
    async def late_stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            await second_chunk.wait()
            yield b"late"

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    return app


@asynccontextmanager
async def connection(
    second_chunk: asyncio.Event | None = None,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A keep-alive connection to the app served as ``python -m gateway`` serves the gateway."""
    settings = GatewaySettings(port=free_port())
    async with served_as_gateway(raw_app(second_chunk or asyncio.Event()), settings):
        reader, writer = await asyncio.open_connection(settings.host, settings.port)
        try:
            yield reader, writer
        finally:
            writer.close()


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode()


class RecordedWrites:
    """The real transport under a HeldHead, recording what reaches it."""

    def __init__(self, transport: asyncio.Transport, writes: list[bytes]) -> None:
        self.transport, self.writes = transport, writes

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """What every HeldHead from now on hands to its real transport, in order."""
    recorded: list[bytes] = []
    hold = HeldHead.__init__

    def recording(self: HeldHead, transport: asyncio.Transport, loop: Scheduler) -> None:
        hold(self, cast(asyncio.Transport, RecordedWrites(transport, recorded)), loop)

    monkeypatch.setattr(HeldHead, "__init__", recording)
    return recorded


async def test_each_json_response_reaches_the_socket_in_one_write(writes: list[bytes]) -> None:
    async with connection() as (reader, writer):
        for _ in range(3):  # on one keep-alive connection
            writer.write(get("/json"))
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            body = await asyncio.wait_for(reader.readexactly(len(ANSWER)), 5)
            assert head.startswith(b"HTTP/1.1 200 OK")
            assert body == ANSWER
            assert writes[-1] == head + body
    assert len(writes) == 3


async def test_a_streamed_response_sends_its_head_and_first_chunk_before_the_rest_is_ready() -> (
    None
):
    second_chunk = asyncio.Event()
    async with connection(second_chunk) as (reader, writer):
        writer.write(get("/stream"))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert b"transfer-encoding: chunked" in head
        first = await asyncio.wait_for(reader.readuntil(b"first\r\n"), 5)
        assert first == b"5\r\nfirst\r\n"
        second_chunk.set()  # only now: the head and the first chunk did not wait for it
        rest = await asyncio.wait_for(reader.readuntil(b"0\r\n\r\n"), 5)
        assert rest == b"6\r\nsecond\r\n0\r\n\r\n"


async def test_a_head_whose_body_is_not_ready_is_sent_without_waiting_for_it() -> None:
    body_ready = asyncio.Event()
    async with connection(body_ready) as (reader, writer):
        writer.write(get("/late-stream"))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200 OK")
        body_ready.set()  # only now: the head went out at the end of its loop step
        assert (
            await asyncio.wait_for(reader.readuntil(b"0\r\n\r\n"), 5) == b"4\r\nlate\r\n0\r\n\r\n"
        )


async def test_a_head_request_is_answered_though_the_client_half_closes_at_once() -> None:
    async with connection() as (reader, writer):
        writer.write(b"HEAD /json HTTP/1.1\r\nHost: test\r\n\r\n")
        writer.write_eof()  # as `nc -N` and some probes do: uvicorn closes when done
        answer = await asyncio.wait_for(reader.read(), 5)
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert answer.endswith(b"\r\n\r\n")  # a head, no body
    assert b"content-length: 22" in answer


async def test_an_upload_that_expects_100_continue_gets_it_before_its_answer(
    writes: list[bytes],
) -> None:
    async with connection() as (reader, writer):
        writer.write(
            b"POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"hello")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200 OK")
        assert await asyncio.wait_for(reader.readexactly(11), 5) == b'{"bytes":5}'
    assert writes == [interim, head + b'{"bytes":5}']  # the answer itself still in one write


async def test_pipelined_requests_are_answered_in_order() -> None:
    async with connection() as (reader, writer):
        writer.write(get("/json") + get("/missing") + get("/json"))
        statuses = []
        for _ in range(3):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await asyncio.wait_for(reader.readexactly(length), 5)
            statuses.append(head.split(b" ")[1])
        assert statuses == [b"200", b"404", b"200"]


async def test_a_malformed_request_after_an_answer_gets_a_400_and_the_connection_closes() -> None:
    async with connection() as (reader, writer):
        writer.write(get("/json"))
        assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).startswith(
            b"HTTP/1.1 200"
        )
        assert await asyncio.wait_for(reader.readexactly(len(ANSWER)), 5) == ANSWER
        writer.write(b"GET /\x00 HTTP/1.1\r\nHost: test\r\n\r\n")
        rest = await asyncio.wait_for(reader.read(), 5)  # read() returns at the close
    assert rest.startswith(b"HTTP/1.1 400 Bad Request")
