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

-- The apply (submission) a job belongs to: job ids are "<apply_id>-<index>".
local function apply_id_of(job_id)
  return string.match(job_id, '^(.+)-[^-]+$')
end

local function attempt_of(msg)
  local a = tonumber(string.match(msg, '"attempt"%s*:%s*(%d+)'))
  if a then return a end
  local c = tonumber(string.match(msg, '"count"%s*:%s*(%d+)'))
  return (c or 0) + 1
end

-- Seconds of a SLURM --time string: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS. nil if not one.
local function slurm_seconds(s)
  local d, rest = string.match(s, '^(%d+)-(.+)$')
  local parts = {}
  for p in string.gmatch(rest or s, '[^:]+') do
    if not string.match(p, '^%d+$') then return nil end
    parts[#parts + 1] = tonumber(p)
  end
  if d then
    local h, m, sec = parts[1], parts[2] or 0, parts[3] or 0
    if h == nil or #parts > 3 then return nil end
    return tonumber(d) * 86400 + h * 3600 + m * 60 + sec
  end
  if #parts == 1 then return parts[1] * 60 end
  if #parts == 2 then return parts[1] * 60 + parts[2] end
  if #parts == 3 then return parts[1] * 3600 + parts[2] * 60 + parts[3] end
  return nil
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
