--[[
  claim: up to ARGV[4] messages move from processing to working, atomically, each stamped.

  KEYS[1] processing list
  KEYS[2] working list
  KEYS[3] deadlines sorted set (working entry -> ms after which it is presumed dead)
  KEYS[4] outcomes hash (job_id -> "c<attempt>" | "d")
  KEYS[5] quarantine list
  ARGV[1] worker id (JSON-safe characters only)
  ARGV[2] lease in ms: the first heartbeat is the claim itself
  ARGV[3] default walltime in seconds (for messages without one)
  ARGV[4] how many messages to claim at most
  ARGV[5] lineage key prefix
  ARGV[6] cluster task label for the lineage (e.g. "slurm 1234_7"), or ''

  Returns {entry1, max_time1, entry2, max_time2, ...}: the working entries claimed (each the message with
  "max_time" and "worker" appended), oldest first, each followed by its max_time (epoch ms).
  A message whose job already finished (a late completion beat its retry) is withdrawn, not claimed.
  A message that is not a JSON object goes to quarantine with the reason.
  Batched: one RPOP, HMGET, LPUSH and ZADD for the whole claim, one lineage RPUSH per job.
]]
-- @include "common"
local now = now_ms()
local lease = tonumber(ARGV[2])
local default_walltime = tonumber(ARGV[3])
local msgs = redis.call('RPOP', KEYS[1], tonumber(ARGV[4]))
if not msgs then return {} end
local task = ''
if ARGV[6] ~= '' then task = ',"task":' .. cjson.encode(ARGV[6]) end
local stamp_tail = ',"worker":"' .. ARGV[1] .. '"'

local ok_msgs, ids, has_ids, closes = {}, {}, {}, {}
for _, msg in ipairs(msgs) do
  local close = string.find(msg, '}%s*$')
  if not string.find(msg, '^%s*{') or not close then
    redis.call('LPUSH', KEYS[5], cjson.encode({reason = 'not a JSON object', raw = msg, from = 'processing', at = now}))
  else
    local job_id, has_id = job_id_of(msg)
    ok_msgs[#ok_msgs + 1] = msg
    ids[#ids + 1] = job_id
    has_ids[#has_ids + 1] = has_id
    closes[#closes + 1] = close
  end
end
if #ok_msgs == 0 then return {} end

local finished = redis.call('HMGET', KEYS[4], unpack(ids))
local out, ret, zargs = {}, {}, {}
for i, msg in ipairs(ok_msgs) do
  local job_id = ids[i]
  if finished[i] then
    add_event(ARGV[5], job_id, now, '{"e":"withdrawn","why":"the job already finished"}')
  else
    local max_time = now + math.floor(walltime_of(msg, default_walltime) * 1000)
    local body = string.sub(msg, 1, closes[i] - 1)
    local stamp = '"max_time":' .. max_time .. stamp_tail
    if not has_ids[i] then stamp = stamp .. ',"job_id":"' .. job_id .. '"' end
    if string.find(body, '^%s*{%s*$') then
      body = body .. stamp .. '}'
    else
      body = body .. ',' .. stamp .. '}'
    end
    out[#out + 1] = body
    ret[#ret + 1] = body
    ret[#ret + 1] = max_time
    zargs[#zargs + 1] = math.min(max_time, now + lease)
    zargs[#zargs + 1] = body
    add_event(ARGV[5], job_id, now, '{"e":"claimed","a":' .. attempt_of(msg) .. ',"w":"' .. ARGV[1] ..
      '","max_time":' .. max_time .. task .. '}')
  end
end
if #out > 0 then
  call_many('LPUSH', KEYS[2], out)
  for i = 1, #zargs, 1000 do
    redis.call('ZADD', KEYS[3], unpack(zargs, i, math.min(i + 999, #zargs)))
  end
end
return ret
