-- Registers a node: static info in the membership hash, liveness key with TTL.
-- KEYS[1] nodes hash, KEYS[2] the node's liveness key
-- ARGV[1] node id, ARGV[2] node info (JSON), ARGV[3] liveness (JSON), ARGV[4] TTL (ms)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
return 1
