"""Frames written straight to a transport: the framing, the bound on unsent bytes, the hub's use."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from starlette.websockets import WebSocket
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from gateway.realtime.hub import TOO_SLOW, Client, Hub, Outgoing
from gateway.realtime.protocol import CLOSE_NORMAL
from gateway.realtime.session_channel import SessionChannel, SessionClient, session_item
from gateway.realtime.settings import LiveSettings
from gateway.realtime.wire import EXTENSION, DirectWire, text_frame, wire_of

LIMIT = 100
SETTINGS = LiveSettings(allowed_origins=[], send_buffer_bytes=LIMIT, send_timeout=5.0)


class FakeTransport:
    """Records what is written; ``unsent`` is what the kernel has not taken yet."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.unsent = 0
        self.closing = False
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def get_write_buffer_size(self) -> int:
        return self.unsent

    def is_closing(self) -> bool:
        return self.closing


class FakeLoop:
    """A clock moved by hand, and the timers set on it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.timers: list[tuple[float, Callable[[], None]]] = []

    def time(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        self.timers.append((self.now + delay, callback))

    def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [t for t in self.timers if t[0] <= self.now]
        self.timers = [t for t in self.timers if t[0] > self.now]
        for _, callback in due:
            callback()


class FakeProtocol:
    """The parts of uvicorn's protocol a wire reads."""

    def __init__(self) -> None:
        self.transport = FakeTransport()
        self.loop = FakeLoop()
        self.close_sent = False


class FakeSocket:
    """A WebSocket whose scope offers a wire, as ``FramesProtocol``'s do."""

    def __init__(self) -> None:
        self.protocol = FakeProtocol()
        wire = DirectWire(cast(Any, self.protocol))
        self.scope: dict[str, Any] = {"extensions": {EXTENSION: wire}}


def parsed(data: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        return cast(Frame, done.value)
    raise AssertionError("the frame was incomplete")


def wire(stalls: list[bool] | None = None) -> tuple[DirectWire, FakeProtocol]:
    protocol = FakeProtocol()
    on_stall = (stalls if stalls is not None else []).append
    return DirectWire(cast(Any, protocol)).bound(LIMIT, 5.0, lambda: on_stall(True)), protocol


def participant() -> tuple[SessionClient, FakeTransport]:
    socket = FakeSocket()
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
    assert direct.write(b"a")
    protocol.transport.unsent = LIMIT
    assert direct.write(b"b")  # at the bound: still sent
    protocol.transport.unsent = LIMIT + 1
    assert not direct.write(b"c")
    assert protocol.transport.written == [b"a", b"b"]


def test_nothing_is_written_to_a_closing_connection() -> None:
    direct, protocol = wire()
    protocol.close_sent = True
    assert direct.write(b"a")
    protocol.close_sent, protocol.transport.closing = False, True
    assert direct.write(b"b")
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
    live = Hub(cast(Any, None), [SessionChannel(cast(Any, None))])
    (ann, ann_wire), (bob, bob_wire), (slow, slow_wire) = (participant() for _ in range(3))
    for client in (ann, bob, slow):
        live.local["live"]["s1"].add(client)
    slow_wire.unsent = LIMIT + 1
    item = session_item({"type": "chat_message", "seq": 1, "session_id": "s1"})
    live.deliver("live", "s1", item)
    assert ann_wire.written[0] is bob_wire.written[0] is item.frame
    assert json.loads(bytes(parsed(item.frame).data)) == json.loads(item.text)
    assert slow.farewell == TOO_SLOW
    assert slow_wire.written == []
    assert ann.queue is None  # written at once, no queue in between


async def test_a_clients_last_frame_is_written_then_the_connection_closes_normally() -> None:
    client, transport = participant()
    client.offer(session_item({"type": "session_ended", "seq": 3, "session_id": "s1"}))
    assert len(transport.written) == 1
    assert client.farewell is not None
    assert client.farewell.code == CLOSE_NORMAL


async def test_frames_for_one_client_are_written_in_seq_order_once() -> None:
    client, transport = participant()
    for seq in (1, 2, 2, 1, 3):
        client.offer(session_item({"type": "chat_message", "seq": seq, "session_id": "s1"}))
    client.send_now({"type": "error"})
    kinds = [json.loads(bytes(parsed(frame).data)) for frame in transport.written]
    assert [k.get("seq") for k in kinds] == [1, 2, 3, None]


async def test_a_notification_client_is_written_to_directly_as_well() -> None:
    socket = FakeSocket()
    note = Client(cast(WebSocket, socket), "notifications", "u1", "u1", SETTINGS)
    note.offer(Outgoing(0, json.dumps({"type": "goal_achieved"})))
    assert len(socket.protocol.transport.written) == 1


async def test_a_too_slow_client_is_aborted_rather_than_sent_a_close_it_cannot_read() -> None:
    client, transport = participant()
    transport.unsent = LIMIT + 1
    client.offer(session_item({"type": "chat_message", "seq": 1, "session_id": "s1"}))
    await client.say_goodbye()
    assert client.farewell == TOO_SLOW
    assert transport.aborted


def test_bytes_of_which_none_leave_for_the_timeout_are_a_stall() -> None:
    stalls: list[bool] = []
    direct, protocol = wire(stalls)
    protocol.transport.unsent = 10
    direct.write(b"a")
    protocol.loop.advance(4.9)
    assert stalls == []
    protocol.loop.advance(0.2)
    assert stalls == [True]


def test_a_slow_client_whose_bytes_keep_leaving_is_given_more_time() -> None:
    stalls: list[bool] = []
    direct, protocol = wire(stalls)
    protocol.transport.unsent = 10
    direct.write(b"a")
    protocol.transport.unsent = 5  # some left: progress, however slow
    protocol.loop.advance(5.1)
    assert stalls == []
    protocol.loop.advance(5.1)  # and then none for a whole timeout
    assert stalls == [True]


def test_a_backlog_that_drains_is_not_a_stall() -> None:
    stalls: list[bool] = []
    direct, protocol = wire(stalls)
    protocol.transport.unsent = 10
    direct.write(b"a")
    protocol.transport.unsent = 0
    protocol.loop.advance(10.0)
    assert stalls == []
    assert not direct.watching
