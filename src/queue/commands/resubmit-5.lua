--[[
  resubmit: what reconcile() puts back after Redis lost data, from the database ledger: the outcomes the
  ledger has and Redis lost, the apply's counters, and the first attempts of the jobs that are in no
  queue. Counters are only ever raised, never lowered: what Redis already counted (completions still in
  the completed list, say) stands.

  KEYS[1] processing list
  KEYS[2] applies hash
  KEYS[3] this apply's counter hash
  KEYS[4] outcomes hash
  KEYS[5] open applies set
  ARGV[1] apply_id
  ARGV[2] the apply's JSON record
  ARGV[3] total (the apply's job count)
  ARGV[4] completed, per the ledger
  ARGV[5] dead, per the ledger
  ARGV[6] n: how many outcome pairs follow
  ARGV[7 .. 6 + 2n] pairs: job_id, outcome ("c<attempts>" | "d"), set only where Redis has none
  ARGV[7 + 2n ..] messages to push (first attempts), oldest first

  Returns {total, completed, dead} after the call.
]]
-- @include "common"
local now = now_ms()
redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSETNX', KEYS[3], 'submitted_at', now)
local fields = {'total', 'completed', 'dead'}
local cur = redis.call('HMGET', KEYS[3], 'total', 'completed', 'dead')
local after = {}
for i, f in ipairs(fields) do
  local have, want = tonumber(cur[i]) or 0, tonumber(ARGV[2 + i])
  if want > have then redis.call('HSET', KEYS[3], f, want); have = want end
  after[i] = have
end
local n = tonumber(ARGV[6])
for i = 7, 6 + 2 * n, 2 do redis.call('HSETNX', KEYS[4], ARGV[i], ARGV[i + 1]) end
local first = 7 + 2 * n
if #ARGV >= first then
  for i = first, #ARGV, 4000 do
    redis.call('LPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 3999, #ARGV)))
  end
  redis.call('SADD', KEYS[5], ARGV[1])
end
return after
