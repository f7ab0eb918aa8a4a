-- Shared helpers, included at the top of each transition script by the loader (src/queue/scripts.ts).

-- Redis's clock in epoch milliseconds: every deadline is stamped with it, so skewed nodes agree.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The apply (submission) a job belongs to. The grammar is src/queue/job-id.ts's (a parity test keeps them
-- equal): "<apply_id>-<index>", index decimal digits; "f-<hex>" is a foreign job of no apply.
local function apply_id_of(job_id)
  local apply = string.match(job_id, '^(.+)-%d+$')
  if apply == 'f' then return nil end
  return apply
end

-- An apply's counters change only if the apply was pushed (its counter hash exists): a foreign job id
-- that happens to look like "<something>-<digits>" never creates a counter of its own.
local function bump(prefix, apply, field, n)
  if apply and redis.call('EXISTS', prefix .. apply) == 1 then redis.call('HINCRBY', prefix .. apply, field, n) end
end

-- The lease key of a working entry: its deadline's member and its field in the leases hash. Short and
-- fixed-size whatever the message size (heartbeats send it, not the entry); src/queue/message.ts's
-- leaseKeyOf derives the same.
local function lease_key(entry)
  return string.sub(redis.sha1hex(entry), 1, 16)
end

-- Job ids go into keys and JSON as they are: src/queue/message.ts's JOB_ID grammar.
local function valid_job_id(s)
  return type(s) == 'string' and #s <= 128 and string.find(s, '^[%w_.:%-]+$') ~= nil
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

-- A whole number in [lo, 2^31), else nil (NaN, infinities, fractions, strings: the worker quarantines those).
local function whole(x, lo)
  if type(x) == 'number' and x == x and x >= lo and x < 2147483648 and math.floor(x) == x then return x end
  return nil
end

-- Walltimes beyond a year are not walltimes: such a message gets the default (and the worker's decoder,
-- which refuses what is not a SLURM time or a positive number, has the last word).
local MAX_WALLTIME = 366 * 86400

