"""Frames written straight to a transport: the framing, the bound on unsent bytes, the hub's use."""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from typing import Any, cast

import pytest
from starlette.websockets import WebSocket
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from gateway.realtime.hub import TOO_SLOW, Client, Hub, Outgoing
from gateway.realtime.protocol import CLOSE_NORMAL
from gateway.realtime.session_channel import SessionChannel, SessionClient, session_item
from gateway.realtime.settings import LiveSettings
from gateway.realtime.wire import (
    EXTENSION,
    FLUSH_BYTES,
    DirectWire,
    Flusher,
    flusher_of,
    text_frame,
    wire_of,
)
from tests.transport_fakes import FakeLoop, FakeTransport

LIMIT = 100
SETTINGS = LiveSettings(allowed_origins=[], send_buffer_bytes=LIMIT, send_timeout=5.0)


class FakeProtocol:
    """The parts of uvicorn's protocol a wire reads."""

    def __init__(self) -> None:
        self.transport = FakeTransport()
        self.loop = FakeLoop()
        self.close_sent = False


class FakeSocket:
    """A WebSocket whose scope offers a wire, as ``FramesProtocol``'s do, flushed on ``loop``."""

    def __init__(self, loop: FakeLoop) -> None:
        self.protocol = FakeProtocol()
        wire = DirectWire(cast(Any, self.protocol), Flusher(loop))
        self.scope: dict[str, Any] = {"extensions": {EXTENSION: wire}}


def frames_in(data: bytes) -> list[Frame]:
    """Every frame in what was written at once."""
    reader = StreamReader()
    reader.feed_data(data)
    frames = []
    while reader.buffer:
        parser = Frame.parse(reader.read_exact, mask=False)
        try:
            next(parser)
        except StopIteration as done:
            frames.append(cast(Frame, done.value))
        else:
            raise AssertionError("a frame was incomplete")
    return frames


def parsed(data: bytes) -> Frame:
    (frame,) = frames_in(data)
    return frame


def wire(stalls: list[bool] | None = None) -> tuple[DirectWire, FakeProtocol]:
    protocol = FakeProtocol()
    on_stall = (stalls if stalls is not None else []).append
    direct = DirectWire(cast(Any, protocol), Flusher(protocol.loop))
    return direct.bound(LIMIT, 5.0, lambda: on_stall(True)), protocol


def written(direct: DirectWire, frame: bytes) -> bool:
    """Write ``frame`` and end the loop's step, so it reaches the transport."""
    accepted = direct.write(frame)
    direct.protocol.loop.step()  # type: ignore[attr-defined]
    return accepted


def participant(loop: FakeLoop) -> tuple[SessionClient, FakeTransport]:
    socket = FakeSocket(loop)
    client = SessionClient(cast(WebSocket, socket), "s1", "ann", SETTINGS)
    client.finish_replay([])
    return client, socket.protocol.transport


def test_text_frames_of_every_length_class_parse_back_to_the_same_text() -> None:
    for text in ("", "héllo ✓", "x" * 125, "y" * 126, "z" * 65_535, "w" * 65_536):
        frame = parsed(text_frame(text))
        assert (frame.opcode, frame.fin, bytes(frame.data).decode()) == (Opcode.TEXT, True, text)
        assert not frame.rsv1  # never compressed


def test_a_wire_writes_while_the_client_keeps_up_and_refuses_past_the_byte_bound() -> None:
    direct, protocol = wire()
    assert written(direct, b"a")
    protocol.transport.unsent = LIMIT
    assert written(direct, b"b")  # at the bound: still sent
    protocol.transport.unsent = LIMIT + 1
    assert not written(direct, b"c")
    assert protocol.transport.written == [b"a", b"b"]


def test_nothing_is_written_to_a_closing_connection() -> None:
    direct, protocol = wire()
    protocol.close_sent = True
    assert written(direct, b"a")
    protocol.close_sent, protocol.transport.closing = False, True
    assert written(direct, b"b")
    assert protocol.transport.written == []


def test_what_waits_for_the_flush_is_dropped_when_the_connection_starts_closing() -> None:
    direct, protocol = wire()
    assert direct.write(b"a")
    protocol.close_sent = True
    protocol.loop.step()
    assert protocol.transport.written == []


def test_frames_written_during_one_step_reach_the_transport_in_one_write_in_order() -> None:
    direct, protocol = wire()
    for frame in (b"one", b"two", b"three"):
        assert direct.write(frame)
    assert protocol.transport.written == []  # nothing before the step ends
    protocol.loop.step()
    assert protocol.transport.written == [b"onetwothree"]
    assert written(direct, b"four")
    assert protocol.transport.written == [b"onetwothree", b"four"]
    assert direct.written == len(b"onetwothreefour")


