--[[
  requeue: a working entry that failed leaves working, either as its next attempt (re-parameterised by
  the retry policy) to processing — or, backing off, to the delayed set — or to the dead-letter list.
  Used by the worker when a job throws (ARGV[3] = '0') and by the sentinel when a deadline passed
  (ARGV[3] = '1').

  The new message was computed by the caller while the entry still sat in working, so the job is in
  exactly one durable place before and after this script.

  KEYS[1] working list
  KEYS[2] deadlines sorted set
  KEYS[3] leases hash
  KEYS[4] processing list
  KEYS[5] dead-letter list
  KEYS[6] outcomes hash (job_id -> "c<attempt>" | "d")
  KEYS[7] retries hash (job_id -> its pending retry message, or its dead-letter entry)
  KEYS[8] completed list (a dead-lettered job's notice goes there too, so the graph's watcher sees it)
  KEYS[9] delayed sorted set (retry message -> ms when it may run)
  KEYS[10] stats hash (campaign counters: completed, dead, retried, released; count_stat in common.lua)
  ARGV[1] lineage key prefix
  ARGV[2] apply counter key prefix
  ARGV[3] '1': only if the entry's deadline has passed (sentinel); '0': unconditionally (worker)
  ARGV[4..] groups of 9: working entry (bytes), its lease key, job_id, attempt, 'retry' | 'dead', payload
            (next message | dead entry), lineage event (JSON object text, without time), backoff in ms
            (retry only; 0: at once), and the completion notice to record if the entry turns out to have
            left working on its own ('' unless the entry was adopted: put there by another client)

  Returns one status per entry:
    'requeued' | 'delayed' | 'dead'  moved
    'alive'    its lease was extended meanwhile (sentinel only): left alone
    'gone'     not in working any more (completed or requeued by someone else): no effect
    'finished' removed from working, but the job had already completed: dropped, recorded
    'foreign'  (sentinel only) an adopted entry that left working without a completion message: the
               foreign worker that held it (AutoCNet's finishes so) is taken to have finished it: it
               counts as completed, once, and its notice goes to the completed list
]]
-- @include "common"
local now = now_ms()
local expired_only = ARGV[3] == '1'
local out = {}
for i = 4, #ARGV, 9 do
  local entry, key, job_id, attempt, action = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local payload, event, delay, foreign_done = ARGV[i + 5], ARGV[i + 6], tonumber(ARGV[i + 7]), ARGV[i + 8]
  local score = redis.call('ZSCORE', KEYS[2], key)
  if expired_only and (not score or tonumber(score) > now) then
    if score then out[#out + 1] = 'alive' else out[#out + 1] = 'gone' end
  elseif redis.call('LREM', KEYS[1], -1, entry) == 0 then
    redis.call('ZREM', KEYS[2], key)
    redis.call('HDEL', KEYS[3], key)
    if expired_only and foreign_done ~= '' and not redis.call('HGET', KEYS[6], job_id) then
      redis.call('HSET', KEYS[6], job_id, 'c' .. attempt)
      local pending = redis.call('HGET', KEYS[7], job_id)
      if pending then
        redis.call('LREM', KEYS[4], -1, pending)
        redis.call('ZREM', KEYS[9], pending)
        redis.call('HDEL', KEYS[7], job_id)
      end
      add_event(ARGV[1], job_id, now, '{"e":"completed","a":' .. attempt .. ',"foreign":true,' ..
        '"why":"it left working without a completion message: finished by the foreign worker that held it"}')
      redis.call('LPUSH', KEYS[8], foreign_done)
      bump(ARGV[2], apply_id_of(job_id), 'completed', 1)
      count_stat(KEYS[10], 'completed', 1)
      out[#out + 1] = 'foreign'
    else
      if not expired_only then
        add_event(ARGV[1], job_id, now, '{"e":"ignored","why":"failure reported after the job had left working"}')
      end
      out[#out + 1] = 'gone'
    end
  else
    redis.call('ZREM', KEYS[2], key)
    redis.call('HDEL', KEYS[3], key)
    local prev = redis.call('HGET', KEYS[6], job_id)
    if prev and prev ~= 'd' then
      add_event(ARGV[1], job_id, now, '{"e":"dropped","why":"attempt ' .. string.sub(prev, 2) .. ' had already completed"}')
      out[#out + 1] = 'finished'
    else
      add_event(ARGV[1], job_id, now, event)
      redis.call('HSET', KEYS[7], job_id, payload)
      if action == 'dead' then
        redis.call('LPUSH', KEYS[5], payload)
        redis.call('LPUSH', KEYS[8], '{"dead":true,' .. string.sub(payload, 2))
        redis.call('HSET', KEYS[6], job_id, 'd')
        bump(ARGV[2], apply_id_of(job_id), 'dead', 1)
        count_stat(KEYS[10], 'dead', 1, event_cause(event))
        out[#out + 1] = 'dead'
      else
        if string.sub(event, 1, 15) == '{"e":"released"' then
          count_stat(KEYS[10], 'released', 1)
        else
          -- every retry, whoever decided it: the worker after an exception, the sentinel after a deadline
          count_stat(KEYS[10], 'retried', 1, event_cause(event))
          bump(ARGV[2], apply_id_of(job_id), 'retried', 1)
          if expired_only then count_stat(KEYS[10], 'retried_by_sentinel', 1) end
        end
        if delay and delay > 0 then
          redis.call('ZADD', KEYS[9], now + delay, payload)
          out[#out + 1] = 'delayed'
        else
          -- the right end is where workers claim: a retry does not wait behind the whole queue
          redis.call('RPUSH', KEYS[4], payload)
          out[#out + 1] = 'requeued'
        end
      end
    end
  end
end
return out
