"""Every Lua script and MULTI block of the live-session store (and of the login and creation
limits) touches keys of one Redis Cluster slot (a cluster refuses CROSSSLOT): the store runs
over a real Redis through a client that notes each script and transaction, and the server
names the keys of each of their commands.
"""

from __future__ import annotations

import inspect
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript
from redis.crc import key_slot

from gateway.edge.creation_limit import CreationLimit, CreationSettings
from gateway.edge.errors import ApiError
from gateway.edge.login_throttle import LoginThrottle, ThrottleSettings
from gateway.realtime import persistence, polls
from gateway.realtime.events import make_event
from gateway.realtime.poll_store import PollStore
from gateway.realtime.redis_keys import channel, instance_key, key
from gateway.realtime.store import LiveStore

Command = tuple[Any, ...]


@dataclass
class Unit:
    """One atomic step Redis ran: a script call, or the commands of one MULTI block."""

    kind: str
    commands: list[Command]


@dataclass
class Record:
    """What the recording client saw."""

    units: list[Unit] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)  # SHA1 of every registered script


class RecordingPipeline(Pipeline):
    """A pipeline that notes its commands when it runs them as one transaction."""

    record: Record

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        if self.is_transaction and self.command_stack:
            self.record.units.append(Unit("MULTI", [args for args, _ in self.command_stack]))
        return await super().execute(raise_on_error)


class RecordingRedis(Redis):
    """A real client that notes every script it runs and every MULTI block it executes."""

    record: Record

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        pipe = RecordingPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.record = self.record
        return pipe

    def register_script(self, script: str | bytes | memoryview) -> AsyncScript:  # type: ignore[override]
        registered = super().register_script(script)
        self.record.scripts.append(registered.sha)
        return registered

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        if str(args[0]).upper() in ("EVAL", "EVALSHA"):
            self.record.units.append(Unit("SCRIPT", [args]))
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


@pytest.fixture
async def recording(redis_server: str) -> AsyncIterator[RecordingRedis]:
    client = RecordingRedis.from_url(redis_server, decode_responses=True)
    assert isinstance(client, RecordingRedis)
    client.record = Record()
    yield client
    await client.aclose()


def public_coroutines(cls: type) -> set[str]:
    """The names of a class's public async methods: everything that talks to Redis."""
    return {
        name
        for name, member in inspect.getmembers(cls, inspect.iscoroutinefunction)
        if not name.startswith("_")
    }


async def run_every_store_method(store: LiveStore, dead: LiveStore) -> set[str]:
    """Drive a session through its life with every public method; return the names called."""
    session_id, poll_id = uuid.uuid4().hex, uuid.uuid4().hex
    called: set[str] = set()

    async def step(name: str, call: Callable[[], Awaitable[Any]]) -> Any:
        called.add(name)
        return await call()

    event = make_event("chat_message", session_id, "ann", message="hi")
    poll: dict[str, Any] = {"poll_id": poll_id, "question": "?", "options": ["a", "b"]}
    poll |= {"creator": "ann", "closes_at": time.time() + 60}
    await step("create", lambda: store.create("coach", "HIIT", "hiit", "", session_id))
    await step("get", lambda: store.get(session_id))
    await step("active", lambda: store.active())
    await step("heartbeat", lambda: store.heartbeat(ttl=10))
    await step("connect", lambda: store.connect(session_id, "ann", "ann-1"))
    await step("append", lambda: store.append(session_id, event))
    await step("last_seq", lambda: store.last_seq(session_id))
    await step("events_after", lambda: store.events_after(session_id, 0))
    await step("count", lambda: store.count(session_id, "ann", chat_messages=1, reps=3))
    await step("polls.start", lambda: store.polls.start(session_id, poll, event))
    await step("polls.vote", lambda: store.polls.vote(session_id, poll_id, "ann", 1, event))
    await step("polls.get", lambda: store.polls.get(session_id, poll_id))
    await step("polls.all", lambda: store.polls.all(session_id))
    await step("polls.open", lambda: store.polls.open(session_id))
    await step("polls.due", lambda: store.polls.due(time.time() + 3600))
    await step("polls.close", lambda: store.polls.close(session_id, poll_id, event))
    await step("present", lambda: store.present(session_id))
    await step("facts", lambda: store.facts(session_id))
    await step("disconnect", lambda: store.disconnect(session_id, "ann", "ann-1"))
    store.disconnect_later(session_id, "bob", "bob-1")
    await step("disconnect_deferred", lambda: store.disconnect_deferred())
    await step("empty_since", lambda: store.empty_since(time.time() + 1))
    # An instance that beat once, held a connection and died.
    await dead.heartbeat(ttl=10)
    await dead.connect(session_id, "ghost", "ghost-1")
    await store.redis.delete(instance_key(dead.instance_id, "alive"))
    await step("reap_dead_instances", lambda: store.reap_dead_instances())
    await step("end", lambda: store.end(session_id))
    await step("pending_persistence", lambda: store.pending_persistence())
    await step("lease", lambda: store.lease(session_id, "me", 5))
    await step("save_summary", lambda: store.save_summary(session_id, {"session_id": session_id}))
    await step("unlist", lambda: store.unlist(session_id))
    await step("summary", lambda: store.summary(session_id))
    # The sweeps, which only use the methods above, as they run them.
    await persistence.end_abandoned(store, empty_timeout=0)
    await polls.close_due_polls(store)
    return called


