--[[
  heartbeat: a live worker extends the leases of the entries it holds (never past their walltime).

  KEYS[1] deadlines sorted set
  ARGV[1] lease in ms
  ARGV[2..] pairs: lease key (16 hex digits, whatever the message size), its max_time (ms)

  Returns one integer per entry: 1 extended, 0 no longer held (the sentinel requeued it, or it finished).
]]
-- @include "common"
local now = now_ms()
local lease = tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV, 2 do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'XX', math.min(tonumber(ARGV[i + 1]), now + lease), ARGV[i])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
