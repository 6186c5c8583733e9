"""Group sessions, their event logs and presence, in Redis.

Every event gets the session's next sequence number, is appended to a Redis Stream
(the durable log clients recover from) under the ID ``<seq>-1``, and is published to
the session's channel for the other gateway instances, all in one Lua script, so the
log order, the sequence order and the publish order are the same.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio import Redis

# Keep this many events per session; a client further behind must reload the snapshot.
LOG_LENGTH = 10_000
CHANNEL_PREFIX = "live:channel:"

_APPEND = """
local seq = redis.call('INCR', KEYS[1])
local event = cjson.decode(ARGV[1])
event['seq'] = seq
local encoded = cjson.encode(event)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-1', 'event', encoded)
redis.call('PUBLISH', KEYS[3], encoded)
return encoded
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


def _key(session_id: str, part: str) -> str:
    return f"live:session:{session_id}:{part}"


def channel(session_id: str) -> str:
    """The pub/sub channel carrying a session's events between gateway instances."""
    return CHANNEL_PREFIX + session_id


class LiveStore:
    """Redis-backed storage of group sessions, event logs and presence."""

    def __init__(self, redis: Redis) -> None:
        self.redis: Any = redis  # replies are str (decode_responses); the stubs say bytes | str
        self._append = redis.register_script(_APPEND)

    async def create(
        self, owner_id: str, title: str, workout_type: str, scheduled_at: str
    ) -> GroupSession:
        """Store a new active session."""
        session = GroupSession(
            uuid.uuid4().hex, owner_id, title, workout_type, scheduled_at, time.time()
        )
        fields = {k: str(v) for k, v in asdict(session).items()}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(_key(session.session_id, "meta"), mapping=fields)
            pipe.zadd("live:active", {session.session_id: session.created_at})
            await pipe.execute()
        return session

    async def get(self, session_id: str) -> GroupSession | None:
        """The session, or None if it never existed."""
        fields = await self.redis.hgetall(_key(session_id, "meta"))
        if not fields:
            return None
        values: dict[str, Any] = dict(fields)
        values["created_at"] = float(values["created_at"])
        values["ended_at"] = float(values["ended_at"])
        return GroupSession(**values)

    async def active(self, limit: int = 100) -> list[GroupSession]:
        """Active sessions, newest first."""
        ids = await self.redis.zrevrange("live:active", 0, limit - 1)
        found = [await self.get(i) for i in ids]
        return [s for s in found if s and s.state == "active"]

    async def end(self, session_id: str) -> bool:
        """Mark the session ended; False if it already was."""
        # SET NX makes ending a one-time event even when two requests race.
        if not await self.redis.set(_key(session_id, "ended"), "1", nx=True):
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                _key(session_id, "meta"), mapping={"state": "ended", "ended_at": str(time.time())}
            )
            pipe.zrem("live:active", session_id)
            await pipe.execute()
        return True

    async def append(self, session_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """Give the event the next sequence number, log it and publish it; return it."""
        keys = [_key(session_id, "seq"), _key(session_id, "log"), channel(session_id)]
        encoded = await self._append(keys=keys, args=[json.dumps(event), LOG_LENGTH])
        result: dict[str, Any] = json.loads(encoded)
        return result

    async def last_seq(self, session_id: str) -> int:
        """The sequence number of the session's newest event (0 before any)."""
        value = await self.redis.get(_key(session_id, "seq"))
        return int(value) if value else 0

    async def events_after(self, session_id: str, seq: int) -> list[dict[str, Any]] | None:
        """Every logged event with a sequence number above ``seq``, in order.

        None when some of them have been trimmed from the log: the client must reload
        the snapshot instead of replaying.
        """
        newest = await self.last_seq(session_id)
        if seq >= newest:
            return [] if seq == newest else None
        log = _key(session_id, "log")
        entries = await self.redis.xrange(log, min=f"{seq + 1}-1", max=f"{newest}-1")
        events = [json.loads(fields["event"]) for _id, fields in entries]
        return events if len(events) == newest - seq else None

    async def connect(self, session_id: str, user_id: str, connection_id: str) -> bool:
        """Record a connection of the user; True if it is his first (he just joined)."""
        key = _key(session_id, f"presence:{user_id}")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, connection_id)
            pipe.scard(key)
            pipe.sadd(_key(session_id, "participants"), user_id)
            pipe.sadd(_key(session_id, "present"), user_id)
            _added, count, *_ = await pipe.execute()
        return bool(count == 1)

    async def disconnect(self, session_id: str, user_id: str, connection_id: str) -> bool:
        """Forget a connection; True if it was the user's last (he just left)."""
        key = _key(session_id, f"presence:{user_id}")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.srem(key, connection_id)
            pipe.scard(key)
            _removed, count = await pipe.execute()
        if count == 0:
            await self.redis.srem(_key(session_id, "present"), user_id)
            return True
        return False

    async def present(self, session_id: str) -> list[str]:
        """Users with at least one open connection, sorted."""
        return sorted(await self.redis.smembers(_key(session_id, "present")))
