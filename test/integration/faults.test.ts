import should from 'should';
import Redis from 'ioredis';

import { RedisServer } from '../support/redisServer';
import { CoreNode, converged, eventually, meshOf, peerCounters, printLogsIfFailed } from '../support/coreNode';
import { killAll } from '../support/processes';
import { KEYS } from '../../lib/cluster/state';
import type { RoomFilter } from '../../lib/cluster/messages';

const filter = (collection: string): RoomFilter => ({ collection, filters: [[{ exists: 'x' }]], index: 'idx' });

describe('fault injection (core node processes, real Redis and 0mq)', function () {
  this.timeout(90000);

  let server: RedisServer;
  let redis: Redis;
  let nodes: CoreNode[] = [];

  beforeEach(async () => {
    server = await RedisServer.start();
    redis = new Redis({ host: '127.0.0.1', port: server.port });
    redis.on('error', () => undefined);
    nodes = await Promise.all([0, 1, 2].map(() => CoreNode.start(server.port)));
    await Promise.all(nodes.map(node => node.join()));
    await meshOf(nodes);
  });

  afterEach(async function () {
    printLogsIfFailed(this.currentTest, nodes);
    redis.disconnect();
    await killAll();
  });

  it('freeze: a SIGSTOPped node is evicted, and on SIGCONT it reports 503, rejoins and resyncs by itself', async () => {
    const [a, b, c] = nodes;
    await c.subscribe('frozen-room', 2, filter('f'));
    await a.subscribe('shared', 1, filter('s'));
    await converged(nodes, { 'frozen-room': 2, shared: 1 });
    const frozenId = c.id;

    c.kill('SIGSTOP');
    await eventually('survivors evict the frozen node', async () =>
      (await a.status()).status.peers.every(p => p.id !== frozenId) &&
      (await b.status()).status.peers.every(p => p.id !== frozenId), 15000);
    await converged([a, b], { shared: 1 });
    should(await redis.hexists(KEYS.nodes, frozenId)).equal(0);

    c.kill('SIGCONT');
    // its first answer after waking up must not claim to be in sync
    const first = await c.status();
    should(first.health.ok).be.false();

    await meshOf(nodes);
    should(c.id).not.equal(frozenId);
    await converged(nodes, { 'frozen-room': 2, shared: 1 });
    should((await c.status()).status.evictions).equal(1);
  });

  it('lost messages: receivers see the gaps, resync from Redis, count it, and converge', async () => {
    const [a, b, c] = nodes;
    await a.call({ cmd: 'lose', rate: 0.5, types: ['room'] });
    for (let i = 0; i < 30; i++) {
      await a.subscribe(`lossy-${i}`, i + 1, filter(`c${i % 3}`));
    }
    await a.call({ cmd: 'lose', rate: 0, types: [] });

    const expected: Record<string, number> = {};
    for (let i = 0; i < 30; i++) {
      expected[`lossy-${i}`] = i + 1;
    }
    await converged(nodes, expected);

    for (const receiver of [b, c]) {
      const counters = peerCounters(await receiver.status(), a.id);
      should(counters.gaps).be.above(0);
      should(counters.resyncs).be.above(0);
    }

    // after the resync, notifications reach the subscribers again
    await b.call({ cmd: 'notify', content: { after: 'resync' }, rooms: ['lossy-7'] });
    await eventually('a is notified', () => a.notifications.some(n => (n.message.content as { after?: string }).after === 'resync'));
  });

  it('lost notifications that cannot be replayed are counted by the receiver, never silent', async () => {
    // the sender keeps nothing to replay
    await Promise.all(nodes.map(node => node.stop()));
    nodes = await Promise.all([0, 1].map(() => CoreNode.start(server.port, { replay: { maxMessages: 0 } })));
    await Promise.all(nodes.map(node => node.join()));
    await meshOf(nodes);
    const [a, b] = nodes;
    await b.subscribe('notified', 1, filter('n'));
    await converged(nodes, { notified: 1 });
    await a.call({ cmd: 'lose', rate: 1, types: ['user'] });
    await a.call({ cmd: 'notify', content: { n: 1 }, rooms: ['notified'] });
    await a.call({ cmd: 'notify', content: { n: 2 }, rooms: ['notified'] });
    await a.call({ cmd: 'lose', rate: 0, types: [] });
    await a.call({ cmd: 'notify', content: { n: 3 }, rooms: ['notified'] });

    await eventually('the third notification arrives', () => b.notifications.length === 1);
    should(b.notifications[0].message.content).eql({ n: 3 });
    should(peerCounters(await b.status(), a.id).lostNotifications).equal(2);
  });

  it('Redis restart (state lost): nodes go not-ready, then rejoin and republish everything', async () => {
    const [a, b, c] = nodes;
    await a.subscribe('ra', 1, filter('a'));
    await b.subscribe('rb', 2, filter('b'));
    await c.subscribe('ra', 3, filter('a'));
    await converged(nodes, { ra: 4, rb: 2 });

    await server.stop();
    for (const node of nodes) {
      await eventually('not ready while Redis is down', async () => {
        const { health } = await node.status();
        return !health.ok && health.reason === 'Redis unreachable';
      });
    }

    await server.restart();
    await meshOf(nodes, 30000);
    await converged(nodes, { ra: 4, rb: 2 });
    should(await redis.hlen(KEYS.nodes)).equal(3);
    should(await redis.hget(KEYS.refs, 'ra')).equal('2');
    should(JSON.parse(await redis.hget(KEYS.filters, 'rb') as string)).eql(filter('b'));
  });

  it('graceful SIGTERM: the node leaves at once and its state is removed', async () => {
    const [a, b, c] = nodes;
    await c.subscribe('leaving', 1, filter('l'));
    await converged(nodes, { leaving: 1 });
    const leaving = c.id;

    c.kill('SIGTERM');
    await eventually('peers forget the node', async () =>
      (await a.status()).status.peers.length === 1 && (await b.status()).status.peers.length === 1);
    await converged([a, b], {});
    should(await redis.hexists(KEYS.nodes, leaving)).equal(0);
    // told, not timed out
    should(a.logs.some(l => l.includes(`node ${leaving}`) && l.includes('left the cluster'))).be.true();
  });
  it('partition: the isolated side turns not-ready, the other stays ready, and it heals by itself', async () => {
    const [a, b, c] = nodes;
    await c.subscribe('across', 1, filter('p'));
    await converged(nodes, { across: 1 });

    await a.call({ cmd: 'cut', peers: [c.id] });
    await b.call({ cmd: 'cut', peers: [c.id] });
    await c.call({ cmd: 'cut', peers: [a.id, b.id] });

    await eventually('c reports the partition', async () => /partitioned/.test((await c.status()).health.reason || ''), 20000);
    for (const node of [a, b]) {
      should((await node.status()).health).eql({ ok: true, reason: null });
    }
    // Redis still holds c's subscriptions: not evicted, just cut off
    should((await a.status()).rooms).eql([{ room: 'across', total: 1 }]);

    // writes made on either side while cut off
    await a.subscribe('during', 2, filter('d'));

    for (const node of nodes) {
      await node.call({ cmd: 'cut', peers: [] });
    }
    await meshOf(nodes, 20000);
    await converged(nodes, { across: 1, during: 2 });
    await a.call({ cmd: 'notify', content: { healed: true }, rooms: ['across'] });
    await eventually('c is notified again', () => c.notifications.some(n => (n.message.content as { healed?: boolean }).healed === true));
  });

  it('a single broken link: exactly one of its two ends steps back', async () => {
    const [a, b, c] = nodes;
    await b.call({ cmd: 'cut', peers: [c.id] });
    await c.call({ cmd: 'cut', peers: [b.id] });

    await eventually('one end reports the partition', async () => {
      const [sb, sc] = await Promise.all([b.status(), c.status()]);
      return sb.health.ok !== sc.health.ok;
    }, 20000);
    await new Promise(resolve => setTimeout(resolve, 2000));
    const [sa, sb, sc] = await Promise.all([a.status(), b.status(), c.status()]);
    should(sa.health.ok).be.true();
    should([sb.health.ok, sc.health.ok].filter(Boolean)).have.length(1);
    should([sb, sc].find(s => !s.health.ok)?.health.reason).match(/partitioned/);
  });
  it('slow peer: a receiver that cannot keep up loses messages at the bounded queues, sees the gaps and resyncs', async () => {
    // a cluster with small queues, so that a stalled peer overflows them
    await Promise.all(nodes.map(node => node.stop()));
    nodes = await Promise.all([0, 1].map(() => CoreNode.start(server.port, { highWaterMark: 20 })));
    await Promise.all(nodes.map(node => node.join()));
    await meshOf(nodes);
    const [a, b] = nodes;
    const big = { collection: 'slow', filters: [[{ equals: { padding: 'x'.repeat(4000) } }]], index: 'idx' };

    const blocked = b.call({ cmd: 'block', ms: 1500 });
    await a.call({ count: 3000, cmd: 'flood', filter: big, prefix: 'slow-' });
    await blocked;

    await eventually('b caught up with all of a\'s rooms', async () => (await b.status()).rooms.length === 3000, 30000);
    const counters = peerCounters(await b.status(), a.id);
    should(counters.gaps + counters.lostNotifications).be.above(0);
    should(counters.resyncs).be.above(0);
    // the sender was never held up by its slow peer
    should((await a.status()).health.ok).be.true();
  });
});
