"""The store's Lua scripts. Every key a script touches is in one partition's slot."""

from __future__ import annotations

# Stores one user's batch: only a log without a dedup key is appended, and then its key is
# set with the acceptance window (+ skew) as its expiry. Entry ids are the caller's ingest time
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
  if redis.call('EXISTS', KEYS[i]) == 0 then
    local offset = 4 + width + (i - 2) * width
    local entry = {}
    for j = 1, width do
      entry[2 * j - 1] = ARGV[4 + j]
      entry[2 * j] = ARGV[offset + j]
    end
    seq = seq + 1
    redis.call('XADD', stream, string.format('%.0f-%.0f', ms, seq), unpack(entry))
    -- Remembered only once appended: a failed XADD (the script stops there) must not
    -- leave a key that makes every retry a "duplicate" of nothing.
    redis.call('SET', KEYS[i], '1', 'PX', ARGV[3])
    stored = 1
  end
  result[i - 1] = stored
end
redis.call('XTRIM', stream, 'MINID', ARGV[2])
return result
"""
