"""Redis key names and the Lua helpers shared by the live-session stores."""

from __future__ import annotations

# Keep this many events per session; a client further behind must reload the snapshot.
LOG_LENGTH = 10_000
CHANNEL_PREFIX = "live:channel:"
# Sessions nobody is connected to, scored by since when; ended after a timeout.
EMPTY_SINCE = "live:empty-since"
# Ended sessions whose summary the activity service has not confirmed yet.
TO_PERSIST = "live:to-persist"

# Shared by the scripts below: number, log and publish one event; count a poll's votes.
LUA_HELPERS = """
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


def key(session_id: str, part: str) -> str:
    """The Redis key of one part of a session."""
    return f"live:session:{session_id}:{part}"


def channel(session_id: str) -> str:
    """The pub/sub channel carrying a session's events between gateway instances."""
    return CHANNEL_PREFIX + session_id