-- Reads the fields the engine needs from a message, exactly: never by pattern over the whole text.
-- Our messages start with a fixed envelope, {"job_id":"..","walltime":N,"count":N,"attempt":N,"id":..
-- (src/queue/message.ts encodeMessage), read by one anchored match: a kwarg or a string value further on
-- can never be mistaken for it. Any other message is decoded whole with cjson (its own nesting limit
-- applies; pcall keeps a decode error from failing the script).
-- Returns {job_id = id or nil, walltime = seconds, attempt = n, close = position of the final '}'},
-- or nil, the reason it cannot be read (the caller quarantines it) and the job id of its envelope if it
-- has one (so that the job is accounted for: account_poison).
local function read_message(msg, default_walltime, max_bytes)
  local len = #msg
  local id, w, c, a = string.match(msg, '^{"job_id":"([%w_.:%-]+)","walltime":(%d+),"count":(%d+),"attempt":(%d+),"id":')
  if id and #id > 128 then id = nil end
  if max_bytes and len > max_bytes then
    return nil, 'the message is ' .. len .. ' bytes, over cluster.max_message_bytes (' .. max_bytes .. ')', id
  end
  if id and string.byte(msg, len) == 125 then
    local wt = tonumber(w)
    if wt <= 0 or wt > MAX_WALLTIME then wt = default_walltime end
    return {job_id = id, walltime = wt, attempt = whole(tonumber(a), 1) or 1, close = len}
  end
  local close = string.find(msg, '}%s*$')
  if not string.find(msg, '^%s*{') or not close then return nil, 'not a JSON object', id end
  local ok, v = pcall(cjson.decode, msg)
  if not ok then
    local why = string.gsub(tostring(v), '^.-: ', '', 1)
    return nil, 'not JSON: ' .. string.sub(why, 1, 200), id
  end
  if type(v) ~= 'table' then return nil, 'not a JSON object' end
  local info = {close = close}
  local jid = v['job_id']
  if jid ~= nil and jid ~= cjson.null and jid ~= '' then
    if not valid_job_id(jid) then return nil, "'job_id' must be 1 to 128 letters, digits, '_', '.', ':' or '-'" end
    info.job_id = jid
  end
  local wt = v['walltime']
  if type(wt) == 'string' then wt = slurm_seconds(wt) end
  if type(wt) ~= 'number' or not (wt > 0 and wt <= MAX_WALLTIME) then wt = default_walltime end
  info.walltime = wt
  info.attempt = whole(v['attempt'], 1) or ((whole(v['count'], 0) or 0) + 1)
  return info
end

-- Appends one event to a job's lineage list: `body` is the event's JSON object without its opening
-- brace (e.g. '"e":"claimed","a":1}'), which the time is put in front of. (The hot paths build it so:
-- one string per event.)
local function add_event_body(prefix, job_id, now, body)
  redis.call('RPUSH', prefix .. job_id, '{"t":' .. now .. ',' .. body)
end

-- Appends one event to a job's lineage list. `fields` is a JSON object (as text) without the time.
local function add_event(prefix, job_id, now, fields)
  local body = string.sub(fields, 2)
  if body == '}' then
    redis.call('RPUSH', prefix .. job_id, '{"t":' .. now .. '}')
  else
    add_event_body(prefix, job_id, now, body)
  end
end

-- redis.call(cmd, key, ...list) in chunks, since unpack() is bounded by Lua's stack.
local function call_many(cmd, key, list)
  for i = 1, #list, 1000 do
    redis.call(cmd, key, unpack(list, i, math.min(i + 999, #list)))
  end
end

-- Reverses a list in place (for RPUSH so that its first element ends up at the claim end).
local function reversed(list)
  local out = {}
  for i = #list, 1, -1 do out[#out + 1] = list[i] end
  return out
end

-- The campaign's cumulative counters (KEYS: the <b>:stats hash), moved where the transitions happen so
-- that displays read them in O(1): `completed` and `dead` count jobs (a dead job completed late after all
-- moves from one to the other), `retried` every retry whoever decided it (`retried_by_sentinel`: after a
-- deadline), each also per cause (`retried:<cause>`, `dead:<cause>`), `released` the claimed-ahead
-- jobs put back unrun. Never lowered by a clear of lists; deleted with the queue set.
local function count_stat(stats_key, field, n, cause)
  redis.call('HINCRBY', stats_key, field, n)
  if cause then redis.call('HINCRBY', stats_key, field .. ':' .. cause, n) end
end

-- The cause of a lineage event built by the retry decision ({"e":"requeued","cause":"exception",...}):
-- read anchored at the first byte, where no error text can reach.
local function event_cause(event)
  return string.match(event, '^{"e":"[%a-]+","cause":"([%w%-]+)"')
end

-- A job of an apply whose message went to quarantine has not finished, and never will: it is counted as
-- dead (outcome "d", the apply's dead counter), its lineage says why, and a dead notice goes to the
-- completed list so that the graph's ledger records it (the notice has no message to decode: the ledger
-- takes the target from the apply). A job that already has an outcome, or belongs to no pushed apply, is
-- left alone. Returns whether it was counted.
local function account_poison(job_id, reason, now, lineage_prefix, apply_prefix, outcomes_key, completed_key, applies_key, stats_key)
  if not job_id or job_id == '' then return false end
  local apply = apply_id_of(job_id)
  if not apply or redis.call('EXISTS', apply_prefix .. apply) == 0 then return false end
  if redis.call('HGET', outcomes_key, job_id) then return false end
  redis.call('HSET', outcomes_key, job_id, 'd')
  redis.call('HINCRBY', apply_prefix .. apply, 'dead', 1)
  count_stat(stats_key, 'dead', 1, 'poison')
  add_event(lineage_prefix, job_id, now, '{"e":"dead","cause":"poison","why":' .. cjson.encode('quarantined: ' .. reason) .. '}')
  local func = 'unknown'
  local rec = redis.call('HGET', applies_key, apply)
  if rec then
    local ok, v = pcall(cjson.decode, rec)
    if ok and type(v) == 'table' and type(v.func) == 'string' then func = v.func end
  end
  redis.call('LPUSH', completed_key, cjson.encode({dead = true, quarantined = true, reason = 'quarantined: ' .. reason,
    cause = 'poison', job_id = job_id, func = func, at = now}))
  return true
end
