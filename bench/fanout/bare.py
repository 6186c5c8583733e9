"""The bare path: a websockets server relaying each message with broadcast()."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import Awaitable, Callable

import psutil
from websockets.asyncio.client import ClientConnection, connect

from bench.fanout.measure import MEASUREMENT_TIMEOUT, joined_and_measured
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
        return asyncio.run(
            asyncio.wait_for(_bare(port, server.pid, participants, events), MEASUREMENT_TIMEOUT)
        )


async def _bare(port: int, pid: int, participants: int, events: int) -> Result:
    url = f"ws://127.0.0.1:{port}"
    await wait_for_port(port)
    audience = Audience(bare_sent_at)
    senders: list[ClientConnection] = []

    async def receivers() -> None:
        async def receiver(_n: int) -> ClientConnection:
            return audience.add(await connect(url, compression=None, max_queue=None))

        await connect_all(participants, receiver)

    async def start_sending() -> Callable[[float], Awaitable[None]]:
        stalled.append(stalled_client(port, "/", "", b"{}"))
        senders.append(await connect(url, compression=None))
        return lambda t: senders[0].send(json.dumps({"type": "x", "t": t}))

    stalled: list[socket.socket] = []
    try:
        return await joined_and_measured(
            audience, receivers, psutil.Process(pid), participants, start_sending, events
        )
    finally:
        await hang_up(stalled, audience, senders)
