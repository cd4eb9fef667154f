import { randomBytes } from 'crypto';

import should from 'should';
import Redis from 'ioredis';
import { Dealer, Publisher } from 'zeromq';

import { RedisServer } from '../support/redisServer';
import { CoreNode, eventually, printLogsIfFailed } from '../support/coreNode';
import { freePorts } from '../support/ports';
import { killAll } from '../support/processes';
import { KEYS } from '../../lib/cluster/state';
import { PROTOCOL_VERSION, encode } from '../../lib/cluster/messages';

const MAX_MESSAGE_SIZE = 8192;
const filter = { collection: 'c', filters: [[{ exists: 'x' }]], index: 'i' };

/** a random frame: bytes, broken JSON, valid JSON of the wrong shape, or a near-valid envelope */
function randomFrame (i: number): Buffer {
  switch (i % 6) {
    case 0: return randomBytes(1 + Math.floor(Math.random() * 200));
    case 1: return Buffer.from(`{"v":${PROTOCOL_VERSION},"t":"room"`);
    case 2: return Buffer.from(JSON.stringify([i, 'x', null]));
    case 3: return Buffer.from(JSON.stringify({ from: 'x', seq: i, t: 'room', v: 99 }));
    case 4: return Buffer.from(JSON.stringify({ from: 'x', seq: i, t: `nope${i}`, v: PROTOCOL_VERSION }));
    default: return Buffer.from(JSON.stringify({ count: 'many', from: 'x', room: 3, seq: i, t: 'room', v: PROTOCOL_VERSION }));
  }
}

