--[[
  complete: finished jobs leave working and enter the completed queue; each job counts once.

  KEYS[1] working list
  KEYS[2] deadlines sorted set
  KEYS[3] leases hash
  KEYS[4] completed list
  KEYS[5] outcomes hash (job_id -> "c<attempt>" | "d")
  KEYS[6] retries hash (job_id -> its pending retry message, or its dead-letter entry)
  KEYS[7] processing list
  KEYS[8] dead-letter list
  KEYS[9] delayed sorted set (retries backing off)
  KEYS[10] stats hash (campaign counters: completed, dead; count_stat in common.lua)
  ARGV[1] lineage key prefix
  ARGV[2] apply counter key prefix
  ARGV[3..] groups of 6: working entry (bytes), its lease key, job_id, attempt, completion message (JSON),
            and the lineage's view of the result: '' or ',"result":<JSON, at most 512 bytes or {truncated, bytes}>'

  Returns one status per job:
    'completed'  the normal case
    'late'       the sentinel had requeued it; this attempt still won (a pending retry is withdrawn)
    'duplicate'  the job had already completed (another attempt won); nothing pushed, recorded only
  Batched: one ZREM, HDEL, HMGET, HSET, LPUSH, stats HINCRBY and HINCRBY per apply for the whole call; LREM and the
  lineage RPUSH per job.
]]
-- @include "common"
local now = now_ms()
local entries, keys, ids = {}, {}, {}
for i = 3, #ARGV, 6 do
  entries[#entries + 1] = ARGV[i]
  keys[#keys + 1] = ARGV[i + 1]
  ids[#ids + 1] = ARGV[i + 2]
end
local removed = {}
for i, entry in ipairs(entries) do removed[i] = redis.call('LREM', KEYS[1], -1, entry) end
call_many('ZREM', KEYS[2], keys)
call_many('HDEL', KEYS[3], keys)
local prevs = redis.call('HMGET', KEYS[5], unpack(ids))

local out, hset, done_msgs, per_apply = {}, {}, {}, {}
local done_here = {} -- jobs completed earlier in this call: a job completed twice within one call counts once too
local undead = 0
for i, job_id in ipairs(ids) do
  local base = 3 + (i - 1) * 6
  local attempt, done, result = ARGV[base + 3], ARGV[base + 4], ARGV[base + 5]
  local prev = done_here[job_id] or prevs[i]
  if prev and prev ~= 'd' then
    add_event(ARGV[1], job_id, now, '{"e":"duplicate","a":' .. attempt .. ',"why":"attempt ' ..
      string.sub(prev, 2) .. ' had already completed"}')
    out[#out + 1] = 'duplicate'
  else
    local status = 'completed'
    -- only a job that was requeued (a later attempt, or a late first one) can have a retry waiting
    local pending = false
    if removed[i] == 0 or prev or tonumber(attempt) > 1 then pending = redis.call('HGET', KEYS[6], job_id) end
    local apply = apply_id_of(job_id)
    if prev == 'd' then
      -- dead-lettered, then its original attempt finished after all: the result stands
      if pending then redis.call('LREM', KEYS[8], -1, pending) end
      bump(ARGV[2], apply, 'dead', -1)
      undead = undead + 1
      status = 'late'
    elseif removed[i] == 0 then
      status = 'late'
      if pending and (redis.call('LREM', KEYS[7], -1, pending) + redis.call('ZREM', KEYS[9], pending)) > 0 then
        add_event(ARGV[1], job_id, now, '{"e":"withdrawn","why":"attempt ' .. attempt .. ' finished late"}')
      end
    end
    done_here[job_id] = 'c' .. attempt
    hset[#hset + 1] = job_id
    hset[#hset + 1] = 'c' .. attempt
    if pending then redis.call('HDEL', KEYS[6], job_id) end
    if apply then per_apply[apply] = (per_apply[apply] or 0) + 1 end
    done_msgs[#done_msgs + 1] = done
    if status == 'late' then
      add_event_body(ARGV[1], job_id, now, '"e":"completed","a":' .. attempt .. ',"late":true' .. result .. '}')
    else
      add_event_body(ARGV[1], job_id, now, '"e":"completed","a":' .. attempt .. result .. '}')
    end
    out[#out + 1] = status
  end
end
if #hset > 0 then
  for i = 1, #hset, 1000 do redis.call('HSET', KEYS[5], unpack(hset, i, math.min(i + 999, #hset))) end
  call_many('LPUSH', KEYS[4], done_msgs)
end
for apply, n in pairs(per_apply) do bump(ARGV[2], apply, 'completed', n) end
if #hset > 0 then count_stat(KEYS[10], 'completed', #hset / 2) end
if undead > 0 then count_stat(KEYS[10], 'dead', -undead) end
return out
