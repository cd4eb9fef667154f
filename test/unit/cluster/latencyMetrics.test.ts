/**
 * The durations the metrics endpoint reports: acknowledgement waits (Acks)
 * and Redis round trips and errors (StateStore).
 */
import should from 'should';

import { Acks } from '../../../lib/cluster/acks';
import { StateStore } from '../../../lib/cluster/state';
import { FakeClock, flush } from '../../support/fakeClock';
import { killAll } from '../../support/processes';
import { RedisServer } from '../../support/redisServer';

describe('latency metrics', () => {
  describe('Acks.waits', () => {
    it('observes, in seconds, how long each message waited: acknowledged by all, peer gone, or timed out', async () => {
      const clock = new FakeClock();
      const acks = new Acks(clock, 1000, () => undefined);
      const acked = acks.expect(1, ['p1', 'p2']);
      clock.tick(30);
      acks.onAck('p1', [1]);
      should(acks.waits.snapshot().count).equal(0);
      clock.tick(20);
      acks.onAck('p2', [1]);
      await acked;

      const gone = acks.expect(2, ['p1']);
      clock.tick(5);
      acks.peerGone('p1');
      await gone;

      const timedOut = acks.expect(3, ['p1']);
      clock.tick(1000);
      await timedOut;
      await flush();

      const { count, sum } = acks.waits.snapshot();
      should(count).equal(3);
      should(sum).be.approximately(0.05 + 0.005 + 1, 1e-9);
    });

    it('observes nothing for a message that waits for nobody', async () => {
      const acks = new Acks(new FakeClock(), 1000, () => undefined);
      await acks.expect(1, []);
      should(acks.waits.snapshot().count).equal(0);
    });
  });

  describe('StateStore round trips and errors (real redis-server)', function () {
    this.timeout(20000);
    let server: RedisServer;
    let store: StateStore;

    before(async () => {
      server = await RedisServer.start();
      store = new StateStore({ mode: 'standalone', options: { host: '127.0.0.1', port: server.port } }, 'latency-test');
      await store.connect();
    });

    after(async () => {
      await store.close();
      await killAll();
    });

    it('times every successful script and command, counts the failures apart', async () => {
      const before = store.roundTrips.snapshot().count;
      await store.register({ id: 'n1', pub: 'tcp://127.0.0.1:1', router: 'tcp://127.0.0.1:2', startedAt: 1, version: 't' },
        { hears: [], ready: true }, 5000);
      await store.strategies();
      const after = store.roundTrips.snapshot();
      should(after.count).equal(before + 2);
      should(after.sum).be.above(0);
      should(store.errors).equal(0);

      await server.stop();
      await should(store.strategies()).be.rejected();
      should(store.errors).equal(1);
      should(store.roundTrips.snapshot().count).equal(after.count);
    });
  });
});
