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
from redis.exceptions import ResponseError

# Keep this many events per session; a client further behind must reload the snapshot.
LOG_LENGTH = 10_000
CHANNEL_PREFIX = "live:channel:"

# Shared by the scripts below: number, log and publish one event; count a poll's votes.
_LUA_HELPERS = """
local function append(event)
  local seq = redis.call('INCR', KEYS[1])
  event['seq'] = seq
  local encoded = cjson.encode(event)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], seq .. '-1', 'event', encoded)
  redis.call('PUBLISH', KEYS[3], encoded)
  return encoded
end
local function tally(votes_key, option_count)
  local counts = {}
  for i = 1, option_count do counts[i] = 0 end
  for _, choice in ipairs(redis.call('HVALS', votes_key)) do
    local slot = tonumber(choice) + 1
    counts[slot] = counts[slot] + 1
  end
  return counts
end
"""

# KEYS: seq, log, channel. ARGV: log length, event.
_APPEND = _LUA_HELPERS + "return append(cjson.decode(ARGV[2]))"

# KEYS: seq, log, channel, poll, votes. ARGV: log length, event, user, option, now.
# Recording the vote and publishing the new tally in one step keeps tallies in order.
_VOTE = (
    _LUA_HELPERS
    + """
local state = redis.call('HGET', KEYS[4], 'state')
if not state then return redis.error_reply('no_such_poll') end
if state ~= 'open' or tonumber(redis.call('HGET', KEYS[4], 'closes_at')) <= tonumber(ARGV[5]) then
  return redis.error_reply('poll_closed')
end
local option_count = tonumber(redis.call('HGET', KEYS[4], 'option_count'))
local option = tonumber(ARGV[4])
if option < 0 or option >= option_count then return redis.error_reply('bad_option') end
redis.call('HSET', KEYS[5], ARGV[3], option)
local event = cjson.decode(ARGV[2])
event['tally'] = tally(KEYS[5], option_count)
return append(event)
"""
)

# KEYS: seq, log, channel, poll, votes, deadlines. ARGV: log length, event, deadline member.
# Only the first closer (a user, or any instance's deadline sweep) publishes close_poll.
_CLOSE = (
    _LUA_HELPERS
    + """
if redis.call('HGET', KEYS[4], 'state') ~= 'open' then return false end
redis.call('HSET', KEYS[4], 'state', 'closed')
redis.call('ZREM', KEYS[6], ARGV[3])
local event = cjson.decode(ARGV[2])
event['tally'] = tally(KEYS[5], tonumber(redis.call('HGET', KEYS[4], 'option_count')))
return append(event)
"""
)

POLL_DEADLINES = "live:poll-deadlines"


class PollRefused(Exception):
    """A vote or close the poll's state does not allow; the message is the reason code."""


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
        self._vote = redis.register_script(_VOTE)
        self._close = redis.register_script(_CLOSE)

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

    def _event_keys(self, session_id: str) -> list[str]:
        return [_key(session_id, "seq"), _key(session_id, "log"), channel(session_id)]

    async def append(self, session_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """Give the event the next sequence number, log it and publish it; return it."""
        keys = self._event_keys(session_id)
        encoded = await self._append(keys=keys, args=[LOG_LENGTH, json.dumps(event)])
        result: dict[str, Any] = json.loads(encoded)
        return result

    async def start_poll(
        self, session_id: str, poll: dict[str, Any], event: dict[str, Any]
    ) -> dict[str, Any]:
        """Store an open poll with its deadline, then publish the event announcing it."""
        poll_key = _key(session_id, f"poll:{poll['poll_id']}")
        fields = {**poll, "options": json.dumps(poll["options"]), "state": "open"}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(poll_key, mapping={**fields, "option_count": len(poll["options"])})
            pipe.sadd(_key(session_id, "polls"), poll["poll_id"])
            pipe.zadd(POLL_DEADLINES, {f"{session_id}|{poll['poll_id']}": poll["closes_at"]})
            await pipe.execute()
        return await self.append(session_id, event)

    async def vote(
        self, session_id: str, poll_id: str, user_id: str, option: int, event: dict[str, Any]
    ) -> dict[str, Any]:
        """Record (or change) the user's vote and publish the new tally."""
        poll_key = _key(session_id, f"poll:{poll_id}")
        keys = [*self._event_keys(session_id), poll_key, poll_key + ":votes"]
        args: list[str | int | float] = [
            LOG_LENGTH,
            json.dumps(event),
            user_id,
            option,
            time.time(),
        ]
        try:
            encoded = await self._vote(keys=keys, args=args)
        except ResponseError as refused:
            raise PollRefused(str(refused)) from None
        result: dict[str, Any] = json.loads(encoded)
        return result

    async def close_poll(
        self, session_id: str, poll_id: str, event: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Close an open poll and publish the final tally; None if it was not open."""
        poll_key = _key(session_id, f"poll:{poll_id}")
        keys = [*self._event_keys(session_id), poll_key, poll_key + ":votes", POLL_DEADLINES]
        args: list[str | int] = [LOG_LENGTH, json.dumps(event), f"{session_id}|{poll_id}"]
        encoded = await self._close(keys=keys, args=args)
        return json.loads(encoded) if encoded else None

    async def poll(self, session_id: str, poll_id: str) -> dict[str, Any] | None:
        """A poll with its current tally, or None."""
        poll_key = _key(session_id, f"poll:{poll_id}")
        fields = await self.redis.hgetall(poll_key)
        if not fields:
            return None
        options = json.loads(fields["options"])
        tally = [0] * len(options)
        for choice in await self.redis.hvals(poll_key + ":votes"):
            tally[int(choice)] += 1
        return {
            **fields,
            "options": options,
            "closes_at": float(fields["closes_at"]),
            "option_count": len(options),
            "tally": tally,
        }

    async def open_polls(self, session_id: str) -> list[dict[str, Any]]:
        """The session's polls that still take votes."""
        ids = sorted(await self.redis.smembers(_key(session_id, "polls")))
        polls = [await self.poll(session_id, poll_id) for poll_id in ids]
        return [p for p in polls if p and p["state"] == "open"]

    async def due_polls(self, now: float, limit: int = 100) -> list[tuple[str, str]]:
        """(session_id, poll_id) of open polls whose deadline has passed."""
        members = await self.redis.zrangebyscore(POLL_DEADLINES, "-inf", now, start=0, num=limit)
        return [tuple(member.split("|", 1)) for member in members]

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
