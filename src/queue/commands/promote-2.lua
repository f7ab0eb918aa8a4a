--[[
  promote: retries whose backoff is over move from the delayed set to the claim end of processing (claim
  does the same for what it takes; the sentinel calls this so that retries also get workers started).

  KEYS[1] delayed sorted set (retry message -> ms when it may run)
  KEYS[2] processing list
  ARGV[1] how many at most

  Returns how many moved.
]]
-- @include "common"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[1]))
if #due == 0 then return 0 end
call_many('ZREM', KEYS[1], due)
call_many('RPUSH', KEYS[2], reversed(due))
return #due
