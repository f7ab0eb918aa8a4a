--[[
  vanished: when nothing is anywhere — processing, working, delayed, completed and in flight all empty —
  every job of an open apply either has an outcome or left the queues without one. The only way out
  without one is another client's: AutoCNet's worker takes a message (RPOPLPUSH processing -> working)
  and, done, removes it from working (LREM) without a completion message; a hand LREM or DEL of a list is
  the other. Such a job is recorded as finished by a foreign worker: its outcome "c<attempt>", its apply's
  completed counter, a lineage event, and a notice on the completed list (without a target: the graph's
  watcher takes the target and kwargs from its ledger). So wait() resolves, and reconcile() never runs it
  again. Each call checks at most ARGV[3] job ids (a cursor per apply continues the scan next time).

  KEYS[1] processing list
  KEYS[2] working list
  KEYS[3] delayed sorted set
  KEYS[4] completed list
  KEYS[5] the watchers' in-flight list
  KEYS[6] open applies set (push adds an apply; this removes it once all its jobs are accounted for)
  KEYS[7] outcomes hash
  KEYS[8] applies hash (apply_id -> JSON record: func, along, ...)
  KEYS[9] retries hash (a job's pending retry message gives its attempt)
  KEYS[10] stats hash (they count as completed)
  ARGV[1] lineage key prefix
  ARGV[2] apply counter key prefix
  ARGV[3] how many job ids to check at most

  Returns {jobs recorded as finished by a foreign worker, job ids checked}.
]]
-- @include "common"
if redis.call('LLEN', KEYS[1]) + redis.call('LLEN', KEYS[2]) + redis.call('ZCARD', KEYS[3]) +
   redis.call('LLEN', KEYS[4]) + redis.call('LLEN', KEYS[5]) > 0 then
  return {0, 0}
end
local now = now_ms()
local budget = tonumber(ARGV[3])
local found, checked = 0, 0
for _, apply in ipairs(redis.call('SMEMBERS', KEYS[6])) do
  if budget <= 0 then break end
  local counter = ARGV[2] .. apply
  local c = redis.call('HMGET', counter, 'total', 'completed', 'dead', 'vanish_scan')
  local total, completed, dead = tonumber(c[1]), tonumber(c[2]) or 0, tonumber(c[3]) or 0
  if not total or completed + dead >= total then
    redis.call('SREM', KEYS[6], apply)
  else
    local rec = nil
    local rec_text = redis.call('HGET', KEYS[8], apply)
    if rec_text then
      local ok, v = pcall(cjson.decode, rec_text)
      if ok and type(v) == 'table' then rec = v end
    end
    local func = (rec and type(rec.func) == 'string') and rec.func or 'unknown'
    local along = (rec and type(rec.along) == 'string') and rec.along or nil
    local here = 0
    local start = tonumber(c[4]) or 0
    local stop = math.min(total, start + budget)
    for first = start, stop - 1, 1000 do
      local ids = {}
      for i = first, math.min(stop, first + 1000) - 1 do ids[#ids + 1] = apply .. '-' .. i end
      local outcomes = redis.call('HMGET', KEYS[7], unpack(ids))
      for i, job_id in ipairs(ids) do
        if not outcomes[i] then
          local attempt = 1
          local pending = redis.call('HGET', KEYS[9], job_id)
          if pending then
            local info = read_message(pending, 600, nil)
            if info then attempt = info.attempt end
            redis.call('HDEL', KEYS[9], job_id)
          end
          redis.call('HSET', KEYS[7], job_id, 'c' .. attempt)
          add_event(ARGV[1], job_id, now, '{"e":"completed","a":' .. attempt .. ',"foreign":true,' ..
            '"why":"it left the queues without a completion message: finished by a foreign worker (AutoCNet\'s removes it from working so), or removed by hand"}')
          local notice = {job_id = job_id, func = func, attempt = attempt, count = attempt - 1, worker = 'foreign',
            foreign = true, finished_at = now}
          if along then notice.along = along end
          redis.call('LPUSH', KEYS[4], cjson.encode(notice))
          here = here + 1
        end
      end
    end
    checked = checked + (stop - start)
    budget = budget - (stop - start)
    if here > 0 then
      redis.call('HINCRBY', counter, 'completed', here)
      count_stat(KEYS[10], 'completed', here)
    end
    found = found + here
    if stop >= total then
      redis.call('HDEL', counter, 'vanish_scan')
      redis.call('SREM', KEYS[6], apply)
    else
      redis.call('HSET', counter, 'vanish_scan', stop)
    end
  end
end
return {found, checked}
