import should from 'should';
import Redis from 'ioredis';

import { RedisServer } from '../support/redisServer';
import { CoreNode, converged, eventually, printLogsIfFailed, totals } from '../support/coreNode';
import { killAll } from '../support/processes';
import { KEYS } from '../../lib/cluster/state';
import type { RoomFilter } from '../../lib/cluster/messages';

const filter = (collection: string): RoomFilter => ({ collection, filters: [[{ equals: { foo: 'bar' } }]], index: 'idx' });

async function peersOf (node: CoreNode): Promise<string[]> {
  return (await node.status()).status.peers.map(p => p.id).sort();
}

describe('cluster core (3 node processes, real Redis and 0mq)', function () {
  this.timeout(60000);

  let redisServer: RedisServer;
  let redis: Redis;
  let nodes: CoreNode[] = [];

  before(async () => {
    redisServer = await RedisServer.start();
    redis = new Redis({ host: '127.0.0.1', port: redisServer.port });
    nodes = await Promise.all([0, 1, 2].map(() => CoreNode.start(redisServer.port)));
    await Promise.all(nodes.map(node => node.join()));
  });

  after(async () => {
    redis?.disconnect();
    await killAll();
  });

  afterEach(function () {
    printLogsIfFailed(this.currentTest, nodes);
  });

  it('joins: every node knows the two others and is healthy', async () => {
    await eventually('full mesh', async () => {
      for (const node of nodes) {
        const others = nodes.filter(n => n !== node).map(n => n.id).sort();
        if (JSON.stringify(await peersOf(node)) !== JSON.stringify(others)) {
          return false;
        }
      }
      return true;
    });
    for (const node of nodes) {
      should((await node.status()).health).eql({ ok: true, reason: null });
    }
    should(await redis.hlen(KEYS.nodes)).equal(3);
  });

  it('replicates subscription counts to every node', async () => {
    const [a, b] = nodes;
    await a.subscribe('r1', 2, filter('c1'));
    await converged(nodes, { r1: 2 });
    await b.subscribe('r1', 1, filter('c1'));
    await converged(nodes, { r1: 3 });
    await a.subscribe('r1', 0, filter('c1'));
    await converged(nodes, { r1: 1 });

    should(await redis.hgetall(KEYS.rooms(a.id))).eql({});
    should(await redis.hgetall(KEYS.rooms(b.id))).eql({ r1: '1' });
    should(JSON.parse(await redis.hget(KEYS.filters, 'r1') as string)).eql(filter('c1'));
    should(await redis.hget(KEYS.refs, 'r1')).equal('1');
  });

  it('acknowledges a subscription once every peer applied it', async () => {
    const [a, b, c] = nodes;
    await a.subscribe('acked', 1, filter('acked'));
    // no waiting: the peers had it before a answered
    for (const node of [b, c]) {
      should((await totals(node)).acked).equal(1);
    }
    await a.subscribe('acked', 0, filter('acked'));
    for (const node of [b, c]) {
      should((await totals(node)).acked).be.undefined();
    }
  });

  it('a peer that cannot acknowledge does not block changes for long', async () => {
    const [a, , c] = nodes;
    c.kill('SIGSTOP');
    try {
      await a.subscribe('while-frozen', 1, filter('wf'));
      await a.subscribe('while-frozen', 0, filter('wf'));
    }
    finally {
      c.kill('SIGCONT');
    }
  });

  it('delivers a notification exactly once, only to the nodes with subscribers', async () => {
    const [a, b, c] = nodes;
    const sent = await a.call({ cmd: 'notify', content: { n: 1 }, rooms: ['r1', 'unknown'] });
    should(sent).equal(1);

    await eventually('b gets the notification', () => b.notifications.length === 1);
    await new Promise(resolve => setTimeout(resolve, 300));
    should(b.notifications).have.length(1);
    should(b.notifications[0]).match({ from: a.id, message: { content: { n: 1 }, room: 'r1', t: 'user' } });
    should(c.notifications).have.length(0);
    should(a.notifications).have.length(0);
  });

  it('broadcasts sync messages to every other node', async () => {
    const [a, b, c] = nodes;
    await a.call({ cmd: 'broadcast', message: { event: 'hello', payload: { x: 1 }, t: 'app' } });
    await eventually('b and c get it', () => b.syncs.length === 1 && c.syncs.length === 1);
    should(b.syncs[0].message).match({ event: 'hello', payload: { x: 1 }, t: 'app' });
    should(a.syncs).have.length(0);
  });

  it('evicts a node killed with SIGKILL and removes its subscriptions from Redis', async () => {
    const [a, b, c] = nodes;
    await c.subscribe('r2', 4, filter('c2'));
    await converged(nodes, { r1: 1, r2: 4 });
    const deadId = c.id;

    c.kill('SIGKILL');
    await eventually('survivors forget the dead node', async () =>
      JSON.stringify(await peersOf(a)) === JSON.stringify([b.id]) &&
      JSON.stringify(await peersOf(b)) === JSON.stringify([a.id]));
    await converged([a, b], { r1: 1 });

    should(await redis.hexists(KEYS.nodes, deadId)).equal(0);
    should(await redis.exists(KEYS.rooms(deadId))).equal(0);
    // its references are released in the background, after the eviction
    await eventually('the dead node\'s rooms released', async () =>
      (await redis.hexists(KEYS.filters, 'r2')) === 0 && (await redis.hexists(KEYS.refs, 'r2')) === 0
      && (await redis.exists(KEYS.removed, KEYS.removedRooms(deadId))) === 0);
  });

  it('lets a restarted node rejoin, receive the state and notifications', async () => {
    const [a, b, c] = nodes;
    const restarted = await CoreNode.spawn(c.config);
    nodes[2] = restarted;
    await restarted.join();

    await converged(nodes, { r1: 1 });
    should((await peersOf(restarted))).eql([a.id, b.id].sort());

    await restarted.subscribe('r3', 1, filter('c3'));
    await converged(nodes, { r1: 1, r3: 1 });
    await b.call({ cmd: 'notify', content: { n: 2 }, rooms: ['r3'] });
    await eventually('restarted node is notified', () => restarted.notifications.length === 1);
  });

  it('reset wipes Redis and converges back to the same state', async () => {
    const [a] = nodes;
    await a.call({ cmd: 'reset' });
    await converged(nodes, { r1: 1, r3: 1 });
    await eventually('Redis repopulated', async () =>
      (await redis.hlen(KEYS.filters)) === 2 && (await redis.hget(KEYS.refs, 'r3')) === '1');
    for (const node of nodes) {
      await eventually('healthy after reset', async () => (await node.status()).health.ok);
    }
  });

  it('a graceful stop removes the node at once', async () => {
    const [a, b, c] = nodes;
    const leaving = c.id;
    await c.stop();
    await eventually('peers forget the leaving node', async () =>
      !(await peersOf(a)).includes(leaving) && !(await peersOf(b)).includes(leaving));
    await converged([a, b], { r1: 1 });
    should(await redis.hexists(KEYS.nodes, leaving)).equal(0);
    // it released its own rooms before leaving
    should(await redis.exists(KEYS.rooms(leaving), KEYS.removedRooms(leaving), KEYS.removed)).equal(0);
    should(await redis.hexists(KEYS.refs, 'r3')).equal(0);
  });

  it('a burst of changes travels batched, complete and in order', async () => {
    const [a, b] = nodes.slice(0, 2);
    const before = (await b.status()).status.sent;
    const countersOfB = async (): Promise<Record<string, number> | undefined> =>
      (await a.status()).status.peers.find(p => p.id === b.id)?.counters;
    const countersBefore = await countersOfB();
    await b.call({ count: 2000, cmd: 'flood', filter: filter('burst'), prefix: 'burst-' });

    const expected: Record<string, number> = { r1: 1 };
    for (let i = 0; i < 2000; i++) {
      expected[`burst-${i}`] = 1;
    }
    await converged([a, b], expected);

    const sent = (await b.status()).status.sent;
    const envelopes = sent.envelopes - before.envelopes;
    const messages = sent.messages - before.messages;
    should(envelopes).be.aboveOrEqual(2000);
    should(messages).be.below(envelopes / 2);
    // nothing lost or reordered on the way: the peer never had to resynchronize
    should(await countersOfB()).eql(countersBefore);
  });
});
