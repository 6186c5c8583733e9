"""The receivers: each reads everything it is sent and records each event's delay."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection

from bench.fanout.packets import ENGINEIO_PING, ENGINEIO_PONG, Decode

CONNECT_CONCURRENCY = 50
PHASE_TIMEOUT = 60.0


@dataclass
class Deliveries:
    """Send-to-receive delays of the events delivered in one phase."""

    expected: int
    latencies: list[float] = field(default_factory=list)
    last_at: float = 0.0
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, sent_at: float) -> None:
        now = time.time()
        self.latencies.append(now - sent_at)
        self.last_at = now
        if len(self.latencies) >= self.expected:
            self.complete.set()


class Audience:
    """The receivers, each reading everything it is sent for the whole run, like a real client.

    Per frame every path does the same work: one json.loads and taking the send time;
    Socket.IO receivers also answer Engine.IO pings, as a real client must.
    """

    def __init__(self, decode: Decode, answers_pings: bool = False) -> None:
        self.phase = Deliveries(expected=0)
        self.decode = decode
        self.answers_pings = answers_pings
        self.readers: list[asyncio.Task[None]] = []
        self.sockets: list[ClientConnection] = []

    @property
    def size(self) -> int:
        """How many receivers there are."""
        return len(self.sockets)

    def add(self, ws: ClientConnection) -> ClientConnection:
        """Start reading a receiver at once, so it never falls behind (e.g. during joins)."""
        self.sockets.append(ws)
        self.readers.append(asyncio.create_task(self._read(ws)))
        return ws

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            if self.answers_pings and raw == ENGINEIO_PING:
                await ws.send(ENGINEIO_PONG)
                continue
            sent_at = self.decode(raw)
            if sent_at is not None:
                self.phase.record(sent_at)

    async def phase_of(
        self, send: Callable[[float], Awaitable[None]], events: int, spacing: float
    ) -> Deliveries:
        """Send ``events`` events ``spacing`` seconds apart and wait (60 s at most) for them."""
        self.phase = phase = Deliveries(expected=self.size * events)
        for _ in range(events):
            await send(time.time())
            if spacing:
                await asyncio.sleep(spacing)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(phase.complete.wait(), PHASE_TIMEOUT)
        return phase

    async def close(self) -> None:
        """Stop reading and close every receiver."""
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


async def connect_all(
    count: int, open_one: Callable[[int], Awaitable[ClientConnection]]
) -> list[ClientConnection]:
    """Open ``count`` receivers, at most CONNECT_CONCURRENCY handshakes at a time."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def guarded(n: int) -> ClientConnection:
        async with gate:
            return await open_one(n)

    return list(await asyncio.gather(*(guarded(n) for n in range(count))))


async def hang_up(
    stalled: list[socket.socket], audience: Audience, senders: list[ClientConnection]
) -> None:
    """Close the stalled clients, then the receivers, then the senders."""
    for raw in stalled:
        raw.close()
    await audience.close()
    for ws in senders:
        await ws.close()
