"""Benchmark: fan-out of one live-session event to N participants, three paths side by side.

For each N, in R alternating rounds (the order rotates each round):
  bare  - a bare websockets server relays each message with broadcast() (bench.broadcast_server)
  peer  - what a user would pick instead of our gateway: Socket.IO 4.8 on Node 20 with
          @socket.io/redis-adapter (bench/socketio_peer): server 1 -> Redis -> server 2
  ours  - the real path: gateway 1 -> Redis (Lua append + pub/sub) -> gateway 2
In every path the sender is on server 1 (bare: the one server), the N receivers and one
deliberately stalled client (joined, never reads, 2 KiB receive buffer) on server 2; the
receivers are Python websockets clients without per-message deflate, which is off on every
server too. The sender sends 20 events 100 ms apart (latency) then a burst of K (throughput),
each carrying its send time. Reported: p50/p99 event-to-client latency, deliveries/s, lost
deliveries, and server 2's memory per idle connection (RSS growth / N once joins settle; every
measurement gets a fresh server 2, since a warm one reuses memory freed by the last round);
the median of the rounds and each round. The platform and its Redis (which the Socket.IO
servers share) start once per run.

    python -m bench.fanout [--participants 1000 5000] [--events 50] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
LATENCY_EVENTS = 20
LATENCY_SPACING = 0.1
PHASE_TIMEOUT = 60.0
MEASUREMENT_TIMEOUT = 300.0
SETTLE_SECONDS = 2.0
PORT_TIMEOUT = 30.0
PLATFORM_TIMEOUT = 60.0
PEER_DIR = Path(__file__).parent / "socketio_peer"
PATHS = ("bare", "peer", "ours")
TITLES = {
    "bare": "bare websockets broadcast()",
    "peer": "Socket.IO 4.8 + redis-adapter (server 1 -> Redis -> server 2)",
    "ours": "gateway 1 -> Redis -> gateway 2",
}
# Timestamps decoded from a frame; None when the frame is not one of the bench's events.
Decode = Callable[[str | bytes], float | None]


@dataclass(frozen=True)
class Result:
    """One path's figures at one participant count in one round."""

    p50_ms: float
    p99_ms: float
    rate: float
    lost: int
    kib_per_connection: float


# Engine.IO v4 / Socket.IO v5 over a websocket: one packet per frame, its type the first
# character(s): "0" open, "2" ping, "3" pong, "40" namespace connect, "42" event.
ENGINEIO_PING = "2"
ENGINEIO_PONG = "3"
SOCKETIO_CONNECT = "40"
SOCKETIO_EVENT = "42"


def engineio_open(raw: str | bytes) -> dict[str, Any]:
    """The handshake of an Engine.IO open packet ``0{...}`` (sid, pingInterval, ...)."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    if not text.startswith("0"):
        raise ValueError(f"not an Engine.IO open packet: {text[:40]!r}")
    handshake: dict[str, Any] = json.loads(text[1:])
    return handshake


def socketio_event(raw: str | bytes) -> tuple[str, list[Any]] | None:
    """(name, arguments) of a Socket.IO event packet ``42["name", ...]``; None for others."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    if not text.startswith(SOCKETIO_EVENT):
        return None
    name, *arguments = json.loads(text[len(SOCKETIO_EVENT) :])
    return name, arguments


def socketio_chat(sent_at: float) -> str:
    """The packet a Socket.IO client sends to emit ``chat`` with its send time."""
    return SOCKETIO_EVENT + json.dumps(["chat", {"t": sent_at}])


def socketio_sent_at(raw: str | bytes) -> float | None:
    """The send time of a ``chat`` event."""
    event = socketio_event(raw)
    if event is None or event[0] != "chat":
        return None
    return float(event[1][0]["t"])


def bare_sent_at(raw: str | bytes) -> float | None:
    """The send time of a bare relay's event."""
    frame = json.loads(raw)
    return float(frame["t"]) if frame.get("type") == "x" else None


def gateway_sent_at(raw: str | bytes) -> float | None:
    """The send time of a gateway chat message (its text starts with it)."""
    frame = json.loads(raw)
    if frame.get("type") != "chat_message":
        return None
    return float(frame["message"].split()[0])


