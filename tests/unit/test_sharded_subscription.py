"""The sharded subscription's recovery, against an in-memory cluster of fake shards."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.realtime.sharded import Node, ShardedSubscription, Topology

SILENCE = 0.2


class FakePubSub:
    """One shard's pub/sub connection: answers SSUBSCRIBE, PING and what the test pushes."""

    def __init__(self, shard: FakeShard) -> None:
        self.shard = shard
        self.messages: asyncio.Queue[dict[str, Any] | Exception] = asyncio.Queue()
        shard.connections.append(self)

    async def ssubscribe(self, channel: str) -> None:
        if self.shard.dead:
            raise RedisConnectionError(f"{self.shard.name} refuses connections")
        self.shard.subscribed.append(channel)
        self.messages.put_nowait({"type": "ssubscribe", "channel": channel, "data": 1})

    async def sunsubscribe(self, channel: str) -> None:
        self.messages.put_nowait({"type": "sunsubscribe", "channel": channel, "data": 0})

    async def ping(self) -> None:
        self.messages.put_nowait({"type": "pong", "channel": None, "data": ""})

    async def get_message(self, timeout: float) -> dict[str, Any] | None:  # noqa: ASYNC109
        try:
            item = await asyncio.wait_for(self.messages.get(), timeout)
        except TimeoutError:
            return None
        if isinstance(item, Exception):
            raise item
        return item

    async def aclose(self) -> None:
        self.shard.closed += 1


class FakeClient:
    async def aclose(self) -> None:
        pass


@dataclass
class FakeShard:
    name: str
    dead: bool = False
    subscribed: list[str] = field(default_factory=list)
    connections: list[FakePubSub] = field(default_factory=list)
    closed: int = 0

    def push(self, message: dict[str, Any] | Exception) -> None:
        """Deliver to the shard's newest connection, as Redis would."""
        self.connections[-1].messages.put_nowait(message)


class FakeTopology:
    """Which shard owns which channel (the test may move one), and their connections."""

    def __init__(self, owners: dict[str, FakeShard]) -> None:
        self.owners = owners
        self.refreshes = 0

    async def refresh(self) -> None:
        self.refreshes += 1

    def owner(self, channel: str) -> Node | None:
        return Node(self.owners[channel].name, 7000)

    def pubsub(self, node: Node) -> tuple[Any, Any]:
        shard = next(s for s in self.owners.values() if s.name == node.host)
        return FakeClient(), FakePubSub(shard)


@dataclass
class Listener:
    """Records what the subscription hands over (the hub's part)."""

    relayed: list[tuple[str, str]] = field(default_factory=list)
    caught_up: list[str] = field(default_factory=list)
    downs: int = 0
    refuse: Callable[[str], bool] = lambda data: False

    async def relay(self, pattern: str, channel: str, data: str) -> None:
        if self.refuse(data):
            raise ValueError(f"a message nobody can read: {data}")
        self.relayed.append((channel, data))

    async def resumed(self) -> None:
        raise AssertionError("a sharded subscription catches up per channel, not all at once")

    async def added(self, channels: Mapping[str, str]) -> None:
        self.caught_up.extend(channels)

    async def down(self) -> None:
        self.downs += 1


@contextlib.asynccontextmanager
async def running(
    topology: FakeTopology, listener: Listener, wanted: list[str]
) -> AsyncIterator[ShardedSubscription]:
    subscription = ShardedSubscription(cast(Topology, topology), SILENCE, "test subscription")
    for channel in wanted:
        subscription.want(channel, "live:{*}:channel")
    stopping = asyncio.Event()
    task = asyncio.create_task(subscription.relay_until(stopping, listener))
    try:
        yield subscription
    finally:
        stopping.set()
        await asyncio.wait_for(task, 5)


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - the state is changed by other tasks
            await asyncio.sleep(0.01)


async def test_messages_on_held_channels_reach_the_listener_after_a_catch_up() -> None:
    shard = FakeShard("a")
    listener = Listener()
    async with running(FakeTopology({"s1": shard}), listener, ["s1"]) as subscription:
        await until(lambda: listener.caught_up == ["s1"])
        assert subscription.up
        shard.push({"type": "smessage", "channel": "s1", "data": "hello"})
        await until(lambda: listener.relayed == [("s1", "hello")])


async def test_a_shard_that_refuses_twice_tells_the_sockets_and_recovers_when_it_returns() -> None:
    shard = FakeShard("a", dead=True)
    listener, topology = Listener(), FakeTopology({"s1": shard})
    async with running(topology, listener, ["s1"]) as subscription:
        await until(lambda: listener.downs >= 1)
        assert not subscription.up
        shard.dead = False
        await until(lambda: subscription.up and listener.caught_up == ["s1"])


async def test_a_slot_that_moved_away_is_subscribed_again_on_its_new_owner() -> None:
    old, new = FakeShard("a"), FakeShard("b")
    listener, topology = Listener(), FakeTopology({"s1": old})
    async with running(topology, listener, ["s1"]):
        await until(lambda: listener.caught_up == ["s1"])
        topology.owners["s1"] = new
        old.push({"type": "sunsubscribe", "channel": "s1", "data": 0})  # Redis moved it
        await until(lambda: new.subscribed == ["s1"] and listener.caught_up == ["s1", "s1"])
        new.push({"type": "smessage", "channel": "s1", "data": "after the move"})
        await until(lambda: ("s1", "after the move") in listener.relayed)
    assert listener.downs == 0


async def test_a_reader_that_fails_with_a_non_redis_error_rebuilds_the_subscription() -> None:
    shard = FakeShard("a")
    listener, topology = Listener(), FakeTopology({"s1": shard})
    async with running(topology, listener, ["s1"]):
        await until(lambda: listener.caught_up == ["s1"])
        shard.push(KeyError("a parser bug"))
        await until(lambda: shard.subscribed == ["s1", "s1"])
        assert topology.refreshes == 2


async def test_a_message_nobody_can_read_is_skipped_and_the_next_one_arrives() -> None:
    shard = FakeShard("a")
    listener = Listener(refuse=lambda data: data == "garbage")
    async with running(FakeTopology({"s1": shard}), listener, ["s1"]):
        await until(lambda: listener.caught_up == ["s1"])
        shard.push({"type": "smessage", "channel": "s1", "data": "garbage"})
        shard.push({"type": "smessage", "channel": "s1", "data": "fine"})
        await until(lambda: listener.relayed == [("s1", "fine")])
    assert shard.subscribed == ["s1"]  # skipped, not rebuilt


async def test_a_released_channel_is_unsubscribed_and_its_last_connection_closed() -> None:
    shard = FakeShard("a")
    listener = Listener()
    async with running(FakeTopology({"s1": shard}), listener, ["s1"]) as subscription:
        await until(lambda: listener.caught_up == ["s1"])
        subscription.release("s1")
        await until(lambda: shard.closed == 1)
        shard.connections[0].messages.put_nowait(
            {"type": "smessage", "channel": "s1", "data": "late"}
        )
    assert listener.relayed == []


@pytest.mark.parametrize("channels", [["s1", "s2"]])
async def test_each_wanted_channel_is_caught_up_once_its_subscription_is_confirmed(
    channels: list[str],
) -> None:
    shard = FakeShard("a")
    listener = Listener()
    async with running(FakeTopology(dict.fromkeys(channels, shard)), listener, channels):
        await until(lambda: sorted(listener.caught_up) == channels)
    assert len(shard.connections) == 1  # one connection per shard, whatever it holds