describe('bad input on the cluster ports', function () {
  this.timeout(90000);

  let server: RedisServer;
  let redis: Redis;
  let nodes: CoreNode[] = [];

  before(async () => {
    server = await RedisServer.start();
    redis = new Redis({ host: '127.0.0.1', port: server.port });
    redis.on('error', () => undefined);
    nodes = await Promise.all([0, 1].map(() => CoreNode.start(server.port, { maxMessageSize: MAX_MESSAGE_SIZE })));
    await Promise.all(nodes.map(node => node.join()));
    await eventually('2 healthy nodes', async () =>
      (await Promise.all(nodes.map(n => n.status()))).every(s => s.health.ok && s.status.peers.length === 1));
  });

  afterEach(function () {
    printLogsIfFailed(this.currentTest, nodes, 20);
  });

  after(async () => {
    redis.disconnect();
    await killAll();
  });

  async function stillServes (): Promise<void> {
    const [a, b] = nodes;
    const room = `alive-${Date.now()}`;
    await a.subscribe(room, 1, filter);
    await eventually('b sees the room', async () => (await b.status()).rooms.some(r => r.room === room && r.total === 1));
    const before = a.notifications.length;
    await b.call({ cmd: 'notify', content: { ok: true }, rooms: [room] });
    await eventually('a is notified', () => a.notifications.length === before + 1);
    should((await a.status()).health.ok).be.true();
  }

  it('thousands of random frames on the router port are dropped, counted, logged once per kind', async () => {
    const [a] = nodes;
    const config = a.config as { bindings: { router: string } };
    const routerUrl = config.bindings.router.replace('[127.0.0.1:ipv4]', '127.0.0.1');
    const dealers = [new Dealer({ linger: 0 }), new Dealer({ linger: 0 })];
    for (const dealer of dealers) {
      dealer.connect(routerUrl);
    }
    for (let i = 0; i < 3000; i++) {
      const dealer = dealers[i % 2];
      await dealer.send(i % 50 === 0 ? [randomFrame(i), randomFrame(i + 1)] : randomFrame(i));
    }
    // oversized: 0mq drops the connection of a sender exceeding maxMessageSize
    const big = new Dealer({ linger: 0 });
    big.connect(routerUrl);
    await big.send(Buffer.alloc(MAX_MESSAGE_SIZE * 4, 'x'));

    await eventually('frames counted', async () => (await a.status()).status.unattributed.invalid >= 2900, 20000);
    for (const dealer of [...dealers, big]) {
      dealer.close();
    }

    const logged = a.logs.filter(l => l.includes('dropping invalid message from router'));
    should(logged.length).be.within(1, 3);
    await stillServes();
  });

  /** a hand-made member: registered in Redis, heard by both nodes, publishing whatever the test wants */
  async function addRogue (rogueId: string): Promise<{ rogue: Publisher; heartbeat: () => Promise<void>; remove: () => Promise<void> }> {
    const [pubPort, routerPort] = await freePorts(2);
    // a high-water mark above what the tests send: the rogue itself must not drop any
    const rogue = new Publisher({ linger: 0, sendHighWaterMark: 100000 });
    await rogue.bind(`tcp://127.0.0.1:${pubPort}`);

    await redis.hset(KEYS.nodes, rogueId, JSON.stringify({
      id: rogueId, pub: `tcp://127.0.0.1:${pubPort}`, router: `tcp://127.0.0.1:${routerPort}`, startedAt: 0, version: 'rogue',
    }));
    await redis.set(KEYS.alive(rogueId), JSON.stringify({ hears: [], ready: true }), 'PX', 60000);

    const heartbeat = (): Promise<void> => rogue.send(['B', encode(rogueId, { direct: {}, ready: true, seq: 0, t: 'heartbeat' })]);
    // a heartbeat heard (ready) ends the handshake: sequenced messages count from then on
    await eventually('both nodes connect to the rogue and hear its heartbeat', async () => {
      await heartbeat();
      const statuses = await Promise.all(nodes.map(n => n.status()));
      return statuses.every(s => s.status.peers.some(p => p.id === rogueId && p.ready) && s.health.ok);
    });

    // once it is no member any more, it is forgotten
    const remove = async (): Promise<void> => {
      await redis.hdel(KEYS.nodes, rogueId);
      await redis.del(KEYS.alive(rogueId));
      await eventually('rogue forgotten', async () =>
        (await Promise.all(nodes.map(n => n.status()))).every(s => s.status.peers.every(p => p.id !== rogueId)));
      rogue.close();
    };
    return { heartbeat, remove, rogue };
  }

  it('a member sending garbage, spoofed, wrong-version and unknown messages is dropped and counted, the node keeps working', async () => {
    const [a, b] = nodes;
    const rogueId = 'rogue-node';
    const { heartbeat, remove, rogue } = await addRogue(rogueId);

    for (let i = 0; i < 2000; i++) {
      await rogue.send(['B', randomFrame(i)]);
      if (i % 100 === 0) {
        await rogue.send(['B', encode(a.id, { t: 'leave' }, 1)]); // claims to be node a
        await rogue.send(['B']); // one part only
        await rogue.send(['B', encode(rogueId, { t: 'hello', id: 'x', pub: 'p', router: 'r' })]); // router-only type
        await heartbeat();
      }
    }

    // a batch mixing garbage and a valid envelope: the valid one is applied, the rest counted
    await rogue.send(['B', randomFrame(1), encode(rogueId, { event: 'batched', payload: { ok: true }, t: 'app' }, 1), 'not json']);
    await eventually('the valid envelope of the batch is applied', () =>
      nodes.every(n => n.syncs.some(s => s.from === rogueId && s.message.t === 'app' && s.message.event === 'batched')));

    await eventually('garbage counted on the rogue peer', async () => {
      const statuses = await Promise.all(nodes.map(n => n.status()));
      return statuses.every(s => (s.status.peers.find(p => p.id === rogueId)?.counters.invalid || 0) >= 1900);
    }, 20000);

    // node a is still a peer of b: the spoofed "leave" was not believed
    should((await b.status()).status.peers.map(p => p.id)).containEql(a.id);
    should(a.logs.filter(l => l.includes(`dropping invalid message from ${rogueId}`)).length).be.within(1, 6);
    await stillServes();
    await remove();
  });

  it('reordered and duplicated messages: the early one is a gap (resync), the late and repeated ones are dropped as duplicates', async () => {
    const rogueId = 'reordering-node';
    const { remove, rogue } = await addRogue(rogueId);
    const app = (n: number): string => encode(rogueId, { event: 'ordered', payload: { n }, t: 'app' }, n);
    const seen = (): number[][] => nodes.map(node => node.syncs
      .filter(s => s.from === rogueId && s.message.t === 'app' && s.message.event === 'ordered')
      .map(s => ((s.message as { payload: { n: number } }).payload.n)));

    await rogue.send(['B', app(1)]);
    await eventually('1 applied', () => seen().every(list => list.length === 1));
    // 3 before 2, then 2, then 3 again (PUB/SUB never does this; a broken network stack or a buggy peer might)
    await rogue.send(['B', app(3)]);
    await eventually('3 applied after a resync', () => seen().every(list => list.length === 2));
    await rogue.send(['B', app(2)]);
    await rogue.send(['B', app(3)]);

    await eventually('the late and the repeated message counted as duplicates', async () =>
      (await Promise.all(nodes.map(n => n.status()))).every(s => (s.status.peers.find(p => p.id === rogueId)?.counters.duplicates || 0) >= 2));
    for (const status of await Promise.all(nodes.map(n => n.status()))) {
      should(status.status.peers.find(p => p.id === rogueId)?.counters).match({ gaps: (n: number) => n >= 1, resyncs: (n: number) => n >= 1 });
    }
    // each applied once, in order; the late one never
    should(seen()).eql([[1, 3], [1, 3]]);
    await remove();
  });
});
