import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import should from 'should';
import Redis from 'ioredis';

import { RedisServer, startRedisWithSentinel } from '../support/redisServer';
import { CoreNode, converged, eventually, meshOf, printLogsIfFailed } from '../support/coreNode';
import { killAll } from '../support/processes';
import { KEYS } from '../../lib/cluster/state';
import type { RoomFilter } from '../../lib/cluster/messages';

const NAME = 'kuzzle-cluster';
const filter = (collection: string): RoomFilter => ({ collection, filters: [[{ exists: 'x' }]], index: 'idx' });

describe('on Redis with a Sentinel (master, replica, failover)', function () {
  this.timeout(90000);

  let dir: string;
  let master: RedisServer;
  let replica: RedisServer;
  let sentinel: RedisServer;
  let watcher: Redis;
  let nodes: CoreNode[] = [];

  const masterPort = async (): Promise<number> =>
    Number((await watcher.call('SENTINEL', 'get-master-addr-by-name', NAME) as [string, string])[1]);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kuzzle-cluster-sentinel-'));
    ({ master, replica, sentinel } = await startRedisWithSentinel(NAME, dir));
    watcher = new Redis({ host: '127.0.0.1', port: sentinel.port });
    await eventually('the sentinel knows the replica', async () =>
      (await watcher.call('SENTINEL', 'replicas', NAME) as unknown[]).length === 1, 30000);
    // the plugin's configuration form for a Sentinel: ioredis' own options
    const redis = { name: NAME, sentinels: [{ host: '127.0.0.1', port: sentinel.port }] };
    nodes = await Promise.all([0, 1].map(() => CoreNode.start(master.port, { redis })));
    await Promise.all(nodes.map(node => node.join()));
  });

  after(async () => {
    watcher?.disconnect();
    await killAll();
    fs.rmSync(dir, { force: true, recursive: true });
  });

  afterEach(function () {
    printLogsIfFailed(this.currentTest, nodes);
  });

  it('finds the master through the sentinel and replicates subscriptions', async () => {
    await meshOf(nodes);
    const [a, b] = nodes;
    await a.subscribe('r1', 2, filter('c1'));
    await b.subscribe('r2', 1, filter('c2'));
    await converged(nodes, { r1: 2, r2: 1 });

    should(await masterPort()).equal(master.port);
    const direct = new Redis({ host: '127.0.0.1', port: master.port });
    try {
      should(await direct.hgetall(KEYS.rooms(a.id))).eql({ r1: '2' });
    }
    finally {
      direct.disconnect();
    }
  });

  it('survives the master\'s death: the sentinel promotes the replica, the nodes follow and keep their state', async () => {
    const [a, b] = nodes;
    master.process?.kill('SIGKILL');
    await eventually('the sentinel promoted the replica', async () => await masterPort() === replica.port, 30000);

    await meshOf(nodes, 30000);
    await converged(nodes, { r1: 2, r2: 1 }, 30000);
    const promoted = new Redis({ host: '127.0.0.1', port: replica.port });
    try {
      await eventually('the state is on the new master', async () =>
        JSON.stringify(await promoted.hgetall(KEYS.rooms(a.id))) === JSON.stringify({ r1: '2' }), 30000);
    }
    finally {
      promoted.disconnect();
    }

    // and changes go on
    await b.subscribe('r3', 1, filter('c3'));
    await converged(nodes, { r1: 2, r2: 1, r3: 1 });
    await a.call({ cmd: 'notify', content: { n: 1 }, rooms: ['r3'] });
    await eventually('b is notified', () => b.notifications.length === 1);
  });
});
