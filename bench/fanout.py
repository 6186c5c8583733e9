"""Benchmark: fan-out of one live-session event to N participants.

In one run, for each N:
  baseline - a bare websockets server relays each message with broadcast() (bench.broadcast_server)
  gateway  - the real path: the sender is connected to gateway 1, the N receivers to
             gateway 2; events go through Redis (Lua append + pub/sub) and each
             receiver's queue and writer. One deliberately stalled client (never reads)
             is joined to gateway 2 as well.
The sender sends K chat messages back to back, each carrying its send time; every
receiver records the delay of each. Reported: p50/p99 event-to-client latency,
deliveries/s, lost deliveries, and gateway 2's memory per idle connection.

    python -m bench.fanout [--participants 1000 5000] [--events 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import psutil
from websockets.asyncio.client import ClientConnection, connect

from bench.platform import login, running_platform
from deploy.local import Supervisor, free_port

CONNECT_CONCURRENCY = 50
# The handshake checks that the token's account exists, so receivers are real accounts;
# under the registration limit per address, they share these (each connection is still
# its own client of the hub, with its own queue; only presence counts an account once).
RECEIVER_ACCOUNTS = 25


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
    """The receivers, each reading everything it is sent for the whole run, like a real client."""

    def __init__(self, kind: str) -> None:
        self.phase = Deliveries(expected=0)
        self.kind = kind
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
            frame = json.loads(raw)
            if frame.get("type") == self.kind:
                sent_at = float(frame["message"].split()[0]) if "message" in frame else frame["t"]
                self.phase.record(sent_at)

    async def phase_of(
        self, send: Callable[[float], object], events: int, spacing: float
    ) -> Deliveries:
        """Send ``events`` events ``spacing`` seconds apart and wait (60 s at most) for them."""
        self.phase = phase = Deliveries(expected=self.size * events)
        for _ in range(events):
            await send(time.time())  # type: ignore[misc]
            if spacing:
                await asyncio.sleep(spacing)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(phase.complete.wait(), 60)
        return phase

    def stop(self) -> None:
        """Stop reading."""
        for reader in self.readers:
            reader.cancel()


async def _connect_all(count: int, open_one: Callable[[int], object]) -> list[ClientConnection]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def guarded(n: int) -> ClientConnection:
        async with gate:
            return await open_one(n)  # type: ignore[misc, no-any-return]

    return list(await asyncio.gather(*(guarded(n) for n in range(count))))


LATENCY_EVENTS = 20
LATENCY_SPACING = 0.1


async def _measure(
    audience: Audience, send: Callable[[float], object], events: int
) -> tuple[list[float], float, int]:
    """Latency from spaced events, then deliveries/s from a burst; and how many were lost."""
    started = time.time()
    spaced = await audience.phase_of(send, LATENCY_EVENTS, LATENCY_SPACING)
    started = time.time()
    burst = await audience.phase_of(send, events, 0.0)
    rate = len(burst.latencies) / max(burst.last_at - started, 1e-9)
    lost = spaced.expected - len(spaced.latencies) + burst.expected - len(burst.latencies)
    return spaced.latencies, rate, lost


def _report(name: str, participants: int, result: tuple[list[float], float, int]) -> float:
    latencies, rate, lost = result
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    print(
        f"| {name} | {participants} | {cuts[49] * 1000:.1f} | {cuts[98] * 1000:.1f} "
        f"| {rate:,.0f} | {lost} |"
    )
    return rate


def baseline(participants: int, events: int) -> float:
    """Bare websockets broadcast() to ``participants`` clients."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "bench.broadcast_server", str(port)])
    try:
        return asyncio.run(_baseline(port, participants, events))
    finally:
        server.terminate()
        server.wait()


async def _baseline(port: int, participants: int, events: int) -> float:
    url = f"ws://127.0.0.1:{port}"
    await _wait_for_port(port)
    audience = Audience("x")

    async def receiver(_n: int) -> ClientConnection:
        return audience.add(await connect(url, max_queue=None))

    receivers = await _connect_all(participants, receiver)
    sender = await connect(url)
    result = await _measure(
        audience, lambda t: sender.send(json.dumps({"type": "x", "t": t})), events
    )
    audience.stop()
    for ws in [*receivers, sender]:
        await ws.close()
    return _report("bare websockets broadcast()", participants, result)