def rotated(items: Sequence[str], round_index: int) -> list[str]:
    """``items`` rotated left by the round, so each path takes each place in turn."""
    shift = round_index % len(items)
    return [*items[shift:], *items[:shift]]


def median_result(results: Sequence[Result]) -> Result:
    """The median of each figure over rounds; lost is the total, since any loss matters."""
    return Result(
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        rate=statistics.median(r.rate for r in results),
        lost=sum(r.lost for r in results),
        kib_per_connection=statistics.median(r.kib_per_connection for r in results),
    )


def ratio(numerator: float, denominator: float) -> str:
    """A ratio to two decimals, or n/a when the denominator is not positive."""
    return f"{numerator / denominator:.2f}" if denominator > 0 else "n/a"


def percentiles_ms(latencies: Sequence[float]) -> tuple[float, float]:
    """(p50, p99) of delays in seconds, in milliseconds; NaN with fewer than two."""
    if len(latencies) < 2:
        return float("nan"), float("nan")
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


def needs_install(lock_mtime: float, installed_mtime: float | None) -> bool:
    """True when node_modules is missing (None) or older than package-lock.json."""
    return installed_mtime is None or installed_mtime < lock_mtime


def result_row(path: str, participants: int, label: str, result: Result) -> str:
    """One markdown table row."""
    return (
        f"| {TITLES[path]} | {participants} | {label} | {result.p50_ms:.1f} | "
        f"{result.p99_ms:.1f} | {result.rate:,.0f} | {result.lost} | "
        f"{result.kib_per_connection:.1f} |"
    )


def table(participants: int, results: dict[str, list[Result]], orders: list[list[str]]) -> str:
    """Median and per-round rows of every path at one participant count."""
    rows = []
    for path in PATHS:
        rows.append(result_row(path, participants, "median", median_result(results[path])))
        for n, result in enumerate(results[path]):
            place = orders[n].index(path) + 1
            rows.append(result_row(path, participants, f"round {n + 1} (ran {place})", result))
    return "\n".join(rows)


def ratios_row(participants: int, results: dict[str, list[Result]]) -> str:
    """ours/peer (and ours/bare deliveries/s) from the medians."""
    ours, peer = median_result(results["ours"]), median_result(results["peer"])
    bare = median_result(results["bare"])
    return (
        f"| {participants} | {ratio(ours.rate, peer.rate)} | {ratio(ours.p99_ms, peer.p99_ms)} "
        f"| {ratio(ours.kib_per_connection, peer.kib_per_connection)} "
        f"| {ratio(ours.rate, bare.rate)} |"
    )


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


async def _connect_all(
    count: int, open_one: Callable[[int], Awaitable[ClientConnection]]
) -> list[ClientConnection]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def guarded(n: int) -> ClientConnection:
        async with gate:
            return await open_one(n)

    return list(await asyncio.gather(*(guarded(n) for n in range(count))))


async def _measure(
    audience: Audience, send: Callable[[float], Awaitable[None]], events: int
) -> tuple[list[float], float, int]:
    """Latency from spaced events, then deliveries/s from a burst; and how many were lost."""
    spaced = await audience.phase_of(send, LATENCY_EVENTS, LATENCY_SPACING)
    started = time.time()
    burst = await audience.phase_of(send, events, 0.0)
    rate = len(burst.latencies) / max(burst.last_at - started, 1e-9)
    lost = spaced.expected - len(spaced.latencies) + burst.expected - len(burst.latencies)
    return spaced.latencies, rate, lost


async def _joined_and_measured(
    audience: Audience,
    receivers: Callable[[], Awaitable[object]],
    server: psutil.Process,
    participants: int,
    start_sending: Callable[[], Awaitable[Callable[[float], Awaitable[None]]]],
    events: int,
) -> Result:
    """Join the receivers, weigh server 2 once joins settle, then measure; the common steps."""
    memory_before = server.memory_info().rss
    await receivers()
    await asyncio.sleep(SETTLE_SECONDS)  # let the join storm settle before weighing
    per_connection = (server.memory_info().rss - memory_before) / participants
    send = await start_sending()
    latencies, rate, lost = await _measure(audience, send, events)
    p50, p99 = percentiles_ms(latencies)
    return Result(p50, p99, rate, lost, per_connection / 1024)


