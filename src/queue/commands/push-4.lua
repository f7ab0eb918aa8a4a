--[[
  push: new messages enter the processing queue (one batch of one apply).

  KEYS[1] processing list
  KEYS[2] applies hash (apply_id -> JSON record of the submission)
  KEYS[3] this apply's counter hash (total, completed, dead, submitted_at)
  KEYS[4] open applies set (applies whose jobs may still be somewhere: see vanished-10.lua)
  ARGV[1] apply_id
  ARGV[2] the apply's JSON record ('' for the second and later batches)
  ARGV[3..] messages, JSON, oldest first

  Returns the processing list's length after the push.
  Messages are pushed at the left; workers claim from the right, so the queue is first in, first out.
]]
-- @include "common"
local n = #ARGV - 2
if ARGV[2] ~= '' then
  redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
  redis.call('HSETNX', KEYS[3], 'submitted_at', now_ms())
end
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('HINCRBY', KEYS[3], 'total', n)
local len = 0
local step = 4000 -- unpack() is bounded by Lua's stack
for i = 3, #ARGV, step do
  len = redis.call('LPUSH', KEYS[1], unpack(ARGV, i, math.min(i + step - 1, #ARGV)))
end
return len
