--[[
  requeue: a working entry that failed leaves working, either to processing as its next attempt
  (re-parameterised by the retry policy) or to the dead-letter list. Used by the worker when a job
  throws (ARGV[3] = '0') and by the sentinel when a deadline passed (ARGV[3] = '1').

  The new message was computed by the caller while the entry still sat in working, so the job is in
  exactly one durable place before and after this script.

  KEYS[1] working list
  KEYS[2] deadlines sorted set
  KEYS[3] processing list
  KEYS[4] dead-letter list
  KEYS[5] outcomes hash (job_id -> "c<attempt>" | "d")
  KEYS[6] retries hash (job_id -> its pending retry message, or its dead-letter entry)
  KEYS[7] completed list (a dead-lettered job's notice goes there too, so the graph's watcher sees it)
  ARGV[1] lineage key prefix
  ARGV[2] apply counter key prefix
  ARGV[3] '1': only if the entry's deadline has passed (sentinel); '0': unconditionally (worker)
  ARGV[4..] groups of 5: working entry, job_id, 'retry' | 'dead', payload (next message | dead entry),
            lineage event (JSON object text, without time)

  Returns one status per entry:
    'requeued' | 'dead'  moved
    'alive'              its lease was extended meanwhile (sentinel only): left alone
    'gone'               not in working any more (completed or requeued by someone else): no effect
    'finished'           removed from working, but the job had already completed: dropped, recorded
]]
-- @include "common"
local now = now_ms()
local expired_only = ARGV[3] == '1'
local out = {}
for i = 4, #ARGV, 5 do
  local entry, job_id, action, payload, event = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local score = redis.call('ZSCORE', KEYS[2], entry)
  if expired_only and (not score or tonumber(score) > now) then
    if score then out[#out + 1] = 'alive' else out[#out + 1] = 'gone' end
  elseif redis.call('LREM', KEYS[1], -1, entry) == 0 then
    redis.call('ZREM', KEYS[2], entry)
    if not expired_only then
      add_event(ARGV[1], job_id, now, '{"e":"ignored","why":"failure reported after the job had left working"}')
    end
    out[#out + 1] = 'gone'
  else
    redis.call('ZREM', KEYS[2], entry)
    local prev = redis.call('HGET', KEYS[5], job_id)
    if prev and prev ~= 'd' then
      add_event(ARGV[1], job_id, now, '{"e":"dropped","why":"attempt ' .. string.sub(prev, 2) .. ' had already completed"}')
      out[#out + 1] = 'finished'
    else
      add_event(ARGV[1], job_id, now, event)
      redis.call('HSET', KEYS[6], job_id, payload)
      if action == 'dead' then
        redis.call('LPUSH', KEYS[4], payload)
        redis.call('LPUSH', KEYS[7], '{"dead":true,' .. string.sub(payload, 2))
        redis.call('HSET', KEYS[5], job_id, 'd')
        local apply = apply_id_of(job_id)
        if apply then redis.call('HINCRBY', ARGV[2] .. apply, 'dead', 1) end
        out[#out + 1] = 'dead'
      else
        -- the right end is where workers claim: a retry does not wait behind the whole queue
        redis.call('RPUSH', KEYS[3], payload)
        out[#out + 1] = 'requeued'
      end
    end
  end
end
return out
