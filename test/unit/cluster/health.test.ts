import should from 'should';

import { HealthFacts, PartitionVerdict, PartitionWatch, healthVerdict } from '../../../lib/cluster/health';
import { FakeClock } from '../../support/fakeClock';

/** the facts of a healthy node of a 3-node cluster */
function healthy (overrides: Partial<HealthFacts> = {}): HealthFacts {
  return {
    dirty: false,
    joined: true,
    livenessAge: 400,
    minimumNodes: 1,
    nodeTimeout: 2500,
    nodes: 3,
    partition: null,
    redisUp: true,
    stopped: false,
    syncing: [],
    ...overrides,
  };
}

const lostTo: PartitionVerdict = { heard: 2, members: 5, winner: 'node-a' };

/** every fault at once, each reason checked with all the later ones present */
const faults: Array<{ name: string; facts: Partial<HealthFacts>; reason: string }> = [
  { facts: { stopped: true }, name: 'stopped', reason: 'node stopped' },
  { facts: { joined: false }, name: 'not joined', reason: 'not joined yet' },
  { facts: { redisUp: false }, name: 'Redis down', reason: 'Redis unreachable' },
  {
    facts: { livenessAge: 2501 },
    name: 'liveness stale',
    reason: 'liveness not refreshed for 2501 ms: possibly evicted, checking',
  },
  { facts: { syncing: ['p1', 'p2'] }, name: 'resync', reason: 'synchronizing with p1, p2' },
  { facts: { dirty: true }, name: 'dirty', reason: 'local state not yet written to Redis' },
  {
    facts: { partition: lostTo },
    name: 'partition',
    reason: 'partitioned: this node hears 2 of 5 live nodes; the side of node-a stays ready',
  },
  {
    facts: { minimumNodes: 4 },
    name: 'minimumNodes',
    reason: '3 node(s) in the cluster, minimumNodes is 4',
  },
];

describe('health', () => {
  describe('healthVerdict', () => {
    it('is ok, without a reason, when nothing is wrong', () => {
      should(healthVerdict(healthy())).eql({ ok: true, reason: null });
    });

    for (const fault of faults) {
      it(`drains when ${fault.name}: "${fault.reason}"`, () => {
        should(healthVerdict(healthy(fault.facts))).eql({ ok: false, reason: fault.reason });
      });
    }

    it('names the first fault in order when several hold at once', () => {
      for (let i = 0; i < faults.length; i++) {
        let facts = healthy();
        for (const later of faults.slice(i)) {
          facts = { ...facts, ...later.facts };
        }
        should(healthVerdict(facts)).eql({ ok: false, reason: faults[i].reason });
      }
    });

    it('limits are inclusive: liveness exactly nodeTimeout old and exactly minimumNodes nodes are ok', () => {
      should(healthVerdict(healthy({ livenessAge: 2500, minimumNodes: 3, nodes: 3 }))).eql({ ok: true, reason: null });
    });

    it('a single node is ok with the default minimumNodes (1) and drains below a higher one', () => {
      should(healthVerdict(healthy({ nodes: 1 })).ok).be.true();
      should(healthVerdict(healthy({ minimumNodes: 2, nodes: 1 })))
        .eql({ ok: false, reason: '1 node(s) in the cluster, minimumNodes is 2' });
    });

    it('is a query: the same facts give the same verdict, and are not changed', () => {
      const facts = Object.freeze(healthy({ partition: Object.freeze({ ...lostTo }), syncing: ['p1'] }));
      const copy = JSON.parse(JSON.stringify(facts)) as HealthFacts;
      const first = healthVerdict(facts);
      const second = healthVerdict(facts);
      should(second).eql(first);
      should(second).not.equal(first);
      should(facts).eql(copy);
    });
  });

  describe('PartitionWatch (hysteresis)', () => {
    const HOLD = 2000;

    it('never steps back while this node is on the side that stays ready', () => {
      const clock = new FakeClock();
      const watch = new PartitionWatch(HOLD);
      should(watch.steppedBack(clock.now())).be.null();
      watch.observe(null, clock.now());
      clock.tick(10 * HOLD);
      watch.observe(null, clock.now());
      should(watch.steppedBack(clock.now())).be.null();
    });

    it('steps back only once a verdict held for holdMs', () => {
      const clock = new FakeClock();
      const watch = new PartitionWatch(HOLD);
      watch.observe(lostTo, clock.now());
      should(watch.steppedBack(clock.now())).be.null();
      clock.tick(HOLD - 1);
      should(watch.steppedBack(clock.now())).be.null();
      clock.tick(1);
      should(watch.steppedBack(clock.now())).eql(lostTo);
    });

    it('observing the verdict again (every heartbeat) does not restart the hold', () => {
      const clock = new FakeClock();
      const watch = new PartitionWatch(HOLD);
      for (let t = 0; t < HOLD; t += 500) {
        watch.observe(lostTo, clock.now());
        clock.tick(500);
      }
      watch.observe(lostTo, clock.now());
      should(watch.steppedBack(clock.now())).eql(lostTo);
    });

    it('a single heartbeat on the ready side resets the hold (no flapping on stale hears)', () => {
      const clock = new FakeClock();
      const watch = new PartitionWatch(HOLD);
      watch.observe(lostTo, clock.now());
      clock.tick(HOLD - 100);
      watch.observe(null, clock.now());
      clock.tick(100);
      watch.observe(lostTo, clock.now());
      should(watch.steppedBack(clock.now())).be.null();
      clock.tick(HOLD - 1);
      should(watch.steppedBack(clock.now())).be.null();
      clock.tick(1);
      should(watch.steppedBack(clock.now())).eql(lostTo);
    });

    it('comes back at once when the verdict clears after stepping back', () => {
      const clock = new FakeClock();
      const watch = new PartitionWatch(HOLD);
      watch.observe(lostTo, clock.now());
      clock.tick(HOLD);
      should(watch.steppedBack(clock.now())).eql(lostTo);
      watch.observe(null, clock.now());
      should(watch.steppedBack(clock.now())).be.null();
    });

    it('reports the latest verdict when it changes while held, without restarting the hold', () => {
      const clock = new FakeClock();
      const watch = new PartitionWatch(HOLD);
      watch.observe(lostTo, clock.now());
      clock.tick(HOLD / 2);
      const other: PartitionVerdict = { heard: 1, members: 5, winner: 'node-b' };
      watch.observe(other, clock.now());
      clock.tick(HOLD / 2);
      should(watch.steppedBack(clock.now())).eql(other);
    });

    it('holds from the first observation even when the clock reads 0 then', () => {
      // an injected clock may start at 0 (sinon's fake timers do)
      const clock = new FakeClock(0);
      const watch = new PartitionWatch(HOLD);
      watch.observe(lostTo, clock.now());
      clock.tick(HOLD / 2);
      watch.observe(lostTo, clock.now());
      clock.tick(HOLD / 2);
      should(watch.steppedBack(clock.now())).eql(lostTo);
    });

    it('steppedBack() is a query: asking twice changes nothing', () => {
      const clock = new FakeClock();
      const watch = new PartitionWatch(HOLD);
      watch.observe(lostTo, clock.now());
      clock.tick(HOLD - 1);
      should(watch.steppedBack(clock.now())).be.null();
      should(watch.steppedBack(clock.now())).be.null();
      clock.tick(1);
      should(watch.steppedBack(clock.now())).eql(lostTo);
      should(watch.steppedBack(clock.now())).eql(lostTo);
    });
  });
});
