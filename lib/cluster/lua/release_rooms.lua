-- Takes back the references a removed node held on the given rooms, each
-- once even when several nodes release the same node at the same time, and
-- drops the filters no node uses any more. Forgets the node once nothing
-- of it is left.
-- KEYS[1] the node's removed-rooms hash, KEYS[2] room refs hash, KEYS[3] room filters hash,
-- KEYS[4] removed nodes set
-- ARGV[1] node id, ARGV[2..] rooms
local released = 0
for i = 2, #ARGV do
  local room = ARGV[i]
  if redis.call('HDEL', KEYS[1], room) == 1 then
    released = released + 1
    if redis.call('HINCRBY', KEYS[2], room, -1) <= 0 then
      redis.call('HDEL', KEYS[2], room)
      redis.call('HDEL', KEYS[3], room)
    end
  end
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[4], ARGV[1])
end
return released
