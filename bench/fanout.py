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
from deploy.keygen import PRIVATE_NAME
from deploy.local import Supervisor, free_port
from services.user.tokens import TokenIssuer

CONNECT_CONCURRENCY = 200


@dataclass
class Deliveries:
    """Send-to-receive delays of every delivered event."""

    latencies: list[float] = field(default_factory=list)
    last_at: float = 0.0

    def record(self, sent_at: float) -> None:
        now = time.time()
        self.latencies.append(now - sent_at)
        self.last_at = now


async def _receive(ws: ClientConnection, expected: int, deliveries: Deliveries, kind: str) -> None:
    received = 0
    async for raw in ws:
        frame = json.loads(raw)
        if frame.get("type", kind) == kind:
            deliveries.record(
                float(frame["message"].split()[0]) if "message" in frame else frame["t"]
            )
            received += 1
            if received == expected:
                return


async def _connect_all(count: int, open_one: Callable[[int], object]) -> list[ClientConnection]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def guarded(n: int) -> ClientConnection:
        async with gate:
            return await open_one(n)  # type: ignore[misc, no-any-return]

    return list(await asyncio.gather(*(guarded(n) for n in range(count))))


LATENCY_EVENTS = 20
LATENCY_SPACING = 0.1


async def _measure(
    receivers: list[ClientConnection], send: Callable[[float], object], events: int, kind: str
) -> tuple[list[float], float, int]:
    """Latency from spaced events, then deliveries/s from a burst; and how many were lost."""
    spaced = await _phase(receivers, send, LATENCY_EVENTS, kind, LATENCY_SPACING)
    burst = await _phase(receivers, send, events, kind, 0.0)
    expected = len(receivers) * (LATENCY_EVENTS + events)
    lost = expected - len(spaced[0].latencies) - len(burst[0].latencies)
    return spaced[0].latencies, len(burst[0].latencies) / burst[1], lost


async def _phase(
    receivers: list[ClientConnection],
    send: Callable[[float], object],
    events: int,
    kind: str,
    spacing: float,
) -> tuple[Deliveries, float]:
    deliveries = Deliveries()
    readers = [asyncio.create_task(_receive(ws, events, deliveries, kind)) for ws in receivers]
    started = time.time()
    for _ in range(events):
        await send(time.time())  # type: ignore[misc]
        if spacing:
            await asyncio.sleep(spacing)
    _done, pending = await asyncio.wait(readers, timeout=60)
    for task in pending:
        task.cancel()
    return deliveries, max(deliveries.last_at - started, 1e-9)


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
    receivers = await _connect_all(participants, lambda _n: connect(url, max_queue=None))
    sender = await connect(url)
    result = await _measure(
        receivers, lambda t: sender.send(json.dumps({"type": "x", "t": t})), events, "x"
    )
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


def gateway_path(supervisor: Supervisor, participants: int, events: int) -> float:
    """Sender on gateway 1, ``participants`` receivers and one stalled client on gateway 2."""
    _, owner_token = login(supervisor.topology.gateway_url, f"owner{participants}")
    owner = {"Authorization": f"Bearer {owner_token}"}
    body = {"title": "bench", "workout_type": "hiit"}
    url = f"{supervisor.topology.gateway_url}/group-sessions"
    session_id = httpx.post(url, headers=owner, json=body).json()["session_id"]
    return asyncio.run(_gateway_path(supervisor, session_id, owner_token, participants, events))


async def _gateway_path(
    supervisor: Supervisor, session_id: str, owner_token: str, participants: int, events: int
) -> float:
    settings = supervisor.topology.settings
    second_port = int(supervisor.spec("gateway-2").env["GATEWAY_PORT"])
    key = (settings.data_dir / "keys" / PRIVATE_NAME).read_bytes()
    tokens = TokenIssuer(key, "fitness-user-service", "fitness-api", 3600)
    second = psutil.Process(supervisor.processes["gateway-2"].pid)
    memory_before = second.memory_info().rss

    async def join(url: str, token: str) -> ClientConnection:
        ws = await connect(
            f"{url}/ws/sessions/{session_id}",
            additional_headers={"Authorization": f"Bearer {token}"},
            max_queue=None,
        )
        await ws.send(json.dumps({"type": "join_session", "session_id": session_id}))
        while json.loads(await ws.recv())["type"] != "session_snapshot":
            pass
        return ws

    second_url = f"ws://127.0.0.1:{second_port}"
    receivers = await _connect_all(
        participants, lambda n: join(second_url, tokens.issue(f"fan-{n}").token)
    )
    await asyncio.sleep(1.0)  # let join events settle before measuring
    per_connection = (second.memory_info().rss - memory_before) / participants
    stalled = _stalled_client(second_port, session_id, tokens.issue("stalled").token)
    sender = await join(supervisor.topology.gateway_url.replace("http", "ws"), owner_token)

    async def send(sent_at: float) -> None:
        await sender.send(json.dumps({"type": "chat_message", "message": f"{sent_at} fan-out"}))

    result = await _measure(receivers, send, events, "chat_message")
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
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    with running_platform(extra_gateways=1, gateway_env=extra) as supervisor:
        print(
            f"latency: {LATENCY_EVENTS} events {LATENCY_SPACING}s apart; "
            f"throughput: a burst of {args.events}"
        )
        print("| path | participants | p50 ms | p99 ms | deliveries/s | lost |")
        print("|---|---|---|---|---|---|")
        for participants in args.participants:
            base = baseline(participants, args.events)
            real = gateway_path(supervisor, participants, args.events)
            print(f"    deliveries/s ratio gateway/baseline at {participants}: {real / base:.2f}")


if __name__ == "__main__":
    main()
