-- Refreshes a node's liveness key (only if it is still a member: a node
-- evicted while frozen must not come back silently) and returns the
-- membership with each member's liveness.
-- KEYS[1] nodes hash, KEYS[2] the node's liveness key
-- ARGV[1] node id, ARGV[2] liveness (JSON), ARGV[3] TTL (ms), ARGV[4] liveness key prefix
local registered = redis.call('HEXISTS', KEYS[1], ARGV[1])
if registered == 1 then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
end
local nodes = redis.call('HGETALL', KEYS[1])
local members = {}
for i = 1, #nodes, 2 do
  local alive = redis.call('GET', ARGV[4] .. nodes[i])
  if not alive then
    alive = ''
  end
  members[#members + 1] = nodes[i]
  members[#members + 1] = nodes[i + 1]
  members[#members + 1] = alive
end
return {registered, members}
