"""Baseline for bench.fanout: a bare websockets server relaying each message with broadcast().

python -m bench.broadcast_server PORT
"""

from __future__ import annotations

import asyncio
import sys

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosedError

clients: set[ServerConnection] = set()


async def relay(connection: ServerConnection) -> None:
    """Register the client and send everything it says to every other client."""
    clients.add(connection)
    try:
        async for message in connection:
            broadcast(clients - {connection}, message)
    except ConnectionClosedError:
        pass  # the bench's stalled client is closed with unread data: a reset, expected
    finally:
        clients.discard(connection)


async def main(port: int) -> None:
    """Serve until killed."""
    # compression=None: no per-message deflate, as Socket.IO's default and our gateway's.
    async with serve(relay, "127.0.0.1", port, max_queue=None, compression=None):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
