-- Takes a node out of the cluster: membership, liveness, sequence number.
-- Its rooms hash is moved aside in O(1), whatever its size, for
-- release_rooms to take back the references it held a slice at a time.
-- Atomic, so among survivors racing to evict the same dead node exactly one
-- gets a positive answer.
-- KEYS[1] nodes hash, KEYS[2] the node's liveness key, KEYS[3] the node's rooms hash,
-- KEYS[4] seqs hash, KEYS[5] the node's removed-rooms hash, KEYS[6] removed nodes set
-- ARGV[1] node id, ARGV[2] '1' to remove even if alive (own graceful leave)
-- Returns -1 if the node is still alive, 0 if it was already removed,
-- else 1 + the number of rooms it held.
if ARGV[2] ~= '1' and redis.call('EXISTS', KEYS[2]) == 1 then
  return -1
end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return 0
end
local rooms = redis.call('HLEN', KEYS[3])
if rooms > 0 then
  -- node ids are never reused (a rejoining node takes a new one): KEYS[5] is new
  redis.call('RENAME', KEYS[3], KEYS[5])
  redis.call('SADD', KEYS[6], ARGV[1])
end
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return rooms + 1
