--[[
  claim: up to ARGV[4] messages move from processing to working, atomically, each stamped and leased.

  KEYS[1] processing list
  KEYS[2] working list
  KEYS[3] deadlines sorted set (lease key -> ms after which the entry is presumed dead)
  KEYS[4] leases hash (lease key -> the working entry, byte for byte)
  KEYS[5] outcomes hash (job_id -> "c<attempt>" | "d")
  KEYS[6] quarantine list
  KEYS[7] delayed sorted set (retry message -> ms when it may run: retries backing off)
  KEYS[8] sequence hash (field "foreign": ids given to messages that came without one)
  KEYS[9] completed list (the dead notice of an apply's job whose message is poison: account_poison)
  KEYS[10] applies hash (its function's name, for that notice)
  KEYS[11] stats hash (that job counts as dead)
  ARGV[1] worker id (JSON-safe characters only)
  ARGV[2] lease in ms: the first heartbeat is the claim itself
  ARGV[3] default walltime in seconds (for messages without one)
  ARGV[4] how many messages to claim at most
  ARGV[5] lineage key prefix
  ARGV[6] cluster task label for the lineage (e.g. "slurm 1234_7"), or ''
  ARGV[7] cluster.max_message_bytes
  ARGV[8] apply counter key prefix

  Returns {entry1, max_time1, key1, entry2, max_time2, key2, ...}: the working entries claimed (each the
  message with "max_time" and "worker" appended, and "job_id" if it had none), oldest first, each followed
  by its max_time (epoch ms) and its lease key (what heartbeats name).
  First, retries whose backoff is over move from delayed to the claim end of processing.
  The fields are read exactly (read_message: the envelope of our messages, cjson for any other). A message
  that cannot be read (not a JSON object, not JSON, nested too deep, over max_message_bytes, a job_id
  outside the grammar) goes to quarantine with the reason — and if it is a job of an apply (its envelope
  says which), that job is counted as dead. A message without job_id gets its own:
  "f-" and 12 hex digits of a counter, so every push is its own job. A message whose job already finished
  (a late completion beat its retry) is withdrawn, not claimed.
  Batched: one RPOP, HMGET, LPUSH, HSET and ZADD for the whole claim, one lineage RPUSH per job.
]]
-- @include "common"
local now = now_ms()
local lease = tonumber(ARGV[2])
local default_walltime = tonumber(ARGV[3])
local max_bytes = tonumber(ARGV[7])
local due = redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', now, 'LIMIT', 0, math.max(100, tonumber(ARGV[4])))
if #due > 0 then
  call_many('ZREM', KEYS[7], due)
  call_many('RPUSH', KEYS[1], reversed(due))
end
local msgs = redis.call('RPOP', KEYS[1], tonumber(ARGV[4]))
if not msgs then return {} end
local task = ''
if ARGV[6] ~= '' then task = ',"task":' .. cjson.encode(ARGV[6]) end
local stamp_tail = ',"worker":"' .. ARGV[1] .. '"'

local ok_msgs, infos, ids = {}, {}, {}
for _, msg in ipairs(msgs) do
  local info, reason, hint = read_message(msg, default_walltime, max_bytes)
  if not info then
    redis.call('LPUSH', KEYS[6], cjson.encode({reason = reason, raw = msg, from = 'processing', at = now}))
    account_poison(hint, reason, now, ARGV[5], ARGV[8], KEYS[5], KEYS[9], KEYS[10], KEYS[11])
  else
    if not info.job_id then
      info.job_id = 'f-' .. string.format('%012x', redis.call('HINCRBY', KEYS[8], 'foreign', 1))
      info.stamp_id = true
    end
    ok_msgs[#ok_msgs + 1] = msg
    infos[#infos + 1] = info
    ids[#ids + 1] = info.job_id
  end
end
if #ok_msgs == 0 then return {} end

local finished = redis.call('HMGET', KEYS[5], unpack(ids))
local out, ret, zargs, hargs = {}, {}, {}, {}
for i, msg in ipairs(ok_msgs) do
  local info = infos[i]
  local job_id = info.job_id
  if finished[i] then
    add_event(ARGV[5], job_id, now, '{"e":"withdrawn","why":"the job already finished"}')
  else
    local max_time = now + math.floor(info.walltime * 1000)
    local body = string.sub(msg, 1, info.close - 1)
    local stamp = '"max_time":' .. max_time .. stamp_tail
    if info.stamp_id then stamp = stamp .. ',"job_id":"' .. job_id .. '"' end
    if string.find(body, '^%s*{%s*$') then
      body = body .. stamp .. '}'
    else
      body = body .. ',' .. stamp .. '}'
    end
    local key = lease_key(body)
    out[#out + 1] = body
    ret[#ret + 1] = body
    ret[#ret + 1] = max_time
    ret[#ret + 1] = key
    zargs[#zargs + 1] = math.min(max_time, now + lease)
    zargs[#zargs + 1] = key
    hargs[#hargs + 1] = key
    hargs[#hargs + 1] = body
    add_event_body(ARGV[5], job_id, now, '"e":"claimed","a":' .. info.attempt .. ',"w":"' .. ARGV[1] ..
      '","max_time":' .. max_time .. task .. '}')
  end
end
if #out > 0 then
  call_many('LPUSH', KEYS[2], out)
  for i = 1, #hargs, 1000 do
    redis.call('HSET', KEYS[4], unpack(hargs, i, math.min(i + 999, #hargs)))
    redis.call('ZADD', KEYS[3], unpack(zargs, i, math.min(i + 999, #zargs)))
  end
end
return ret