def test_a_wire_flushes_at_once_when_what_waits_reaches_flush_bytes() -> None:
    direct, protocol = wire()
    half = b"x" * (FLUSH_BYTES // 2)
    assert direct.write(half)
    assert protocol.transport.written == []
    assert direct.write(half)
    assert protocol.transport.written == [half + half]
    protocol.loop.step()  # the flusher's call finds nothing waiting
    assert protocol.transport.written == [half + half]


def test_one_callback_flushes_every_wire_written_to_during_a_step() -> None:
    loop = FakeLoop()
    flusher = Flusher(loop)
    protocols = [FakeProtocol() for _ in range(3)]
    wires = [DirectWire(cast(Any, p), flusher).bound(LIMIT, 5.0, lambda: None) for p in protocols]
    for direct in wires:
        direct.write(b"a")
        direct.write(b"b")
    assert len(loop.soon) == 1
    loop.step()
    assert [p.transport.written for p in protocols] == [[b"ab"]] * 3
    assert flusher.dirty == []


def test_an_aborted_wire_drops_what_waits() -> None:
    direct, protocol = wire()
    direct.write(b"a")
    direct.abort()
    protocol.loop.step()
    assert protocol.transport.aborted
    assert protocol.transport.written == []


def test_only_a_servers_own_wire_is_taken_from_a_scope() -> None:
    direct, _ = wire()
    assert wire_of({"extensions": {EXTENSION: direct}}) is direct
    assert wire_of({"extensions": {EXTENSION: "forged"}}) is None
    assert wire_of({"extensions": {}}) is None
    assert wire_of({}) is None


async def test_the_hub_writes_one_framing_of_an_event_to_every_client_and_drops_a_slow_one() -> (
    None
):
    loop = FakeLoop()
    live = Hub(cast(Any, None), [SessionChannel(cast(Any, None))])
    (ann, ann_wire), (bob, bob_wire), (slow, slow_wire) = (participant(loop) for _ in range(3))
    for client in (ann, bob, slow):
        live.local["live"]["s1"].add(client)
    slow_wire.unsent = LIMIT + 1
    item = session_item({"type": "chat_message", "seq": 1, "session_id": "s1"})
    live.deliver("live", "s1", item)
    loop.step()
    assert ann_wire.written[0] is bob_wire.written[0] is item.frame
    assert json.loads(bytes(parsed(item.frame).data)) == json.loads(item.text)
    assert slow.farewell == TOO_SLOW
    assert slow_wire.written == []
    assert ann.queue is None  # written at once, no queue in between


async def test_a_clients_last_frame_is_written_then_the_connection_closes_normally() -> None:
    loop = FakeLoop()
    client, transport = participant(loop)
    client.offer(session_item({"type": "session_ended", "seq": 3, "session_id": "s1"}))
    loop.step()
    assert len(transport.written) == 1
    assert client.farewell is not None
    assert client.farewell.code == CLOSE_NORMAL


async def test_frames_for_one_client_are_written_in_seq_order_once() -> None:
    loop = FakeLoop()
    client, transport = participant(loop)
    for seq in (1, 2, 2, 1, 3):
        client.offer(session_item({"type": "chat_message", "seq": seq, "session_id": "s1"}))
    client.send_now({"type": "error"})
    loop.step()
    (data,) = transport.written  # one step: one write of the four frames
    kinds = [json.loads(bytes(frame.data)) for frame in frames_in(data)]
    assert [k.get("seq") for k in kinds] == [1, 2, 3, None]


async def test_a_notification_client_is_written_to_directly_as_well() -> None:
    loop = FakeLoop()
    socket = FakeSocket(loop)
    note = Client(cast(WebSocket, socket), "notifications", "u1", "u1", SETTINGS)
    note.offer(Outgoing(0, json.dumps({"type": "goal_achieved"})))
    loop.step()
    assert len(socket.protocol.transport.written) == 1


async def test_a_too_slow_client_is_aborted_rather_than_sent_a_close_it_cannot_read() -> None:
    loop = FakeLoop()
    client, transport = participant(loop)
    transport.unsent = LIMIT + 1
    client.offer(session_item({"type": "chat_message", "seq": 1, "session_id": "s1"}))
    await client.say_goodbye()
    assert client.farewell == TOO_SLOW
    assert transport.aborted


def test_bytes_of_which_none_leave_for_the_timeout_are_a_stall() -> None:
    stalls: list[bool] = []
    direct, protocol = wire(stalls)
    protocol.transport.unsent = 10
    written(direct, b"a")
    protocol.loop.advance(4.9)
    assert stalls == []
    protocol.loop.advance(0.2)
    assert stalls == [True]


def test_a_slow_client_whose_bytes_keep_leaving_is_given_more_time() -> None:
    stalls: list[bool] = []
    direct, protocol = wire(stalls)
    protocol.transport.unsent = 10
    written(direct, b"a")
    protocol.transport.unsent = 5  # some left: progress, however slow
    protocol.loop.advance(5.1)
    assert stalls == []
    protocol.loop.advance(5.1)  # and then none for a whole timeout
    assert stalls == [True]


def test_a_backlog_that_drains_is_not_a_stall() -> None:
    stalls: list[bool] = []
    direct, protocol = wire(stalls)
    protocol.transport.unsent = 10
    written(direct, b"a")
    protocol.transport.unsent = 0
    protocol.loop.advance(10.0)
    assert stalls == []
    assert not direct.watching


class FailingTransport(FakeTransport):
    """A transport whose write raises, as one broken in an unforeseen way might."""

    def write(self, data: bytes) -> None:
        raise RuntimeError("broken transport")


def test_a_wire_whose_flush_raises_spoils_no_other_wire_of_the_step(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = FakeLoop()
    flusher = Flusher(loop)
    protocols = [FakeProtocol() for _ in range(3)]
    protocols[0].transport = FailingTransport()
    wires = [DirectWire(cast(Any, p), flusher).bound(LIMIT, 5.0, lambda: None) for p in protocols]
    for direct in wires:
        direct.write(b"a")
    loop.step()
    assert [p.transport.written for p in protocols[1:]] == [[b"a"], [b"a"]]
    assert "flushing a WebSocket's frames failed" in caplog.text
    wires[1].write(b"b")  # and the next step is scheduled as usual
    loop.step()
    assert protocols[1].transport.written == [b"a", b"b"]


def test_each_loop_has_one_flusher_which_does_not_keep_the_loop_alive() -> None:
    loop = asyncio.new_event_loop()
    assert flusher_of(loop) is flusher_of(loop)
    probe = weakref.ref(loop)
    loop.close()
    del loop
    gc.collect()
    assert probe() is None
