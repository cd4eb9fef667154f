-- Wipes the realtime state of every node (members, liveness, sequence
-- numbers and strategies are kept): nodes then republish their own rooms.
-- KEYS[1] nodes hash, KEYS[2] room refs hash, KEYS[3] room filters hash, KEYS[4] removed nodes set
-- ARGV[1] rooms hash key prefix, ARGV[2] removed-rooms hash key prefix
local ids = redis.call('HKEYS', KEYS[1])
for _, id in ipairs(ids) do
  redis.call('DEL', ARGV[1] .. id)
end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  redis.call('DEL', ARGV[2] .. id)
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
return #ids
