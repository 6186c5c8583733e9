"""Redis dies or hangs and comes back: a dedicated real Redis, SIGKILLed and restarted on
its port, or stopped (SIGSTOP) and continued.

Two gateway instances (the ``cluster`` fixture of conftest.py) over a Redis only these tests
use, so killing it disturbs no other test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis as AsyncRedis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from deploy import embedded_redis
from deploy.local import free_port
from tests.helpers import KeyFiles, ServiceCerts
from tests.integration.live_cluster import (
    ORIGIN,
    Cluster,
    join,
    next_of,
    open_session,
    running_cluster,
    start_poll,
    summary_of,
)


@dataclass
class RestartableRedis:
    """A redis-server of our own that can be killed and started again on the same port."""

    data_dir: Path
    port: int
    server: embedded_redis.EmbeddedRedis

    @property
    def url(self) -> str:
        return self.server.url

    def kill(self) -> None:
        self.server.kill()

    def restart(self) -> None:
        self.server = embedded_redis.start(self.data_dir, self.port)

    def hang(self) -> None:
        """SIGSTOP our own server: connections are accepted by the kernel, nothing answers."""
        os.kill(self.server.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT our own server (a no-op when it is running)."""
        if self.server.process.poll() is None:
            os.kill(self.server.process.pid, signal.SIGCONT)


@pytest.fixture
def restartable_redis(tmp_path: Path) -> Iterator[RestartableRedis]:
    port, data_dir = free_port(), tmp_path / "redis"
    server = RestartableRedis(data_dir, port, embedded_redis.start(data_dir, port))
    yield server
    server.resume()  # a stopped process would not act on SIGTERM
    server.server.stop()


@pytest.fixture
def redis_server(restartable_redis: RestartableRedis) -> str:
    """Overrides the shared session-wide server for this module's cluster."""
    return restartable_redis.url


@pytest.fixture
async def cluster(
    tmp_path: Path, jwt_keys: KeyFiles, service_certs: ServiceCerts, redis_server: str
) -> AsyncIterator[Cluster]:
    """Overrides conftest's (which also runs on the shared Redis Cluster): ours only."""
    async for running in running_cluster(tmp_path, jwt_keys, service_certs, redis_server):
        yield running


async def restart(server: RestartableRedis) -> None:
    """Start Redis again without blocking the gateways' event loop meanwhile."""
    await asyncio.to_thread(server.restart)


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (503, "UNAVAILABLE")
    assert error["message"]


async def told_to_retry(socket_: ClientConnection) -> dict[str, Any]:
    """The frames until the server closes: the last is the 'unavailable' error, then 1013."""
    frames = []
    try:
        async with asyncio.timeout(10):
            while True:
                frames.append(json.loads(await socket_.recv()))
    except ConnectionClosed:
        pass
    assert socket_.close_code == 1013
    assert socket_.close_reason
    assert frames
    last = frames[-1]
    assert (last["type"], last["code"], last["reason"]) == ("error", "UNAVAILABLE", "UNAVAILABLE")
    return dict(frames[-1])


async def fill_the_pool(cluster: Cluster, headers: dict[str, str]) -> None:
    """Leave several pooled Redis connections idle, the way a busy gateway does."""
    await asyncio.gather(*(cluster.http.get("/group-sessions", headers=headers) for _ in range(8)))


