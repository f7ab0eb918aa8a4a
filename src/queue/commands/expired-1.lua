--[[
  expired (read only): the working entries whose deadline has passed, oldest deadline first.

  KEYS[1] deadlines sorted set
  ARGV[1] how many at most

  Returns {now_ms, entry1, deadline1, entry2, deadline2, ...}. Cost grows with the entries returned,
  not with the size of the working list.
]]
-- @include "common"
local now = now_ms()
local found = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))
table.insert(found, 1, now)
return found
