import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import should from 'should';
import { Cluster } from 'ioredis';

import { RedisServer, startRedisCluster } from '../support/redisServer';
import { CoreNode, converged, eventually, meshOf, printLogsIfFailed } from '../support/coreNode';
import { killAll } from '../support/processes';
import { KEYS } from '../../lib/cluster/state';
import type { RoomFilter } from '../../lib/cluster/messages';

const filter = (collection: string): RoomFilter => ({ collection, filters: [[{ exists: 'x' }]], index: 'idx' });

describe('on a Redis Cluster (3 masters, real 0mq)', function () {
  this.timeout(90000);

  let dir: string;
  let servers: RedisServer[] = [];
  let redis: Cluster;
  let nodes: CoreNode[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kuzzle-cluster-redis-cluster-'));
    servers = await startRedisCluster(3, dir);
    const seeds = servers.map(s => ({ host: '127.0.0.1', port: s.port }));
    redis = new Cluster(seeds);
    await eventually('the Redis Cluster is ok', async () => /cluster_state:ok/.test(await redis.cluster('INFO') as string));
    // the plugin's configuration form for a Redis Cluster: an array of seed
    // nodes; one that does not own the plugin's slot proves redirections are followed
    const slot = Number(await redis.cluster('KEYSLOT', KEYS.nodes));
    const owner = (await redis.cluster('SLOTS')).find(([from, to]) => from <= slot && slot <= to);
    const seed = seeds.find(s => s.port !== owner?.[2][1]) as { host: string; port: number };
    nodes = await Promise.all([0, 1, 2].map(() => CoreNode.start(seed.port, { redis: [seed] })));
    await Promise.all(nodes.map(node => node.join()));
  });

  after(async () => {
    redis?.disconnect();
    await killAll();
    fs.rmSync(dir, { force: true, recursive: true });
  });

  afterEach(function () {
    printLogsIfFailed(this.currentTest, nodes);
  });

  it('forms a healthy cluster whose state lives on the master owning the {cluster} slot', async () => {
    await meshOf(nodes);
    should(await redis.hlen(KEYS.nodes)).equal(3);

    const slot = Number(await redis.cluster('KEYSLOT', KEYS.nodes));
    const owners = (await redis.cluster('SLOTS')).filter(([from, to]) => from <= slot && slot <= to);
    should(owners).have.length(1);
    // one master holds every key of the plugin (one hash tag: the Lua scripts stay atomic)
    const ownerPort = owners[0][2][1];
    const others = servers.filter(s => s.port !== ownerPort);
    for (const other of others) {
      should(await redis.nodes('master').find(n => n.options.port === other.port)?.dbsize()).equal(0);
    }
  });

  it('replicates subscriptions through the Lua scripts, and removes a killed node\'s', async () => {
    const [a, b, c] = nodes;
    await a.subscribe('r1', 2, filter('c1'));
    await c.subscribe('r2', 1, filter('c2'));
    await converged(nodes, { r1: 2, r2: 1 });
    should(await redis.hgetall(KEYS.rooms(a.id))).eql({ r1: '2' });

    const dead = c.id;
    c.kill('SIGKILL');
    await converged([a, b], { r1: 2 });
    await eventually('the dead node\'s state is gone from Redis, its rooms released', async () =>
      (await redis.hexists(KEYS.nodes, dead)) === 0 && (await redis.exists(KEYS.rooms(dead))) === 0
      && (await redis.hexists(KEYS.filters, 'r2')) === 0 && (await redis.exists(KEYS.removedRooms(dead))) === 0);
  });

  it('delivers notifications between the survivors', async () => {
    const [a, b] = nodes;
    await b.call({ cmd: 'notify', content: { n: 1 }, rooms: ['r1'] });
    await eventually('a is notified', () => a.notifications.length === 1);
  });
});