async def test_while_redis_is_down_session_routes_answer_503_and_the_first_after_works(
    cluster: Cluster, restartable_redis: RestartableRedis
) -> None:
    session_id = await open_session(cluster)
    _, headers = await cluster.user("coach")
    await fill_the_pool(cluster, headers)
    restartable_redis.kill()
    body = {"title": "Evening yoga", "workout_type": "yoga"}
    keyed = {**headers, "Idempotency-Key": "during-outage"}
    assert_unavailable(await cluster.http.get("/group-sessions", headers=headers))
    assert_unavailable(await cluster.http.get(f"/group-sessions/{session_id}", headers=headers))
    assert_unavailable(await cluster.http.post("/group-sessions", headers=headers, json=body))
    assert_unavailable(await cluster.http.post("/group-sessions", headers=keyed, json=body))
    assert_unavailable(
        await cluster.http.post(f"/group-sessions/{session_id}/end", headers=headers)
    )
    await restart(restartable_redis)
    # The pooled connections all died with the old server; none of them may surface.
    created = await asyncio.gather(
        *(
            cluster.http.post(
                "/group-sessions", headers={**headers, "Idempotency-Key": f"after-{n}"}, json=body
            )
            for n in range(8)
        )
    )
    assert [r.status_code for r in created] == [201] * 8
    retried = await cluster.http.post("/group-sessions", headers=keyed, json=body)
    assert retried.status_code == 201  # the key of a 503 was not kept
    assert "idempotent-replayed" not in retried.headers
    listed = await cluster.http.get("/group-sessions", headers=headers)
    assert listed.status_code == 200
    assert session_id in [s["session_id"] for s in listed.json()["sessions"]]


async def test_while_redis_hangs_requests_using_it_answer_503_and_work_once_it_answers(
    cluster: Cluster, restartable_redis: RestartableRedis
) -> None:
    session_id = await open_session(cluster)
    _, headers = await cluster.user("coach")
    await fill_the_pool(cluster, headers)
    body = {"title": "Evening yoga", "workout_type": "yoga"}
    keyed = {**headers, "Idempotency-Key": "while-hung"}
    login = {"email": "coach@example.com", "password": "wrong password"}
    # Without a Redis deadline these would wait for as long as Redis hangs.
    async with httpx.AsyncClient(base_url=cluster.urls[1], timeout=8) as patient:
        restartable_redis.hang()
        try:
            assert_unavailable(await patient.get("/group-sessions", headers=headers))
            assert_unavailable(await patient.get(f"/group-sessions/{session_id}", headers=headers))
            assert_unavailable(await patient.post("/group-sessions", headers=keyed, json=body))
            assert_unavailable(await patient.post("/users/login", json=login))
        finally:
            restartable_redis.resume()
        listed = await patient.get("/group-sessions", headers=headers)
        assert listed.status_code == 200, listed.text
        assert session_id in [s["session_id"] for s in listed.json()["sessions"]]
        retried = await patient.post("/group-sessions", headers=keyed, json=body)
        assert retried.status_code == 201, retried.text


async def test_open_sockets_are_told_and_closed_with_1013_when_redis_hangs(
    cluster: Cluster, restartable_redis: RestartableRedis
) -> None:
    session_id = await open_session(cluster)
    idle = await join(cluster, "idle", session_id, instance=0)
    await next_of(idle, "session_snapshot")
    _, headers = await cluster.user("idle")
    notifications = await connect(
        cluster.urls[1].replace("http", "ws") + "/ws/notifications",
        additional_headers=headers,
        origin=ORIGIN,
    )
    restartable_redis.hang()
    try:
        # Nobody sends anything: only the hubs' own PINGs can notice the silence.
        for socket_ in (idle, notifications):
            await told_to_retry(socket_)
    finally:
        restartable_redis.resume()
    ann = await eventually_joined(cluster, "ann", session_id, instance=0)
    await ann.close()


async def test_open_sockets_are_told_and_closed_with_1013_when_redis_dies(
    cluster: Cluster, restartable_redis: RestartableRedis
) -> None:
    session_id = await open_session(cluster)
    idle = await join(cluster, "idle", session_id, instance=0)
    await next_of(idle, "session_snapshot")
    talker = await join(cluster, "talker", session_id, instance=1)
    await next_of(talker, "session_snapshot")
    _, headers = await cluster.user("idle")
    notifications = await connect(
        cluster.urls[0].replace("http", "ws") + "/ws/notifications",
        additional_headers=headers,
        origin=ORIGIN,
    )
    restartable_redis.kill()
    with contextlib.suppress(ConnectionClosed):  # unless the hub was quicker to close it
        await talker.send(json.dumps({"type": "chat_message", "message": "anyone?"}))
    for socket_ in (idle, talker, notifications):
        await told_to_retry(socket_)


