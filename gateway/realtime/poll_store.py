"""Polls of live sessions in Redis: questions, votes and tallies."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from redis.exceptions import ResponseError

from gateway.realtime.redis_keys import LOG_LENGTH, LUA_HELPERS, POLL_DEADLINES, for_server, key
from services.common.redis import RedisClient, publish_command

if TYPE_CHECKING:
    from gateway.realtime.store import LiveStore

# KEYS: seq, log, channel, poll, votes. ARGV: log length, event, user, option, now.
# Recording the vote and publishing the new tally in one step keeps tallies in order.
_VOTE = (
    LUA_HELPERS
    + """
local state = redis.call('HGET', KEYS[4], 'state')
if not state then return redis.error_reply('NO_SUCH_POLL') end
if state ~= 'open' or tonumber(redis.call('HGET', KEYS[4], 'closes_at')) <= tonumber(ARGV[5]) then
  return redis.error_reply('POLL_CLOSED')
end
local option_count = tonumber(redis.call('HGET', KEYS[4], 'option_count'))
local option = tonumber(ARGV[4])
if option < 0 or option >= option_count then return redis.error_reply('BAD_OPTION') end
redis.call('HSET', KEYS[5], ARGV[3], option)
local event = cjson.decode(ARGV[2])
event['tally'] = tally(KEYS[5], option_count)
return append(event)
"""
)

# KEYS: seq, log, channel, poll, votes. ARGV: log length, event.
# Only the first closer (a user, or any instance's deadline sweep) publishes close_poll.
_CLOSE = (
    LUA_HELPERS
    + """
if redis.call('HGET', KEYS[4], 'state') ~= 'open' then return false end
redis.call('HSET', KEYS[4], 'state', 'closed')
local event = cjson.decode(ARGV[2])
event['tally'] = tally(KEYS[5], tonumber(redis.call('HGET', KEYS[4], 'option_count')))
return append(event)
"""
)


# The reasons the vote script refuses a vote with (redis.error_reply above).
VOTE_REFUSALS = frozenset({"NO_SUCH_POLL", "POLL_CLOSED", "BAD_OPTION"})


class PollRefused(Exception):
    """A vote or close the poll's state does not allow; the message is the error frame's reason."""


class PollStore:
    """Open, vote on and close polls; votes and closes publish tallies atomically."""

    def __init__(self, redis: RedisClient, store: LiveStore) -> None:
        self.redis: Any = redis
        self.store = store
        publish = publish_command(redis)
        self._vote = redis.register_script(for_server(_VOTE, publish))
        self._close = redis.register_script(for_server(_CLOSE, publish))

    async def start(
        self, session_id: str, poll: dict[str, Any], event: dict[str, Any]
    ) -> dict[str, Any]:
        """Store an open poll with its deadline, then publish the event announcing it."""
        poll_key = key(session_id, f"poll:{poll['poll_id']}")
        fields = {**poll, "options": json.dumps(poll["options"]), "state": "open"}
        # The deadline first: a crash before the poll exists leaves a deadline that the
        # sweep finds nothing open for, and drops (see close).
        deadline = {f"{session_id}|{poll['poll_id']}": poll["closes_at"]}
        await self.redis.zadd(POLL_DEADLINES, deadline)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(poll_key, mapping={**fields, "option_count": len(poll["options"])})
            pipe.sadd(key(session_id, "polls"), poll["poll_id"])
            await pipe.execute()
        return await self.store.append(session_id, event)

    async def vote(
        self, session_id: str, poll_id: str, user_id: str, option: int, event: dict[str, Any]
    ) -> dict[str, Any]:
        """Record (or change) the user's vote and publish the new tally."""
        poll_key = key(session_id, f"poll:{poll_id}")
        keys = [*self.store.event_keys(session_id), poll_key, poll_key + ":votes"]
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
            if str(refused) not in VOTE_REFUSALS:
                raise  # Redis' own refusal (OOM, a script error): not the voter's fault
            raise PollRefused(str(refused)) from None
        result: dict[str, Any] = json.loads(encoded)
        return result

    async def close(
        self, session_id: str, poll_id: str, event: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Close an open poll and publish the final tally; None if it was not open."""
        poll_key = key(session_id, f"poll:{poll_id}")
        keys = [*self.store.event_keys(session_id), poll_key, poll_key + ":votes"]
        encoded = await self._close(keys=keys, args=[LOG_LENGTH, json.dumps(event)])
        # Closed now or before (or never opened): its deadline is due no more. After the
        # close, so a crash between leaves a deadline the sweep comes back to.
        await self.redis.zrem(POLL_DEADLINES, f"{session_id}|{poll_id}")
        return json.loads(encoded) if encoded else None

    async def get(self, session_id: str, poll_id: str) -> dict[str, Any] | None:
        """A poll with its current tally, or None."""
        poll_key = key(session_id, f"poll:{poll_id}")
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

    async def all(self, session_id: str) -> list[dict[str, Any]]:
        """Every poll of the session with its tally, open or closed."""
        ids = sorted(await self.redis.smembers(key(session_id, "polls")))
        polls = [await self.get(session_id, poll_id) for poll_id in ids]
        return [p for p in polls if p]

    async def open(self, session_id: str) -> list[dict[str, Any]]:
        """The session's polls that still take votes."""
        return [p for p in await self.all(session_id) if p["state"] == "open"]

    async def due(self, now: float, limit: int = 100) -> list[tuple[str, str]]:
        """(session_id, poll_id) of open polls whose deadline has passed."""
        members = await self.redis.zrangebyscore(POLL_DEADLINES, "-inf", now, start=0, num=limit)
        return [tuple(member.split("|", 1)) for member in members]