async def keys_of(redis: Redis, command: Command) -> list[str]:
    """The keys of a command, as the Redis server itself reads them (COMMAND GETKEYS)."""
    return [str(found) for found in await redis.command_getkeys(*command)]


async def test_every_script_and_transaction_of_the_store_touches_one_slot(
    recording: RecordingRedis,
) -> None:
    store = LiveStore(recording, instance_id=f"slots-{uuid.uuid4().hex}")
    dead = LiveStore(recording, instance_id=f"dead-{uuid.uuid4().hex}")
    called = await run_every_store_method(store, dead)
    methods = public_coroutines(LiveStore) | {f"polls.{m}" for m in public_coroutines(PollStore)}
    assert called == methods  # a method added later must be driven here too
    record = recording.record
    run = {unit.commands[0][1] for unit in record.units if unit.kind == "SCRIPT"}
    assert set(record.scripts) <= run  # every script the store registers ran
    assert {unit.kind for unit in record.units} == {"SCRIPT", "MULTI"}
    for unit in record.units:
        keys = [k for command in unit.commands for k in await keys_of(recording, command)]
        slots = {key_slot(k.encode()) for k in keys}
        assert keys, unit
        assert len(slots) == 1, (unit.kind, keys)


def test_a_sessions_keys_and_channel_share_one_slot_and_sessions_spread() -> None:
    parts = ["meta", "seq", "log", "present", "presence:ann", "poll:p", "poll:p:votes"]
    for session_id in ("s", "a1b2c3", "with}brace", "{tagged}"):
        names = [key(session_id, part) for part in parts] + [channel(session_id)]
        assert len({key_slot(name.encode()) for name in names}) == 1, session_id
    spread = {key_slot(key(uuid.uuid4().hex, "meta").encode()) for _ in range(50)}
    assert len(spread) > 40


async def test_the_login_and_creation_limits_run_every_script_on_one_slot(
    recording: RecordingRedis,
) -> None:
    throttle = LoginThrottle(recording, ThrottleSettings(account_max_failures=1))
    limit = CreationLimit(recording, CreationSettings())
    email, address = f"{uuid.uuid4().hex}@example.com", "192.0.2.7"
    await throttle.check(email, address)
    await throttle.not_judged(email, address)
    await throttle.check(email, address)  # the account's first failure locks it
    with pytest.raises(ApiError):
        await throttle.check(email, address)
    await throttle.succeeded(email, address)
    await throttle.check_registration(address)
    await limit.check("ann")
    record = recording.record
    assert set(record.scripts) <= {unit.commands[0][1] for unit in record.units}
    for unit in record.units:
        keys = [k for command in unit.commands for k in await keys_of(recording, command)]
        assert len({key_slot(k.encode()) for k in keys}) == 1, keys
