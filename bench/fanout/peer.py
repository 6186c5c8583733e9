"""The peer path: Socket.IO with @socket.io/redis-adapter, server 1 -> Redis -> server 2."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import psutil

from bench.fanout.lightsocket import LightSocket, open_socket
from bench.fanout.measure import joined_and_measured, run_measurement
from bench.fanout.packets import (
    SOCKETIO_CONNECT,
    engineio_open,
    socketio_chat,
    socketio_sent_at,
)
from bench.fanout.receivers import Audience, answered_ping, connect_all, hang_up
from bench.fanout.servers import child_process, stalled_client, wait_for_port
from bench.fanout.stats import Result
from deploy.local import free_port

PEER_DIR = Path(__file__).parent.parent / "socketio_peer"


def needs_install(lock_mtime: float, installed_mtime: float | None) -> bool:
    """True when node_modules is missing (None) or older than package-lock.json."""
    return installed_mtime is None or installed_mtime < lock_mtime


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
                child_process(["node", "server.js", str(port), redis_url], cwd=PEER_DIR, env=env)
            )
            for port in ports
        ]
        return run_measurement(_peer(ports, servers[1].pid, participants, events, room))


async def socketio_join(url: str) -> LightSocket:
    """A Socket.IO client over a plain websocket: open packet, connect to "/", wait for it."""
    ws = await open_socket(url)
    engineio_open(await ws.recv())
    ws.send(SOCKETIO_CONNECT)
    while not (await ws.recv()).startswith(SOCKETIO_CONNECT.encode()):
        pass
    return ws


async def _peer(
    ports: tuple[int, int], pid: int, participants: int, events: int, room: str
) -> Result:
    for port in ports:
        await wait_for_port(port)
    path = f"/socket.io/?EIO=4&transport=websocket&room={room}"
    urls = [f"ws://127.0.0.1:{port}{path}" for port in ports]
    audience = Audience(socketio_sent_at, answers_pings=True)
    senders: list[LightSocket] = []

    async def receivers() -> None:
        async def receiver(_n: int) -> LightSocket:
            return audience.add(await socketio_join(urls[1]))

        await connect_all(participants, receiver)

    async def start_sending() -> Callable[[float], Awaitable[None]]:
        stalled.append(stalled_client(ports[1], path, "", SOCKETIO_CONNECT.encode()))
        senders.append(await socketio_join(urls[0]))
        senders[0].listen(answered_ping)

        async def send(sent_at: float) -> None:
            senders[0].send(socketio_chat(sent_at))

        return send

    stalled: list[socket.socket] = []
    try:
        result = await joined_and_measured(
            audience, receivers, psutil.Process(pid), participants, start_sending, events
        )
        _print_stalled(ports[1])
        return result
    finally:
        await hang_up(stalled, audience, senders)


def _print_stalled(port: int) -> None:
    """What server 2 holds for the stalled client (bench/socketio_peer/server.js /stats)."""
    stats = httpx.get(f"http://127.0.0.1:{port}/stats", timeout=10).json()
    print(f"    Socket.IO server 2 after the burst: {json.dumps(stats)}", flush=True)