def _print_result(path: str, participants: int, result: Result) -> None:
    print(f"    {result_row(path, participants, 'this round', result)}", flush=True)


async def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + PORT_TIMEOUT
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def _stalled_client(port: int, target: str, headers: str, first_frame: bytes) -> socket.socket:
    """A client that upgrades, sends one frame (its join) and never reads; 2 KiB receive buffer."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    raw.settimeout(10)
    raw.connect(("127.0.0.1", port))
    raw.sendall(
        (
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{headers}\r\n"
        ).encode()
    )
    # Wait for the upgrade's answer first: Socket.IO drops a frame sent along with the request.
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = raw.recv(4096)
        if not chunk:
            raise ConnectionError(f"{target}: closed during the upgrade")
        answer += chunk
    raw.sendall(bytes([0x81, 0x80 | len(first_frame)]) + b"\x00\x00\x00\x00" + first_frame)
    return raw


@contextlib.contextmanager
def _process(argv: list[str], **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A child process, terminated (then killed) by its PID on exit."""
    process = subprocess.Popen(argv, **kwargs)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --- bare: websockets broadcast() ---------------------------------------------------------


def bare_path(participants: int, events: int) -> Result:
    """Bare websockets broadcast() to ``participants`` clients (plus one stalled)."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.broadcast_server", str(port)]
    with _process(argv) as server:
        return asyncio.run(
            asyncio.wait_for(_bare(port, server.pid, participants, events), MEASUREMENT_TIMEOUT)
        )


async def _bare(port: int, pid: int, participants: int, events: int) -> Result:
    url = f"ws://127.0.0.1:{port}"
    await _wait_for_port(port)
    audience = Audience(bare_sent_at)
    senders: list[ClientConnection] = []

    async def receivers() -> None:
        async def receiver(_n: int) -> ClientConnection:
            return audience.add(await connect(url, compression=None, max_queue=None))

        await _connect_all(participants, receiver)

    async def start_sending() -> Callable[[float], Awaitable[None]]:
        stalled.append(_stalled_client(port, "/", "", b"{}"))
        senders.append(await connect(url, compression=None))
        return lambda t: senders[0].send(json.dumps({"type": "x", "t": t}))

    stalled: list[socket.socket] = []
    try:
        return await _joined_and_measured(
            audience, receivers, psutil.Process(pid), participants, start_sending, events
        )
    finally:
        for raw in stalled:
            raw.close()
        await audience.close()
        for ws in senders:
            await ws.close()


# --- peer: Socket.IO + @socket.io/redis-adapter ---------------------------------------------


def install_peer() -> None:
    """``npm ci`` the peer's packages when node_modules is missing or older than the lock."""
    lock = (PEER_DIR / "package-lock.json").stat().st_mtime
    installed = PEER_DIR / "node_modules" / ".package-lock.json"
    if needs_install(lock, installed.stat().st_mtime if installed.exists() else None):
        print("installing the Socket.IO peer: npm ci", flush=True)
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=PEER_DIR, check=True, timeout=300
        )


def peer_path(redis_url: str, participants: int, events: int, room: str) -> Result:
    """Two Socket.IO servers on one Redis: sender on server 1, receivers on server 2."""
    ports = free_port(), free_port()
    env = {**os.environ, "NODE_ENV": "production"}
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(
                _process(["node", "server.js", str(port), redis_url], cwd=PEER_DIR, env=env)
            )
            for port in ports
        ]
        return asyncio.run(
            asyncio.wait_for(
                _peer(ports, servers[1].pid, participants, events, room), MEASUREMENT_TIMEOUT
            )
        )


async def socketio_join(url: str) -> ClientConnection:
    """A Socket.IO client over a plain websocket: open packet, connect to "/", wait for it."""
    ws = await connect(url, compression=None, max_queue=None, open_timeout=60)
    engineio_open(await ws.recv())
    await ws.send(SOCKETIO_CONNECT)
    while not str(await ws.recv()).startswith(SOCKETIO_CONNECT):
        pass
    return ws


async def _answer_pings(ws: ClientConnection) -> None:
    async for raw in ws:
        if raw == ENGINEIO_PING:
            await ws.send(ENGINEIO_PONG)


