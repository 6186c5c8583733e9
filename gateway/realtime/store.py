"""Group sessions, their event logs and presence, in Redis.

Every event gets the session's next sequence number, is appended to a Redis Stream
(the durable log clients recover from) under the ID ``<seq>-1``, and is published to
the session's channel for the other gateway instances, all in one Lua script, so the
log order, the sequence order and the publish order are the same.

Each script and MULTI block touches the keys of one session only (one Redis Cluster
slot, see redis_keys.py). The indexes spanning sessions (active, empty, to persist) and
the instances' records are updated by single commands beside them, ordered so that a
gateway dying between two steps leaves nothing worse than an entry a sweep skips or
repairs; each method says how.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from gateway.realtime.poll_store import PollStore
from gateway.realtime.redis_keys import (
    ACTIVE,
    EMPTY_SINCE,
    INSTANCES,
    LOG_LENGTH,
    LUA_HELPERS,
    TO_PERSIST,
    channel,
    for_server,
    instance_key,
    key,
)
from services.common.redis import RedisClient, publish_command

# KEYS: seq, log, channel. ARGV: log length, event.
_APPEND = LUA_HELPERS + "return append(cjson.decode(ARGV[2]))"
# KEYS: meta. ARGV: now. Ending is a one-time event even when two requests race.
_END = """
if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'ended', 'ended_at', ARGV[1])
return 1
"""


@dataclass(frozen=True)
class GroupSession:
    """A live class: who runs it, what it is, and whether it is still on."""

    session_id: str
    owner_id: str
    title: str
    workout_type: str
    scheduled_at: str
    created_at: float
    state: str = "active"
    ended_at: float = 0.0


def _held_by(instance_id: str) -> str:
    return instance_key(instance_id, "connections")


@dataclass(frozen=True)
class SessionFacts:
    """Per-participant facts recorded while a session runs."""

    joined: dict[str, float]
    left: dict[str, float]
    totals: dict[str, dict[str, int]]
    present: set[str]


class LiveStore:
    """Redis-backed storage of group sessions, event logs and presence."""

    def __init__(self, redis: RedisClient, instance_id: str = "") -> None:
        self.redis: Any = redis  # replies are str (decode_responses); the stubs say bytes | str
        self._append = redis.register_script(for_server(_APPEND, publish_command(redis)))
        self._end = redis.register_script(_END)
        self.polls = PollStore(redis, self)
        # Connections are also filed under the gateway instance holding them, so the
        # others can clean up after an instance that died (see reap_dead_instances).
        self.instance_id = instance_id or uuid.uuid4().hex
        # Disconnects Redis could not take (it was down); the sweep applies them later.
        self.deferred_disconnects: list[tuple[str, str, str]] = []

    async def create(
        self, owner_id: str, title: str, workout_type: str, scheduled_at: str, session_id: str = ""
    ) -> GroupSession:
        """Store a new active session (under ``session_id`` when the caller chose one)."""
        session = GroupSession(
            session_id or uuid.uuid4().hex, owner_id, title, workout_type, scheduled_at, time.time()
        )
        fields = {k: str(v) for k, v in asdict(session).items()}
        # The session, then the index: a crash between leaves a session that is only
        # unlisted (joinable by id, re-created by a retry), never a listed one without fields.
        await self.redis.hset(key(session.session_id, "meta"), mapping=fields)
        await self.redis.zadd(ACTIVE, {session.session_id: session.created_at})
        return session

    async def get(self, session_id: str) -> GroupSession | None:
        """The session, or None if it never existed."""
        fields = await self.redis.hgetall(key(session_id, "meta"))
        if not fields:
            return None
        values: dict[str, Any] = dict(fields)
        values["created_at"] = float(values["created_at"])
        values["ended_at"] = float(values["ended_at"])
        return GroupSession(**values)

    async def active(self, limit: int = 100) -> list[GroupSession]:
        """Active sessions, newest first."""
        ids = await self.redis.zrevrange(ACTIVE, 0, limit - 1)
        found = [await self.get(i) for i in ids]
        return [s for s in found if s and s.state == "active"]

    async def end(self, session_id: str) -> bool:
        """Mark the session ended; False if it already was (or never existed)."""
        meta = key(session_id, "meta")
        # Listed to persist before it ends: a crash right after the end still has it
        # recorded (the sweep skips a listed session until it has ended, see persist).
        if await self.redis.hget(meta, "state") == "active":
            await self.redis.sadd(TO_PERSIST, session_id)
        ended = bool(await self._end(keys=[meta], args=[time.time()]))
        # Whoever ended it, an ended session belongs in neither index; a crash before
        # this leaves it listed, and listing (active) and the empty sweep skip it.
        await self.redis.zrem(ACTIVE, session_id)
        await self.redis.zrem(EMPTY_SINCE, session_id)
        return ended

    def event_keys(self, session_id: str) -> list[str]:
        """The keys every script that appends an event needs: sequence, log, channel."""
        return [key(session_id, "seq"), key(session_id, "log"), channel(session_id)]

    async def append(self, session_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """Give the event the next sequence number, log it and publish it; return it."""
        keys = self.event_keys(session_id)
        encoded = await self._append(keys=keys, args=[LOG_LENGTH, json.dumps(event)])
        result: dict[str, Any] = json.loads(encoded)
        return result

    async def last_seq(self, session_id: str) -> int:
        """The sequence number of the session's newest event (0 before any)."""
        value = await self.redis.get(key(session_id, "seq"))
        return int(value) if value else 0

    async def events_after(self, session_id: str, seq: int) -> list[dict[str, Any]] | None:
        """Every logged event with a sequence number above ``seq``, in order.

        None when some of them have been trimmed from the log: the client must reload
        the snapshot instead of replaying.
        """
        newest = await self.last_seq(session_id)
        if seq >= newest:
            return [] if seq == newest else None
        log = key(session_id, "log")
        entries = await self.redis.xrange(log, min=f"{seq + 1}-1", max=f"{newest}-1")
        events = [json.loads(fields["event"]) for _id, fields in entries]
        return events if len(events) == newest - seq else None

    async def connect(self, session_id: str, user_id: str, connection_id: str) -> bool:
        """Record a connection of the user; True if it is his first (he just joined)."""
        connections = key(session_id, f"presence:{user_id}")
        # Filed under this instance first: if it dies before the rest, the others' reaper
        # still drops the connection; the other way round it could look present for good.
        await self.redis.sadd(_held_by(self.instance_id), f"{session_id}|{user_id}|{connection_id}")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(connections, connection_id)
            pipe.scard(connections)
            pipe.sadd(key(session_id, "present"), user_id)
            pipe.hsetnx(key(session_id, "joined_at"), user_id, time.time())
            _added, count, *_ = await pipe.execute()
        await self.redis.zrem(EMPTY_SINCE, session_id)
        return bool(count == 1)

    async def disconnect(
        self, session_id: str, user_id: str, connection_id: str, instance_id: str = ""
    ) -> bool:
        """Forget a connection; True if it was the user's last (he just left)."""
        connections = key(session_id, f"presence:{user_id}")
        held_by = _held_by(instance_id or self.instance_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.srem(connections, connection_id)
            pipe.scard(connections)
            _removed, count = await pipe.execute()
        # Unfiled after: a crash before this leaves the reaper a connection already gone.
        await self.redis.srem(held_by, f"{session_id}|{user_id}|{connection_id}")
        if count:
            return False
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.srem(key(session_id, "present"), user_id)
            pipe.hset(key(session_id, "left_at"), user_id, now)
            pipe.scard(key(session_id, "present"))
            *_, still_present = await pipe.execute()
        if not still_present:
            await self.redis.zadd(EMPTY_SINCE, {session_id: now}, nx=True)
        return True

    def disconnect_later(self, session_id: str, user_id: str, connection_id: str) -> None:
        """Remember a disconnect that failed, for disconnect_deferred to apply."""
        self.deferred_disconnects.append((session_id, user_id, connection_id))

    async def disconnect_deferred(self) -> list[tuple[str, str]]:
        """Apply the disconnects that failed earlier; return who thereby left."""
        left = []
        while self.deferred_disconnects:
            session_id, user_id, connection_id = self.deferred_disconnects[0]
            if await self.disconnect(session_id, user_id, connection_id):
                left.append((session_id, user_id))
            self.deferred_disconnects.pop(0)
        return left

    async def count(self, session_id: str, user_id: str, **increments: int) -> None:
        """Add to a participant's running totals (chat messages, updates, reps)."""
        totals = key(session_id, f"totals:{user_id}")
        async with self.redis.pipeline(transaction=True) as pipe:
            for name, amount in increments.items():
                pipe.hincrby(totals, name, amount)
            await pipe.execute()

    async def facts(self, session_id: str) -> SessionFacts:
        """What a summary is built from: join and leave times, totals, who is still here."""
        joined = await self.redis.hgetall(key(session_id, "joined_at"))
        left = await self.redis.hgetall(key(session_id, "left_at"))
        totals = {u: await self.redis.hgetall(key(session_id, f"totals:{u}")) for u in joined}
        return SessionFacts(
            joined={u: float(t) for u, t in joined.items()},
            left={u: float(t) for u, t in left.items()},
            totals={u: {k: int(v) for k, v in t.items()} for u, t in totals.items()},
            present=set(await self.present(session_id)),
        )

    async def pending_persistence(self) -> list[str]:
        """Ended sessions not yet recorded by the activity service."""
        return sorted(await self.redis.smembers(TO_PERSIST))

    async def lease(self, session_id: str, holder: str, seconds: int) -> bool:
        """Take the right to persist a session for a while; False if another holds it."""
        return bool(
            await self.redis.set(key(session_id, "persist-lease"), holder, nx=True, ex=seconds)
        )

    async def save_summary(self, session_id: str, summary: dict[str, Any]) -> None:
        """Keep the recorded summary and take the session off the to-persist list."""
        await self.redis.set(key(session_id, "summary"), json.dumps(summary))
        # After: a crash between records it again, which the activity service deduplicates.
        await self.unlist(session_id)

    async def unlist(self, session_id: str) -> None:
        """Take a session off the to-persist list (recorded, or nothing left to record)."""
        await self.redis.srem(TO_PERSIST, session_id)

    async def summary(self, session_id: str) -> dict[str, Any] | None:
        """The recorded summary of an ended session, once the activity service has it."""
        saved = await self.redis.get(key(session_id, "summary"))
        return json.loads(saved) if saved else None

    async def empty_since(self, before: float) -> list[str]:
        """Active sessions nobody has been connected to since before ``before``."""
        return list(await self.redis.zrangebyscore(EMPTY_SINCE, "-inf", before))

    async def heartbeat(self, ttl: int) -> None:
        """Tell the other instances this one is alive for the next ``ttl`` seconds."""
        # Listed, then alive: listed without the liveness key it is reaped, as a dead one is.
        await self.redis.sadd(INSTANCES, self.instance_id)
        await self.redis.set(instance_key(self.instance_id, "alive"), "1", ex=ttl)

    async def reap_dead_instances(self) -> list[tuple[str, str]]:
        """Drop the connections of instances that stopped beating; return who thereby left."""
        left = []
        for instance_id in await self.redis.smembers(INSTANCES):
            if await self.redis.exists(instance_key(instance_id, "alive")):
                continue
            for held in await self.redis.smembers(_held_by(instance_id)):
                session_id, user_id, connection_id = held.split("|", 2)
                if await self.disconnect(session_id, user_id, connection_id, instance_id):
                    left.append((session_id, user_id))
            await self.redis.srem(INSTANCES, instance_id)
        return left

    async def present(self, session_id: str) -> list[str]:
        """Users with at least one open connection, sorted."""
        return sorted(await self.redis.smembers(key(session_id, "present")))