async def test_a_handshake_during_an_outage_is_refused_as_retryable_not_as_forbidden(
    cluster: Cluster, restartable_redis: RestartableRedis
) -> None:
    session_id = await open_session(cluster)
    _, headers = await cluster.user("late")
    restartable_redis.kill()
    for path in (f"/ws/sessions/{session_id}", "/ws/notifications"):
        url = cluster.urls[1].replace("http", "ws") + path
        async with connect(url, additional_headers=headers, origin=ORIGIN) as socket_:
            await told_to_retry(socket_)


async def eventually_joined(
    cluster: Cluster, name: str, session_id: str, instance: int
) -> ClientConnection:
    """Join once the instance serves sockets again (it refuses with 1013 until then)."""
    async with asyncio.timeout(10):
        while True:
            try:
                socket_ = await join(cluster, name, session_id, instance=instance)
                await next_of(socket_, "session_snapshot")
                return socket_
            except ConnectionClosed:  # refused with 1013: not serving yet
                await asyncio.sleep(0.1)


async def snapshot_of(cluster: Cluster, session_id: str) -> dict[str, Any]:
    _, headers = await cluster.user("coach")
    response = await cluster.http.get(f"/group-sessions/{session_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def until(
    wanted: Callable[[dict[str, Any]], bool], cluster: Cluster, session_id: str
) -> None:
    """Wait (bounded) until the session's snapshot is as wanted."""
    async with asyncio.timeout(10):
        while not wanted(await snapshot_of(cluster, session_id)):  # noqa: ASYNC110 - polling REST
            await asyncio.sleep(0.1)


async def notified_again(cluster: Cluster, name: str, redis_url: str) -> None:
    """A notification published in Redis reaches the user's socket again."""
    user_id, headers = await cluster.user(name)
    note = {"type": "goal_achieved", "message": "after the outage"}
    url = cluster.urls[1].replace("http", "ws") + "/ws/notifications"
    async with AsyncRedis.from_url(redis_url) as client, asyncio.timeout(10):
        while True:
            try:
                async with connect(url, additional_headers=headers, origin=ORIGIN) as socket_:
                    while True:
                        await client.publish(f"notifications:{user_id}", json.dumps(note))
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(0.5):
                                assert json.loads(await socket_.recv()) == note
                                return
            except ConnectionClosed:  # refused with 1013: not resubscribed yet
                await asyncio.sleep(0.1)


async def test_everything_works_again_by_itself_once_redis_is_back(
    cluster: Cluster, restartable_redis: RestartableRedis
) -> None:
    session_id = await open_session(cluster)
    ann = await join(cluster, "ann", session_id, instance=0)
    await next_of(ann, "session_snapshot")
    idle = await join(cluster, "idle", session_id, instance=1)
    await next_of(idle, "session_snapshot")
    poll = await start_poll(ann, ["a", "b"], seconds=5)
    restartable_redis.kill()
    await told_to_retry(ann)
    await told_to_retry(idle)
    await asyncio.sleep(1.5)  # long enough for every background loop to fail a few times
    await restart(restartable_redis)

    # Both hubs resubscribed: events cross instances again.
    ann = await eventually_joined(cluster, "ann", session_id, instance=0)
    bob = await eventually_joined(cluster, "bob", session_id, instance=1)
    await ann.send(json.dumps({"type": "chat_message", "message": "back"}))
    assert (await next_of(bob, "chat_message"))["message"] == "back"
    await notified_again(cluster, "bob", restartable_redis.url)
    # The sweep resumed: it applied the disconnect Redis refused while down.
    idle_id, _ = await cluster.user("idle")
    await until(lambda snapshot: idle_id not in snapshot["participants"], cluster, session_id)
    # The poll deadline sweep resumed: the poll started before the outage closed.
    await until(lambda snapshot: not snapshot["polls"], cluster, session_id)
    _, owner = await cluster.user("coach")
    ended = await cluster.http.post(f"/group-sessions/{session_id}/end", headers=owner)
    assert ended.status_code == 200
    summary = await summary_of(cluster, session_id)
    polls = [p["poll_id"] for p in summary["polls"]]
    assert polls == [poll["poll_id"]]
    assert (await cluster.user("bob"))[0] in [p["user_id"] for p in summary["participants"]]
    await ann.close()
    await bob.close()
