"""The fan-out benchmark's WebSocket client: framing, masking and the upgrade, without I/O."""

from __future__ import annotations

import asyncio
import struct
from typing import cast

import pytest

from bench.fanout.lightsocket import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameReader,
    LightSocket,
    ProtocolError,
    accept_key,
    check_upgrade,
    client_frame,
    masked,
    upgrade_request,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 section 1.3's example key


def server_frame(opcode: int, payload: bytes, final: bool = True) -> bytes:
    """An unmasked frame as a server sends it."""
    first = (0x80 if final else 0) | opcode
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", first, size) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", first, 126, size) + payload
    return struct.pack("!BBQ", first, 127, size) + payload


def unmasked_client_payload(frame: bytes) -> bytes:
    """The payload of a client frame, unmasked as a server would."""
    size, start = frame[1] & 0x7F, 2
    if size == 126:
        (size,), start = struct.unpack_from("!H", frame, 2), 4
    elif size == 127:
        (size,), start = struct.unpack_from("!Q", frame, 2), 10
    mask = frame[start : start + 4]
    return masked(frame[start + 4 : start + 4 + size], mask)


def test_the_accept_key_is_the_one_rfc_6455_gives_for_its_example() -> None:
    assert accept_key(KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_masking_twice_with_the_same_key_gives_the_payload_back() -> None:
    payload = b"hello, fan-out \x00\xff" * 7
    mask = b"\x12\x34\x56\x78"
    assert masked(payload, mask) != payload
    assert masked(masked(payload, mask), mask) == payload


def test_masking_follows_the_key_byte_by_byte() -> None:
    assert masked(b"\x00\x00\x00\x00\x00", b"\x01\x02\x03\x04") == b"\x01\x02\x03\x04\x01"


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536])
def test_a_client_frame_is_final_masked_and_carries_its_payload_at_every_length(
    size: int,
) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    frame = client_frame(OP_TEXT, payload)
    assert frame[0] == 0x80 | OP_TEXT
    assert frame[1] & 0x80
    assert unmasked_client_payload(frame) == payload


def test_a_client_frame_gets_a_fresh_mask_each_time() -> None:
    assert client_frame(OP_TEXT, b"same") != client_frame(OP_TEXT, b"same")


def test_frames_split_anywhere_across_reads_come_out_whole_and_in_order() -> None:
    stream = server_frame(OP_TEXT, b"one") + server_frame(OP_TEXT, b"x" * 300)
    stream += server_frame(OP_BINARY, b"y" * 70000)
    for cut in (1, 2, 3, 4, 5, 150, 304, len(stream) - 1):
        reader = FrameReader()
        frames = reader.feed(stream[:cut]) + reader.feed(stream[cut:])
        assert frames == [(OP_TEXT, b"one"), (OP_TEXT, b"x" * 300), (OP_BINARY, b"y" * 70000)]


def test_bytes_of_an_unfinished_frame_wait_for_the_rest() -> None:
    reader = FrameReader()
    assert reader.feed(server_frame(OP_TEXT, b"partial")[:-1]) == []
    assert reader.feed(b"l") == [(OP_TEXT, b"partial")]
    assert reader.buffer == bytearray()


def test_a_fragmented_message_is_joined_and_a_ping_between_fragments_comes_first() -> None:
    reader = FrameReader()
    stream = (
        server_frame(OP_TEXT, b"fan", final=False)
        + server_frame(OP_PING, b"p")
        + server_frame(OP_CONTINUATION, b"-", final=False)
        + server_frame(OP_CONTINUATION, b"out")
    )
    assert reader.feed(stream) == [(OP_PING, b"p"), (OP_TEXT, b"fan-out")]


def test_a_masked_server_frame_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="must not mask"):
        FrameReader().feed(client_frame(OP_TEXT, b"masked"))


def test_a_continuation_without_a_message_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="continuation"):
        FrameReader().feed(server_frame(OP_CONTINUATION, b"orphan"))


def test_a_new_message_inside_a_fragmented_one_is_a_protocol_error() -> None:
    stream = server_frame(OP_TEXT, b"a", final=False) + server_frame(OP_TEXT, b"b")
    with pytest.raises(ProtocolError, match="final fragment"):
        FrameReader().feed(stream)


def test_a_close_frame_comes_out_with_its_code() -> None:
    assert FrameReader().feed(server_frame(OP_CLOSE, b"\x03\xe8")) == [(OP_CLOSE, b"\x03\xe8")]


