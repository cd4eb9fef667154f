-- Reads one node's rooms, with their filters, and the sequence number of the
-- last change it wrote. O(rooms of that node).
-- KEYS[1] nodes hash, KEYS[2] the node's rooms hash, KEYS[3] room filters hash, KEYS[4] seqs hash
-- ARGV[1] node id
local registered = redis.call('HEXISTS', KEYS[1], ARGV[1])
local seq = redis.call('HGET', KEYS[4], ARGV[1])
if not seq then
  seq = '0'
end
local rooms = redis.call('HGETALL', KEYS[2])
local out = {}
for i = 1, #rooms, 2 do
  local filter = redis.call('HGET', KEYS[3], rooms[i])
  if not filter then
    filter = ''
  end
  out[#out + 1] = rooms[i]
  out[#out + 1] = rooms[i + 1]
  out[#out + 1] = filter
end
return {registered, seq, out}
