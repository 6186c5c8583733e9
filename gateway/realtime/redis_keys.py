"""Redis key names and the Lua helpers shared by the live-session stores.

Every key of a session carries the session id as its hash tag (``live:{<session>}:meta``),
and so does its pub/sub channel: all of them hash to one Redis Cluster slot, so each
Lua script and MULTI block, which touches one session only, is allowed there (a
cluster refuses CROSSSLOT). The indexes that span sessions (``live:active`` and the
others below) are each one key, and only ever touched by single-key commands, outside
the scripts and transactions, in an order that a crash between two steps leaves
something the sweeps repair or ignore (see store.py).
"""

from __future__ import annotations

# Keep this many events per session; a client further behind must reload the snapshot.
LOG_LENGTH = 10_000
# Every session channel; PSUBSCRIBEd once per gateway instance on a single Redis (on a
# cluster each instance SSUBSCRIBEs to the channels of its local sessions).
CHANNEL_PATTERN = "live:{*}:channel"
# Active sessions, scored by creation time (GET /group-sessions).
ACTIVE = "live:active"
# Sessions nobody is connected to, scored by since when; ended after a timeout.
EMPTY_SINCE = "live:empty-since"
# Ended sessions whose summary the activity service has not confirmed yet.
TO_PERSIST = "live:to-persist"
# "<session>|<poll>" of open polls, scored by their deadline.
POLL_DEADLINES = "live:poll-deadlines"
# Gateway instances that hold (or held) connections.
INSTANCES = "live:instances"

# Shared by the scripts below: number, log and publish one event; count a poll's votes.
LUA_HELPERS = """
local function append(event)
  local seq = redis.call('INCR', KEYS[1])
  event['seq'] = seq
  local encoded = cjson.encode(event)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], seq .. '-1', 'event', encoded)
  redis.call('__PUBLISH__', KEYS[3], encoded)
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


def for_server(script: str, publish: str) -> str:
    """The script with its publish command: PUBLISH on one node, SPUBLISH on a cluster.

    SPUBLISH from a script is allowed because the channel shares the session's hash tag.
    """
    return script.replace("__PUBLISH__", publish)


def key(session_id: str, part: str) -> str:
    """The Redis key of one part of a session (hash-tagged: one slot per session)."""
    return f"live:{{{session_id}}}:{part}"


def channel(session_id: str) -> str:
    """The pub/sub channel carrying a session's events between gateway instances."""
    return key(session_id, "channel")


def session_of(channel_name: str) -> str:
    """The session a channel (one matching CHANNEL_PATTERN) belongs to."""
    return channel_name.removeprefix("live:{").removesuffix("}:channel")


def instance_key(instance_id: str, part: str) -> str:
    """The Redis key of one part of a gateway instance's record (its liveness, connections)."""
    return f"live:instance:{{{instance_id}}}:{part}"
