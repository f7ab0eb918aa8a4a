--[[
  quarantine: an entry that cannot be handled leaves its list for the quarantine list, with the reason.
  Its lease (if it has one) goes with it, so the sentinel never meets it again.

  KEYS[1] the list the entry is in (working, or the watcher's in-flight list)
  KEYS[2] deadlines sorted set
  KEYS[3] leases hash
  KEYS[4] quarantine list
  ARGV[1] the entry (bytes; '' to drop only the lease: a deadline whose entry is gone)
  ARGV[2] its lease key, or ''
  ARGV[3] quarantine record (JSON: reason, raw, from, at)

  Returns 1 if moved, 0 if the entry was no longer in KEYS[1] (the lease is dropped either way).
]]
if ARGV[2] ~= '' then
  redis.call('ZREM', KEYS[2], ARGV[2])
  redis.call('HDEL', KEYS[3], ARGV[2])
end
if ARGV[1] == '' or redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[4], ARGV[3])
return 1
