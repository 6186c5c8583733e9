"""A WebSocket client cheap enough to measure servers with: frames parsed as bytes arrive.

Thousands of ``websockets`` clients in one process cost more CPU than the servers they
measure (a reader task, a queue and an assembler per connection), so on two cores the
receiving process set the pace for every path. Here each connection is one
``asyncio.Protocol``: ``data_received`` cuts the frames out of the bytes and hands each
text frame to a callback, with no task and no queue per frame. RFC 6455 client side,
without extensions (no per-message deflate, which every server in the benchmark has off).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
from collections.abc import Callable, Mapping
from typing import cast
from urllib.parse import urlsplit

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
OPCODES = frozenset({OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG})
FIN = 0x80
RESERVED_BITS = 0x70
MASKED = 0x80
MAX_CONTROL_PAYLOAD = 125
NORMAL_CLOSURE = 1000
ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OPEN_TIMEOUT = 60.0

Frame = tuple[int, bytes]
OnText = Callable[["LightSocket", bytes], object]  # what it returns is ignored


class ProtocolError(Exception):
    """The server broke RFC 6455 (or refused the upgrade)."""


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept a server must answer to ``key``."""
    return base64.b64encode(hashlib.sha1(key.encode() + ACCEPT_GUID).digest()).decode()


def masked(payload: bytes, mask: bytes) -> bytes:
    """``payload`` XOR the repeated 4-byte ``mask`` (one big-int XOR, not a byte loop)."""
    if not payload:
        return payload
    key = (mask * (len(payload) // 4 + 1))[: len(payload)]
    mixed = int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")
    return mixed.to_bytes(len(payload), "big")


def client_frame(opcode: int, payload: bytes, mask: bytes | None = None) -> bytes:
    """One final frame as a client must send it: masked, length in 7, 16 or 64 bits."""
    mask = os.urandom(4) if mask is None else mask
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", FIN | opcode, MASKED | size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", FIN | opcode, MASKED | 126, size)
    else:
        header = struct.pack("!BBQ", FIN | opcode, MASKED | 127, size)
    return header + mask + masked(payload, mask)


class FrameReader:
    """Cuts server frames out of a byte stream; joins fragmented messages."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.fragments: list[bytes] = []
        self.fragmented_opcode = 0

    def feed(self, data: bytes) -> list[Frame]:
        """Every complete frame in what has arrived so far; the rest waits for more bytes."""
        self.buffer += data
        frames: list[Frame] = []
        offset = 0
        while (cut := self._frame_at(offset)) is not None:
            opcode, final, payload, offset = cut
            message = self._assembled(opcode, final, payload)
            if message is not None:
                frames.append(message)
        del self.buffer[:offset]
        return frames

    def _frame_at(self, offset: int) -> tuple[int, bool, bytes, int] | None:
        buffer = self.buffer
        if len(buffer) - offset < 2:
            return None
        first, second = buffer[offset], buffer[offset + 1]
        if second & MASKED:
            raise ProtocolError("a server must not mask its frames")
        if first & RESERVED_BITS:
            raise ProtocolError("reserved bits set, but no extension was agreed")
        size, start = second & 0x7F, offset + 2
        if size == 126:
            if len(buffer) - start < 2:
                return None
            (size,), start = struct.unpack_from("!H", buffer, start), start + 2
        elif size == 127:
            if len(buffer) - start < 8:
                return None
            (size,), start = struct.unpack_from("!Q", buffer, start), start + 8
        end = start + size
        if len(buffer) < end:
            return None
        return first & 0x0F, bool(first & FIN), bytes(buffer[start:end]), end

    def _assembled(self, opcode: int, final: bool, payload: bytes) -> Frame | None:
        if opcode not in OPCODES:
            raise ProtocolError(f"reserved opcode {opcode:#x}")
        if opcode >= OP_CLOSE:  # control frames may come between fragments
            if not final or len(payload) > MAX_CONTROL_PAYLOAD:
                raise ProtocolError("a control frame must be final and at most 125 bytes")
            return opcode, payload
        if opcode == OP_CONTINUATION:
            if not self.fragments:
                raise ProtocolError("a continuation frame without a message to continue")
            opcode = self.fragmented_opcode
        elif self.fragments:
            raise ProtocolError("a new message before the last one's final fragment")
        if final and not self.fragments:
            return opcode, payload
        self.fragments.append(payload)
        self.fragmented_opcode = opcode
        if not final:
            return None
        message, self.fragments = b"".join(self.fragments), []
        return opcode, message


def upgrade_request(host: str, target: str, key: str, headers: Mapping[str, str]) -> bytes:
    """The HTTP/1.1 GET that asks ``host`` to upgrade ``target`` to a WebSocket."""
    lines = [
        f"GET {target} HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def check_upgrade(head: bytes, key: str) -> None:
    """Raise ProtocolError unless ``head`` is a 101 answer carrying the right accept key."""
    status, *fields = head.decode("latin-1").split("\r\n")
    if status.split(" ")[1:2] != ["101"]:
        raise ProtocolError(f"the upgrade was refused: {status}")
    answers = dict(field.split(":", 1) for field in fields if ":" in field)
    accept = {name.strip().lower(): value.strip() for name, value in answers.items()}
    if accept.get("upgrade", "").lower() != "websocket":
        raise ProtocolError("the answer does not upgrade to a websocket")
    if accept.get("sec-websocket-accept") != accept_key(key):
        raise ProtocolError("the upgrade's Sec-WebSocket-Accept does not match the key")


class LightSocket(asyncio.Protocol):
    """One client connection: text frames go to ``recv()`` until ``listen()`` takes them."""

    def __init__(self, request: bytes, key: str) -> None:
        self.request, self.key = request, key
        self.transport: asyncio.Transport | None = None
        self.head = bytearray()
        self.reader = FrameReader()
        self.upgraded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.inbox: asyncio.Queue[bytes | None] = asyncio.Queue()  # None: it closed
        self.on_text: OnText | None = None
        self.close_sent = self.close_received = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the upgrade request."""
        # uvloop's transports do not subclass asyncio.Transport, but they are one.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        """The upgrade's answer first, then frames: each handled as soon as it is whole."""
        if not self.upgraded.done():
            data = self._upgrade(data)
        if data:
            try:
                frames = self.reader.feed(data)
            except ProtocolError as error:
                self._fail(error)
                return
            for opcode, payload in frames:
                if self.close_received:
                    break  # nothing may follow a close frame
                self._handle(opcode, payload)

    def connection_lost(self, exc: Exception | None) -> None:
        """Settle whoever waits for the upgrade, a frame or the close."""
        self._fail(exc or ConnectionError("the server closed the connection"))
        if not self.closed.done():
            self.closed.set_result(None)

    def _upgrade(self, data: bytes) -> bytes:
        self.head += data
        end = self.head.find(b"\r\n\r\n")
        if end < 0:
            return b""
        try:
            check_upgrade(bytes(self.head[:end]), self.key)
        except ProtocolError as error:
            self._fail(error)
            return b""
        self.upgraded.set_result(None)
        rest, self.head = bytes(self.head[end + 4 :]), bytearray()
        return rest

    def _handle(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_TEXT:
            if self.on_text is None:
                self.inbox.put_nowait(payload)
            else:
                self.on_text(self, payload)
        elif opcode == OP_PING:
            self._write(OP_PONG, payload)
        elif opcode == OP_CLOSE:
            self.close_received = True
            if not self.close_sent:  # echo its code, as RFC 6455 asks
                self._send_close(payload[:2])
            self.abort()

    def _fail(self, error: BaseException) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(error)
        self.abort()
        self.inbox.put_nowait(None)  # wakes recv(), which raises on it

    def _send_close(self, code: bytes) -> None:
        self.close_sent = True
        self._write(OP_CLOSE, code)

    def _write(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(opcode, payload))

    def abort(self) -> None:
        """Close the TCP connection now, closing handshake or not."""
        if self.transport is not None:
            self.transport.close()

    async def recv(self) -> bytes:
        """The next text frame (before ``listen()``); ConnectionError once the socket closed."""
        payload = await self.inbox.get()
        if payload is None:
            self.inbox.put_nowait(None)  # every later recv() raises too
            raise ConnectionError("the connection closed")
        return payload

    def listen(self, on_text: OnText) -> None:
        """Hand every text frame to ``on_text`` from now on, those waiting in recv() first."""
        self.on_text = on_text
        while not self.inbox.empty():
            payload = self.inbox.get_nowait()
            if payload is not None:
                on_text(self, payload)

    def send(self, text: str) -> None:
        """Send one text frame (written to the transport's buffer at once)."""
        if self.transport is None or self.transport.is_closing():
            raise ConnectionError("the connection closed")
        self.transport.write(client_frame(OP_TEXT, text.encode()))

    async def close(self) -> None:
        """Send a normal close and wait (5 s at most) for the server to close the TCP stream."""
        if not self.close_sent:
            self._send_close(struct.pack("!H", NORMAL_CLOSURE))
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), 5.0)
        except TimeoutError:
            self.abort()


async def open_socket(url: str, headers: Mapping[str, str] | None = None) -> LightSocket:
    """Connect to a ``ws://`` URL and upgrade (OPEN_TIMEOUT seconds at most)."""
    parts = urlsplit(url)
    if parts.scheme != "ws" or parts.hostname is None:
        raise ValueError(f"not a ws:// URL: {url}")
    port = parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    key = base64.b64encode(os.urandom(16)).decode()
    request = upgrade_request(f"{parts.hostname}:{port}", target, key, headers or {})
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(OPEN_TIMEOUT):
        _, ws = await loop.create_connection(
            lambda: LightSocket(request, key), parts.hostname, port
        )
        try:
            await ws.upgraded
        except BaseException:  # timed out or cancelled too: the server must not keep it
            ws.abort()
            raise
    return ws
