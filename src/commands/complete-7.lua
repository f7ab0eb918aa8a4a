--[[
  complete: finished jobs leave working and enter the completed queue; each job counts once.

  KEYS[1] working list
  KEYS[2] deadlines sorted set
  KEYS[3] completed list
  KEYS[4] outcomes hash (job_id -> "c<attempt>" | "d")
  KEYS[5] retries hash (job_id -> its pending retry message, or its dead-letter entry)
  KEYS[6] processing list
  KEYS[7] dead-letter list
  ARGV[1] lineage key prefix
  ARGV[2] apply counter key prefix
  ARGV[3..] groups of 4: working entry, job_id, attempt, completion message (JSON)

  Returns one status per job:
    'completed'  the normal case
    'late'       the sentinel had requeued it; this attempt still won (a pending retry is withdrawn)
    'duplicate'  the job had already completed (another attempt won); nothing pushed, recorded only
]]
-- @include "common"
local now = now_ms()
local out = {}
for i = 3, #ARGV, 4 do
  local entry, job_id, attempt, done = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local removed = redis.call('LREM', KEYS[1], -1, entry)
  redis.call('ZREM', KEYS[2], entry)
  local prev = redis.call('HGET', KEYS[4], job_id)
  if prev and prev ~= 'd' then
    add_event(ARGV[1], job_id, now, '{"e":"duplicate","a":' .. attempt .. ',"why":"attempt ' ..
      string.sub(prev, 2) .. ' had already completed"}')
    out[#out + 1] = 'duplicate'
  else
    local status = 'completed'
    local pending = redis.call('HGET', KEYS[5], job_id)
    local apply = apply_id_of(job_id)
    if prev == 'd' then
      -- dead-lettered, then its original attempt finished after all: the result stands
      if pending then redis.call('LREM', KEYS[7], -1, pending) end
      if apply then redis.call('HINCRBY', ARGV[2] .. apply, 'dead', -1) end
      status = 'late'
    elseif removed == 0 then
      status = 'late'
      if pending and redis.call('LREM', KEYS[6], -1, pending) > 0 then
        add_event(ARGV[1], job_id, now, '{"e":"withdrawn","why":"attempt ' .. attempt .. ' finished late"}')
      end
    end
    redis.call('HSET', KEYS[4], job_id, 'c' .. attempt)
    if pending then redis.call('HDEL', KEYS[5], job_id) end
    if apply then redis.call('HINCRBY', ARGV[2] .. apply, 'completed', 1) end
    redis.call('LPUSH', KEYS[3], done)
    if status == 'late' then
      add_event(ARGV[1], job_id, now, '{"e":"completed","a":' .. attempt .. ',"late":true}')
    else
      add_event(ARGV[1], job_id, now, '{"e":"completed","a":' .. attempt .. '}')
    end
    out[#out + 1] = status
  end
end
return out
