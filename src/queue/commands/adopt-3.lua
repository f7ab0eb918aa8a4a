--[[
  adopt: working entries without a lease (moved there by another client, e.g. an AutoCNet worker's
  RPOPLPUSH) get one: first seen + their walltime. Existing leases are left as they are. An entry that
  cannot be read gets a deadline of now, so that the sentinel's next sweep quarantines it with the reason.

  KEYS[1] working list (unused but declared: adoption is about its entries)
  KEYS[2] deadlines sorted set
  KEYS[3] leases hash
  ARGV[1] default walltime in seconds
  ARGV[2] lineage key prefix
  ARGV[3] cluster.max_message_bytes
  ARGV[4..] working entries seen by the caller (bytes)

  Returns how many entries were adopted. The lease key of an adopted entry is "a" and the lease key of its
  bytes: the sentinel knows from it that the entry is held by a foreign worker.
]]
-- @include "common"
local now = now_ms()
local n = 0
for i = 4, #ARGV do
  local entry = ARGV[i]
  local key = 'a' .. lease_key(entry)
  if redis.call('HSETNX', KEYS[3], key, entry) == 1 then
    local info = read_message(entry, tonumber(ARGV[1]), tonumber(ARGV[3]))
    local deadline = now
    local job_id = nil
    if info then
      deadline = now + math.floor(info.walltime * 1000)
      job_id = info.job_id or ('f-' .. string.sub(redis.sha1hex(entry), 1, 12))
    end
    redis.call('ZADD', KEYS[2], 'NX', deadline, key)
    if job_id then add_event(ARGV[2], job_id, now, '{"e":"adopted","deadline":' .. deadline .. '}') end
    n = n + 1
  end
end
return n
