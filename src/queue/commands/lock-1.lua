--[[
  lock: take or renew a lock with expiry (one sentinel sweeps a queue set at a time).

  KEYS[1] lock key
  ARGV[1] holder token
  ARGV[2] time to live in ms
  ARGV[3] '1' to release instead

  Returns 1 if the caller holds the lock after the call (0 after a release), 0 if someone else holds it.
]]
local holder = redis.call('GET', KEYS[1])
if ARGV[3] == '1' then
  if holder == ARGV[1] then redis.call('DEL', KEYS[1]) end
  return 0
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
