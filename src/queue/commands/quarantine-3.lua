--[[
  quarantine: a malformed entry leaves its list for the quarantine list, with the reason.

  KEYS[1] the list the entry is in (working, or the watcher's in-flight list)
  KEYS[2] deadlines sorted set
  KEYS[3] quarantine list
  ARGV[1] the entry
  ARGV[2] quarantine record (JSON: reason, raw, from, at)

  Returns 1 if moved, 0 if the entry was no longer in KEYS[1].
]]
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[3], ARGV[2])
return 1
