--[[
  expired (read only): the working entries whose deadline has passed, oldest deadline first.

  KEYS[1] deadlines sorted set
  KEYS[2] leases hash
  ARGV[1] how many at most

  Returns {now_ms, key1, entry1, key2, entry2, ...}: each expired lease key and its working entry (bytes),
  or false for an entry the leases hash no longer has (the caller drops such a lease). Cost grows with the
  entries returned, not with the size of the working list.
]]
-- @include "common"
local now = now_ms()
local keys = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local out = {now}
if #keys == 0 then return out end
local entries = redis.call('HMGET', KEYS[2], unpack(keys))
for i, key in ipairs(keys) do
  out[#out + 1] = key
  out[#out + 1] = entries[i]
end
return out
