"""The store's Lua scripts. Every key a script touches is in one partition's slot."""

from __future__ import annotations

# Stores one user's batch: per log, a dedup key SET NX with the acceptance window as its
# expiry; only a log whose key was new is appended. Entry ids are the caller's ingest time
# (kept increasing: a clock behind the stream's last entry continues its sequence), so the
# retention trim and the ids agree on one clock. Then entries older than retention go.
# KEYS: stream, seen key per log. ARGV: now ms, trim below ms, dedup ms, width, field
# names (width of them), then width values per log. Returns 1 (stored) or 0 per log.
APPEND = """
local stream = KEYS[1]
local now_ms = tonumber(ARGV[1])
local width = tonumber(ARGV[4])
local ms, seq = now_ms, -1
local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
if #last > 0 then
  local last_ms, last_seq = string.match(last[1][1], '^(%d+)-(%d+)$')
  last_ms = tonumber(last_ms)
  if last_ms >= now_ms then ms, seq = last_ms, tonumber(last_seq) end
end
local result = {}
for i = 2, #KEYS do
  local stored = 0
  if redis.call('SET', KEYS[i], '1', 'NX', 'PX', ARGV[3]) then
    local offset = 4 + width + (i - 2) * width
    local entry = {}
    for j = 1, width do
      entry[2 * j - 1] = ARGV[4 + j]
      entry[2 * j] = ARGV[offset + j]
    end
    seq = seq + 1
    redis.call('XADD', stream, string.format('%.0f-%.0f', ms, seq), unpack(entry))
    stored = 1
  end
  result[i - 1] = stored
end
redis.call('XTRIM', stream, 'MINID', ARGV[2])
return result
"""
