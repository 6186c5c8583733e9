"""The one hub: every client gets its own bounded queue and writer, whatever its channel kind."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from starlette.websockets import WebSocket

from gateway.realtime.hub import TOO_SLOW, Client, Hub, Outgoing, unavailable
from gateway.realtime.notification_socket import NOTIFICATIONS, NotificationChannel
from gateway.realtime.protocol import CLOSE_TRY_AGAIN
from gateway.realtime.redis_keys import channel
from gateway.realtime.session_channel import SessionChannel, SessionClient, session_item
from gateway.realtime.settings import LiveSettings
from gateway.realtime.sharded import ShardedSubscription

SETTINGS = LiveSettings(allowed_origins=[], queue_size=4, send_timeout=0.05)


class FakeSocket:
    """A WebSocket that records what it is sent, or never finishes a send once ``stalled``."""

    def __init__(self, stalled: bool = False) -> None:
        self.scope: dict[str, Any] = {}  # an ASGI server offering no wire: the queued path
        self.stalled = stalled
        self.sent: list[dict[str, Any]] = []
        self.closed_with: tuple[int, str] | None = None

    async def send_text(self, text: str) -> None:
        if self.stalled:
            await asyncio.Event().wait()
        self.sent.append(json.loads(text))

    async def close(self, code: int, reason: str = "") -> None:
        self.closed_with = (code, reason)


def socket_of(client: Client) -> FakeSocket:
    return cast(FakeSocket, client.websocket)


async def no_events(_session_id: str, _seq: int) -> list[dict[str, Any]] | None:
    return []


def hub() -> Hub:
    # A client object opens no connection until used; these tests never subscribe.
    return Hub(Redis(), [SessionChannel(no_events), NotificationChannel()])


def participant(session_id: str = "s1", stalled: bool = False) -> SessionClient:
    socket = cast(WebSocket, FakeSocket(stalled))
    return SessionClient(socket, session_id, "ann", SETTINGS)


def event(seq: int, kind: str = "chat_message") -> dict[str, Any]:
    return {"type": kind, "seq": seq, "session_id": "s1"}


def queue_of(client: Client) -> asyncio.Queue[Outgoing]:
    """A client's queue: it has one when its server offers no wire, as here."""
    assert client.queue is not None
    return client.queue


async def test_a_client_whose_queue_fills_is_ended_as_too_slow_and_the_others_get_everything() -> (
    None
):
    live = hub()
    stalled, reader = participant(stalled=True), participant()
    for client in (stalled, reader):
        live.add(client)
        client.finish_replay([])
    writers = [asyncio.create_task(c.write_until_closed()) for c in (stalled, reader)]
    for seq in range(1, 9):
        live.deliver("live", "s1", session_item(event(seq)))
        await asyncio.sleep(0)  # the reader's writer keeps up; the stalled one's does not
    live.deliver("live", "s1", session_item(event(9, "session_ended")))
    await asyncio.wait_for(writers[1], 5)
    assert [e["seq"] for e in socket_of(reader).sent] == list(range(1, 10))
    await asyncio.wait_for(stalled.closed, 5)
    assert stalled.farewell == TOO_SLOW
    await asyncio.wait_for(writers[0], 5)
    await stalled.say_goodbye()
    assert socket_of(stalled).closed_with == (TOO_SLOW.code, TOO_SLOW.reason)


async def test_a_send_that_stalls_past_the_timeout_ends_the_client_as_too_slow() -> None:
    note = Client(cast(WebSocket, FakeSocket(stalled=True)), NOTIFICATIONS, "u1", "u1", SETTINGS)
    note.offer(Outgoing(0, json.dumps({"type": "goal_achieved"})))
    await asyncio.wait_for(note.write_until_closed(), 5)
    assert note.farewell == TOO_SLOW


async def test_a_replaying_client_gets_the_backlog_then_held_back_events_once_and_in_order() -> (
    None
):
    client = participant()
    client.last_seq = 2
    for seq in (5, 4, 6):  # live events arriving during the replay, out of order
        client.offer(session_item(event(seq)))
    client.finish_replay([event(3), event(4), event(5)])
    client.offer(session_item(event(5)))  # a late duplicate
    client.offer(session_item(event(7)))
    queue = queue_of(client)
    queued = [queue.get_nowait().seq for _ in range(queue.qsize())]
    assert queued == [3, 4, 5, 6]  # 7 found the bounded queue (4) full
    assert client.farewell == TOO_SLOW


async def test_each_channel_kind_reaches_only_its_own_clients() -> None:
    live = hub()
    ann, elsewhere = participant("s1"), participant("s2")
    note = Client(cast(WebSocket, FakeSocket()), NOTIFICATIONS, "u1", "u1", SETTINGS)
    for client in (ann, elsewhere, note):
        live.add(client)
    for client in (ann, elsewhere):
        client.finish_replay([])
    sessions, notes = SessionChannel(no_events), NotificationChannel()
    published = json.dumps(event(1))
    live.deliver("live", sessions.audience(channel("s1")), sessions.item(published))
    live.deliver(NOTIFICATIONS, notes.audience("notifications:u1"), notes.item('{"a": 1}'))
    assert [queue_of(c).qsize() for c in (ann, elsewhere, note)] == [1, 0, 1]
    assert queue_of(ann).get_nowait().text == published  # sent as published, not re-encoded
    assert queue_of(note).get_nowait().text == '{"a": 1}'
    live.remove(ann)
    assert not live.holds(ann)
    assert live.holds(note)


async def test_when_redis_is_gone_every_client_of_every_kind_is_ended_with_1013() -> None:
    live = hub()
    clients = [
        participant(),
        Client(cast(WebSocket, FakeSocket()), NOTIFICATIONS, "u", "u", SETTINGS),
    ]
    for client in clients:
        live.add(client)
    live.drop_all(unavailable())
    for client in clients:
        assert client.closed.done()
        assert client.farewell is not None
        assert client.farewell.code == CLOSE_TRY_AGAIN
        await client.say_goodbye()
        sent = socket_of(client).sent
        assert [(f["type"], f["code"], f["reason"]) for f in sent] == [
            ("error", "UNAVAILABLE", "UNAVAILABLE")
        ]
        assert socket_of(client).closed_with == (CLOSE_TRY_AGAIN, client.farewell.reason)


async def test_on_a_cluster_the_hub_holds_one_channel_per_audience_while_it_has_clients() -> None:
    # A cluster client opens no connection until used; nothing here subscribes.
    cluster = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", 7000)])
    live = Hub(cluster, [SessionChannel(no_events), NotificationChannel()])
    assert isinstance(live.subscription, ShardedSubscription)
    ann, bob = participant("s1"), participant("s1")
    note = Client(cast(WebSocket, FakeSocket()), NOTIFICATIONS, "u1", "u1", SETTINGS)
    for client in (ann, bob, note):
        live.add(client)
    assert live.subscription.wanted == {
        channel("s1"): SessionChannel.pattern,
        "notifications:u1": NotificationChannel.pattern,
    }
    live.remove(ann)
    assert channel("s1") in live.subscription.wanted  # bob is still there
    live.remove(bob)
    live.remove(note)
    assert live.subscription.wanted == {}
