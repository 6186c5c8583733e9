"""uvicorn's HTTP/1.1 protocol, sending a response's head and body in one write.

uvicorn writes a response's status line and headers to the transport when the app sends
``http.response.start``, and its body when the app sends ``http.response.body``: two
``send()`` system calls, two TCP segments and two wake-ups of the client for one small
JSON answer, which is nearly every answer the gateway gives. Starlette sends both
messages in the same loop step, so here the head waits for the body's first write, or
for the end of that step when a streaming body comes later: the bytes, their order and
every header stay uvicorn's, only the number of writes changes. HEAD answers, which have
no body, and the interim "100 Continue" are written as uvicorn writes them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.realtime.wire import Scheduler

INTERIM = b"HTTP/1.1 100 "  # how uvicorn's interim answer to Expect: 100-continue starts


class HeldHead(asyncio.Transport):
    """One response's view of its connection's transport: its first write waits a moment."""

    def __init__(self, transport: asyncio.Transport, loop: Scheduler) -> None:
        super().__init__()
        self.transport = transport
        self.loop = loop
        self.head: bytes | None = None
        self.first = True

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Hold the first write until the next one or the end of this step; pass the rest."""
        if self.first:
            if bytes(data[:13]) == INTERIM:
                # "100 Continue", sent before the app reads the body: the head is still to come.
                self.transport.write(data)
                return
            self.first, self.head = False, bytes(data)
            self.loop.call_soon(self.release)
            return
        if self.head is not None:
            data, self.head = self.head + data, None
        self.transport.write(data)

    def release(self) -> None:
        """Send a head that is still held (its body comes in a later step, or never)."""
        head, self.head = self.head, None
        if head is not None and not self.transport.is_closing():
            self.transport.write(head)

    def close(self) -> None:
        """Send what is held, then close the connection."""
        self.release()
        self.transport.close()

    def abort(self) -> None:
        """Drop what is held and the connection."""
        self.head = None
        self.transport.abort()

    def is_closing(self) -> bool:
        """Whether the connection is closing."""
        return self.transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """The connection's own extra info (peer address, socket, TLS object)."""
        return self.transport.get_extra_info(name, default)

    def get_write_buffer_size(self) -> int:
        """Bytes the connection has not sent yet, the held head included."""
        return self.transport.get_write_buffer_size() + len(self.head or b"")


class OneWriteHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol whose responses reach the socket in one write each."""

    def on_headers_complete(self) -> None:
        """Start the request as uvicorn does; its response then writes through a HeldHead."""
        earlier = self.cycle
        super().on_headers_complete()
        # A new cycle's task has been created but has not run yet; an upgrade makes none.
        # A HEAD answer has no body to join its head; held, it could meet a close from
        # uvicorn itself (client's EOF, shutdown) in the same step and be lost.
        if self.cycle is not earlier and self.scope["method"] != "HEAD":
            self.cycle.transport = HeldHead(self.transport, self.loop)
