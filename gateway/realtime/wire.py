"""Frames written straight to a WebSocket's transport: how one event reaches N sockets cheaply.

Sending through ASGI costs every delivery a writer task's wake-up, a deadline timer and
four layers of calls before uvicorn frames the text. A fan-out event is the same bytes
for every receiver (server frames are not masked), so the hub frames it once and writes
those bytes to each socket's transport, as ``websockets.broadcast()`` does. uvicorn
offers no such handle to the app, so the gateway serves WebSockets with ``FramesProtocol``,
uvicorn's own sans-I/O protocol that also puts a ``DirectWire`` in the connection's ASGI
scope (``extensions``), the place ASGI keeps for what a server offers beyond the spec.

A client's transport buffer is bounded instead of a queue: a client whose unsent bytes
pass the bound, or of whose waiting bytes none leaves for the send timeout, is too slow
and is disconnected (its connection aborted), never slowing the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode

EXTENSION = "fitness.websocket.wire"


def text_frame(text: str) -> bytes:
    """One unfragmented, unmasked, uncompressed text frame: what a server sends."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


class DirectWire:
    """Writes ready frames to one connection's transport, within a bound on what waits unsent."""

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self.protocol = protocol
        self.limit, self.timeout = 0, 0.0
        self.on_stall: Callable[[], None] = lambda: None
        self.written = 0  # bytes handed to the transport, ever
        self.watching = False
        self.sent_at_last_look = 0

    def bound(self, limit: int, timeout: float, on_stall: Callable[[], None]) -> DirectWire:
        """Refuse writes once ``limit`` bytes wait unsent; call ``on_stall`` when bytes wait
        and not one of them has left for ``timeout`` seconds."""
        self.limit, self.timeout, self.on_stall = limit, timeout, on_stall
        return self

    def write(self, frame: bytes) -> bool:
        """Send a frame; False when the client is too slow to be sent more."""
        protocol = self.protocol
        transport = protocol.transport
        if protocol.close_sent or transport.is_closing():
            return True  # the connection is ending: its reader learns so, nothing to add
        backlog = transport.get_write_buffer_size()
        if backlog > self.limit:
            return False
        transport.write(frame)
        self.written += len(frame)
        if backlog and not self.watching:  # bytes wait: see whether they move
            self._watch()
        return True

    def abort(self) -> None:
        """Drop the connection and whatever it has not been sent."""
        self.protocol.transport.abort()

    def _sent(self) -> int:
        return self.written - self.protocol.transport.get_write_buffer_size()

    def _watch(self) -> None:
        self.watching, self.sent_at_last_look = True, self._sent()
        self.protocol.loop.call_later(self.timeout, self._look)

    def _look(self) -> None:
        """The stall timer: nothing left since the last look while bytes wait is a stall."""
        self.watching = False
        if self.protocol.transport.get_write_buffer_size() == 0:
            return
        if self._sent() == self.sent_at_last_look:
            self.on_stall()
        else:
            self._watch()


def wire_of(scope: Mapping[str, Any]) -> DirectWire | None:
    """The connection's wire, when the server offers one (``FramesProtocol`` does)."""
    wire = scope.get("extensions", {}).get(EXTENSION)
    return wire if isinstance(wire, DirectWire) else None


class FramesProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, also offering the app a ``DirectWire``."""

    def handle_connect(self, event: Any) -> None:
        """Build the scope as uvicorn does (the app runs later, in its own task), then add ours."""
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the upgrade was refused
        if scope is not None:
            scope["extensions"][EXTENSION] = DirectWire(self)

    async def send(self, message: Any) -> None:
        """Send as uvicorn does; once accepted, let go of the handshake's request and response."""
        await super().send(message)
        if self.handshake_complete:
            # uvicorn keeps both for the connection's life and never reads them again
            # after the accept: ~1.5 KiB of headers per idle connection.
            vars(self).pop("request", None)
            vars(self).pop("response", None)
