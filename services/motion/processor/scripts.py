"""The processor's Lua scripts. Every key a script touches is in one partition's slot."""

from __future__ import annotations

# Extends a lease only while it is still this worker's token. KEYS: lease. ARGV: token, ms.
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# Gives a lease up only while it is still this worker's token. KEYS: lease. ARGV: token.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# Emits closed windows of one partition, fenced by its lease: if the lease is not (or no
# longer) ARGV[1], nothing is written and -1 is returned. Each window is written once
# (HSETNX: first write wins, a replay changes nothing); only a window written now is
# indexed by its end, appended to the processed stream and may move the device's state
# (when it ends later than the state's window: since is kept while the activity stays
# and the window follows the state's within ARGV[5] ms, else it is the window's owned
# start: a new session after a gap starts afresh); then records that ended before the
# retention cutoff are dropped, at most ARGV[4] per device per call, and the device's
# keys expire ARGV[6] ms after its last write (a device that goes quiet leaves nothing).
# KEYS: lease, processed stream, then per window: windows hash, window-ends zset, state hash.
# ARGV: token, processed max length, cutoff ms, trim bound, continuity ms, key TTL ms, then
# per window: window key, record JSON, window end ms, activity, confidence, owned start ms.
# Returns per window: 0 already written (a replay), 1 written, 2 written and the device's
# activity changed.
EMIT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local result, trimmed = {}, {}
for i = 0, (#KEYS - 2) / 3 - 1 do
  local windows, ends, state = KEYS[3 + 3 * i], KEYS[4 + 3 * i], KEYS[5 + 3 * i]
  local base = 6 + 6 * i
  local key, record, wend = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
  local activity, confidence, owned_start = ARGV[base + 4], ARGV[base + 5], ARGV[base + 6]
  local outcome = 0
  if redis.call('HSETNX', windows, key, record) == 1 then
    outcome = 1
    redis.call('ZADD', ends, wend, key)
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'record', record)
    local old = redis.call('HMGET', state, 'activity', 'since_ms', 'window_end_ms')
    if not old[3] or tonumber(wend) > tonumber(old[3]) then
      local since = owned_start
      if old[1] ~= activity then
        outcome = 2
      elseif tonumber(owned_start) <= tonumber(old[3]) + tonumber(ARGV[5]) then
        since = old[2]
      end
      redis.call('HSET', state, 'activity', activity, 'confidence', confidence,
                 'since_ms', since, 'window_end_ms', wend)
    end
    if not trimmed[windows] then
      trimmed[windows] = true
      local old_keys = redis.call('ZRANGEBYSCORE', ends, '-inf', '(' .. ARGV[3],
                                  'LIMIT', 0, ARGV[4])
      if #old_keys > 0 then
        redis.call('HDEL', windows, unpack(old_keys))
        redis.call('ZREM', ends, unpack(old_keys))
      end
      redis.call('PEXPIRE', windows, ARGV[6])
      redis.call('PEXPIRE', ends, ARGV[6])
      redis.call('PEXPIRE', state, ARGV[6])
    end
  end
  result[#result + 1] = outcome
end
return result
"""

# The entries of an XREADGROUP or XAUTOCLAIM reply without their JSON readings field
# ("r", for the raw sink): the processor reads the packed one ("a"), and the JSON copy
# would double what Redis sends and the client parses. Deleted entries (nil) are dropped.
LEAN = """
local function lean(entries)
  local out = {}
  for _, entry in ipairs(entries) do
    if type(entry) == 'table' and type(entry[2]) == 'table' then
      local kept = {}
      for j = 1, #entry[2], 2 do
        if entry[2][j] ~= 'r' then
          kept[#kept + 1] = entry[2][j]
          kept[#kept + 1] = entry[2][j + 1]
        end
      end
      out[#out + 1] = {entry[1], kept}
    end
  end
  return out
end
"""

# Reads new entries only while the lease is ARGV[1]: a worker that lost its partition
# cannot take entries the new holder would never see. KEYS: lease, raw stream.
# ARGV: token, group, consumer, count. Returns -1 (lost) or the lean entries,
# [[id, [field, value, ...]], ...] (parsed by hiredis: a C parser, as fast as one JSON
# text and simpler).
READ = (
    LEAN
    + """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local reply = redis.call('XREADGROUP', 'GROUP', ARGV[2], ARGV[3], 'COUNT', ARGV[4],
                         'STREAMS', KEYS[2], '>')
if not reply then return {} end
return lean(reply[1][2])
"""
)

# Takes over pending entries (min-idle 0) only while the lease is ARGV[1].
# KEYS: lease, raw stream. ARGV: token, group, consumer, start id, count.
# Returns -1 (lost) or [next start id, entries as READ returns them].
CLAIM = (
    LEAN
    + """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local reply = redis.call('XAUTOCLAIM', KEYS[2], ARGV[2], ARGV[3], 0, ARGV[4], 'COUNT', ARGV[5])
return {reply[1], lean(reply[2])}
"""
)
