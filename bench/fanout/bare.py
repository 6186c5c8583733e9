"""The bare path: a websockets server relaying each message with broadcast()."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Awaitable, Callable

import psutil

from bench.fanout.lightsocket import LightSocket, open_socket
from bench.fanout.measure import joined_and_measured, run_measurement
from bench.fanout.packets import bare_sent_at
from bench.fanout.receivers import Audience, connect_all, hang_up
from bench.fanout.servers import child_process, stalled_client, wait_for_port
from bench.fanout.stats import Result
from deploy.local import free_port


def bare_path(participants: int, events: int) -> Result:
    """Bare websockets broadcast() to ``participants`` clients (plus one stalled)."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.broadcast_server", str(port)]
    with child_process(argv) as server:
        return run_measurement(_bare(port, server.pid, participants, events))


async def _bare(port: int, pid: int, participants: int, events: int) -> Result:
    url = f"ws://127.0.0.1:{port}"
    await wait_for_port(port)
    audience = Audience(bare_sent_at)
    senders: list[LightSocket] = []

    async def receivers() -> None:
        async def receiver(_n: int) -> LightSocket:
            return audience.add(await open_socket(url))

        await connect_all(participants, receiver)

    async def start_sending() -> Callable[[float], Awaitable[None]]:
        stalled.append(stalled_client(port, "/", "", b"{}"))
        senders.append(await open_socket(url))

        async def send(sent_at: float) -> None:
            senders[0].send(json.dumps({"type": "x", "t": sent_at}))

        return send

    stalled: list[socket.socket] = []
    try:
        return await joined_and_measured(
            audience, receivers, psutil.Process(pid), participants, start_sending, events
        )
    finally:
        await hang_up(stalled, audience, senders)
