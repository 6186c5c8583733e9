"""Our path: the sender on gateway 1 -> Redis (Lua append + pub/sub) -> gateway 2."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import psutil

from bench.fanout.lightsocket import LightSocket, open_socket
from bench.fanout.measure import joined_and_measured, run_measurement
from bench.fanout.packets import gateway_sent_at
from bench.fanout.receivers import Audience, connect_all, hang_up
from bench.fanout.servers import stalled_client
from bench.fanout.stats import Result
from bench.platform import sign_in
from deploy.local import Supervisor

PLATFORM_TIMEOUT = 60.0


@dataclass
class Platform:
    """The platform started once per run, and the accounts registered on it once."""

    supervisor: Supervisor
    receivers: list[str]  # receivers share these accounts (the registration limit per address)
    owner: str  # who opens each measurement's session and sends its events

    def tokens(self) -> tuple[str, list[str]]:
        """Fresh tokens of the owner and the receivers' accounts (each lasts 15 minutes)."""
        url = self.supervisor.topology.gateway_url
        return sign_in(url, self.owner)[1], [sign_in(url, name)[1] for name in self.receivers]

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


def gateway_path(platform: Platform, participants: int, events: int) -> Result:
    """Sender on gateway 1, ``participants`` receivers and one stalled client on gateway 2."""
    restart_second_gateway(platform.supervisor)
    owner_token, tokens = platform.tokens()
    headers = {"Authorization": f"Bearer {owner_token}"}
    body = {"title": "bench", "workout_type": "hiit"}
    url = f"{platform.supervisor.topology.gateway_url}/group-sessions"
    session_id = httpx.post(url, headers=headers, json=body, timeout=10).json()["session_id"]
    return run_measurement(
        _gateway(platform.supervisor, session_id, owner_token, tokens, participants, events)
    )


async def _gateway(
    supervisor: Supervisor,
    session_id: str,
    owner_token: str,
    tokens: list[str],
    participants: int,
    events: int,
) -> Result:
    second_port = int(supervisor.spec("gateway-2").env["GATEWAY_PORT"])

    async def join(url: str, token: str) -> LightSocket:
        ws = await open_socket(
            f"{url}/ws/sessions/{session_id}", {"Authorization": f"Bearer {token}"}
        )
        ws.send(json.dumps({"type": "join_session", "session_id": session_id}))
        while json.loads(await ws.recv())["type"] != "session_snapshot":
            pass
        return ws

    second_url = f"ws://127.0.0.1:{second_port}"
    audience = Audience(gateway_sent_at)
    senders: list[LightSocket] = []
    stalled: list[socket.socket] = []

    async def receivers() -> None:
        async def receiver(n: int) -> LightSocket:
            return audience.add(await join(second_url, tokens[n % len(tokens)]))

        await connect_all(participants, receiver)

    async def start_sending() -> Callable[[float], Awaitable[None]]:
        join_frame = json.dumps({"type": "join_session", "session_id": session_id}).encode()
        target, auth = f"/ws/sessions/{session_id}", f"Authorization: Bearer {tokens[0]}\r\n"
        stalled.append(stalled_client(second_port, target, auth, join_frame))
        senders.append(
            await join(supervisor.topology.gateway_url.replace("http", "ws"), owner_token)
        )

        async def send(sent_at: float) -> None:
            message = {"type": "chat_message", "message": f"{sent_at} fan-out"}
            senders[0].send(json.dumps(message))

        return send

    second = psutil.Process(supervisor.processes["gateway-2"].pid)
    try:
        return await joined_and_measured(
            audience, receivers, second, participants, start_sending, events
        )
    finally:
        await hang_up(stalled, audience, senders)
