"""End to end: live sessions across two real gateway processes sharing one Redis.

One gateway is killed with SIGKILL mid-session: participants on the other keep going,
learn that the dead instance's users left, and the ended session is still recorded.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from deploy.local import (
    Supervisor,
    add_gateway,
    build_topology,
    free_port,
    prepare,
    settings_on_free_ports,
)
from tests.e2e.browser import wait_ready
from tests.helpers import server_reachable_dir


@pytest.fixture(scope="module")
def supervisor() -> Iterator[Supervisor]:
    # Outside pytest's temp root: the warehouse's PostgreSQL, which holds the health-metrics
    # database the gateway's health upstream needs, runs as its own user.
    with server_reachable_dir("e2e-live-platform-") as root:
        topology = build_topology(settings_on_free_ports(root / "data", instances=1))
        port = free_port()
        add_gateway(topology, "gateway-2", port)
        prepare(topology)
        running = Supervisor(topology, log_dir=root / "logs")
        running.start_all()
        try:
            running.wait_ready(timeout=60)
            wait_ready(f"http://127.0.0.1:{port}")
            yield running
        finally:
            running.stop_all()


def gateway_url(supervisor: Supervisor, name: str) -> str:
    return f"http://127.0.0.1:{supervisor.spec(name).env['GATEWAY_PORT']}"


async def account(client: httpx.AsyncClient, name: str) -> tuple[str, dict[str, str]]:
    body = {"username": name, "email": f"{name}@example.com", "password": "s3cret-pass"}
    assert (await client.post("/users/register", json=body)).status_code == 201
    login = (
        await client.post(
            "/users/login", json={"email": body["email"], "password": body["password"]}
        )
    ).json()
    return login["user_id"], {"Authorization": f"Bearer {login['token']}"}


async def joined(url: str, session_id: str, headers: dict[str, str]) -> ClientConnection:
    ws = await connect(
        url.replace("http", "ws") + f"/ws/sessions/{session_id}", additional_headers=headers
    )
    await ws.send(json.dumps({"type": "join_session", "session_id": session_id}))
    await next_of(ws, "session_snapshot")
    return ws


async def next_of(ws: ClientConnection, kind: str, within: float = 5.0) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while (frame := json.loads(await ws.recv()))["type"] != kind:
            pass
    return dict(frame)


async def test_a_session_survives_the_death_of_a_gateway_and_is_recorded(
    supervisor: Supervisor,
) -> None:
    first, second = gateway_url(supervisor, "gateway"), gateway_url(supervisor, "gateway-2")
    async with httpx.AsyncClient(base_url=first, timeout=10) as via_first:
        _, coach = await account(via_first, "coach")
        ann_id, ann = await account(via_first, "ann")
        bob_id, bob = await account(via_first, "bob")
        body = {"title": "Row", "workout_type": "rowing"}
        session_id = (await via_first.post("/group-sessions", headers=coach, json=body)).json()[
            "session_id"
        ]
    ann_ws = await joined(first, session_id, ann)
    bob_ws = await joined(second, session_id, bob)
    await ann_ws.send(json.dumps({"type": "chat_message", "message": "from the first gateway"}))
    assert (await next_of(bob_ws, "chat_message"))["user_id"] == ann_id

    await asyncio.to_thread(supervisor.kill, "gateway")
    with pytest.raises(ConnectionClosed):
        await next_of(ann_ws, "never")
    left = await next_of(bob_ws, "leave_session", within=30)
    assert left["user_id"] == ann_id

    async with httpx.AsyncClient(base_url=second, timeout=10) as via_second:
        ended = await via_second.post(f"/group-sessions/{session_id}/end", headers=coach)
        assert ended.status_code == 200
        assert (await next_of(bob_ws, "session_ended"))["session_id"] == session_id
        summary = None
        for _ in range(100):
            summary = (await via_second.get(f"/group-sessions/{session_id}", headers=coach)).json()[
                "summary"
            ]
            if summary:
                break
            await asyncio.sleep(0.1)
        assert summary is not None
        assert {p["user_id"] for p in summary["participants"]} == {ann_id, bob_id}
        for user_id, headers in ((ann_id, ann), (bob_id, bob)):
            stats = (await via_second.get(f"/users/{user_id}/statistics", headers=headers)).json()
            assert stats["total_workouts"] == 1
