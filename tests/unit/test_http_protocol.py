"""A response's head waits for its body's first write, or for the end of the loop step."""

from __future__ import annotations

import asyncio
from typing import cast

from gateway.edge.http_protocol import HeldHead
from tests.transport_fakes import FakeLoop, FakeTransport


def held(loop: FakeLoop) -> tuple[HeldHead, FakeTransport]:
    transport = FakeTransport()
    return HeldHead(cast(asyncio.Transport, transport), loop), transport


def test_the_head_and_the_body_written_in_one_step_reach_the_transport_as_one_write() -> None:
    loop = FakeLoop()
    response, transport = held(loop)
    response.write(b"HTTP/1.1 200 OK\r\n\r\n")
    response.write(memoryview(b"{}"))
    loop.step()
    assert transport.written == [b"HTTP/1.1 200 OK\r\n\r\n{}"]


def test_a_head_whose_body_comes_later_goes_out_when_the_step_ends() -> None:
    loop = FakeLoop()
    response, transport = held(loop)
    response.write(b"head")
    assert transport.written == []
    assert response.get_write_buffer_size() == 4
    loop.step()
    response.write(b"chunk 1")
    response.write(b"chunk 2")
    assert transport.written == [b"head", b"chunk 1", b"chunk 2"]


def test_closing_sends_the_held_head_first() -> None:
    loop = FakeLoop()
    response, transport = held(loop)
    response.write(b"head")
    response.close()
    loop.step()
    assert transport.written == [b"head"]
    assert response.is_closing()


def test_a_held_head_is_dropped_when_the_connection_closes_or_is_aborted_meanwhile() -> None:
    loop = FakeLoop()
    closed, closed_transport = held(loop)
    aborted, aborted_transport = held(loop)
    closed.write(b"head")
    aborted.write(b"head")
    closed_transport.closing = True  # the client went away
    aborted.abort()
    loop.step()
    assert closed_transport.written == aborted_transport.written == []
    assert aborted_transport.aborted


def test_an_interim_100_continue_goes_out_at_once_and_the_answer_after_it_in_one_write() -> None:
    loop = FakeLoop()
    response, transport = held(loop)
    response.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert transport.written == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    response.write(b"HTTP/1.1 200 OK\r\n\r\n")
    response.write(b"{}")
    assert transport.written[1:] == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
