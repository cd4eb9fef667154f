/**
 * Lost notifications replayed (real core node processes, real Redis and
 * 0mq): what a link loses, the receiver asks again and delivers in order,
 * exactly once; what cannot be had again is counted.
 */
import should from 'should';

import { RedisServer } from '../support/redisServer';
import { CoreNode, converged, eventually, meshOf, peerCounters, printLogsIfFailed } from '../support/coreNode';
import { killAll } from '../support/processes';
import type { RoomFilter } from '../../lib/cluster/messages';

const filter: RoomFilter = { collection: 'replay', filters: [[{ exists: 'n' }]], index: 'idx' };
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));
const numbers = (node: CoreNode): number[] => node.notifications.map(n => (n.message.content as { n: number }).n);
const oneTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('replay of lost notifications (core node processes, real Redis and 0mq)', function () {
  this.timeout(60000);

  let server: RedisServer;
  let nodes: CoreNode[] = [];
  let sent = 0;

  async function startPair (extra: Record<string, unknown> = {}): Promise<[CoreNode, CoreNode]> {
    nodes = await Promise.all([0, 1].map(() => CoreNode.start(server.port, extra)));
    await Promise.all(nodes.map(node => node.join()));
    await meshOf(nodes);
    await nodes[1].subscribe('stream', 1, filter);
    await converged(nodes, { stream: 1 });
    sent = 0;
    return [nodes[0], nodes[1]];
  }

  /** a steady stream of numbered notifications from `from`, for `ms` */
  async function stream (from: CoreNode, ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      await from.call({ cmd: 'notify', content: { n: ++sent }, rooms: ['stream'] });
      await sleep(5);
    }
  }

  async function allDelivered (to: CoreNode): Promise<void> {
    await eventually(`${sent} notifications delivered`, () => to.notifications.length >= sent, 15000);
    // anything delivered twice would show up meanwhile
    await sleep(300);
    should(numbers(to)).eql(oneTo(sent));
  }

  beforeEach(async () => {
    server = await RedisServer.start();
  });

  afterEach(async function () {
    printLogsIfFailed(this.currentTest, nodes);
    await killAll();
  });

  it('half of the notifications to one peer lost for 2 s: each delivered exactly once, in order, none lost', async () => {
    const [a, b] = await startPair();
    await a.call({ cmd: 'lose', rate: 0.5, types: ['user'] });
    await stream(a, 2000);
    await a.call({ cmd: 'lose', rate: 0, types: [] });
    await stream(a, 200);

    await allDelivered(b);
    const counters = peerCounters(await b.status(), a.id);
    should(counters.lostNotifications).equal(0);
    should(counters.replayed).be.above(0);
  });

  it('the last notifications lost (nothing after them): the heartbeat announces them and they are replayed', async () => {
    const [a, b] = await startPair();
    await stream(a, 100);
    await a.call({ cmd: 'lose', rate: 1, types: ['user'] });
    await stream(a, 100);
    await a.call({ cmd: 'lose', rate: 0, types: [] });

    await allDelivered(b);
    should(peerCounters(await b.status(), a.id)).match({ lostNotifications: 0, replayed: (n: number) => n > 0 });
  });

  it('a link cut for 1 s, then healed before any eviction: what was sent meanwhile is replayed, in order', async () => {
    const [a, b] = await startPair();
    await stream(a, 200);
    await b.call({ cmd: 'cut', peers: [a.id] });
    await stream(a, 1000);
    await b.call({ cmd: 'cut', peers: [] });
    await stream(a, 200);

    await allDelivered(b);
    const status = await b.status();
    should(status.status.peers.map(p => p.id)).eql([a.id]);
    should(peerCounters(status, a.id)).match({ lostNotifications: 0, replayed: (n: number) => n > 0 });
  });

  it('a stalled receiver whose queues overflow: everything the sender still keeps is replayed, none lost', async () => {
    const [a, b] = await startPair({ highWaterMark: 20 });
    const blocked = b.call({ cmd: 'block', ms: 1500 });
    await a.call({ cmd: 'burst', count: 3000, first: 1, padding: 4000, rooms: ['stream'] });
    sent = 3000;
    await blocked;

    await allDelivered(b);
    const counters = peerCounters(await b.status(), a.id);
    should(counters.lostNotifications).equal(0);
    should(counters.replayed).be.above(0);
  });

  it('a stalled receiver whose queues overflow beyond what the sender keeps: the kept ones delivered, the others counted exactly', async () => {
    const [a, b] = await startPair({ highWaterMark: 20, replay: { maxMessages: 500 } });
    const blocked = b.call({ cmd: 'block', ms: 1500 });
    await a.call({ cmd: 'burst', count: 3000, first: 1, padding: 4000, rooms: ['stream'] });
    await blocked;

    await eventually('the last one delivered', () => numbers(b).includes(3000), 15000);
    await sleep(300);
    const delivered = numbers(b);
    // in order, each once
    should(delivered).eql(Array.from(new Set(delivered)).sort((x, y) => x - y));
    // everything the sender still kept (its last 500) arrived
    should(delivered.slice(-500)).eql(oneTo(500).map(n => n + 2500));
    const counters = peerCounters(await b.status(), a.id);
    should(counters.lostNotifications).equal(3000 - delivered.length);
    should(counters.lostNotifications).be.above(0);
    should(counters.replayed).be.above(0);
  });

  it('what the sender no longer keeps is counted as lost, and the rest still delivered in order', async () => {
    const [a, b] = await startPair({ replay: { maxMessages: 3 } });
    await a.call({ cmd: 'lose', rate: 1, types: ['user'] });
    for (let i = 0; i < 10; i++) {
      await a.call({ cmd: 'notify', content: { n: ++sent }, rooms: ['stream'] });
    }
    await a.call({ cmd: 'lose', rate: 0, types: [] });
    await a.call({ cmd: 'notify', content: { n: ++sent }, rooms: ['stream'] });

    // 1..10 lost on the wire; the sender still keeps the last 3 it sent: 9, 10, 11
    await eventually('11 delivered', () => numbers(b).includes(11));
    await sleep(300);
    should(numbers(b)).eql([9, 10, 11]);
    should(peerCounters(await b.status(), a.id)).match({ lostNotifications: 8, replayed: 2 });
  });

  it('a peer that dies while a replay is asked for: what was held back is delivered within the bound, the missing ones counted', async () => {
    const [a, b] = await startPair({ replay: { holdBack: 1000 } });
    const aId = a.id;
    await a.call({ cmd: 'deafen', deaf: true });
    await a.call({ cmd: 'lose', rate: 1, types: ['user'] });
    await a.call({ cmd: 'notify', content: { n: 1 }, rooms: ['stream'] });
    await a.call({ cmd: 'lose', rate: 0, types: [] });
    await a.call({ cmd: 'notify', content: { n: 2 }, rooms: ['stream'] });

    await eventually('b holds 2 back, waiting for 1', async () =>
      (await b.status()).status.peers.some(p => p.id === aId && p.replay.heldBack === 1));
    should(b.notifications).have.length(0);
    a.kill('SIGKILL');

    await eventually('2 delivered once the hold-back bound passed', () => b.notifications.length === 1);
    should(numbers(b)).eql([2]);
    await eventually('1 counted as lost', () =>
      b.logs.some(line => line.includes(`1 notification(s) from ${aId} were lost`) && line.includes('could not be replayed')));
  });
});
