--[[
  quarantine: an entry that cannot be handled leaves its list for the quarantine list, with the reason.
  Its lease (if it has one) goes with it, so the sentinel never meets it again. A working entry that is a
  job of an apply (its envelope or its JSON says which) is counted as dead: account_poison in common.lua.

  KEYS[1] the list the entry is in (working, or the watcher's in-flight list)
  KEYS[2] deadlines sorted set
  KEYS[3] leases hash
  KEYS[4] quarantine list
  KEYS[5] outcomes hash
  KEYS[6] completed list
  KEYS[7] applies hash
  KEYS[8] stats hash (a poison job counts as dead)
  ARGV[1] the entry (bytes; '' to drop only the lease: a deadline whose entry is gone)
  ARGV[2] its lease key, or ''
  ARGV[3] quarantine record (JSON: reason, raw, from, at)
  ARGV[4] the reason (for the job's lineage)
  ARGV[5] lineage key prefix
  ARGV[6] apply counter key prefix
  ARGV[7] '1' if the entry is a job message (from working), '0' for a completion notice

  Returns 1 if moved, 0 if the entry was no longer in KEYS[1] (the lease is dropped either way).
]]
-- @include "common"
if ARGV[2] ~= '' then
  redis.call('ZREM', KEYS[2], ARGV[2])
  redis.call('HDEL', KEYS[3], ARGV[2])
end
if ARGV[1] == '' or redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[4], ARGV[3])
if ARGV[7] == '1' then
  local info, _, hint = read_message(ARGV[1], 600, nil)
  local job_id = hint
  if info then job_id = info.job_id end
  account_poison(job_id, ARGV[4], now_ms(), ARGV[5], ARGV[6], KEYS[5], KEYS[6], KEYS[7], KEYS[8])
end
return 1
