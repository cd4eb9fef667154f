-- Removes a node and everything it contributed. Atomic, so among survivors
-- racing to evict the same dead node exactly one gets a positive answer.
-- KEYS[1] nodes hash, KEYS[2] the node's liveness key, KEYS[3] the node's rooms hash,
-- KEYS[4] room refs hash, KEYS[5] room filters hash, KEYS[6] seqs hash
-- ARGV[1] node id, ARGV[2] '1' to remove even if alive (own graceful leave)
-- Returns -1 if the node is still alive, 0 if it was already removed,
-- else 1 + the number of rooms it held.
if ARGV[2] ~= '1' and redis.call('EXISTS', KEYS[2]) == 1 then
  return -1
end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return 0
end
local rooms = redis.call('HKEYS', KEYS[3])
for _, room in ipairs(rooms) do
  if redis.call('HINCRBY', KEYS[4], room, -1) <= 0 then
    redis.call('HDEL', KEYS[4], room)
    redis.call('HDEL', KEYS[5], room)
  end
end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[6], ARGV[1])
return #rooms + 1