async def _peer(
    ports: tuple[int, int], pid: int, participants: int, events: int, room: str
) -> Result:
    for port in ports:
        await _wait_for_port(port)
    path = f"/socket.io/?EIO=4&transport=websocket&room={room}"
    urls = [f"ws://127.0.0.1:{port}{path}" for port in ports]
    audience = Audience(socketio_sent_at, answers_pings=True)
    senders: list[ClientConnection] = []

    async def receivers() -> None:
        async def receiver(_n: int) -> ClientConnection:
            return audience.add(await socketio_join(urls[1]))

        await _connect_all(participants, receiver)

    async def start_sending() -> Callable[[float], Awaitable[None]]:
        stalled.append(_stalled_client(ports[1], path, "", SOCKETIO_CONNECT.encode()))
        senders.append(await socketio_join(urls[0]))
        pings.append(asyncio.create_task(_answer_pings(senders[0])))
        return lambda t: senders[0].send(socketio_chat(t))

    pings: list[asyncio.Task[None]] = []
    stalled: list[socket.socket] = []
    try:
        result = await _joined_and_measured(
            audience, receivers, psutil.Process(pid), participants, start_sending, events
        )
        _print_stalled(ports[1])
        return result
    finally:
        for raw in stalled:
            raw.close()
        for task in pings:
            task.cancel()
        await audience.close()
        for ws in senders:
            await ws.close()


def _print_stalled(port: int) -> None:
    """What server 2 holds for the stalled client (bench/socketio_peer/server.js /stats)."""
    stats = httpx.get(f"http://127.0.0.1:{port}/stats", timeout=10).json()
    print(f"    Socket.IO server 2 after the burst: {json.dumps(stats)}", flush=True)


# --- ours: gateway 1 -> Redis -> gateway 2 -----------------------------------------------------


@dataclass
class Platform:
    """The platform started once per run and the receivers' tokens."""

    supervisor: Supervisor
    tokens: list[str]

    @property
    def redis_url(self) -> str:
        """The platform's Redis, shared by the Socket.IO peer (their channels do not overlap)."""
        return self.supervisor.spec("gateway").env["GATEWAY_REDIS_URL"]


def restart_second_gateway(supervisor: Supervisor) -> None:
    """A fresh gateway 2, as the other paths get fresh servers: a warm one reuses freed memory."""
    supervisor.kill("gateway-2", signal.SIGTERM)
    supervisor.start(supervisor.spec("gateway-2"))
    url = f"http://127.0.0.1:{supervisor.spec('gateway-2').env['GATEWAY_PORT']}/health/ready"
    deadline = time.monotonic() + PLATFORM_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).is_success:
                return
        time.sleep(0.2)
    raise TimeoutError("gateway 2 did not become ready after its restart")


def gateway_path(platform: Platform, participants: int, events: int, owner: str) -> Result:
    """Sender on gateway 1, ``participants`` receivers and one stalled client on gateway 2."""
    restart_second_gateway(platform.supervisor)
    _, owner_token = login(platform.supervisor.topology.gateway_url, owner)
    headers = {"Authorization": f"Bearer {owner_token}"}
    body = {"title": "bench", "workout_type": "hiit"}
    url = f"{platform.supervisor.topology.gateway_url}/group-sessions"
    session_id = httpx.post(url, headers=headers, json=body, timeout=10).json()["session_id"]
    return asyncio.run(
        asyncio.wait_for(
            _gateway(platform, session_id, owner_token, participants, events),
            MEASUREMENT_TIMEOUT,
        )
    )


