/**
 * A rolling upgrade (real core node processes, real Redis and 0mq): nodes
 * of this release send compact notifications (protocol 2) to each other and
 * protocol 1 envelopes to a node of an earlier release, which refuses
 * compact frames; every notification reaches every node once, none is
 * dropped as invalid.
 */
import should from 'should';

import { RedisServer } from '../support/redisServer';
import { CoreNode, converged, eventually, meshOf, peerCounters, printLogsIfFailed } from '../support/coreNode';
import { killAll } from '../support/processes';
import type { RoomFilter } from '../../lib/cluster/messages';

const filter: RoomFilter = { collection: 'upgrade', filters: [[{ exists: 'n' }]], index: 'idx' };
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

describe('rolling upgrade: this release beside one reading protocol 1 only (core node processes, real Redis and 0mq)', function () {
  this.timeout(60000);

  let server: RedisServer;
  let nodes: CoreNode[] = [];

  before(async () => {
    server = await RedisServer.start();
    nodes = await Promise.all([
      CoreNode.start(server.port),
      CoreNode.start(server.port, {}, { earlierRelease: true }),
      CoreNode.start(server.port),
    ]);
    for (const node of nodes) {
      await node.join();
    }
    await meshOf(nodes);
  });

  after(async () => {
    await killAll();
  });

  afterEach(function () {
    printLogsIfFailed(this.currentTest, nodes);
  });

  it('every notification reaches its node once, in the protocol that node reads', async () => {
    const [current, earlier, other] = nodes;
    await current.subscribe('on-current', 1, filter);
    await earlier.subscribe('on-earlier', 1, filter);
    await other.subscribe('on-other', 1, filter);
    await converged(nodes, { 'on-current': 1, 'on-earlier': 1, 'on-other': 1 });

    const rooms = ['on-current', 'on-earlier', 'on-other'];
    for (const [i, node] of nodes.entries()) {
      for (let n = 1; n <= 20; n++) {
        should(await node.call({ cmd: 'notify', content: { from: i, n }, rooms })).equal(2);
      }
    }

    await eventually('40 notifications on every node', () => nodes.every(node => node.notifications.length >= 40));
    await sleep(300);
    for (const [i, node] of nodes.entries()) {
      const heard = node.notifications.map(n => n.message.content as { from: number; n: number });
      should(heard).have.length(40);
      for (const sender of [0, 1, 2].filter(s => s !== i)) {
        should(heard.filter(c => c.from === sender).map(c => c.n)).eql(Array.from({ length: 20 }, (_, k) => k + 1));
      }
      const status = await node.status();
      for (const peer of nodes.filter(n => n !== node)) {
        should(peerCounters(status, peer.id)).match({ gaps: 0, invalid: 0, lostNotifications: 0, replayed: 0 });
      }
      should(status.status.unattributed.invalid).equal(0);
    }

    // on the wire: compact between the nodes of this release, protocol 1 to and from the earlier one
    should(await current.call({ cmd: 'published' })).match({ user: 20, 'user:compact': 20 });
    should(await other.call({ cmd: 'published' })).match({ user: 20, 'user:compact': 20 });
    const fromEarlier = await earlier.call({ cmd: 'published' }) as Record<string, number>;
    should(fromEarlier).match({ user: 40 });
    should(fromEarlier).not.have.property('user:compact');
  });
});
