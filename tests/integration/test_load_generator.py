"""The benchmarks' HTTP load generator against a small real server on loopback."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bench.load import run_load

BODY = b'{"ok":true}'


def answer(status: bytes) -> bytes:
    head = b"HTTP/1.1 " + status + b"\r\ncontent-length: %d\r\n\r\n" % len(BODY)
    return head + BODY


@asynccontextmanager
async def server(answers: int | None) -> AsyncIterator[tuple[int, list[bytes]]]:
    """Answers every third request 404, the rest 200, in 1-, 3- and 7-byte pieces;
    hangs up after ``answers`` answers on a connection (never, if None)."""
    requests: list[bytes] = []
    sizes = itertools.cycle([1, 3, 7])
    statuses = itertools.cycle([b"200 OK", b"200 OK", b"404 Not Found"])

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served = 0
        while answers is None or served < answers:
            try:
                requests.append(await reader.readuntil(b"\r\n\r\n"))
            except asyncio.IncompleteReadError:
                break
            data = answer(next(statuses))
            try:
                while data:
                    size = next(sizes)
                    writer.write(data[:size])
                    data = data[size:]
                    await writer.drain()
                    await asyncio.sleep(0)  # each piece its own segment, read on its own
            except ConnectionError:
                break  # the client is done with this connection
            served += 1
        writer.close()

    listening = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with listening:
        yield listening.sockets[0].getsockname()[1], requests


async def test_answers_cut_into_pieces_are_counted_whole_and_non_200s_as_errors() -> None:
    async with server(answers=None) as (port, requests):
        result = await run_load("127.0.0.1", port, "/x", {"Authorization": "Bearer t"}, 4, 0.5)
    assert result.requests + result.errors == len(requests) > 30
    assert result.errors == len(requests) // 3
    assert len(result.latencies) == result.requests
    head = b"GET /x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer t\r\n\r\n" % port
    assert requests[0] == head
    assert 0 < result.percentile(0.5) <= result.percentile(0.99)


async def test_a_server_that_hangs_up_before_the_end_fails_the_run() -> None:
    async with server(answers=2) as (port, _):
        with pytest.raises(asyncio.IncompleteReadError):
            await run_load("127.0.0.1", port, "/x", {}, 2, 5.0)
