-- Shared helpers, included at the top of each transition script by the loader (src/scripts.ts).

-- Redis's clock in epoch milliseconds: every deadline is stamped with it, so skewed nodes agree.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The job_id of a message (ours put it first; foreign ones may have none: then a stable hash).
local function job_id_of(msg)
  local id = string.match(msg, '"job_id"%s*:%s*"([^"]*)"')
  if id == nil or id == '' then
    return 'f-' .. string.sub(redis.sha1hex(msg), 1, 12), false
  end
  return id, true
end

-- The apply (submission) a job belongs to. The grammar is src/queue/job-id.ts's (a parity test keeps them
-- equal): "<apply_id>-<index>", index decimal digits; "f-<hash>" is a foreign job of no apply.
local function apply_id_of(job_id)
  local apply = string.match(job_id, '^(.+)-%d+$')
  if apply == 'f' then return nil end
  return apply
end

local function attempt_of(msg)
  local a = tonumber(string.match(msg, '"attempt"%s*:%s*(%d+)'))
  if a then return a end
  local c = tonumber(string.match(msg, '"count"%s*:%s*(%d+)'))
  return (c or 0) + 1
end

-- Seconds of a SLURM --time string: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS; nil if not one or zero.
-- The grammar is src/config/walltime.ts's (a parity test runs both over every form and junk): minutes and
-- seconds after a colon are below 60, surrounding blanks are ignored.
local function slurm_seconds(s)
  s = string.match(s, '^%s*(.-)%s*$')
  local d, rest = string.match(s, '^(%d+)-(.+)$')
  local body = rest or s
  if not (string.match(body, '^%d+$') or string.match(body, '^%d+:%d+$') or string.match(body, '^%d+:%d+:%d+$')) then
    return nil
  end
  local p = {}
  for n in string.gmatch(body, '%d+') do p[#p + 1] = tonumber(n) end
  local secs
  if d then
    if (p[2] and p[2] >= 60) or (p[3] and p[3] >= 60) then return nil end
    secs = tonumber(d) * 86400 + p[1] * 3600 + (p[2] or 0) * 60 + (p[3] or 0)
  elseif #p == 3 then
    if p[2] >= 60 or p[3] >= 60 then return nil end
    secs = p[1] * 3600 + p[2] * 60 + p[3]
  elseif #p == 2 then
    if p[2] >= 60 then return nil end
    secs = p[1] * 60 + p[2]
  else
    secs = p[1] * 60
  end
  if secs <= 0 then return nil end
  return secs
end

-- The walltime of a message in seconds: a number (seconds) or a SLURM string; else the default.
local function walltime_of(msg, default)
  local n = tonumber(string.match(msg, '"walltime"%s*:%s*([%d%.]+)'))
  if n and n > 0 then return n end
  local s = string.match(msg, '"walltime"%s*:%s*"([^"]*)"')
  if s then
    local v = slurm_seconds(s)
    if v and v > 0 then return v end
  end
  return default
end

-- Appends one event to a job's lineage list. `fields` is a JSON object (as text) without the time.
local function add_event(prefix, job_id, now, fields)
  local body = string.sub(fields, 2)
  if body == '}' then
    redis.call('RPUSH', prefix .. job_id, '{"t":' .. now .. '}')
  else
    redis.call('RPUSH', prefix .. job_id, '{"t":' .. now .. ',' .. body)
  end
end

-- redis.call(cmd, key, ...list) in chunks, since unpack() is bounded by Lua's stack.
local function call_many(cmd, key, list)
  for i = 1, #list, 1000 do
    redis.call(cmd, key, unpack(list, i, math.min(i + 999, #list)))
  end
end
