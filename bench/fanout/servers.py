"""Local servers under test: a child process, waiting for its port, and a stalled client."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

from deploy.process_tree import stop_child

PORT_TIMEOUT = 30.0


async def wait_for_port(port: int) -> None:
    """Return once something accepts connections on ``port`` (30 s at most)."""
    deadline = time.monotonic() + PORT_TIMEOUT
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def stalled_client(port: int, target: str, headers: str, first_frame: bytes) -> socket.socket:
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
def child_process(argv: list[str], **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A child process, terminated (then killed) by its PID on exit."""
    process = subprocess.Popen(argv, **kwargs)
    try:
        yield process
    finally:
        stop_child(process)
