--[[
  adopt: working entries without a deadline (moved there by another client, e.g. an AutoCNet worker)
  get one: first seen + their walltime. Existing deadlines are left as they are.

  KEYS[1] working list (unused but declared: adoption is about its entries)
  KEYS[2] deadlines sorted set
  ARGV[1] default walltime in seconds
  ARGV[2] lineage key prefix
  ARGV[3..] working entries seen by the caller

  Returns how many entries were adopted.
]]
-- @include "common"
local now = now_ms()
local n = 0
for i = 3, #ARGV do
  local entry = ARGV[i]
  if not redis.call('ZSCORE', KEYS[2], entry) then
    local deadline = now + math.floor(walltime_of(entry, tonumber(ARGV[1])) * 1000)
    redis.call('ZADD', KEYS[2], 'NX', deadline, entry)
    local job_id = job_id_of(entry)
    add_event(ARGV[2], job_id, now, '{"e":"adopted","deadline":' .. deadline .. '}')
    n = n + 1
  end
end
return n
