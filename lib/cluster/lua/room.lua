-- Sets a node's subscription count for one room. O(1).
-- KEYS[1] nodes hash, KEYS[2] the node's rooms hash, KEYS[3] room refs hash
-- (number of nodes using each room), KEYS[4] room filters hash, KEYS[5] seqs hash
-- ARGV[1] node id, ARGV[2] room id, ARGV[3] count, ARGV[4] filter (JSON), ARGV[5] seq
-- Returns -1 when the node is not a member any more (evicted): nothing written.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return -1
end
local count = tonumber(ARGV[3])
local known = redis.call('HEXISTS', KEYS[2], ARGV[2])
if count > 0 then
  redis.call('HSET', KEYS[2], ARGV[2], count)
  if known == 0 then
    redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
    redis.call('HSETNX', KEYS[4], ARGV[2], ARGV[4])
  end
elseif known == 1 then
  redis.call('HDEL', KEYS[2], ARGV[2])
  if redis.call('HINCRBY', KEYS[3], ARGV[2], -1) <= 0 then
    redis.call('HDEL', KEYS[3], ARGV[2])
    redis.call('HDEL', KEYS[4], ARGV[2])
  end
end
redis.call('HSET', KEYS[5], ARGV[1], ARGV[5])
return 1
