"""The store's Lua scripts. Every key one script touches is in one partition's slot."""

from __future__ import annotations

# Stores one message as one raw-stream entry, once per (device, message id): a message
# seen before is answered with its first answer and nothing is appended. The dedup key
# is set only after the XADD (a failed XADD stops the script there, and must not leave a
# key that makes every retry a "duplicate" of nothing). Then entries older than the
# retention go. The entry id is Redis's own ('*'): always increasing, whatever the
# callers' clocks; the retention trim is by the ingest time the caller gives.
# KEYS: dedup key, raw stream. ARGV: trim below ms, dedup ms, answer, field, value, ...
# Returns the first answer of a duplicate, else nil.
APPEND = """
local first = redis.call('GET', KEYS[1])
if first then return first end
local entry = {}
for i = 4, #ARGV do entry[i - 3] = ARGV[i] end
redis.call('XADD', KEYS[2], '*', unpack(entry))
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
redis.call('XTRIM', KEYS[2], 'MINID', ARGV[1])
return false
"""

# Reserves a place in a user's device list (the user's partition): a device already
# listed keeps its place; a new one is added only while the list holds fewer than the
# most allowed, so concurrent claims of new devices can never overfill it.
# KEYS: the user's device list. ARGV: device id, now ms, most devices.
# Returns 1 (listed) or 0 (the list is full).
RESERVE = """
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
"""

# Claims a device for a user unless somebody owns it (the device's partition): the first
# claim wins, every later one reads the winner. KEYS: the device hash. ARGV: user, now ms.
# Returns {owner, first seen ms}.
CLAIM = """
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then
  redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'first_seen', ARGV[2])
  return {ARGV[1], ARGV[2]}
end
return {owner, redis.call('HGET', KEYS[1], 'first_seen')}
"""
