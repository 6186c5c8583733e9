"""Two real gateway instances over the same services and Redis, and the WebSocket helpers
the live-session tests share (the ``cluster`` fixture is in conftest.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from deploy.local import free_port
from gateway.__main__ import server_config
from gateway.app import create_app
from gateway.config import GatewaySettings
from services.common.trust import GATEWAY
from tests.helpers import (
    KeyFiles,
    ServiceCerts,
    address,
    flush,
    register_and_login,
    start_activity_server,
    start_user_server,
)

ORIGIN = Origin("http://app.example")


@dataclass
class Cluster:
    """Two gateway instances over the same services and Redis."""

    urls: list[str]
    http: httpx.AsyncClient
    redis_url: str
    users: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)

    def ws_url(self, instance: int, session_id: str) -> str:
        return self.urls[instance].replace("http", "ws") + f"/ws/sessions/{session_id}"

    async def user(self, name: str) -> tuple[str, dict[str, str]]:
        if name not in self.users:
            self.users[name] = await register_and_login(self.http, name)
        return self.users[name]


async def running_cluster(
    tmp_path: Path, jwt_keys: KeyFiles, service_certs: ServiceCerts, redis_server: str
) -> AsyncIterator[Cluster]:
    flush(redis_server)
    certs = service_certs
    # The services invalidate the shared cache (and relay alerts) in the gateways' Redis.
    user = await start_user_server(
        f"sqlite:///{tmp_path / 'u.db'}", jwt_keys, certs=certs, redis_url=redis_server
    )
    activity = await start_activity_server(
        f"sqlite:///{tmp_path / 'a.db'}", [address(user)], certs=certs, redis_url=redis_server
    )
    tls = certs.of(GATEWAY)
    servers, tasks, urls = [], [], []
    for _ in range(2):
        settings = GatewaySettings(
            user_service_addresses=[address(user)],
            activity_service_addresses=[address(activity)],
            jwt_public_key_file=jwt_keys.public,
            redis_url=redis_server,
            allowed_origins=[ORIGIN],
            ws_send_queue=64,
            ws_send_timeout=0.5,
            ws_rate_per_second=1000,
            ws_rate_burst=1000,
            live_empty_timeout=1.0,
            tls_ca_file=tls.ca,
            tls_cert_file=tls.cert,
            tls_key_file=tls.key,
        )
        port = free_port()
        settings = settings.model_copy(update={"host": "127.0.0.1", "port": port})
        # Served as python -m gateway serves it; "on": a lifespan that fails stops the test.
        config = server_config(create_app(settings), settings)
        config.lifespan = "on"
        server = uvicorn.Server(config)
        servers.append(server)
        tasks.append(asyncio.create_task(server.serve()))
        urls.append(f"http://127.0.0.1:{port}")
    for server in servers:
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes only this flag
            await asyncio.sleep(0.01)
    async with httpx.AsyncClient(base_url=urls[0], timeout=10) as http:
        yield Cluster(urls, http, redis_server)
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*tasks)
    for grpc_server in (activity, user):
        await grpc_server.stop(grace=0)


async def open_session(cluster: Cluster, owner: str = "coach") -> str:
    _, headers = await cluster.user(owner)
    body = {"title": "Morning HIIT", "workout_type": "hiit"}
    created = await cluster.http.post("/group-sessions", headers=headers, json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["session_id"])


async def join(
    cluster: Cluster, name: str, session_id: str, instance: int = 0, last_seq: int | None = None
) -> ClientConnection:
    """Connect with the token in the Authorization header and send join_session."""
    user_id, headers = await cluster.user(name)
    socket_ = await connect(
        cluster.ws_url(instance, session_id), additional_headers=headers, origin=ORIGIN
    )
    frame: dict[str, Any] = {"type": "join_session", "session_id": session_id, "user_id": user_id}
    if last_seq is not None:
        frame["last_seq"] = last_seq
    await socket_.send(json.dumps(frame))
    return socket_


async def next_of(socket_: ClientConnection, kind: str, within: float = 5.0) -> dict[str, Any]:
    """The next frame of a given type, skipping others."""
    async with asyncio.timeout(within):
        while True:
            frame = json.loads(await socket_.recv())
            if frame["type"] == kind:
                return dict(frame)


async def frames_until(
    socket_: ClientConnection, wanted: Callable[[dict[str, Any]], bool], within: float = 5.0
) -> list[dict[str, Any]]:
    """Every frame received up to and including the first one ``wanted`` accepts."""
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while not frames or not wanted(frames[-1]):
            frames.append(json.loads(await socket_.recv()))
    return frames


async def start_poll(ws: ClientConnection, options: list[str], seconds: int = 60) -> dict[str, Any]:
    """Start a poll from this client and return the announcement."""
    frame = {
        "type": "start_poll",
        "question": "Next?",
        "options": options,
        "duration_seconds": seconds,
    }
    await ws.send(json.dumps(frame))
    return await next_of(ws, "start_poll")


async def summary_of(cluster: Cluster, session_id: str) -> dict[str, Any]:
    """Wait (bounded) until the ended session's summary has been recorded."""
    _, headers = await cluster.user("coach")
    for _ in range(100):
        snapshot = (await cluster.http.get(f"/group-sessions/{session_id}", headers=headers)).json()
        if snapshot["summary"]:
            return dict(snapshot["summary"])
        await asyncio.sleep(0.1)
    raise AssertionError("the summary was never recorded")
