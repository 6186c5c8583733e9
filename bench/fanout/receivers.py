"""The receivers: each reads everything it is sent and records each event's delay."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.fanout.lightsocket import LightSocket
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


ENGINEIO_PING_FRAME = ENGINEIO_PING.encode()


def answered_ping(ws: LightSocket, payload: bytes) -> bool:
    """Answer an Engine.IO ping with a pong, as a Socket.IO client must; False for others."""
    if payload != ENGINEIO_PING_FRAME:
        return False
    ws.send(ENGINEIO_PONG)
    return True


class Audience:
    """The receivers, each reading everything it is sent for the whole run, like a real client.

    Per frame every path does the same work: one json.loads and taking the send time;
    Socket.IO receivers also answer Engine.IO pings, as a real client must. Frames are
    handled in the sockets' ``data_received`` (bench.fanout.lightsocket): no task per
    receiver, so the receiving process costs less than the servers it measures.
    """

    def __init__(self, decode: Decode, answers_pings: bool = False) -> None:
        self.phase = Deliveries(expected=0)
        self.decode = decode
        self.answers_pings = answers_pings
        self.sockets: list[LightSocket] = []

    @property
    def size(self) -> int:
        """How many receivers there are."""
        return len(self.sockets)

    def add(self, ws: LightSocket) -> LightSocket:
        """Start reading a receiver at once, so it never falls behind (e.g. during joins)."""
        self.sockets.append(ws)
        ws.listen(self._on_text)
        return ws

    def _on_text(self, ws: LightSocket, payload: bytes) -> None:
        if self.answers_pings and answered_ping(ws, payload):
            return
        sent_at = self.decode(payload)
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
        """Close every receiver."""
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


async def connect_all(
    count: int, open_one: Callable[[int], Awaitable[LightSocket]]
) -> list[LightSocket]:
    """Open ``count`` receivers, at most CONNECT_CONCURRENCY handshakes at a time."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def guarded(n: int) -> LightSocket:
        async with gate:
            return await open_one(n)

    return list(await asyncio.gather(*(guarded(n) for n in range(count))))


async def hang_up(
    stalled: list[socket.socket], audience: Audience, senders: list[LightSocket]
) -> None:
    """Close the stalled clients, then the receivers, then the senders."""
    for raw in stalled:
        raw.close()
    await audience.close()
    await asyncio.gather(*(ws.close() for ws in senders), return_exceptions=True)