async def _gateway(
    platform: Platform, session_id: str, owner_token: str, participants: int, events: int
) -> Result:
    supervisor, tokens = platform.supervisor, platform.tokens
    second_port = int(supervisor.spec("gateway-2").env["GATEWAY_PORT"])

    async def join(url: str, token: str) -> ClientConnection:
        ws = await connect(
            f"{url}/ws/sessions/{session_id}",
            additional_headers={"Authorization": f"Bearer {token}"},
            compression=None,
            max_queue=None,
            open_timeout=60,
        )
        await ws.send(json.dumps({"type": "join_session", "session_id": session_id}))
        while json.loads(await ws.recv())["type"] != "session_snapshot":
            pass
        return ws

    second_url = f"ws://127.0.0.1:{second_port}"
    audience = Audience(gateway_sent_at)
    senders: list[ClientConnection] = []
    stalled: list[socket.socket] = []

    async def receivers() -> None:
        async def receiver(n: int) -> ClientConnection:
            return audience.add(await join(second_url, tokens[n % len(tokens)]))

        await _connect_all(participants, receiver)

    async def start_sending() -> Callable[[float], Awaitable[None]]:
        join_frame = json.dumps({"type": "join_session", "session_id": session_id}).encode()
        target, auth = f"/ws/sessions/{session_id}", f"Authorization: Bearer {tokens[0]}\r\n"
        stalled.append(_stalled_client(second_port, target, auth, join_frame))
        senders.append(
            await join(supervisor.topology.gateway_url.replace("http", "ws"), owner_token)
        )

        async def send(sent_at: float) -> None:
            message = {"type": "chat_message", "message": f"{sent_at} fan-out"}
            await senders[0].send(json.dumps(message))

        return send

    second = psutil.Process(supervisor.processes["gateway-2"].pid)
    try:
        return await _joined_and_measured(
            audience, receivers, second, participants, start_sending, events
        )
    finally:
        for raw in stalled:
            raw.close()
        await audience.close()
        for ws in senders:
            await ws.close()


# --- rounds ------------------------------------------------------------------------------------


def run_participants(
    platform: Platform, participants: int, events: int, rounds: int
) -> tuple[str, str]:
    """All rounds at one participant count, printed as they go; its table rows and ratios."""
    results: dict[str, list[Result]] = {path: [] for path in PATHS}
    orders = [rotated(PATHS, n) for n in range(rounds)]
    for n, order in enumerate(orders):
        print(f"  N={participants} round {n + 1}: {' -> '.join(order)}", flush=True)
        for path in order:
            tag = f"{participants}r{n + 1}"
            if path == "bare":
                result = bare_path(participants, events)
            elif path == "peer":
                result = peer_path(platform.redis_url, participants, events, f"bench-{tag}")
            else:
                result = gateway_path(platform, participants, events, f"owner{tag}")
            _print_result(path, participants, result)
            results[path].append(result)
    return table(participants, results, orders), ratios_row(participants, results)


def main() -> None:
    """Run the three paths in alternating rounds for each participant count; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    install_peer()
    extra = {
        "GATEWAY_WS_RATE_PER_SECOND": "10000",
        "GATEWAY_WS_RATE_BURST": "10000",
        # Receivers share RECEIVER_ACCOUNTS accounts: up to 200 sockets each at 5000.
        "GATEWAY_WS_MAX_SOCKETS_PER_USER": "1000",
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    with running_platform(extra_gateways=1, gateway_env=extra) as supervisor:
        url = supervisor.topology.gateway_url
        tokens = [login(url, f"fan{n}")[1] for n in range(RECEIVER_ACCOUNTS)]
        platform = Platform(supervisor, tokens)
        print(f"Redis for the gateways and the Socket.IO peer: {platform.redis_url}", flush=True)
        sections = [
            run_participants(platform, n, args.events, args.rounds) for n in args.participants
        ]
    _print_tables(args, sections)


def _print_tables(args: argparse.Namespace, sections: list[tuple[str, str]]) -> None:
    print(
        f"\nlatency: {LATENCY_EVENTS} events {LATENCY_SPACING}s apart; throughput: a burst of "
        f"{args.events}; {args.rounds} round(s), order rotated each round; median row: median "
        "of rounds, lost summed over rounds; memory: server 2's RSS growth per idle connection\n"
    )
    print("| path | participants | figure | p50 ms | p99 ms | deliveries/s | lost | KiB/conn |")
    print("|---|---|---|---|---|---|---|---|")
    for rows, _ in sections:
        print(rows)
    print(
        "\n| participants | deliveries/s ours/peer | p99 ours/peer | memory ours/peer "
        "| deliveries/s ours/bare |"
    )
    print("|---|---|---|---|---|")
    for _, ratios in sections:
        print(ratios)


if __name__ == "__main__":
    main()
