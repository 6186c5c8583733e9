"""Frames written straight to a WebSocket's transport: how one event reaches N sockets cheaply.

Sending through ASGI costs every delivery a writer task's wake-up, a deadline timer and
four layers of calls before uvicorn frames the text. A fan-out event is the same bytes
for every receiver (server frames are not masked), so the hub frames it once and writes
those bytes to each socket's transport, as ``websockets.broadcast()`` does. uvicorn
offers no such handle to the app, so the gateway serves WebSockets with ``FramesProtocol``,
uvicorn's own sans-I/O protocol that also puts a ``DirectWire`` in the connection's ASGI
scope (``extensions``), the place ASGI keeps for what a server offers beyond the spec.

Writes are coalesced: the frames a socket gets while the loop runs one step (a burst of
events read from Redis in one go) wait in a list and go to its transport in one write, a
single ``send()`` system call, when the loop next runs its callbacks (``Flusher``). That
system call per socket and event was most of the relay's cost; an event that comes alone
waits for nothing but the end of the current step.

A client's transport buffer is bounded instead of a queue: a client whose unsent bytes
pass the bound, or of whose waiting bytes none leaves for the send timeout, is too slow
and is disconnected (its connection aborted), never slowing the others.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode

log = logging.getLogger(__name__)

EXTENSION = "fitness.websocket.wire"
# Past this many waiting bytes a wire flushes at once: what waits stays small, and a long
# replay written in one step reaches the kernel as it would unbatched.
FLUSH_BYTES = 64 * 1024


def text_frame(text: str) -> bytes:
    """One unfragmented, unmasked, uncompressed text frame: what a server sends."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


class Scheduler(Protocol):
    """The part of an event loop a flusher needs."""

    def call_soon(self, callback: Callable[[], object]) -> object:
        """Run ``callback`` once the current step is over."""
        ...


class Flusher:
    """Flushes, once per loop step, every wire that was written to during it."""

    def __init__(self, loop: Scheduler) -> None:
        # Weakly: the registry below is keyed by the loop, which must stay collectable.
        self.loop = weakref.ref(loop)
        self.dirty: list[DirectWire] = []

    def mark(self, wire: DirectWire) -> None:
        """``wire`` has frames waiting: flush it after this step (one callback for all)."""
        loop = self.loop()
        if loop is None:
            return  # the loop is gone, and its connections with it
        if not self.dirty:
            loop.call_soon(self.flush)
        self.dirty.append(wire)

    def flush(self) -> None:
        """Hand every marked wire's waiting frames to its transport; one failing spoils none."""
        dirty, self.dirty = self.dirty, []
        for wire in dirty:
            try:
                wire.flush()
            except Exception:
                # Its frames are dropped with it; the wires after it must still be flushed,
                # or they would wait for good (a wire with frames waiting is not marked again).
                log.exception("flushing a WebSocket's frames failed")


_flushers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Flusher]
_flushers = weakref.WeakKeyDictionary()


def flusher_of(loop: asyncio.AbstractEventLoop) -> Flusher:
    """The one flusher of ``loop``: every connection served on it shares its callback."""
    flusher = _flushers.get(loop)
    if flusher is None:
        flusher = _flushers[loop] = Flusher(loop)
    return flusher


class DirectWire:
    """Writes ready frames to one connection's transport, within a bound on what waits unsent."""

    def __init__(self, protocol: WebSocketsSansIOProtocol, flusher: Flusher) -> None:
        self.protocol = protocol
        self.flusher = flusher
        self.limit, self.timeout = 0, 0.0
        self.on_stall: Callable[[], None] = lambda: None
        self.waiting: list[bytes] = []  # frames written since the last flush, in order
        self.waiting_bytes = 0
        self.written = 0  # bytes handed to the transport, ever
        self.watching = False
        self.sent_at_last_look = 0

    def bound(self, limit: int, timeout: float, on_stall: Callable[[], None]) -> DirectWire:
        """Refuse writes once ``limit`` bytes wait unsent; call ``on_stall`` when bytes wait
        and not one of them has left for ``timeout`` seconds."""
        self.limit, self.timeout, self.on_stall = limit, timeout, on_stall
        return self

    def write(self, frame: bytes) -> bool:
        """Send a frame (at the flush); False when the client is too slow to be sent more."""
        protocol = self.protocol
        transport = protocol.transport
        if protocol.close_sent or transport.is_closing():
            return True  # the connection is ending: its reader learns so, nothing to add
        # The bound is on what the transport holds; what waits for the flush adds at most
        # FLUSH_BYTES and a frame to it.
        if transport.get_write_buffer_size() > self.limit:
            return False
        if not self.waiting:
            self.flusher.mark(self)
        self.waiting.append(frame)
        self.waiting_bytes += len(frame)
        if self.waiting_bytes >= FLUSH_BYTES:
            self.flush()  # the flusher's later call finds nothing left: harmless
        return True

    def flush(self) -> None:
        """Hand the waiting frames to the transport in one write (one ``send()``)."""
        frames, self.waiting, self.waiting_bytes = self.waiting, [], 0
        protocol = self.protocol
        transport = protocol.transport
        if not frames or protocol.close_sent or transport.is_closing():
            return
        data = frames[0] if len(frames) == 1 else b"".join(frames)
        transport.write(data)
        self.written += len(data)
        if transport.get_write_buffer_size() and not self.watching:
            self._watch()  # bytes wait: see whether they move

    def abort(self) -> None:
        """Drop the connection and whatever it has not been sent."""
        self.waiting, self.waiting_bytes = [], 0
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

    wire: DirectWire | None = None  # once the upgrade is accepted

    def handle_connect(self, event: Any) -> None:
        """Build the scope as uvicorn does (the app runs later, in its own task), then add ours."""
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the upgrade was refused
        if scope is not None:
            self.wire = DirectWire(self, flusher_of(self.loop))
            scope["extensions"][EXTENSION] = self.wire

    async def send(self, message: Any) -> None:
        """Send as uvicorn does, after what waits on the wire (so frames keep their order);
        once accepted, let go of the handshake's request and response."""
        await self.writable.wait()  # uvicorn's send waits too; then it no longer yields
        if self.wire is not None:
            self.wire.flush()
        await super().send(message)
        if self.handshake_complete:
            # uvicorn keeps both for the connection's life and never reads them again
            # after the accept: ~1.5 KiB of headers per idle connection.
            vars(self).pop("request", None)
            vars(self).pop("response", None)