async def _wait_for_port(port: int) -> None:
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def _stalled_client(port: int, session_id: str, token: str) -> socket.socket:
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    raw.connect(("127.0.0.1", port))
    raw.sendall(
        (
            f"GET /ws/sessions/{session_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
    )
    payload = json.dumps({"type": "join_session", "session_id": session_id}).encode()
    raw.sendall(bytes([0x81, 0x80 | len(payload)]) + b"\x00\x00\x00\x00" + payload)
    return raw


def gateway_path(
    supervisor: Supervisor, participants: int, events: int, tokens: list[str]
) -> float:
    """Sender on gateway 1, ``participants`` receivers and one stalled client on gateway 2."""
    _, owner_token = login(supervisor.topology.gateway_url, f"owner{participants}")
    owner = {"Authorization": f"Bearer {owner_token}"}
    body = {"title": "bench", "workout_type": "hiit"}
    url = f"{supervisor.topology.gateway_url}/group-sessions"
    session_id = httpx.post(url, headers=owner, json=body).json()["session_id"]
    return asyncio.run(
        _gateway_path(supervisor, session_id, owner_token, participants, events, tokens)
    )


async def _gateway_path(
    supervisor: Supervisor,
    session_id: str,
    owner_token: str,
    participants: int,
    events: int,
    tokens: list[str],
) -> float:
    second_port = int(supervisor.spec("gateway-2").env["GATEWAY_PORT"])
    second = psutil.Process(supervisor.processes["gateway-2"].pid)
    memory_before = second.memory_info().rss

    async def join(url: str, token: str) -> ClientConnection:
        ws = await connect(
            f"{url}/ws/sessions/{session_id}",
            additional_headers={"Authorization": f"Bearer {token}"},
            max_queue=None,
            open_timeout=60,
        )
        await ws.send(json.dumps({"type": "join_session", "session_id": session_id}))
        while json.loads(await ws.recv())["type"] != "session_snapshot":
            pass
        return ws

    second_url = f"ws://127.0.0.1:{second_port}"
    audience = Audience("chat_message")

    async def receiver(n: int) -> ClientConnection:
        return audience.add(await join(second_url, tokens[n % len(tokens)]))

    receivers = await _connect_all(participants, receiver)
    await asyncio.sleep(2.0)  # let the join storm settle before measuring
    per_connection = (second.memory_info().rss - memory_before) / participants
    stalled = _stalled_client(second_port, session_id, tokens[0])
    sender = await join(supervisor.topology.gateway_url.replace("http", "ws"), owner_token)

    async def send(sent_at: float) -> None:
        await sender.send(json.dumps({"type": "chat_message", "message": f"{sent_at} fan-out"}))

    result = await _measure(audience, send, events)
    audience.stop()
    rate = _report("gateway 1 -> Redis -> gateway 2", participants, result)
    print(f"    gateway 2 memory per idle connection: {per_connection / 1024:.1f} KiB")
    stalled.close()
    for ws in [*receivers, sender]:
        await ws.close()
    return rate


def main() -> None:
    """Run both paths for each participant count and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--events", type=int, default=50)
    args = parser.parse_args()
    extra = {
        "GATEWAY_WS_RATE_PER_SECOND": "10000",
        "GATEWAY_WS_RATE_BURST": "10000",
        # Receivers share RECEIVER_ACCOUNTS accounts: up to 200 sockets each at 5000.
        "GATEWAY_WS_MAX_SOCKETS_PER_USER": "1000",
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    with running_platform(extra_gateways=1, gateway_env=extra) as supervisor:
        print(
            f"latency: {LATENCY_EVENTS} events {LATENCY_SPACING}s apart; "
            f"throughput: a burst of {args.events}"
        )
        url = supervisor.topology.gateway_url
        tokens = [login(url, f"fan{n}")[1] for n in range(RECEIVER_ACCOUNTS)]
        print("| path | participants | p50 ms | p99 ms | deliveries/s | lost |")
        print("|---|---|---|---|---|---|")
        for participants in args.participants:
            base = baseline(participants, args.events)
            real = gateway_path(supervisor, participants, args.events, tokens)
            print(f"    deliveries/s ratio gateway/baseline at {participants}: {real / base:.2f}")


if __name__ == "__main__":
    main()