def test_the_upgrade_request_asks_for_a_websocket_with_the_extra_headers() -> None:
    request = upgrade_request("h:1", "/ws/x?y=1", KEY, {"Authorization": "Bearer t"})
    lines = request.decode().split("\r\n")
    assert lines[0] == "GET /ws/x?y=1 HTTP/1.1"
    assert {"Host: h:1", "Upgrade: websocket", f"Sec-WebSocket-Key: {KEY}"} <= set(lines)
    assert "Authorization: Bearer t" in lines
    assert request.endswith(b"\r\n\r\n")


def upgrade_answer(key: str = KEY) -> str:
    """The head of a server's 101 answer to ``key``."""
    return (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"sec-websocket-accept: {accept_key(key)}"
    )


def test_a_101_answer_with_the_right_accept_key_is_an_upgrade() -> None:
    check_upgrade(upgrade_answer().encode(), KEY)


def test_a_101_answer_that_is_not_a_websocket_upgrade_is_refused() -> None:
    head = upgrade_answer().replace("Upgrade: websocket", "Upgrade: h2c")
    with pytest.raises(ProtocolError, match="does not upgrade"):
        check_upgrade(head.encode(), KEY)


def test_a_refused_upgrade_says_the_servers_status() -> None:
    with pytest.raises(ProtocolError, match="403 Forbidden"):
        check_upgrade(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0", KEY)


def test_an_upgrade_answered_with_another_keys_accept_is_refused() -> None:
    with pytest.raises(ProtocolError, match="Accept"):
        check_upgrade(upgrade_answer("b3RoZXIga2V5IGZvciB0ZXN0").encode(), KEY)


def test_a_frame_with_reserved_bits_is_a_protocol_error() -> None:
    compressed = bytearray(server_frame(OP_TEXT, b"deflated?"))
    compressed[0] |= 0x40  # RSV1: per-message deflate, never agreed here
    with pytest.raises(ProtocolError, match="reserved bits"):
        FrameReader().feed(bytes(compressed))


def test_a_reserved_opcode_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="reserved opcode"):
        FrameReader().feed(server_frame(0x3, b""))


@pytest.mark.parametrize(
    "frame",
    [server_frame(OP_PING, b"p" * 126), server_frame(OP_PING, b"p", final=False)],
    ids=["over 125 bytes", "fragmented"],
)
def test_a_control_frame_over_125_bytes_or_fragmented_is_a_protocol_error(frame: bytes) -> None:
    with pytest.raises(ProtocolError, match="control frame"):
        FrameReader().feed(frame)


class FakeTransport:
    """Records what a socket writes; closing it ends the connection at once."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False
        self.protocol: LightSocket | None = None

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        if not self.closing and self.protocol is not None:
            self.closing = True
            self.protocol.connection_lost(None)


def upgraded_socket() -> tuple[LightSocket, FakeTransport]:
    """A socket whose upgrade the fake server has just answered."""
    ws = LightSocket(b"GET / HTTP/1.1\r\n\r\n", KEY)
    transport = FakeTransport()
    transport.protocol = ws
    ws.connection_made(cast(asyncio.Transport, transport))
    ws.data_received(upgrade_answer().encode() + b"\r\n\r\n")
    return ws, transport


def opcodes_written(transport: FakeTransport) -> list[int]:
    """The opcode of each frame the socket wrote after its upgrade request."""
    return [frame[0] & 0x0F for frame in transport.written[1:]]


async def test_a_close_from_the_server_is_answered_once_and_ends_the_frames() -> None:
    ws, transport = upgraded_socket()
    heard: list[bytes] = []
    ws.listen(lambda _ws, payload: heard.append(payload))
    ws.data_received(server_frame(OP_CLOSE, b"\x03\xe9") + server_frame(OP_TEXT, b"after"))
    assert heard == []
    assert opcodes_written(transport) == [OP_CLOSE]
    assert unmasked_client_payload(transport.written[1]) == b"\x03\xe9"
    await ws.close()
    assert opcodes_written(transport) == [OP_CLOSE]  # not a second one
    assert ws.closed.done()


async def test_pings_are_answered_with_their_payload_and_texts_wait_for_recv() -> None:
    ws, transport = upgraded_socket()
    ws.data_received(server_frame(OP_PING, b"are you there") + server_frame(OP_TEXT, b"hi"))
    assert opcodes_written(transport) == [OP_PONG]
    assert unmasked_client_payload(transport.written[1]) == b"are you there"
    assert await ws.recv() == b"hi"


async def test_a_protocol_error_closes_the_connection_and_recv_raises() -> None:
    ws, transport = upgraded_socket()
    ws.data_received(client_frame(OP_TEXT, b"masked by the server"))
    assert transport.closing
    with pytest.raises(ConnectionError):
        await ws.recv()
